// Watch event delivery with many concurrent watchers under a steady write load. Every written
// object carries the time its write was sent (performance.now() of this process) in an
// annotation; each watcher records, per event, arrival time minus that stamp. So a figure covers
// the whole path a client sees: write request -> etcd -> the server's one etcd watch -> watch
// cache -> fan-out -> HTTPS stream, against etcd's own fan-out to the same number of watchers.
// The watchers share HTTP/2 connections as they do behind kube-aggregator (and from client-go);
// a second run gives every watcher an HTTP/1.1 connection of its own.
import { performance } from 'node:perf_hooks';
import type { IKeyValue, Watcher } from 'etcd3';
import { makeObject, objectName, RAW_KEY_PREFIX, RESOURCE_PATH, NAMESPACE, SENT_ANNOTATION, storedForm } from './objects.js';
import { sleep, summarize, type Latencies } from './measure.js';
import { below, type MeasureResult } from './report.js';
import { BenchClient, BenchH2Client } from './server.js';
import type { Fixture } from './fixture.js';

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
const MARK = `"${SENT_ANNOTATION}":"`;
const MARK_BYTES = Buffer.from(MARK);
const OPEN_BATCH = 50;

/** per-event latencies of every watcher, and how many events arrived */
class Deliveries {
  readonly latencies: Float64Array;
  received = 0;
  /** per written object (keyed by its stamp): the first and the last watcher's latency */
  private readonly perEvent = new Map<number, { first: number; last: number }>();

  constructor(readonly expected: number) {
    this.latencies = new Float64Array(expected);
  }

  record(arrival: number, sentAt: number): void {
    const latency = arrival - sentAt;
    if (this.received < this.expected) this.latencies[this.received] = latency;
    this.received++;
    const ev = this.perEvent.get(sentAt);
    if (!ev) this.perEvent.set(sentAt, { first: latency, last: latency });
    else {
      ev.first = Math.min(ev.first, latency);
      ev.last = Math.max(ev.last, latency);
    }
  }

  summary(): { all: Latencies; first: Latencies; spread: Latencies } {
    const events = [...this.perEvent.values()];
    return {
      all: summarize(this.latencies.subarray(0, Math.min(this.received, this.expected))),
      // write sent -> the first watcher has it: the pipeline without the fan-out
      first: summarize(events.map((e) => e.first)),
      // first -> last watcher of the same event: the fan-out to every watcher
      spread: summarize(events.map((e) => e.last - e.first)),
    };
  }
}

/** writes `count` objects at a steady rate; the latency of each write (sent -> acknowledged) */
async function steadyWrites(cfg: WatchConfig, write: (i: number, sentAt: number) => Promise<unknown>): Promise<Latencies> {
  const interval = 1000 / cfg.writesPerSec;
  const start = performance.now();
  const acks: Promise<number>[] = [];
  for (let i = 0; i < cfg.writes; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    const sentAt = performance.now();
    acks.push(write(i, sentAt).then(() => performance.now() - sentAt));
  }
  return summarize(await Promise.all(acks));
}

async function drained(d: Deliveries, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (d.received < d.expected && performance.now() < deadline) await sleep(20);
}

interface SideResult {
  /** write sent -> arrival, over every delivery to every watcher */
  delivery: Latencies;
  /** write sent -> arrival at the first watcher, per event */
  firstDelivery: Latencies;
  /** last watcher's arrival - first watcher's, per event */
  fanOutSpread: Latencies;
  /** write sent -> write acknowledged */
  writes: Latencies;
  received: number;
  expected: number;
  /** time to open every watch */
  openMs: number;
}

function sideResult(d: Deliveries, writes: Latencies, openMs: number): SideResult {
  const { all, first, spread } = d.summary();
  return { delivery: all, firstDelivery: first, fanOutSpread: spread, writes, received: d.received, expected: d.expected, openMs };
}

