// The load measure: how the server holds up when many clients use it at once, on the embedded
// store a single machine runs (`npm start`). Two phases on the same objects, with watches open:
//  - closed loop: `clients` clients, each sending its next request when the last one answered, a
//    mix of get, list (every object), create, update, patch and delete, for a fixed time: p50, p99
//    and worst latency, errors, and the server's peak RSS (sampled from /proc) and RSS after it;
//  - open loop: single-object calls at a fixed rate below saturation, each timed from when it was
//    due (not when it was sent, so a stalled server cannot hide its stall), for the p99 kube's
//    1 s SLO speaks of.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { summarize, sleep, type Latencies } from './measure.js';
import { makeObject, objectName, RESOURCE_PATH } from './objects.js';
import type { MeasureResult, Row } from './report.js';
import { BenchClient, type BenchServer } from './server.js';

export interface LoadConfig {
  objects: number;
  objectBytes: number;
  clients: number;
  watches: number;
  closedLoopSec: number;
  openLoopSec: number;
  /** single-object calls per second in the open loop */
  openLoopRate: number;
  /** the closed loop's verbs and their weights (default MIX) */
  mix?: [Verb, number][];
}

export type Verb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';
/** the closed loop's mix, in parts of 100 (lists of every object are a tenth of the calls) */
const MIX: [Verb, number][] = [['get', 35], ['list', 10], ['create', 15], ['update', 15], ['patch', 15], ['delete', 10]];

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : NaN;
}

/** samples a process's RSS every `everyMs` until stopped; keeps the peak */
function rssSampler(pid: number, everyMs = 100) {
  let peak = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      peak = Math.max(peak, await rssBytes(pid).catch(() => 0));
      await sleep(everyMs);
    }
  })();
  return {
    async stop(): Promise<number> {
      running = false;
      await done;
      return peak;
    },
  };
}

class LoadDriver {
  private nextId = 0;
  /** names that exist (created and not deleted), for picking a target */
  private readonly live: string[] = [];
  readonly errors = new Map<string, number>();
  shed = 0;

  constructor(
    private readonly client: BenchClient,
    private readonly cfg: LoadConfig,
  ) {}

