// An informer: one resource listed and then watched (client-go's reflector + indexer), its objects
// kept in memory, and handlers told of every add, update and delete. A watch that breaks, or whose
// version is too old (410 Gone), is listed again after a backoff; the new list is compared with what
// was known, so objects deleted meanwhile are reported deleted. Every resync period each known
// object is reported again as an update with old === cur, so a look that was missed is not missed
// for long.
import type { Logger } from 'pino';
import type { KubeObject } from '../../machinery/kind.js';
import { failureFields, isNetworkFailure } from './failures.js';
import { objectKey, type ListWatch, type WatchEnd, type WatchHandle } from './listwatch.js';
import { ObjectIndex, type IndexFunc } from './objectindex.js';
import { ItemExponentialBackoff } from './ratelimiter.js';

export interface EventHandlers {
  add?(obj: KubeObject): void;
  /** old === cur on a resync, and for an object a new list found unchanged */
  update?(old: KubeObject, cur: KubeObject): void;
  /** the last state known of the object */
  delete?(obj: KubeObject): void;
}

export interface InformerOptions {
  source: ListWatch;
  /** 0: no resync */
  resyncMs: number;
  /** the first wait before listing again after a failure, doubling up to relistMaxMs */
  relistBaseMs: number;
  relistMaxMs: number;
  indexers?: Record<string, IndexFunc>;
  /** what is kept of each object (client-go's transform), e.g. metadataOnly */
  transform?: (obj: KubeObject) => KubeObject;
  log: Logger;
}

const RELIST = 'relist';

export class Informer {
  readonly store: ObjectIndex;
  private readonly handlers: EventHandlers[] = [];
  private readonly backoff: ItemExponentialBackoff;
  private readonly syncWaiters: ((synced: boolean) => void)[] = [];
  private readonly log: Logger;
  private synced = false;
  private started = false;
  private stopped = false;
  private lastVersion = '';
  private watch?: WatchHandle;
  /** which watch is current: ends and events of an older one are ignored */
  private watchId = 0;
  private retry?: NodeJS.Timeout;
  private resync?: NodeJS.Timeout;

  constructor(private readonly o: InformerOptions) {
    this.store = new ObjectIndex(o.indexers);
    this.backoff = new ItemExponentialBackoff(o.relistBaseMs, o.relistMaxMs);
    this.log = o.log.child({ informer: o.source.resource });
  }

  get resource(): string {
    return this.o.source.resource;
  }

  addEventHandler(h: EventHandlers): void {
    this.handlers.push(h);
  }

  /** true once the first list is in the store */
  hasSynced(): boolean {
    return this.synced;
  }

  /** resolves true once synced, false if stopped before */
  whenSynced(): Promise<boolean> {
    if (this.synced || this.stopped) return Promise.resolve(this.synced);
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    void this.listAndWatch();
    if (this.o.resyncMs > 0) {
      this.resync = setInterval(() => this.resyncAll(), this.o.resyncMs);
      this.resync.unref();
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.watchId++;
    this.watch?.stop();
    this.watch = undefined;
    if (this.retry) clearTimeout(this.retry);
    if (this.resync) clearInterval(this.resync);
    for (const w of this.syncWaiters.splice(0)) w(this.synced);
  }

  private async listAndWatch(): Promise<void> {
    if (this.stopped) return;
    let listed;
    try {
      listed = await this.o.source.list();
    } catch (err) {
      this.again('list', err);
      return;
    }
    if (this.stopped) return;
    try {
      this.replace(listed.items);
    } catch (err) {
      // an item the transform cannot read (no metadata): the list as a whole is not usable
      this.again('list', err);
      return;
    }
    this.lastVersion = listed.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w(true);
    }
    await this.startWatch();
  }

