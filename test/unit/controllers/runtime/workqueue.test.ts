// The work queue's semantics, as client-go's: a key is queued once however often it is added, is
// never worked on twice at once, comes back once if it changed while being worked on, comes back
// after its backoff when it failed, and a shut-down queue hands out nothing more while the keys
// in flight finish.
import { describe, expect, it } from 'vitest';
import type { QueueMetrics } from '../../../../src/controllers/runtime/metrics.js';
import { ItemExponentialBackoff } from '../../../../src/controllers/runtime/ratelimiter.js';
import { WorkQueue } from '../../../../src/controllers/runtime/workqueue.js';

/** what the queue reported to its metrics */
function recorder() {
  const r = { adds: 0, depth: 0, retries: 0, waited: [] as number[], worked: [] as number[] };
  const m: QueueMetrics = {
    added: () => void r.adds++,
    depth: (d) => void (r.depth += d),
    retried: () => void r.retries++,
    waited: (s) => void r.waited.push(s),
    worked: (s) => void r.worked.push(s),
  };
  return { r, m };
}

const queue = (baseMs = 5, maxMs = 1000) => {
  const { r, m } = recorder();
  return { q: new WorkQueue('test', new ItemExponentialBackoff(baseMs, maxMs), m), metrics: r };
};

/** resolves once `cond` holds, polling on timers, failing after `ms` */
async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('work queue', () => {
  it('queues a key once however often it is added while waiting, in first-added order', async () => {
    const { q, metrics } = queue();
    for (const k of ['a', 'b', 'a', 'c', 'b', 'a']) q.add(k);
    expect(q.length).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
    expect(metrics).toMatchObject({ adds: 3, depth: 0 });
    expect(metrics.waited).toHaveLength(3);
  });

  it('never hands out a key being worked on; one added meanwhile comes back once, after done', async () => {
    const { q } = queue();
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a');
    q.add('a');
    // held by a worker: not handed out, although it is wanted again
    expect(q.length).toBe(0);
    q.add('b');
    expect(await q.get()).toBe('b');
    q.done('b');
    q.done('a');
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.length).toBe(0);
  });

  it('with many workers and a key added over and over, that key is never worked on twice at once', async () => {
    const { q } = queue();
    let running = 0;
    let most = 0;
    let runs = 0;
    const worker = async () => {
      for (let k = await q.get(); k !== undefined; k = await q.get()) {
        running++;
        most = Math.max(most, running);
        runs++;
        // the key is wanted again while it is worked on
        q.add('hot');
        await new Promise((r) => setImmediate(r));
        running--;
        q.done(k);
        if (runs >= 50) void q.shutDown();
      }
    };
    q.add('hot');
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(most).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(50);
  });

  it('a waiting worker gets the next key as soon as it is added', async () => {
    const { q } = queue();
    const next = q.get();
    q.add('x');
    expect(await next).toBe('x');
  });

  it('addRateLimited brings a key back after its backoff, which doubles per failure and resets on forget', async () => {
    const { q, metrics } = queue(5, 20);
    expect([q.addRateLimited('a'), q.numRequeues('a')]).toEqual([5, 1]);
    // not yet: it waits out its backoff
    expect(q.length).toBe(0);
    expect(q.isWaiting('a')).toBe(true);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.isWaiting('a')).toBe(false);
    expect([q.addRateLimited('a'), q.addRateLimited('b'), q.numRequeues('a')]).toEqual([10, 5, 2]);
    expect(q.addRateLimited('a')).toBe(20);
    expect(q.addRateLimited('a')).toBe(20);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    expect(q.addRateLimited('a')).toBe(5);
    expect(metrics.retries).toBe(6);
  });

  it('addAfter keeps the earliest of the times asked for a waiting key', async () => {
    const { q } = queue();
    q.addAfter('a', 60_000);
    q.addAfter('a', 5);
    q.addAfter('a', 30_000);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.isWaiting('a')).toBe(false);
    await q.shutDown();
  });

  it('shutdown: waiting workers get undefined, nothing queued or delayed is handed out, keys in flight finish', async () => {
    const { q, metrics } = queue();
    q.add('inflight');
    q.add('queued');
    q.addAfter('later', 10);
    expect(await q.get()).toBe('inflight');
    let drained = false;
    const stopping = q.shutDown().then(() => {
      drained = true;
    });
    expect(q.isShuttingDown).toBe(true);
    expect(await q.get()).toBeUndefined();
    expect(q.isWaiting('later')).toBe(false);
    q.add('new');
    expect(q.length).toBe(0);
    expect(q.addRateLimited('new')).toBe(0);
    // the worker holding a key is still working: not drained until it is done
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);
    q.add('inflight');
    q.done('inflight');
    await stopping;
    expect(drained).toBe(true);
    expect(q.length).toBe(0);
    expect(metrics.depth).toBe(0);
    expect(metrics.worked).toHaveLength(1);
  });

  it('a worker blocked in get() is released by shutdown', async () => {
    const { q } = queue();
    const waiting = q.get();
    await q.shutDown();
    expect(await waiting).toBeUndefined();
  });

  it('a key delayed with addAfter is handed out once its time has come, then the queue is idle', async () => {
    const { q } = queue();
    q.addAfter('soon', 1);
    await until(() => q.length === 1, 'the delayed key');
    expect(await q.get()).toBe('soon');
    q.done('soon');
    expect(q.length).toBe(0);
  });
});
