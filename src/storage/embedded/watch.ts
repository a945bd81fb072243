// Watch fan-out. Every watcher reads the one shared event history, from the revision after the
// last one it has seen up to the durable revision: replay and live delivery are the same loop,
// so there is never a gap or a duplicate. Delivery runs on its own turn (setImmediate), in
// bounded batches, so a handler never runs inside a writer and a slow one cannot starve I/O.
import { StorageError, type StorageEvent, type StorageWatch, type WatchHandlers } from '../storage.js';

/** revisions examined per watcher per turn */
const BATCH_REVISIONS = 1024;

export interface EventSource {
  /** the newest revision watchers may see */
  durableRevision(): number;
  compactedRevision(): number;
  /** compacted < rev <= durable */
  eventAt(rev: number): StorageEvent;
}

class Watcher implements StorageWatch {
  done = false;
  private scheduled = false;
  /** report progress once caught up (etcd's RequestProgress) */
  progressWanted = false;

  constructor(
    private readonly hub: WatchHub,
    private readonly source: EventSource,
    readonly prefix: string,
    /** the last revision already examined */
    private seen: number,
    private readonly handlers: WatchHandlers,
  ) {}

  close(): void {
    if (this.done) return;
    this.done = true;
    this.hub.forget(this);
  }

  /** ends the watch with an error, delivered on a later turn */
  fail(err: StorageError): void {
    if (this.done) return;
    this.close();
    setImmediate(() => this.handlers.onError(err));
  }

  schedule(): void {
    if (this.scheduled || this.done) return;
    if (this.seen >= this.source.durableRevision() && !this.progressWanted) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    if (this.done) return;
    const compacted = this.source.compactedRevision();
    if (this.seen < compacted) {
      this.fail(new StorageError('Compacted', `revision ${this.seen + 1} has been compacted`, compacted));
      return;
    }
    const upTo = Math.min(this.source.durableRevision(), this.seen + BATCH_REVISIONS);
    while (this.seen < upTo && !this.done) {
      // a handler may compact the store under us
      if (this.seen < this.source.compactedRevision()) return this.deliver();
      const ev = this.source.eventAt(++this.seen);
      if (!ev.kv.key.startsWith(this.prefix)) continue;
      try {
        this.handlers.onEvent(ev);
      } catch (err) {
        this.fail(new StorageError('Internal', `watch handler failed: ${(err as Error)?.message ?? String(err)}`));
      }
    }
    if (this.progressWanted && !this.done && this.seen >= this.source.durableRevision()) {
      // every event up to `seen` has been delivered: tell a cache it is current up to here
      this.progressWanted = false;
      this.handlers.onProgress?.(this.seen);
    }
    this.schedule();
  }
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();

  constructor(private readonly source: EventSource) {}

  get size(): number {
    return this.watchers.size;
  }

  /** the caller has checked fromRevision against the compaction point */
  add(prefix: string, fromRevision: number, handlers: WatchHandlers): StorageWatch {
    const w = new Watcher(this, this.source, prefix, fromRevision, handlers);
    this.watchers.add(w);
    w.schedule();
    return w;
  }

  /** a watch that fails at once (on a later turn) */
  failed(err: StorageError, handlers: WatchHandlers): StorageWatch {
    const w = new Watcher(this, this.source, '', 0, handlers);
    w.fail(err);
    return w;
  }

  forget(w: Watcher): void {
    this.watchers.delete(w);
  }

  /** the durable revision advanced, or history was compacted */
  notify(): void {
    for (const w of this.watchers) w.schedule();
  }

  /** each watcher reports its revision once it has delivered everything durable */
  requestProgress(): void {
    for (const w of this.watchers) {
      w.progressWanted = true;
      w.schedule();
    }
  }

  failAll(err: StorageError): void {
    for (const w of [...this.watchers]) w.fail(err);
  }
}