  private async startWatch(): Promise<void> {
    if (this.stopped) return;
    const id = ++this.watchId;
    const current = () => id === this.watchId && !this.stopped;
    let delivered = false;
    let ended = false;
    try {
      const handle = await this.o.source.watch(this.lastVersion, {
        event: (type, obj) => {
          if (!current()) return;
          delivered = true;
          try {
            this.apply(type, obj);
          } catch (err) {
            this.log.error({ err, type }, 'a watch event could not be applied; skipped');
          }
        },
        bookmark: (rv) => {
          if (!current()) return;
          delivered = true;
          this.lastVersion = rv;
        },
        end: (why) => {
          if (!current() || ended) return;
          ended = true;
          this.watch = undefined;
          this.watchEnded(delivered, why);
        },
      });
      if (ended || !current()) handle.stop();
      else this.watch = handle;
    } catch (err) {
      if (current()) this.again('watch', err);
    }
  }

  /** a watch that delivered something worked: the next wait starts from the base again */
  private watchEnded(delivered: boolean, why: WatchEnd | undefined): void {
    if (delivered) this.backoff.forget(RELIST);
    const ms = this.backoff.when(RELIST);
    if (!why) {
      this.log.debug({ retryInMs: ms }, 'watch closed by the server; watching again');
      this.schedule(ms, () => this.startWatch());
    } else if (why.gone) {
      this.log.info({ retryInMs: ms, reason: why.message }, 'watch expired; listing again');
      this.schedule(ms, () => this.listAndWatch());
    } else {
      this.log.warn({ retryInMs: ms, reason: why.message }, 'watch broke; listing again');
      this.schedule(ms, () => this.listAndWatch());
    }
  }

  /** one log line per attempt: the backoff itself spaces them out */
  private again(what: 'list' | 'watch', err: unknown): void {
    const ms = this.backoff.when(RELIST);
    const expected = isNetworkFailure(err) || !!this.o.source.isExpectedFailure?.(err);
    this.log.warn(
      { ...failureFields(err, expected), attempt: this.backoff.retries(RELIST), retryInMs: ms },
      `${what} failed; listing again`,
    );
    this.schedule(ms, () => this.listAndWatch());
  }

  private schedule(ms: number, next: () => Promise<void>): void {
    if (this.stopped) return;
    if (this.retry) clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void next();
    }, ms);
    this.retry.unref();
  }

  /** a new list: everything in it is added or updated, everything known but not in it is deleted */
  private replace(items: KubeObject[]): void {
    const fresh = new Set<string>();
    for (const raw of items) {
      const obj = this.o.transform ? this.o.transform(raw) : raw;
      fresh.add(objectKey(obj));
      this.upsert(obj);
    }
    for (const key of this.store.keys()) {
      if (fresh.has(key)) continue;
      const old = this.store.delete(key)!;
      this.tell((h) => h.delete?.(old));
    }
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', raw: KubeObject): void {
    const obj = this.o.transform ? this.o.transform(raw) : raw;
    if (obj.metadata.resourceVersion) this.lastVersion = obj.metadata.resourceVersion;
    if (type !== 'DELETED') return this.upsert(obj);
    const old = this.store.delete(objectKey(obj));
    this.tell((h) => h.delete?.(old ?? obj));
  }

  private upsert(obj: KubeObject): void {
    const old = this.store.put(obj);
    if (!old) return this.tell((h) => h.add?.(obj));
    // the same version listed again: handlers see it as a resync
    const same =
      old.metadata.resourceVersion !== undefined && old.metadata.resourceVersion === obj.metadata.resourceVersion;
    this.tell((h) => h.update?.(same ? obj : old, obj));
  }

  private resyncAll(): void {
    if (!this.synced || this.stopped) return;
    for (const obj of this.store.list()) this.tell((h) => h.update?.(obj, obj));
  }

  /** a handler that throws is a bug of its controller: it is logged, the others still hear */
  private tell(call: (h: EventHandlers) => void): void {
    for (const h of this.handlers) {
      try {
        call(h);
      } catch (err) {
        this.log.error({ err }, 'an event handler failed');
      }
    }
  }
}
