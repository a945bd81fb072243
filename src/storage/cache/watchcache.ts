// One resource's watch cache (kube-apiserver's cacher): fed by a single storage watch, it keeps
// the current objects in key order plus a bounded window of recent events, and serves lists,
// gets and watches from memory. Consistent reads first learn the store's revision and wait until
// the cache has caught up (through the backend's progress notifications); a backend that cannot
// confirm progress makes the caller read from the store instead.
import {
  StorageError,
  type KeyValue,
  type ListResult,
  type Storage,
  type StorageEvent,
  type StorageWatch,
  type WatchHandlers,
} from '../storage.js';
import { compareKeys, SortedKeys } from '../embedded/keys.js';

export interface WatchCacheOptions {
  /** events kept for watches that resume from a recent revision */
  windowEvents?: number;
  /** how long a consistent read waits for the cache to catch up before reading the store */
  catchUpTimeoutMs?: number;
  /** page size of the initial list */
  listPageSize?: number;
}

interface CacheWatcher {
  prefix: string;
  handlers: WatchHandlers;
  /** events with revision <= this were already delivered (or precede the start) */
  after: number;
  done: boolean;
}

export class WatchCache {
  private readonly items = new Map<string, KeyValue>();
  private readonly keys = new SortedKeys();
  private readonly window: StorageEvent[] = [];
  private readonly watchers = new Set<CacheWatcher>();
  private readonly waiters = new Set<{ revision: number; resolve: () => void }>();
  /** every event up to this revision has been applied */
  revision = 0;
  private source?: StorageWatch;
  private ready?: Promise<void>;
  private closed = false;
  private compactedAt = 0;
  private readonly windowEvents: number;
  private readonly catchUpTimeoutMs: number;
  private readonly pageSize: number;

  constructor(
    readonly prefix: string,
    private readonly inner: Storage,
    opts: WatchCacheOptions = {},
  ) {
    this.windowEvents = opts.windowEvents ?? 10_000;
    this.catchUpTimeoutMs = opts.catchUpTimeoutMs ?? 3_000;
    this.pageSize = opts.listPageSize ?? 1_000;
  }