  async seed(concurrency: number): Promise<void> {
    let i = 0;
    const worker = async () => {
      while (i < this.cfg.objects) {
        const name = objectName('load', i++);
        await this.client.expect(201, 'POST', RESOURCE_PATH, JSON.stringify(makeObject(name, this.cfg.objectBytes)));
        this.live.push(name);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    this.nextId = this.cfg.objects;
  }

  private pick(): string | undefined {
    return this.live.length ? this.live[Math.floor(Math.random() * this.live.length)] : undefined;
  }

  private forget(name: string): void {
    const at = this.live.indexOf(name);
    if (at >= 0) this.live.splice(at, 1);
  }

  /** one call of `verb`; resolves to its status (conflicts and races between clients are expected answers) */
  async call(verb: Verb): Promise<number> {
    const name = verb === 'create' ? objectName('load', this.nextId++) : this.pick();
    if (name === undefined) return 0;
    const path = `${RESOURCE_PATH}/${name}`;
    let status: number;
    switch (verb) {
      case 'get':
        status = (await this.client.send('GET', path)).status;
        break;
      case 'list':
        status = (await this.client.send('GET', RESOURCE_PATH)).status;
        break;
      case 'create':
        status = (await this.client.send('POST', RESOURCE_PATH, JSON.stringify(makeObject(name, this.cfg.objectBytes)))).status;
        if (status === 201) this.live.push(name);
        break;
      case 'update': {
        const got = await this.client.send('GET', path);
        if (got.status !== 200) return got.status;
        const obj = JSON.parse(got.body) as { metadata: { annotations?: Record<string, string> } };
        obj.metadata.annotations = { ...obj.metadata.annotations, 'bench.talos.dev/touched': String(Date.now()) };
        status = (await this.client.send('PUT', path, JSON.stringify(obj))).status;
        break;
      }
      case 'patch':
        status = (await this.client.sendWith('PATCH', path, JSON.stringify({ metadata: { labels: { touched: String(Date.now() % 1000) } } }), 'application/merge-patch+json')).status;
        break;
      case 'delete':
        this.forget(name);
        status = (await this.client.send('DELETE', path)).status;
        break;
    }
    // 404 and 409: another client deleted or changed the object first, as in any shared fleet;
    // 429: the server shed the request (a large list that waited its limit), counted apart
    if (status === 429) this.shed++;
    else if (status >= 400 && status !== 404 && status !== 409) this.errors.set(`${verb} ${status}`, (this.errors.get(`${verb} ${status}`) ?? 0) + 1);
    return status;
  }
}

function pickVerb(mix: [Verb, number][]): Verb {
  let r = Math.random() * mix.reduce((a, [, w]) => a + w, 0);
  for (const [v, w] of mix) {
    if ((r -= w) < 0) return v;
  }
  return mix[0]![0];
}

const round = (v: number) => Math.round(v * 10) / 10;
const mb = (b: number) => Math.round(b / 1024 / 1024);
function latencyRows(id: string, label: string, l: Latencies): Row[] {
  return [
    { id: `${id}.p50`, label: `${label} p50`, unit: 'ms', server: round(l.p50) },
    { id: `${id}.p99`, label: `${label} p99`, unit: 'ms', server: round(l.p99) },
    { id: `${id}.max`, label: `${label} worst`, unit: 'ms', server: round(l.max) },
  ];
}

export async function benchLoad(server: BenchServer, cfg: LoadConfig): Promise<MeasureResult> {
  const pid = server.proc.pid!;
  const client = new BenchClient(server.url, server.identity, cfg.clients + cfg.watches + 8);
  const driver = new LoadDriver(client, cfg);
  try {
    await driver.seed(32);
    const rssSeeded = await rssBytes(pid);
    const watches = await Promise.all(Array.from({ length: cfg.watches }, () => client.stream(`${RESOURCE_PATH}?watch=true&resourceVersion=0&allowWatchBookmarks=true`)));
    let events = 0;
    for (const w of watches) w.res.on('data', (c: Buffer) => (events += c.length > 0 ? 1 : 0));

    // closed loop
    const sampler = rssSampler(pid);
    const samples: number[] = [];
    const perVerb = new Map<Verb, number[]>();
    const until = performance.now() + cfg.closedLoopSec * 1000;
    const closedStart = performance.now();
    await Promise.all(
      Array.from({ length: cfg.clients }, async () => {
        while (performance.now() < until) {
          const verb = pickVerb(cfg.mix ?? MIX);
          const t0 = performance.now();
          await driver.call(verb).catch(() => driver.errors.set(`${verb} connection`, (driver.errors.get(`${verb} connection`) ?? 0) + 1));
          const ms = performance.now() - t0;
          samples.push(ms);
          (perVerb.get(verb) ?? perVerb.set(verb, []).get(verb)!).push(ms);
        }
      }),
    );
    const closedSec = (performance.now() - closedStart) / 1000;
    const peakRss = await sampler.stop();
    const rssAfter = await rssBytes(pid);
    const closed = summarize(samples);

    // open loop: single-object calls at a fixed rate, timed from when each was due
    const single: Verb[] = ['get', 'create', 'update', 'patch', 'delete'];
    const openMix = MIX.filter(([v]) => single.includes(v));
    const openSamples: number[] = [];
    const total = Math.round(cfg.openLoopSec * cfg.openLoopRate);
    const openStart = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = openStart + (i * 1000) / cfg.openLoopRate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const verb = pickVerb(openMix);
      inflight.push(driver.call(verb).then(() => void openSamples.push(performance.now() - due), () => void openSamples.push(performance.now() - due)));
    }
    await Promise.all(inflight);
    const open = summarize(openSamples);
    // settled: what the server holds ten seconds (scaled down for quick runs) after the load stopped
    await sleep(Math.min(10_000, cfg.closedLoopSec * 200));
    const rssSettled = await rssBytes(pid);
    for (const w of watches) w.abort();

    const errors = Object.fromEntries(driver.errors);
    const errorCount = [...driver.errors.values()].reduce((a, b) => a + b, 0);
    const rows: Row[] = [
      { id: 'load.closed.opsPerSec', label: `load: ${cfg.clients} clients, mixed verbs, ${cfg.watches} watches, ${cfg.objects} objects (closed loop)`, unit: 'ops/s', server: samples.length / closedSec },
      ...latencyRows('load.closed', 'load: closed loop', closed),
      { id: 'load.closed.errors', label: 'load: closed loop errors (not 404/409/429)', unit: 'ops/s', server: errorCount / closedSec },
      { id: 'load.closed.shed', label: 'load: closed loop requests shed (429)', unit: 'ops/s', server: driver.shed / closedSec },
      { id: 'load.rss.peak', label: 'load: server peak RSS', unit: 'MiB', server: mb(peakRss) },
      { id: 'load.rss.settled', label: 'load: server RSS after the load', unit: 'MiB', server: mb(rssSettled) },
      ...latencyRows('load.open', `load: single-object calls at ${cfg.openLoopRate}/s (open loop)`, open),
    ];
    const p99Row = rows.find((r) => r.id === 'load.open.p99')!;
    p99Row.target = { text: '< 1000 ms (kube SLO)', pass: open.p99 < 1000, ...(open.p99 >= 1000 ? { miss: `${Math.round(open.p99)} ms` } : {}) };
    return {
      name: 'load',
      rows,
      details: {
        config: cfg,
        closedLoop: { ...closed, seconds: closedSec, requests: samples.length, perVerb: Object.fromEntries([...perVerb].map(([v, s]) => [v, summarize(s)])) },
        openLoop: { ...open, rate: cfg.openLoopRate },
        rssMB: { seeded: mb(rssSeeded), peak: mb(peakRss), afterClosedLoop: mb(rssAfter), settled: mb(rssSettled) },
        errors,
        shed: driver.shed,
        watchChunks: events,
      },
    };
  } finally {
    client.close();
  }
}
