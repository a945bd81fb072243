// Create, get and update at a fixed number of requests in flight: the server over HTTPS + JSON
// against the etcd3 client's puts and gets on the same etcd. Request bodies and values are made
// before the clock starts; each side is warmed up first so neither pays for JIT or connections.
import { NAMESPACE, RESOURCE_PATH, makeObject, storedForm } from './objects.js';
import { runPool } from './measure.js';
import { atLeast, type MeasureResult } from './report.js';
import { scattered, type Fixture, type Timed } from './fixture.js';
import { BenchH2Client } from './server.js';

export interface CrudConfig {
  /** objects created (and then read and updated) on each side */
  n: number;
  warmup: number;
}

/** warm-up objects live in another namespace, so they are not among the objects listed later */
const WARM_PATH = RESOURCE_PATH.replace(`/namespaces/${NAMESPACE}/`, '/namespaces/kube-system/');
const WARM_GROUP = 'warm';
const H2_GROUP = 'h2';

async function warmUp(fx: Fixture, count: number): Promise<void> {
  if (fx.warmed) return;
  fx.warmed = true;
  const bodies = Array.from({ length: count }, (_, i) => JSON.stringify(makeObject(`${WARM_GROUP}-${i}`, fx.objectBytes)));
  await runPool(count, fx.concurrency, (i) => fx.client.expect(201, 'POST', WARM_PATH, bodies[i]));
  await runPool(count, fx.concurrency, (i) => fx.client.expect(200, 'GET', `${WARM_PATH}/${WARM_GROUP}-${i}`));
  const value = storedForm(makeObject(`${WARM_GROUP}-0`, fx.objectBytes));
  await runPool(count, fx.concurrency, (i) => fx.raw.put(`/bench-raw/warm/${i}`, value));
  await runPool(count, fx.concurrency, (i) => fx.raw.get(`/bench-raw/warm/${i}`));
}

/** the figures of a run, with the CPU each process spent per operation */
function figures(r: Timed): Record<string, unknown> {
  const perOp = (ms?: number) => (ms === undefined ? undefined : Math.round((ms * 1000) / r.count));
  return {
    opsPerSec: r.opsPerSec,
    p50Ms: r.p50,
    p99Ms: r.p99,
    maxMs: r.max,
    elapsedMs: r.elapsedMs,
    count: r.count,
    cpuMs: r.cpuMs,
    cpuUsPerOp: { server: perOp(r.cpuMs.serverMs), bench: perOp(r.cpuMs.benchMs), etcd: perOp(r.cpuMs.etcdMs) },
  };
}

export async function benchCreate(fx: Fixture, cfg: CrudConfig): Promise<MeasureResult> {
  await warmUp(fx, cfg.warmup);
  if (fx.serverRV.length > 0 || fx.rawRev.length > 0) throw new Error('create must run before anything writes bench objects');
  const c = fx.concurrency;
  const values = fx.rawValues(0, cfg.n);
  const etcdPut = await fx.timed(cfg.n, c, (i) => fx.rawPut(i, values[i]!));
  const etcdTxn = await fx.timed(cfg.n, c, (i) => fx.raw.txnCreate(`/bench-raw/txn/${fx.name(i)}`, values[i]!));
  const bodies = fx.createBodies(0, cfg.n);
  const server = await fx.timed(cfg.n, c, (i) => fx.serverCreate(i, bodies[i]!), 'create');
  // the same creates on one HTTP/2 connection, as kube-aggregator sends them
  const h2 = new BenchH2Client(fx.client.url, fx.client.identity);
  let serverH2: Timed;
  try {
    const h2Bodies = Array.from({ length: cfg.n }, (_, i) => JSON.stringify(makeObject(`${H2_GROUP}-${i}`, fx.objectBytes)));
    await runPool(cfg.warmup, c, (i) => h2.expect(201, 'POST', WARM_PATH, JSON.stringify(makeObject(`${H2_GROUP}-warm-${i}`, fx.objectBytes))));
    serverH2 = await fx.timed(cfg.n, c, (i) => h2.expect(201, 'POST', WARM_PATH, h2Bodies[i]), 'create over HTTP/2');
  } finally {
    h2.close();
  }
  const q = server.opsPerSec / etcdPut.opsPerSec;
  return {
    name: 'create',
    rows: [
      {
        id: 'create.opsPerSec',
        label: `create, ${c} in flight`,
        unit: 'ops/s',
        server: server.opsPerSec,
        etcd: etcdPut.opsPerSec,
        etcdOp: 'put',
        target: atLeast(q, 0.8, '>= 0.8x raw etcd put'),
      },
      {
        id: 'create.http2.opsPerSec',
        label: `create over one HTTP/2 connection, ${c} in flight`,
        unit: 'ops/s',
        server: serverH2.opsPerSec,
        etcd: etcdPut.opsPerSec,
        etcdOp: 'put',
      },
      { id: 'create.txn.opsPerSec', label: `create vs etcd txn-create, ${c} in flight`, unit: 'ops/s', server: server.opsPerSec, etcd: etcdTxn.opsPerSec, etcdOp: 'txn create' },
      { id: 'create.p99Ms', label: `create p99, ${c} in flight`, unit: 'ms', server: server.p99, etcd: etcdPut.p99, etcdOp: 'put' },
    ],
    details: { n: cfg.n, concurrency: c, objectBytes: fx.objectBytes, server: figures(server), serverHttp2: figures(serverH2), etcdPut: figures(etcdPut), etcdTxnCreate: figures(etcdTxn) },
  };
}

