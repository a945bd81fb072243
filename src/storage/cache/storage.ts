// A Storage that answers reads and watches for the cached prefixes (one per resource) from watch
// caches and passes everything else, and all writes, to the backend. It passes the shared
// storage conformance suite like the backends do.
import {
  StorageError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Storage,
  type StorageWatch,
  type WatchHandlers,
} from '../storage.js';
import { WatchCache, type WatchCacheOptions } from './watchcache.js';

export interface CacheStats {
  prefix: string;
  objects: number;
  watchers: number;
  revision: number;
}

export class CachedStorage implements Storage {
  private readonly caches: WatchCache[];
  private closed = false;

  constructor(
    private readonly inner: Storage,
    prefixes: string[],
    opts: WatchCacheOptions = {},
  ) {
    // longest prefix first, so a more specific cache wins
    this.caches = [...prefixes].sort((a, b) => b.length - a.length).map((p) => new WatchCache(p, inner, opts));
  }

  /** fills every cache (a server does this before it reports ready) */
  async start(): Promise<void> {
    await Promise.all(this.caches.map((c) => c.start()));
  }

  stats(): CacheStats[] {
    return this.caches.map((c) => ({
      prefix: c.prefix,
      objects: c.size,
      watchers: c.watcherCount,
      revision: c.revision,
    }));
  }

  /** after close the backend answers (Unavailable) for every call, caches never */
  private cacheFor(keyOrPrefix: string): WatchCache | undefined {
    if (this.closed) return undefined;
    return this.caches.find((c) => keyOrPrefix.startsWith(c.prefix));
  }

  currentRevision(): Promise<number> {
    return this.inner.currentRevision();
  }

  compactedRevision(): Promise<number> {
    return this.inner.compactedRevision();
  }

  create(key: string, value: Buffer): Promise<KeyValue> {
    return this.inner.create(key, value);
  }

  update(key: string, value: Buffer, expectedModRevision: number): Promise<KeyValue> {
    return this.inner.update(key, value, expectedModRevision);
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.inner.delete(key, expectedModRevision);
  }

  async compact(revision: number): Promise<void> {
    await this.inner.compact(revision);
    for (const c of this.caches) c.compacted(revision);
  }

  requestProgress(): void {
    this.inner.requestProgress?.();
  }

  async get(key: string, revision?: number): Promise<KeyValue | null> {
    const cache = this.cacheFor(key);
    if (!cache || (revision !== undefined && revision > 0)) return this.inner.get(key, revision);
    if (!(await cache.catchUp())) return this.inner.get(key);
    return cache.get(key);
  }

  async getNotOlderThan(key: string, notOlderThan: number): Promise<KeyValue | null> {
    const cache = this.cacheFor(key);
    if (!cache || !(await cache.waitFor(notOlderThan))) return this.inner.get(key);
    return cache.get(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const cache = this.cacheFor(prefix);
    // a past revision (continuing pages, Exact) is the backend's MVCC history, not the cache's
    if (!cache || (opts.revision !== undefined && opts.revision > 0)) return this.inner.list(prefix, opts);
    if (opts.notOlderThan !== undefined) {
      if (!(await cache.waitFor(opts.notOlderThan))) return this.inner.list(prefix, opts);
    } else if (!(await cache.catchUp())) {
      return this.inner.list(prefix, opts);
    }
    return cache.list(prefix, opts.limit ?? 0, opts.startKey);
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): StorageWatch {
    const cache = this.cacheFor(prefix);
    if (!cache) return this.inner.watch(prefix, fromRevision, handlers);
    // the cache may still be filling: hold the watch until it is, then serve it from memory,
    // or from the backend when the cache's window does not reach back far enough
    let closed = false;
    let active: StorageWatch | undefined;
    // history the backend compacted is gone for the cache's watchers too, so a resume from it is
    // refused the same way whether the cache window still holds it or not
    Promise.all([cache.start(), this.inner.compactedRevision()]).then(
      ([, compacted]) => {
        if (closed) return;
        if (fromRevision < compacted) cache.compacted(compacted);
        active = cache.watch(prefix, fromRevision, handlers) ?? this.inner.watch(prefix, fromRevision, handlers);
      },
      (err: unknown) => {
        if (closed) return;
        handlers.onError(
          err instanceof StorageError
            ? err
            : new StorageError('Unavailable', `watch cache for ${cache.prefix} could not start: ${String(err)}`),
        );
      },
    );
    return {
      close: () => {
        closed = true;
        active?.close();
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.caches) c.close();
    await this.inner.close();
  }
}
