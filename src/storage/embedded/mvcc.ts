// The in-memory multi-version state: every retained version of every key, and one event per
// revision in (compacted, head]. Versions above the store's durable revision are "pending":
// they are written to the log but not yet fsync'ed, and readers never ask for them.
import type { KeyValue, StorageEvent } from '../storage.js';
import { CorruptData } from './codec.js';
import { SortedKeys, compareKeys } from './keys.js';

/** one write to a key: the new value, or a tombstone (kv null) at the deletion revision */
interface Version {
  readonly rev: number;
  readonly kv: KeyValue | null;
}

/** what a snapshot holds for one key: its versions in revision order, value null for a tombstone */
export interface KeySnapshot {
  key: string;
  versions: { rev: number; createRevision: number; value: Buffer | null }[];
}

function makeKv(key: string, value: Buffer, createRevision: number, modRevision: number): KeyValue {
  return Object.freeze({ key, value, createRevision, modRevision });
}

function makeEvent(rev: number, kv: KeyValue | null, prev: KeyValue | null): StorageEvent {
  if (kv) {
    return Object.freeze(prev ? { type: 'put', kv, prevKv: prev, revision: rev } : { type: 'put', kv, revision: rev });
  }
  if (!prev) throw new CorruptData(`tombstone at revision ${rev} without a value before it`);
  const deleted = makeKv(prev.key, prev.value, prev.createRevision, rev);
  return Object.freeze({ type: 'delete', kv: deleted, prevKv: prev, revision: rev });
}

export class MvccState {
  private readonly keys = new SortedKeys();
  private readonly history = new Map<string, Version[]>();
  /** events[i] is the event of revision compacted + 1 + i */
  private events: StorageEvent[] = [];
  /** the last revision assigned (durable or pending) */
  private headRev = 0;
  private compactedRev = 0;

  get head(): number {
    return this.headRev;
  }

  get compacted(): number {
    return this.compactedRev;
  }

  get keyCount(): number {
    return this.keys.size;
  }

  /** the newest value, pending writes included */
  latest(key: string): KeyValue | null {
    const vs = this.history.get(key);
    return vs ? vs[vs.length - 1]!.kv : null;
  }

  /** the value as of `rev` (compacted <= rev <= head) */
  at(key: string, rev: number): KeyValue | null {
    const vs = this.history.get(key);
    if (!vs) return null;
    let lo = 0;
    let hi = vs.length;
    if (vs[hi - 1]!.rev <= rev) return vs[hi - 1]!.kv;
    // first index with rev > target; the version before it is the visible one
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (vs[mid]!.rev <= rev) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? null : vs[lo - 1]!.kv;
  }

  /** the event of revision rev (compacted < rev <= head) */
  eventAt(rev: number): StorageEvent {
    return this.events[rev - this.compactedRev - 1]!;
  }

  put(key: string, value: Buffer): StorageEvent {
    const rev = this.headRev + 1;
    const prev = this.latest(key);
    const kv = makeKv(key, value, prev ? prev.createRevision : rev, rev);
    this.append(key, { rev, kv });
    return this.record(makeEvent(rev, kv, prev));
  }

  /** the key must have a live value */
  delete(key: string): StorageEvent {
    const rev = this.headRev + 1;
    const prev = this.latest(key);
    const ev = makeEvent(rev, null, prev);
    this.append(key, { rev, kv: null });
    return this.record(ev);
  }

  private append(key: string, v: Version): void {
    const vs = this.history.get(key);
    if (vs) {
      vs.push(v);
    } else {
      this.history.set(key, [v]);
      this.keys.insert(key);
    }
  }

  private record(ev: StorageEvent): StorageEvent {
    this.events.push(ev);
    this.headRev = ev.revision;
    return ev;
  }

  /** live keys with this prefix from `from` on, in key order, as of `rev` */
  range(prefix: string, from: string, limit: number, rev: number): { kvs: KeyValue[]; remaining: number } {
    const kvs: KeyValue[] = [];
    let remaining = 0;
    const start = compareKeys(from, prefix) > 0 ? from : prefix;
    for (let i = this.keys.lowerBound(start); i < this.keys.size; i++) {
      const key = this.keys.at(i);
      if (!key.startsWith(prefix)) break;
      const kv = this.at(key, rev);
      if (!kv) continue;
      if (limit <= 0 || kvs.length < limit) kvs.push(kv);
      else remaining++;
    }
    return { kvs, remaining };
  }

  /** drop every version not visible at revisions >= rev, and the events at revisions <= rev */
  compact(rev: number): void {
    if (rev <= this.compactedRev) return;
    if (rev > this.headRev) throw new RangeError(`compact ${rev} beyond head ${this.headRev}`);
    const drop = rev - this.compactedRev;
    // only keys written in (compacted, rev] can hold versions that are no longer visible
    const touched = new Set<string>();
    for (let i = 0; i < drop; i++) touched.add(this.events[i]!.kv.key);
    this.events = this.events.slice(drop);
    this.compactedRev = rev;
    const removed = new Set<string>();
    for (const key of touched) {
      const vs = this.history.get(key)!;
      let visible = 0;
      while (visible + 1 < vs.length && vs[visible + 1]!.rev <= rev) visible++;
      const cut = vs[visible]!.kv ? visible : visible + 1;
      if (cut > 0) vs.splice(0, cut);
      if (vs.length === 0) {
        this.history.delete(key);
        removed.add(key);
      }
    }
    this.keys.removeAll(removed);
  }

  /** every key's versions at revisions <= upTo, in key order (for a snapshot) */
  *snapshotEntries(upTo: number): Generator<KeySnapshot> {
    for (let i = 0; i < this.keys.size; i++) {
      const key = this.keys.at(i);
      const versions: KeySnapshot['versions'] = [];
      for (const v of this.history.get(key)!) {
        if (v.rev > upTo) break;
        versions.push({ rev: v.rev, createRevision: v.kv ? v.kv.createRevision : 0, value: v.kv ? v.kv.value : null });
      }
      if (versions.length > 0) yield { key, versions };
    }
  }

  /** rebuild the state a snapshot describes; entries must come in key order */
  static restore(revision: number, compacted: number, entries: Iterable<KeySnapshot>): MvccState {
    if (compacted > revision) throw new CorruptData(`compacted ${compacted} beyond revision ${revision}`);
    const state = new MvccState();
    state.headRev = revision;
    state.compactedRev = compacted;
    const events: (StorageEvent | undefined)[] = new Array(revision - compacted);
    for (const { key, versions } of entries) {
      const vs: Version[] = [];
      let prev: KeyValue | null = null;
      for (const v of versions) {
        if (v.rev > revision || (vs.length > 0 && v.rev <= vs[vs.length - 1]!.rev)) {
          throw new CorruptData(`key ${key}: version at revision ${v.rev} out of order`);
        }
        const kv = v.value ? makeKv(key, v.value, v.createRevision, v.rev) : null;
        vs.push({ rev: v.rev, kv });
        if (v.rev > compacted) events[v.rev - compacted - 1] = makeEvent(v.rev, kv, prev);
        prev = kv;
      }
      if (vs.length === 0) continue;
      state.history.set(key, vs);
      state.keys.insert(key);
    }
    for (let i = 0; i < events.length; i++) {
      if (!events[i]) throw new CorruptData(`snapshot has no write at revision ${compacted + 1 + i}`);
    }
    state.events = events as StorageEvent[];
    return state;
  }
}
