// How long a key waits before it is handed out again after a failure, in client-go's shape: a
// per-key exponential backoff (a key that keeps failing waits longer each time, one that succeeds
// is forgotten and starts again from the base) combined with an overall token bucket (a burst of
// failures across many keys cannot turn into a burst of retries against the same backend).

export interface RateLimiter {
  /** the delay before `key` may be retried; counts one more failure of it */
  when(key: string): number;
  /** the key succeeded: its next failure starts from the base again */
  forget(key: string): void;
  /** failures counted for `key` since it was last forgotten */
  retries(key: string): number;
}

/** base * 2^failures, capped at max (client-go's ItemExponentialFailureRateLimiter) */
export class ItemExponentialBackoff implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity long after it passed any sane maximum; min() keeps it finite
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * `qps` tokens a second, at most `burst` saved up (client-go's BucketRateLimiter). Every retry takes
 * a token; when none is left the retry is reserved for when the next one will be there, so a storm
 * of failures is spread out instead of refused.
 */
export class TokenBucket implements RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  when(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.qps) / 1000);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }

  forget(): void {}

  retries(): number {
    return 0;
  }
}

/** the longest delay any of the limiters asks for (client-go's MaxOfRateLimiter) */
export class MaxOf implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.when(key)));
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  retries(key: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.retries(key)));
  }
}

export interface RetrySettings {
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** retries a second across all keys; 0 leaves only the per-key backoff */
  qps: number;
  burst: number;
}

/** client-go's DefaultControllerRateLimiter with our settings */
export function controllerRateLimiter(s: RetrySettings): RateLimiter {
  const perKey = new ItemExponentialBackoff(s.baseBackoffMs, s.maxBackoffMs);
  return s.qps > 0 ? new MaxOf(perKey, new TokenBucket(s.qps, s.burst)) : perKey;
}
