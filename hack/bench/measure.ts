// Timing helpers: a fixed-concurrency runner that records each operation's latency, and
// percentiles over those latencies.
import { performance } from 'node:perf_hooks';

export interface Latencies {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface RunResult extends Latencies {
  /** operations per second over the whole run */
  opsPerSec: number;
  elapsedMs: number;
}

/** nearest-rank percentile of sorted values */
function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: ArrayLike<number>): Latencies {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

/**
 * runs op(0..n-1) with `concurrency` operations in flight and returns throughput and latency.
 * The first failure stops the run and is thrown: a benchmark of failing requests means nothing.
 */
export async function runPool(n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<RunResult> {
  const latencies = new Float64Array(n);
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < n) {
      const i = next++;
      const t0 = performance.now();
      try {
        await op(i);
      } catch (err) {
        failed ??= err;
        return;
      }
      latencies[i] = performance.now() - t0;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const elapsedMs = performance.now() - start;
  if (failed !== undefined) throw failed;
  return { ...summarize(latencies), opsPerSec: (n / elapsedMs) * 1000, elapsedMs };
}

/** runs fn `times` times one after the other and returns each duration in ms */
export async function repeat(times: number, fn: () => Promise<void>): Promise<Latencies & { runs: number[] }> {
  const runs: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await fn();
    runs.push(performance.now() - t0);
  }
  return { ...summarize(runs), runs };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
