// Watch event delivery with many concurrent watchers under a steady write load. Every written
// object carries the time its write was sent in an annotation; each watcher records, per event,
// arrival time minus that stamp. So a figure covers the whole path a client sees: write request
// -> etcd -> the server's one etcd watch -> watch cache -> fan-out -> HTTPS stream, against etcd's
// own fan-out to the same number of watchers. The watchers of either side live in a worker thread
// (watchers.ts); this thread only writes. On the server, the watchers share HTTP/2 connections as
// they do behind kube-aggregator (and from client-go); a second run gives every watcher an
// HTTP/1.1 connection of its own.
import { Worker } from 'node:worker_threads';
import { makeObject, objectName, RAW_KEY_PREFIX, RESOURCE_PATH, NAMESPACE, storedForm } from './objects.js';
import { sleep, summarize, type Latencies } from './measure.js';
import { below, type MeasureResult } from './report.js';
import type { Fixture } from './fixture.js';
import { clock, type FromWorker, type ToWorker, type WatchersConfig, type WatchersResult, type WatchTransport } from './watchers.js';

export interface WatchConfig {
  watchers: number;
  writes: number;
  writesPerSec: number;
  /** how long after the last write every event must have arrived */
  drainTimeoutMs: number;
}

/** the server side writes and watches in a namespace of its own, so earlier objects play no part */
const WATCH_NAMESPACE = 'bench-watch';
const WATCH_PATH = RESOURCE_PATH.replace(`/namespaces/${NAMESPACE}/`, `/namespaces/${WATCH_NAMESPACE}/`);
const RAW_WATCH_PREFIX = `${RAW_KEY_PREFIX}watch/`;
const WORKER = new URL('./watchers.js', import.meta.url);

type SideResult = WatchersResult & {
  /** write sent -> write acknowledged */
  writes: Latencies;
};

/** writes `count` objects at a steady rate; the latency of each write (sent -> acknowledged) */
async function steadyWrites(cfg: WatchConfig, write: (i: number, sentAt: number) => Promise<unknown>): Promise<Latencies> {
  const interval = 1000 / cfg.writesPerSec;
  const start = clock();
  const acks: Promise<number>[] = [];
  for (let i = 0; i < cfg.writes; i++) {
    const wait = start + i * interval - clock();
    if (wait > 0) await sleep(wait);
    const sentAt = clock();
    acks.push(write(i, sentAt).then(() => clock() - sentAt));
  }
  return summarize(await Promise.all(acks));
}

/** watchers in a worker thread, opened; `drain` waits for every event (bounded) and ends them */
async function openWatchers(cfg: WatchersConfig): Promise<{ openMs: number; drain(timeoutMs: number): Promise<WatchersResult> }> {
  const worker = new Worker(WORKER, { workerData: cfg });
  const next = () =>
    new Promise<FromWorker>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        worker.off('error', onError);
        resolve(m);
      };
      const onError = (err: Error) => {
        worker.off('message', onMessage);
        reject(err);
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
    });
  const fail = async (m: FromWorker): Promise<never> => {
    await worker.terminate();
    throw new Error(m.type === 'failed' ? `watchers: ${m.message}` : `watchers: unexpected ${m.type}`);
  };
  const ready = await next().catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  if (ready.type !== 'ready') return fail(ready);
  return {
    openMs: ready.openMs,
    async drain(timeoutMs) {
      const done = next();
      worker.postMessage({ type: 'drain', timeoutMs } satisfies ToWorker);
      let m: Awaited<typeof done>;
      try {
        m = await done;
      } finally {
        await worker.terminate();
      }
      if (m.type !== 'done') return fail(m);
      return m.result;
    },
  };
}

