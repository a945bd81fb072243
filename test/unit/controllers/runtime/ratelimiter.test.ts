// The retry delays of the controller runtime, with client-go's defaults as the model: 5 ms doubling
// per failure of one key up to a cap, forgotten on success, and an overall token bucket.
import { describe, expect, it } from 'vitest';
import {
  controllerRateLimiter,
  ItemExponentialBackoff,
  MaxOf,
  TokenBucket,
} from '../../../../src/controllers/runtime/ratelimiter.js';
import { DEFAULT_RUNTIME_SETTINGS } from '../../../../src/controllers/runtime/settings.js';

describe('per-key exponential backoff', () => {
  it('doubles from 5 ms with each failure, capped, and per key', () => {
    const b = new ItemExponentialBackoff(5, 1000);
    expect(Array.from({ length: 10 }, () => b.when('a'))).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(b.when('b')).toBe(5);
    expect(b.retries('a')).toBe(10);
    expect(b.retries('b')).toBe(1);
  });

  it('starts again from the base once the key is forgotten (it succeeded)', () => {
    const b = new ItemExponentialBackoff(5, 1000);
    b.when('a');
    b.when('a');
    b.forget('a');
    expect(b.retries('a')).toBe(0);
    expect(b.when('a')).toBe(5);
  });

  it('stays at the cap however many failures (no overflow to Infinity or NaN)', () => {
    const b = new ItemExponentialBackoff(5, 1_000_000);
    let last = 0;
    for (let i = 0; i < 2000; i++) last = b.when('a');
    expect(last).toBe(1_000_000);
  });

  it("has client-go's defaults: 5 ms to 1000 s, 10 qps with a burst of 100", () => {
    expect(DEFAULT_RUNTIME_SETTINGS).toMatchObject({ baseBackoffMs: 5, maxBackoffMs: 1_000_000, qps: 10, burst: 100 });
  });
});

describe('overall rate limit', () => {
  it('lets a burst through at once, then spaces retries by 1/qps', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    expect([bucket.when(), bucket.when(), bucket.when()]).toEqual([0, 0, 0]);
    // no token left: the next ones are reserved 100 ms apart
    expect([bucket.when(), bucket.when()]).toEqual([100, 200]);
    // a second later the bucket refilled what the reservations took, and more
    now = 1000;
    expect(bucket.when()).toBe(0);
  });

  it("the combined limiter takes the longer of the key's backoff and the bucket's wait", () => {
    let now = 0;
    const limiter = new MaxOf(new ItemExponentialBackoff(5, 1000), new TokenBucket(10, 2, () => now));
    expect(limiter.when('a')).toBe(5);
    expect(limiter.when('b')).toBe(5);
    // the bucket is empty: a first failure of a third key waits for the next token
    expect(limiter.when('c')).toBe(100);
    now = 10_000;
    expect(limiter.when('a')).toBe(10);
    limiter.forget('a');
    expect(limiter.retries('a')).toBe(0);
  });

  it('qps 0 leaves only the per-key backoff', () => {
    const limiter = controllerRateLimiter({ baseBackoffMs: 1, maxBackoffMs: 4, qps: 0, burst: 0 });
    expect(Array.from({ length: 200 }, (_, i) => limiter.when(`k${i}`)).every((ms) => ms === 1)).toBe(true);
  });
});
