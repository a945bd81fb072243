// The in-memory multi-version state: every retained version of every key, and one event per
// revision in (compacted, head]. Versions above the store's durable revision are "pending":
// they are written to the log but not yet fsync'ed, and readers never ask for them.
//
// Compaction has two halves. The compaction point moves at once (reads and watches below it fail
// as compacted); dropping the versions and events below it can be held back while a snapshot is
// being encoded from this state, so the encoder sees a fixed history without a copy of it.
import type { KeyValue, StorageEvent } from '../storage.js';
import { CorruptData } from './codec.js';
import { SortedKeys, compareKeys } from './keys.js';

/** one write to a key: the new value, or a tombstone (kv null) at the deletion revision */
export interface Version {
  readonly rev: number;
  readonly kv: KeyValue | null;
}

/** what a snapshot holds for one key: its versions in revision order, value null for a tombstone */
export interface KeySnapshot {
  key: string;
  versions: { rev: number; createRevision: number; value: Buffer | null }[];
}

/** what a retained version costs, as counted against the history bound: value, key and bookkeeping */
const VERSION_OVERHEAD_BYTES = 96;

export function versionBytes(key: string, v: Version): number {
  return key.length + (v.kv ? v.kv.value.length : 0) + VERSION_OVERHEAD_BYTES;
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
  /** events[i] is the event of revision eventsBase + 1 + i; eventsBase <= compactedRev */
  private events: StorageEvent[] = [];
  private eventsBase = 0;
  /** the last revision assigned (durable or pending) */
  private headRev = 0;
  private compactedRev = 0;
  private holds = 0;
  /** bytes of retained versions that are not a key's live value (superseded values, tombstones) */
  private pastBytes = 0;

  get head(): number {
    return this.headRev;
  }

  get compacted(): number {
    return this.compactedRev;
  }

  get keyCount(): number {
    return this.keys.size;
  }

  /**
   * What the history above the compaction point costs (see versionBytes): versions below it count
   * as gone even while a hold keeps them in memory.
   */
  get historyBytes(): number {
    return this.pastBytes;
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

  /** the event of revision rev (eventsBase < rev <= head) */
  eventAt(rev: number): StorageEvent {
    return this.events[rev - this.eventsBase - 1]!;
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
      const before = vs[vs.length - 1]!;
      // a superseded live value becomes history; a tombstone was counted when it was written
      if (before.kv) this.pastBytes += versionBytes(key, before);
      vs.push(v);
    } else {
      this.history.set(key, [v]);
      this.keys.insert(key);
    }
    if (!v.kv) this.pastBytes += versionBytes(key, v);
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

  /** revisions below `rev` are no longer readable; their versions and events go unless held */
  compact(rev: number): void {
    if (rev <= this.compactedRev) return;
    if (rev > this.headRev) throw new RangeError(`compact ${rev} beyond head ${this.headRev}`);
    for (let r = this.compactedRev + 1; r <= rev; r++) this.pastBytes -= this.bytesFreedAt(r);
    this.compactedRev = rev;
    if (this.holds === 0) this.drop(rev);
  }

  /**
   * Keeps every version and event that exists now until the returned release is called, though
   * the compaction point may move meanwhile (a snapshot encoder reads them across turns).
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) this.drop(this.compactedRev);
    };
  }

  /**
   * What compacting past revision r (compacted < r <= head) drops: the value its write superseded,
   * and the tombstone it wrote. A tombstone it superseded went when compaction passed its own
   * revision. This is exactly what drop() removes, version by version.
   */
  private bytesFreedAt(r: number): number {
    const ev = this.eventAt(r);
    let bytes = 0;
    if (ev.prevKv) bytes += versionBytes(ev.prevKv.key, { rev: ev.prevKv.modRevision, kv: ev.prevKv });
    if (ev.type === 'delete') bytes += versionBytes(ev.kv.key, { rev: r, kv: null });
    return bytes;
  }

  /** the lowest revision to compact to so that history costs at most `maxBytes` (head, when even that is not enough) */
  compactionTargetForBytes(maxBytes: number): number {
    let bytes = this.pastBytes;
    let rev = this.compactedRev;
    while (bytes > maxBytes && rev < this.headRev) bytes -= this.bytesFreedAt(++rev);
    return rev;
  }

  /** drop every version not visible at revisions >= rev, and the events at revisions <= rev */
  private drop(rev: number): void {
    if (rev <= this.eventsBase) return;
    const count = rev - this.eventsBase;
    // only keys written in (eventsBase, rev] can hold versions that are no longer visible
    const touched = new Set<string>();
    for (let i = 0; i < count; i++) touched.add(this.events[i]!.kv.key);
    this.events = this.events.slice(count);
    this.eventsBase = rev;
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

  /**
   * Salvage after lost log records: history up to `rev` is gone, so compact everything there is
   * and continue as if revisions up to `rev` had been written and compacted.
   */
  skipTo(rev: number): void {
    if (rev <= this.headRev) return;
    if (this.holds > 0) throw new RangeError('skipTo while history is held');
    this.compact(this.headRev);
    this.headRev = rev;
    this.compactedRev = rev;
    this.eventsBase = rev;
    this.events = [];
  }

  /** the first key after `after` (or the first key), in key order; null past the last */
  keyAfter(after: string | null): string | null {
    let i = after === null ? 0 : this.keys.lowerBound(after);
    if (after !== null && i < this.keys.size && this.keys.at(i) === after) i++;
    return i < this.keys.size ? this.keys.at(i) : null;
  }

  /**
   * The key's versions a snapshot of (compacted, upTo] holds: the one visible at `compacted` if it
   * is a value, and every later one up to `upTo`.
   */
  snapshotVersions(key: string, compacted: number, upTo: number): KeySnapshot['versions'] {
    const vs = this.history.get(key);
    const out: KeySnapshot['versions'] = [];
    if (!vs) return out;
    for (let i = 0; i < vs.length; i++) {
      const v = vs[i]!;
      if (v.rev > upTo) break;
      const supersededByCompaction = i + 1 < vs.length && vs[i + 1]!.rev <= compacted;
      if (supersededByCompaction || (!v.kv && v.rev <= compacted)) continue;
      out.push({ rev: v.rev, createRevision: v.kv ? v.kv.createRevision : 0, value: v.kv ? v.kv.value : null });
    }
    return out;
  }

  /** rebuild the state a snapshot describes; entries must come in key order */
  static restore(revision: number, compacted: number, entries: Iterable<KeySnapshot>): MvccState {
    if (compacted > revision) throw new CorruptData(`compacted ${compacted} beyond revision ${revision}`);
    const state = new MvccState();
    state.headRev = revision;
    state.compactedRev = compacted;
    state.eventsBase = compacted;
    const events: (StorageEvent | undefined)[] = new Array(revision - compacted);
    for (const { key, versions } of entries) {
      let prev: KeyValue | null = null;
      let last = -1;
      for (const v of versions) {
        if (v.rev > revision || v.rev <= last)
          throw new CorruptData(`key ${key}: version at revision ${v.rev} out of order`);
        last = v.rev;
        const kv = v.value ? makeKv(key, v.value, v.createRevision, v.rev) : null;
        state.append(key, { rev: v.rev, kv });
        if (v.rev > compacted) events[v.rev - compacted - 1] = makeEvent(v.rev, kv, prev);
        prev = kv;
      }
    }
    for (let i = 0; i < events.length; i++) {
      if (!events[i]) throw new CorruptData(`snapshot has no write at revision ${compacted + 1 + i}`);
    }
    state.events = events as StorageEvent[];
    return state;
  }
}