export async function benchGet(fx: Fixture, cfg: CrudConfig): Promise<MeasureResult> {
  await Promise.all([fx.ensureServer(cfg.n), fx.ensureRaw(cfg.n)]);
  await warmUp(fx, cfg.warmup);
  const c = fx.concurrency;
  const n = cfg.n;
  const path = (i: number) => `${RESOURCE_PATH}/${fx.name(scattered(i, n))}`;
  const serverGet = await fx.timed(n, c, (i) => fx.client.expect(200, 'GET', path(i)), 'get');
  const serverGetCache = await fx.timed(n, c, (i) => fx.client.expect(200, 'GET', `${path(i)}?resourceVersion=0`), 'get resourceVersion=0');
  const etcdGet = await fx.timed(n, c, (i) => fx.raw.get(fx.rawKey(scattered(i, n))));
  // one request at a time: latency without queueing
  const serial = Math.max(100, Math.floor(n / 5));
  const serverSerial = await fx.timed(serial, 1, (i) => fx.client.expect(200, 'GET', path(i)));
  const etcdSerial = await fx.timed(serial, 1, (i) => fx.raw.get(fx.rawKey(scattered(i, n))));
  return {
    name: 'get',
    rows: [
      { id: 'get.opsPerSec', label: `get, ${c} in flight`, unit: 'ops/s', server: serverGet.opsPerSec, etcd: etcdGet.opsPerSec, etcdOp: 'get' },
      { id: 'get.cache.opsPerSec', label: `get ?resourceVersion=0, ${c} in flight`, unit: 'ops/s', server: serverGetCache.opsPerSec, etcd: etcdGet.opsPerSec, etcdOp: 'get' },
      { id: 'get.p50Ms', label: `get p50, ${c} in flight`, unit: 'ms', server: serverGet.p50, etcd: etcdGet.p50, etcdOp: 'get' },
      { id: 'get.p99Ms', label: `get p99, ${c} in flight`, unit: 'ms', server: serverGet.p99, etcd: etcdGet.p99, etcdOp: 'get' },
      { id: 'get.serial.p50Ms', label: 'get p50, 1 in flight', unit: 'ms', server: serverSerial.p50, etcd: etcdSerial.p50, etcdOp: 'get' },
      { id: 'get.serial.p99Ms', label: 'get p99, 1 in flight', unit: 'ms', server: serverSerial.p99, etcd: etcdSerial.p99, etcdOp: 'get' },
    ],
    details: {
      n,
      concurrency: c,
      server: figures(serverGet),
      serverResourceVersion0: figures(serverGetCache),
      etcd: figures(etcdGet),
      serverSerial: figures(serverSerial),
      etcdSerial: figures(etcdSerial),
    },
  };
}

export async function benchUpdate(fx: Fixture, cfg: CrudConfig): Promise<MeasureResult> {
  await Promise.all([fx.ensureServer(cfg.n), fx.ensureRaw(cfg.n)]);
  await warmUp(fx, cfg.warmup);
  const c = fx.concurrency;
  const n = cfg.n;
  // the body with a placeholder for the resourceVersion, which is only known when the request is made
  const templates: string[] = [];
  const values: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const obj = makeObject(fx.name(i), fx.objectBytes);
    obj.metadata.labels['bench.talos.dev/generation'] = '2';
    obj.metadata.resourceVersion = 'RV';
    templates.push(JSON.stringify(obj));
    values.push(storedForm(obj));
  }
  const etcdPut = await fx.timed(n, c, (i) => fx.rawPut(i, values[i]!));
  const etcdTxn = await fx.timed(n, c, async (i) => {
    fx.rawRev[i] = await fx.raw.txnUpdate(fx.rawKey(i), values[i]!, fx.rawRev[i]!);
  });
  const server = await fx.timed(n, c, async (i) => {
    const body = templates[i]!.replace('"resourceVersion":"RV"', `"resourceVersion":"${fx.serverRV[i]}"`);
    const res = await fx.client.expect(200, 'PUT', `${RESOURCE_PATH}/${fx.name(i)}`, body);
    fx.serverRV[i] = /"resourceVersion":"(\d+)"/.exec(res)![1]!;
  }, 'update');
  return {
    name: 'update',
    rows: [
      { id: 'update.opsPerSec', label: `update (PUT with resourceVersion), ${c} in flight`, unit: 'ops/s', server: server.opsPerSec, etcd: etcdPut.opsPerSec, etcdOp: 'put' },
      { id: 'update.txn.opsPerSec', label: `update vs etcd txn-update, ${c} in flight`, unit: 'ops/s', server: server.opsPerSec, etcd: etcdTxn.opsPerSec, etcdOp: 'txn on mod revision' },
      { id: 'update.p99Ms', label: `update p99, ${c} in flight`, unit: 'ms', server: server.p99, etcd: etcdPut.p99, etcdOp: 'put' },
    ],
    details: { n, concurrency: c, server: figures(server), etcdPut: figures(etcdPut), etcdTxnUpdate: figures(etcdTxn) },
  };
}
