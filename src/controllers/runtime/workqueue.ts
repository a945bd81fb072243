// A keyed work queue with client-go's semantics. A key added while it waits is queued once; a key
// added while a worker holds it is handed out again once that worker is done, so one key is never
// worked on twice at once and no change is lost. Failed keys come back after a per-key backoff
// (addRateLimited), requested looks after a delay (addAfter). Shutting down hands out nothing more
// and lets the keys being worked on finish.
import type { QueueMetrics } from './metrics.js';
import type { RateLimiter } from './ratelimiter.js';

interface Delayed {
  at: number;
  timer: NodeJS.Timeout;
}

export class WorkQueue {
  /** keys ready to be handed out, in order; `head` is the next one (no O(n) shift) */
  private ready: string[] = [];
  private head = 0;
  /** keys that need work: in `ready`, or being worked on and changed meanwhile */
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, number>();
  private readonly enqueuedAt = new Map<string, number>();
  private readonly delayed = new Map<string, Delayed>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private drained?: () => void;

  constructor(
    readonly name: string,
    private readonly limiter: RateLimiter,
    private readonly metrics: QueueMetrics,
  ) {}

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // handed out again by done()
    this.push(key);
  }

  /** adds `key` after `ms`; while it waits, an earlier request wins and a later one is dropped */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    this.metrics.retried();
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const waiting = this.delayed.get(key);
    if (waiting && waiting.at <= at) return;
    if (waiting) clearTimeout(waiting.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    // a queue nobody shut down must not keep the process alive
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** adds `key` after its backoff; resolves the delay chosen */
  addRateLimited(key: string): number {
    if (this.shuttingDown) return 0;
    const ms = this.limiter.when(key);
    this.addAfter(key, ms);
    return ms;
  }

  /** the key succeeded: its next failure waits the base backoff again */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.retries(key);
  }

  /** whether `key` is waiting for a delayed add (a backoff or a requested later look) */
  isWaiting(key: string): boolean {
    return this.delayed.has(key);
  }

  /** keys ready to be handed out */
  get length(): number {
    return this.ready.length - this.head;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** the next key, once there is one; undefined once the queue is shutting down */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    if (this.length > 0) return Promise.resolve(this.take());
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** the worker is done with `key`: if it changed meanwhile, it is handed out again */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics.worked((Date.now() - started) / 1000);
    if (this.shuttingDown) {
      if (this.processing.size === 0) this.drained?.();
      return;
    }
    if (this.dirty.has(key)) this.push(key);
  }

  /**
   * Hands out nothing more (waiting workers get undefined), drops what was queued or delayed, and
   * resolves once every key being worked on is done.
   */
  shutDown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      for (const d of this.delayed.values()) clearTimeout(d.timer);
      this.delayed.clear();
      this.metrics.depth(-this.length);
      this.ready = [];
      this.head = 0;
      this.dirty.clear();
      this.enqueuedAt.clear();
      for (const g of this.getters.splice(0)) g(undefined);
    }
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.drained;
      this.drained = () => {
        previous?.();
        resolve();
      };
    });
  }

  private push(key: string): void {
    this.ready.push(key);
    this.enqueuedAt.set(key, Date.now());
    this.metrics.added();
    this.metrics.depth(1);
    const getter = this.getters.shift();
    if (getter) getter(this.take());
  }

  private take(): string {
    const key = this.ready[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    const now = Date.now();
    this.processing.set(key, now);
    this.metrics.depth(-1);
    this.metrics.waited((now - (this.enqueuedAt.get(key) ?? now)) / 1000);
    this.enqueuedAt.delete(key);
    return key;
  }
}
