// Every wait the controller runtime has, in one place, so the server's flags set them and tests
// run them in milliseconds. The defaults are client-go's.
import type { RetrySettings } from './ratelimiter.js';

export interface RuntimeSettings extends RetrySettings {
  /** every informer reports each object again this often (0: never) */
  resyncMs: number;
  /** an informer whose list or watch failed lists again after this, doubling up to relistMaxMs */
  relistBaseMs: number;
  relistMaxMs: number;
}

export const DEFAULT_RUNTIME_SETTINGS: RuntimeSettings = {
  // client-go's DefaultControllerRateLimiter: 5 ms doubling to 1000 s per key, 10 qps / 100 burst overall
  baseBackoffMs: 5,
  maxBackoffMs: 1_000_000,
  qps: 10,
  burst: 100,
  resyncMs: 30_000,
  // client-go's reflector: 800 ms doubling to 30 s
  relistBaseMs: 800,
  relistMaxMs: 30_000,
};