  /** starts (or restarts) the cache: a paginated snapshot, then one watch from its revision */
  start(): Promise<void> {
    this.ready ??= this.fill().catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private async fill(): Promise<void> {
    this.items.clear();
    this.keys.clear();
    this.window.length = 0;
    let page = await this.inner.list(this.prefix, { limit: this.pageSize });
    const at = page.revision;
    for (;;) {
      for (const kv of page.kvs) {
        this.items.set(kv.key, kv);
        this.keys.insert(kv.key);
      }
      if (!page.more || page.kvs.length === 0) break;
      page = await this.inner.list(this.prefix, {
        limit: this.pageSize,
        revision: at,
        startKey: page.kvs[page.kvs.length - 1].key + '\x00',
      });
    }
    this.revision = at;
    if (this.closed) return;
    this.source = this.inner.watch(this.prefix, at, {
      onEvent: (ev) => this.apply(ev),
      onProgress: (rev) => this.advance(rev),
      onError: (err) => this.restart(err),
    });
  }

  /** the source watch broke: end every watcher (clients re-watch or relist) and refill */
  private restart(err: StorageError): void {
    this.source = undefined;
    this.ready = undefined;
    const reason =
      err.code === 'Compacted'
        ? err
        : new StorageError('Compacted', `watch cache for ${this.prefix} restarted: ${err.message}`, this.revision);
    for (const w of [...this.watchers]) this.end(w, reason);
    if (!this.closed) {
      this.start().catch(() => {
        // the store is unreachable: the next read starts the cache again
      });
    }
  }

  private apply(ev: StorageEvent): void {
    if (ev.type === 'delete') {
      this.items.delete(ev.kv.key);
      this.keys.remove(ev.kv.key);
    } else {
      if (!this.items.has(ev.kv.key)) this.keys.insert(ev.kv.key);
      this.items.set(ev.kv.key, ev.kv);
    }
    this.window.push(ev);
    if (this.window.length > this.windowEvents) this.window.splice(0, this.window.length - this.windowEvents);
    for (const w of this.watchers) this.deliver(w, ev);
    this.advance(ev.revision);
  }

  private advance(rev: number): void {
    if (rev <= this.revision) return;
    this.revision = rev;
    for (const w of this.watchers) if (!w.done) w.handlers.onProgress?.(rev);
    for (const waiter of [...this.waiters]) {
      if (waiter.revision <= rev) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  private deliver(w: CacheWatcher, ev: StorageEvent): void {
    if (w.done || ev.revision <= w.after || !ev.kv.key.startsWith(w.prefix)) return;
    w.after = ev.revision;
    try {
      w.handlers.onEvent(ev);
    } catch (err) {
      this.end(w, new StorageError('Internal', `watch handler failed: ${(err as Error).message}`));
    }
  }

  private end(w: CacheWatcher, err: StorageError): void {
    if (w.done) return;
    w.done = true;
    this.watchers.delete(w);
    queueMicrotask(() => w.handlers.onError(err));
  }

  /**
   * true when the cache holds every event up to the store's current revision; false when the
   * backend cannot confirm it in time (the caller then reads the store)
   */
  async catchUp(): Promise<boolean> {
    await this.start();
    if (!this.inner.requestProgress) return false;
    const target = await this.inner.currentRevision();
    if (this.revision >= target) return true;
    return this.waitFor(target, () => this.inner.requestProgress!());
  }

  /** waits (bounded) until the cache has seen revision `rev` */
  async waitFor(rev: number, nudge?: () => void): Promise<boolean> {
    await this.start();
    if (this.revision >= rev) return true;
    let waiter: { revision: number; resolve: () => void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    const reached = await Promise.race([
      new Promise<boolean>((resolve) => {
        waiter = { revision: rev, resolve: () => resolve(true) };
        this.waiters.add(waiter);
        nudge?.();
      }),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.catchUpTimeoutMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
    if (waiter) this.waiters.delete(waiter);
    return reached;
  }

  get(key: string): KeyValue | null {
    return this.items.get(key) ?? null;
  }

  list(prefix: string, limit: number, startKey?: string): ListResult {
    const from = this.keys.lowerBound(startKey && compareKeys(startKey, prefix) > 0 ? startKey : prefix);
    const end = this.keys.prefixUpperBound(prefix);
    const stop = limit > 0 ? Math.min(end, from + limit) : end;
    const kvs: KeyValue[] = [];
    for (let i = from; i < stop; i++) kvs.push(this.items.get(this.keys.at(i))!);
    return { kvs, revision: this.revision, more: stop < end, remaining: end - stop };
  }

  /** history up to rev was compacted: the window no longer answers watches from before it */
  compacted(rev: number): void {
    this.compactedAt = Math.max(this.compactedAt, rev);
    const keep = this.window.findIndex((ev) => ev.revision > rev);
    this.window.splice(0, keep === -1 ? this.window.length : keep);
  }

  /** a watch served from the window; null when the window does not reach back to fromRevision */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): StorageWatch | null {
    if (fromRevision < this.compactedAt) return null;
    const oldest = this.window.length > 0 ? this.window[0].revision : this.revision + 1;
    // the window must hold every event after fromRevision that the cache has seen
    if (fromRevision < oldest - 1 && fromRevision < this.revision) return null;
    const w: CacheWatcher = { prefix, handlers, after: fromRevision, done: false };
    if (this.closed) {
      this.end(w, new StorageError('Unavailable', 'the watch cache was closed'));
      return { close: () => undefined };
    }
    for (const ev of this.window) this.deliver(w, ev);
    if (!w.done) this.watchers.add(w);
    return {
      close: () => {
        w.done = true;
        this.watchers.delete(w);
      },
    };
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get size(): number {
    return this.items.size;
  }

  close(): void {
    this.closed = true;
    this.source?.close();
    for (const w of [...this.watchers]) this.end(w, new StorageError('Unavailable', 'the watch cache was closed'));
  }
}
