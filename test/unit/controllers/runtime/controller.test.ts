// Controllers on the runtime, on a real registry: workers start once the informers have listed,
// failures come back after a growing backoff and are logged once per backoff step (a refused
// connection without a stack, a bug with one), successes forget them, a controller stops cleanly
// (reconciles in flight finish, nothing is handed out after), and the manager runs the
// controllers only while the replica leads, afresh each term.
import { createServer, connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { singleReplica } from '../../../../src/controllers/leader.js';
import {
  Controller,
  type ControllerSpec,
  type ReconcileResult,
} from '../../../../src/controllers/runtime/controller.js';
import { objectKey } from '../../../../src/controllers/runtime/listwatch.js';
import { controllerManager } from '../../../../src/controllers/runtime/manager.js';
import type { QueueMetricsProvider } from '../../../../src/controllers/runtime/metrics.js';
import { registryListWatch } from '../../../../src/controllers/runtime/registrylistwatch.js';
import { DEFAULT_RUNTIME_SETTINGS, type RuntimeSettings } from '../../../../src/controllers/runtime/settings.js';
import { systemContext } from '../../../../src/machinery/registry/context.js';
import { capturedLog, testRegistry, until, type LogLine, type TestRegistry } from './helpers.js';

let t: TestRegistry;
const running: Controller[] = [];

beforeEach(async () => {
  t = await testRegistry();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
  await t.close();
});

const fast: RuntimeSettings = {
  ...DEFAULT_RUNTIME_SETTINGS,
  baseBackoffMs: 2,
  maxBackoffMs: 16,
  qps: 0,
  resyncMs: 0,
  relistBaseMs: 1,
  relistMaxMs: 10,
};

/** a controller of Secrets: every add and update queues the Secret's key */
function secretsSpec(reconcile: (key: string) => Promise<ReconcileResult | void>, workers = 2): ControllerSpec {
  return {
    name: 'secrets',
    workers,
    setup(ctx) {
      ctx.inform(registryListWatch(t.secrets)).addEventHandler({
        add: (o) => ctx.queue.add(objectKey(o)),
        update: (_o, cur) => ctx.queue.add(objectKey(cur)),
      });
    },
    reconcile,
  };
}

function startController(spec: ControllerSpec, o: { settings?: RuntimeSettings; metrics?: QueueMetricsProvider } = {}) {
  const { log, lines } = capturedLog();
  const c = new Controller(spec, {
    settings: o.settings ?? fast,
    metrics: o.metrics ?? { forQueue: () => ({ added() {}, depth() {}, retried() {}, waited() {}, worked() {} }) },
    log,
  });
  c.start();
  running.push(c);
  return { c, lines };
}

/** a real ECONNREFUSED: a connection to a loopback port nobody listens on */
async function refusedConnection(): Promise<Error> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return new Promise((resolve) => connect(port, '127.0.0.1').on('error', resolve));
}

const failedLines = (lines: LogLine[]) => lines.filter((l) => l.msg === 'reconcile failed; retrying');