async function serverSide(fx: Fixture, cfg: WatchConfig, transport: WatchTransport): Promise<SideResult> {
  // a namespace for these objects only (ignore "already exists" when it runs again)
  const ns = await fx.client.send('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: WATCH_NAMESPACE } }));
  if (ns.status !== 201 && ns.status !== 409) throw new Error(`creating namespace ${WATCH_NAMESPACE}: ${ns.status} ${ns.body}`);
  const list = await fx.client.expect(200, 'GET', `${WATCH_PATH}?limit=1`);
  const rv = /"resourceVersion":"(\d+)"/.exec(list)![1]!;
  const watchers = await openWatchers({
    side: 'server',
    transport,
    url: fx.client.url,
    identity: fx.client.identity,
    path: `${WATCH_PATH}?watch=true&resourceVersion=${rv}`,
    watchers: cfg.watchers,
    expected: cfg.watchers * cfg.writes,
  });
  return fx.window(`watch writes and fan-out (${transport})`, async () => {
    const writes = await steadyWrites(cfg, (i, sentAt) =>
      fx.client.expect(201, 'POST', WATCH_PATH, JSON.stringify(makeObject(objectName(`watch-${transport}`, i), fx.objectBytes, sentAt))),
    );
    return { ...(await watchers.drain(cfg.drainTimeoutMs)), writes };
  });
}

async function etcdSide(fx: Fixture, cfg: WatchConfig): Promise<SideResult> {
  const watchers = await openWatchers({ side: 'etcd', endpoint: fx.raw.endpoint, prefix: RAW_WATCH_PREFIX, watchers: cfg.watchers, expected: cfg.watchers * cfg.writes });
  const writes = await steadyWrites(cfg, (i, sentAt) =>
    fx.raw.put(`${RAW_WATCH_PREFIX}${objectName('watch', i)}`, storedForm(makeObject(objectName('watch', i), fx.objectBytes, sentAt))),
  );
  return { ...(await watchers.drain(cfg.drainTimeoutMs)), writes };
}

export async function benchWatch(fx: Fixture, cfg: WatchConfig): Promise<MeasureResult> {
  const server = await fx.cpu.measure(() => serverSide(fx, cfg, 'http2'));
  const http1 = await fx.cpu.measure(() => serverSide(fx, cfg, 'http1'));
  const etcd = await fx.cpu.measure(() => etcdSide(fx, cfg));
  const w = cfg.watchers;
  const lost = (s: typeof server) => (s.received < s.expected ? `${s.expected - s.received} of ${s.expected} events did not arrive within ${cfg.drainTimeoutMs} ms` : undefined);
  let target = w >= 1000 ? below(server.delivery.p99, 50, '< 50 ms') : undefined;
  if (target && lost(server)) target = { ...target, pass: false, miss: lost(server) };
  const etcdOp = `${w} etcd watchers`;
  return {
    name: 'watch',
    rows: [
      { id: 'watch.p50Ms', label: `watch delivery p50, ${w} watchers (HTTP/2)`, unit: 'ms', server: server.delivery.p50, etcd: etcd.delivery.p50, etcdOp },
      { id: 'watch.p99Ms', label: `watch delivery p99, ${w} watchers (HTTP/2)`, unit: 'ms', server: server.delivery.p99, etcd: etcd.delivery.p99, etcdOp, target },
      { id: 'watch.first.p99Ms', label: `watch delivery p99 to an event's first watcher`, unit: 'ms', server: server.firstDelivery.p99, etcd: etcd.firstDelivery.p99, etcdOp: 'first etcd watcher' },
      { id: 'watch.spread.p99Ms', label: `watch fan-out p99, first to last of ${w} watchers`, unit: 'ms', server: server.fanOutSpread.p99, etcd: etcd.fanOutSpread.p99, etcdOp },
      { id: 'watch.http1.p99Ms', label: `watch delivery p99, ${w} watchers (HTTP/1.1, a connection each)`, unit: 'ms', server: http1.delivery.p99, etcd: etcd.delivery.p99, etcdOp },
    ],
    details: {
      ...cfg,
      server: { ...server, lost: lost(server) },
      serverHttp1: { ...http1, lost: lost(http1) },
      etcd: { ...etcd, lost: lost(etcd) },
    },
  };
}
