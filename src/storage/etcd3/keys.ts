// Storage keys <-> etcd keys: an etcd key is `prefix + key` as UTF-8 bytes. The compaction
// clock (COMPACT_REV_KEY) lives in etcd's root key space, where kube-apiserver keeps its own, so
// that every server sharing the etcd cluster takes part in one election whatever its prefix;
// when that key falls inside our key space (an empty prefix), lists and watches hide it.
import type { IEvent, IKeyValue } from 'etcd3';
import type { KeyValue, StorageEvent } from '../storage.js';

export const COMPACT_REV_KEY = 'compact_rev_key';

const ZERO = Buffer.from([0]);

/** the first key after every key that starts with `prefix`; [0] means "to the end of the key space" */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return ZERO;
}

export class KeySpace {
  readonly compactKey = Buffer.from(COMPACT_REV_KEY);
  private readonly prefixBytes: Buffer;
  /** the compaction key as a storage key, when our key space contains it */
  private readonly hidden: Buffer | null;

  constructor(readonly prefix: string) {
    this.prefixBytes = Buffer.from(prefix);
    this.hidden = COMPACT_REV_KEY.startsWith(prefix) ? this.compactKey : null;
  }

  /** the etcd key of a storage key; etcd has no empty key, so '' becomes "\0", the first one there is */
  etcdKey(key: string): Buffer {
    const raw = Buffer.concat([this.prefixBytes, Buffer.from(key)]);
    return raw.length === 0 ? ZERO : raw;
  }

  /** [start, end) in etcd keys for the storage keys with this prefix, from startKey on */
  range(prefix: string, startKey?: string): { key: Buffer; end: Buffer } {
    const first = this.etcdKey(prefix);
    const end = prefixEnd(Buffer.concat([this.prefixBytes, Buffer.from(prefix)]));
    const start = startKey === undefined ? first : this.etcdKey(startKey);
    return { key: Buffer.compare(start, first) < 0 ? first : start, end };
  }

  /** true for the compaction key when it would show among our keys */
  isHidden(raw: Buffer): boolean {
    return this.hidden !== null && raw.equals(this.hidden);
  }

  /** whether [start, end) can hold the hidden compaction key */
  rangeHoldsHidden(start: Buffer, end: Buffer): boolean {
    if (!this.hidden) return false;
    return Buffer.compare(this.hidden, start) >= 0 && (end.equals(ZERO) || Buffer.compare(this.hidden, end) < 0);
  }

  storageKey(raw: Buffer): string {
    return raw.subarray(this.prefixBytes.length).toString('utf8');
  }

  /**
   * Copies the value: etcd3 hands out views of the whole reply, which would keep it alive. The
   * copy gets memory of its own rather than a slice of Node's shared 8 KiB pool: a cached value
   * in a pool slab would keep the whole slab, and every short-lived buffer cut from it, alive.
   */
  kv(raw: IKeyValue): KeyValue {
    return {
      key: this.storageKey(raw.key),
      value: ownCopy(raw.value ?? ZERO.subarray(0, 0)),
      createRevision: Number(raw.create_revision),
      modRevision: Number(raw.mod_revision),
    };
  }

  event(ev: IEvent): StorageEvent {
    const revision = Number(ev.kv.mod_revision);
    const prevKv = ev.prev_kv ? this.kv(ev.prev_kv) : undefined;
    if (String(ev.type).toUpperCase() === 'DELETE') {
      const kv: KeyValue = {
        key: this.storageKey(ev.kv.key),
        value: prevKv ? prevKv.value : Buffer.alloc(0),
        createRevision: prevKv?.createRevision ?? 0,
        modRevision: revision,
      };
      return prevKv ? { type: 'delete', kv, prevKv, revision } : { type: 'delete', kv, revision };
    }
    const kv = this.kv(ev.kv);
    return prevKv ? { type: 'put', kv, prevKv, revision } : { type: 'put', kv, revision };
  }
}

function ownCopy(src: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(src.length);
  copy.set(src);
  return copy;
}