describe('a controller', () => {
  it('starts its workers once its informers have listed, and reconciles each object', async () => {
    await t.secret('a');
    await t.secret('b');
    const seen: string[] = [];
    startController(secretsSpec(async (key) => void seen.push(key)));
    await until(() => seen.length === 2, 'both reconciled');
    expect(seen.sort()).toEqual(['default/a', 'default/b']);
    await t.secret('c');
    await until(() => seen.includes('default/c'), 'the new one');
  });

  it('a result with requeueAfterMs brings the key back after that long', async () => {
    await t.secret('a');
    let looks = 0;
    startController(
      secretsSpec(async () => {
        looks++;
        return { requeueAfterMs: 3 };
      }),
    );
    await until(() => looks >= 4, 'four looks');
  });

  it('retries a network failure with growing delays, logs one line per step without a stack, and forgets it on success', async () => {
    await t.secret('a');
    const refused = await refusedConnection();
    const at: number[] = [];
    const settings = { ...fast, baseBackoffMs: 20, maxBackoffMs: 160 };
    const { c, lines } = startController(
      secretsSpec(async () => {
        at.push(performance.now());
        if (at.length <= 6) throw refused;
      }),
      { settings },
    );
    await until(
      () => lines.some((l) => l.msg === 'reconcile succeeded after failures'),
      'the success after six failures',
    );
    const failed = failedLines(lines);
    expect(failed.map((l) => l.retryInMs)).toEqual([20, 40, 80, 160, 160, 160]);
    expect(failed.map((l) => l.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const l of failed) {
      expect(l).toMatchObject({ level: 40, key: 'default/a', controller: 'secrets' });
      expect(l.error).toMatch(/ECONNREFUSED/);
      expect(JSON.stringify(l)).not.toMatch(/stack/);
    }
    // each retry came no sooner than its backoff (timers may fire a millisecond early)
    for (let i = 1; i < at.length; i++)
      expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual((failed[i - 1]!.retryInMs as number) - 2);
    expect(c.queue.numRequeues('default/a')).toBe(0);
  });

  it('failures while a retry is pending (the key came back sooner through an event) are counted, not logged', async () => {
    await t.secret('a');
    let looks = 0;
    const refused = await refusedConnection();
    const { c, lines } = startController(
      secretsSpec(async () => {
        looks++;
        throw refused;
      }),
      { settings: { ...fast, baseBackoffMs: 60_000, maxBackoffMs: 600_000 } },
    );
    await until(() => looks === 1 && failedLines(lines).length === 1, 'the first failure');
    for (let n = 2; n <= 6; n++) {
      await t.secrets.patch('default', 'a', 'merge', { metadata: { labels: { n: String(n) } } }, systemContext());
      await until(() => looks === n && c.queue.numRequeues('default/a') === n, `failure ${n}`);
    }
    expect(failedLines(lines)).toHaveLength(1);
    expect(failedLines(lines)[0]).toMatchObject({ retryInMs: 60_000, attempt: 1 });
  });

  it('an unexpected failure (a bug) is logged with its stack', async () => {
    await t.secret('a');
    const { lines } = startController(
      secretsSpec(async () => {
        throw new TypeError('cannot read properties of undefined');
      }),
    );
    await until(() => failedLines(lines).length >= 1, 'the failure');
    const l = failedLines(lines)[0]! as LogLine & { err?: { stack?: string; type?: string } };
    expect(l.err?.type).toBe('TypeError');
    expect(l.err?.stack).toMatch(/TypeError: cannot read properties of undefined\n\s+at /);
  });

  it('requeue: true looks again after the growing backoff, without a log line', async () => {
    await t.secret('a');
    let looks = 0;
    const { c, lines } = startController(
      secretsSpec(async () => {
        looks++;
        return looks < 5 ? { requeue: true } : undefined;
      }),
    );
    await until(() => looks === 5, 'five looks');
    expect(failedLines(lines)).toEqual([]);
    expect(c.queue.numRequeues('default/a')).toBe(0);
  });

  it('reports its queue to the metrics under its own name; the depth is back at zero when idle', async () => {
    await t.secret('a');
    await t.secret('b');
    const names: string[] = [];
    const m = { adds: 0, depth: 0, worked: 0 };
    const metrics: QueueMetricsProvider = {
      forQueue(name) {
        names.push(name);
        return {
          added: () => void m.adds++,
          depth: (d) => void (m.depth += d),
          retried() {},
          waited() {},
          worked: () => void m.worked++,
        };
      },
    };
    startController(
      secretsSpec(async () => undefined),
      { metrics },
    );
    await until(() => m.worked === 2, 'two keys worked');
    expect(names).toEqual(['secrets']);
    expect(m).toEqual({ adds: 2, depth: 0, worked: 2 });
  });

  it('stop() waits for the reconciles in flight, then hands out nothing more', async () => {
    await t.secret('a');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started = 0;
    const { c } = startController(
      secretsSpec(async () => {
        started++;
        await held;
      }),
    );
    await until(() => started === 1, 'the reconcile to start');
    let stopped = false;
    const stopping = c.stop().then(() => void (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(c.queue.isShuttingDown).toBe(true);
    c.queue.add('default/a');
    expect(c.queue.length).toBe(0);
    expect(await c.queue.get()).toBeUndefined();
    expect(started).toBe(1);
  });
});

describe('the controller manager under leadership', () => {
  it('runs the controllers while leading, stops them when leadership ends, and builds them afresh for the next term', async () => {
    await t.secret('a');
    const seen: string[] = [];
    const built: Controller[] = [];
    const { log } = capturedLog();
    const work = controllerManager(() => {
      const c = new Controller(
        secretsSpec(async (key) => void seen.push(key)),
        {
          settings: fast,
          metrics: { forQueue: () => ({ added() {}, depth() {}, retried() {}, waited() {}, worked() {} }) },
          log,
        },
      );
      built.push(c);
      return [c];
    }, log);

    const first = singleReplica(log);
    first.run(work);
    expect(first.isLeader()).toBe(true);
    await until(() => seen.length === 1, 'the first term to reconcile a');
    await first.stop();
    expect(built[0]!.queue.isShuttingDown).toBe(true);

    const second = singleReplica(log);
    second.run(work);
    // the new term lists again: a is looked at again by a new controller
    await until(() => seen.length === 2, 'the second term to reconcile a');
    expect(built).toHaveLength(2);
    expect(built[1]).not.toBe(built[0]);
    await second.stop();
    expect(built[1]!.queue.isShuttingDown).toBe(true);
  });

  it('a leadership that ends while its controllers are still starting stops them once started', async () => {
    const { log } = capturedLog();
    const built: Controller[] = [];
    const l = singleReplica(log);
    l.run(async () => {
      // the controllers are built a moment later than the stop below
      await new Promise((r) => setImmediate(r));
      return controllerManager(() => {
        const c = new Controller(
          secretsSpec(async () => undefined),
          {
            settings: fast,
            metrics: { forQueue: () => ({ added() {}, depth() {}, retried() {}, waited() {}, worked() {} }) },
            log,
          },
        );
        built.push(c);
        return [c];
      }, log)();
    });
    await l.stop();
    expect(built).toHaveLength(1);
    expect(built[0]!.queue.isShuttingDown).toBe(true);
  });
});
