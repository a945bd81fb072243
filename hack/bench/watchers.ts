// The receiving end of the watch measure, in a worker thread: it opens every watcher (on the
// server or on raw etcd) and records when each event arrives. A thread of its own, with its own
// small heap and event loop, keeps the instrument out of the figure: on the benchmark's main
// thread, which holds everything the earlier measures made, the receiving side's own garbage
// collection and the writer's work showed up as delivery latency of either side.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { IKeyValue, Watcher } from 'etcd3';
import { SENT_ANNOTATION } from './objects.js';
import { summarize, type Latencies } from './measure.js';
import { RawEtcd } from './rawetcd.js';
import { BenchClient, BenchH2Client, type ClientIdentity } from './server.js';

export type WatchTransport = 'http2' | 'http1';

export type WatchersConfig =
  | { side: 'server'; transport: WatchTransport; url: string; identity: ClientIdentity; path: string; watchers: number; expected: number }
  | { side: 'etcd'; endpoint: string; prefix: string; watchers: number; expected: number };

export interface WatchersResult {
  /** write sent -> arrival, over every delivery to every watcher */
  delivery: Latencies;
  /** write sent -> arrival at the first watcher, per event */
  firstDelivery: Latencies;
  /** last watcher's arrival - first watcher's, per event */
  fanOutSpread: Latencies;
  received: number;
  expected: number;
  openMs: number;
}

export type ToWorker = { type: 'drain'; timeoutMs: number };
export type FromWorker = { type: 'ready'; openMs: number } | { type: 'done'; result: WatchersResult } | { type: 'failed'; message: string };

/** the writer's stamps and these arrival times are both on this clock: wall time in ms, sub-ms */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}

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

  result(openMs: number): WatchersResult {
    const events = [...this.perEvent.values()];
    return {
      delivery: summarize(this.latencies.subarray(0, Math.min(this.received, this.expected))),
      firstDelivery: summarize(events.map((e) => e.first)),
      fanOutSpread: summarize(events.map((e) => e.last - e.first)),
      received: this.received,
      expected: this.expected,
      openMs,
    };
  }
}

/** opens the server's watches; what closes them */
async function serverWatchers(cfg: Extract<WatchersConfig, { side: 'server' }>, d: Deliveries): Promise<() => void> {
  const client = cfg.transport === 'http2' ? new BenchH2Client(cfg.url, cfg.identity) : new BenchClient(cfg.url, cfg.identity, cfg.watchers + 16);
  const aborts: (() => void)[] = [];
  const close = () => {
    for (const abort of aborts) abort();
    client.close();
  };
  try {
    for (let i = 0; i < cfg.watchers; i += OPEN_BATCH) {
      const batch = Array.from({ length: Math.min(OPEN_BATCH, cfg.watchers - i) }, () => client.stream(cfg.path));
      for (const { res, abort } of await Promise.all(batch)) {
        aborts.push(abort);
        res.setEncoding('utf8');
        let tail = '';
        res.on('data', (chunk: string) => {
          const now = clock();
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
  } catch (err) {
    close();
    throw err;
  }
  return close;
}

async function etcdWatchers(cfg: Extract<WatchersConfig, { side: 'etcd' }>, d: Deliveries): Promise<() => Promise<void>> {
  const raw = new RawEtcd(cfg.endpoint);
  const watchers: Watcher[] = [];
  const close = async () => {
    await Promise.all(watchers.map((w) => w.cancel()));
    raw.close();
  };
  try {
    for (let i = 0; i < cfg.watchers; i += OPEN_BATCH) {
      const batch = Array.from({ length: Math.min(OPEN_BATCH, cfg.watchers - i) }, () => raw.client.watch().prefix(cfg.prefix).create());
      for (const w of await Promise.all(batch)) {
        watchers.push(w);
        w.on('put', (kv: IKeyValue) => {
          const now = clock();
          const at = kv.value.indexOf(MARK_BYTES);
          if (at !== -1) d.record(now, Number.parseFloat(kv.value.toString('latin1', at + MARK.length, at + MARK.length + 24)));
        });
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return close;
}

async function main(cfg: WatchersConfig): Promise<void> {
  const port = parentPort!;
  const d = new Deliveries(cfg.expected);
  const t0 = performance.now();
  const close = cfg.side === 'server' ? await serverWatchers(cfg, d) : await etcdWatchers(cfg, d);
  const openMs = performance.now() - t0;
  port.postMessage({ type: 'ready', openMs } satisfies FromWorker);
  port.once('message', (msg: ToWorker) => {
    const deadline = performance.now() + msg.timeoutMs;
    const check = () => {
      if (d.received < d.expected && performance.now() < deadline) {
        setTimeout(check, 20);
        return;
      }
      const result = d.result(openMs);
      void Promise.resolve(close()).finally(() => port.postMessage({ type: 'done', result } satisfies FromWorker));
    };
    check();
  });
}

if (parentPort && workerData) {
  main(workerData as WatchersConfig).catch((err: unknown) => parentPort!.postMessage({ type: 'failed', message: (err as Error).stack ?? String(err) } satisfies FromWorker));
}