/** how the watchers reach the server */
export type WatchTransport = 'http2' | 'http1';

async function serverSide(fx: Fixture, cfg: WatchConfig, transport: WatchTransport): Promise<SideResult> {
  // a namespace for these objects only (ignore "already exists" when it runs again)
  const ns = await fx.client.send('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: WATCH_NAMESPACE } }));
  if (ns.status !== 201 && ns.status !== 409) throw new Error(`creating namespace ${WATCH_NAMESPACE}: ${ns.status} ${ns.body}`);
  const watchClient = transport === 'http2' ? new BenchH2Client(fx.client.url, fx.client.identity) : new BenchClient(fx.client.url, fx.client.identity, cfg.watchers + 16);
  const aborts: (() => void)[] = [];
  try {
    const list = await fx.client.expect(200, 'GET', `${WATCH_PATH}?limit=1`);
    const rv = /"resourceVersion":"(\d+)"/.exec(list)![1]!;
    const d = new Deliveries(cfg.watchers * cfg.writes);
    const t0 = performance.now();
    for (let i = 0; i < cfg.watchers; i += OPEN_BATCH) {
      const batch = Array.from({ length: Math.min(OPEN_BATCH, cfg.watchers - i) }, () => watchClient.stream(`${WATCH_PATH}?watch=true&resourceVersion=${rv}`));
      for (const { res, abort } of await Promise.all(batch)) {
        aborts.push(abort);
        res.setEncoding('utf8');
        let tail = '';
        res.on('data', (chunk: string) => {
          const now = performance.now();
          const text = tail + chunk;
          let from = 0;
          for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
            const at = text.indexOf(MARK, from);
            if (at !== -1 && at < nl) d.record(now, Number.parseFloat(text.slice(at + MARK.length, at + MARK.length + 24)));
            from = nl + 1;
          }
          tail = text.slice(from);
        });
        res.on('error', () => undefined); // aborted at the end
      }
    }
    const openMs = performance.now() - t0;
    const writes = await fx.window(`watch writes and fan-out (${transport})`, async () => {
      const acks = await steadyWrites(cfg, (i, sentAt) =>
        fx.client.expect(201, 'POST', WATCH_PATH, JSON.stringify(makeObject(objectName(`watch-${transport}`, i), fx.objectBytes, sentAt))),
      );
      await drained(d, cfg.drainTimeoutMs);
      return acks;
    });
    return sideResult(d, writes, openMs);
  } finally {
    for (const abort of aborts) abort();
    watchClient.close();
  }
}

async function etcdSide(fx: Fixture, cfg: WatchConfig): Promise<SideResult> {
  const d = new Deliveries(cfg.watchers * cfg.writes);
  const watchers: Watcher[] = [];
  try {
    const t0 = performance.now();
    for (let i = 0; i < cfg.watchers; i += OPEN_BATCH) {
      const batch = Array.from({ length: Math.min(OPEN_BATCH, cfg.watchers - i) }, () => fx.raw.client.watch().prefix(RAW_WATCH_PREFIX).create());
      for (const w of await Promise.all(batch)) {
        watchers.push(w);
        w.on('put', (kv: IKeyValue) => {
          const now = performance.now();
          const at = kv.value.indexOf(MARK_BYTES);
          if (at !== -1) d.record(now, Number.parseFloat(kv.value.toString('latin1', at + MARK.length, at + MARK.length + 24)));
        });
      }
    }
    const openMs = performance.now() - t0;
    const writes = await steadyWrites(cfg, (i, sentAt) =>
      fx.raw.put(`${RAW_WATCH_PREFIX}${objectName('watch', i)}`, storedForm(makeObject(objectName('watch', i), fx.objectBytes, sentAt))),
    );
    await drained(d, cfg.drainTimeoutMs);
    return sideResult(d, writes, openMs);
  } finally {
    await Promise.all(watchers.map((w) => w.cancel()));
  }
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
