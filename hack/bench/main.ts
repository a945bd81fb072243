// `npm run bench -- [--quick] [--only NAME[,NAME]] [--out FILE] [--profile DIR]`: the server
// against raw etcd on one etcd started here, on this machine. Prints a table on stdout (progress
// goes to stderr) and writes the figures as JSON. See docs/benchmarks.md.
import { spawn } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEtcd, type EtcdServer } from '../../test/helpers/etcd.js';
import { childPid, CpuMeter } from './cpu.js';
import { benchApply } from './apply.js';
import { benchCreate, benchGet, benchUpdate } from './crud.js';
import { Fixture } from './fixture.js';
import { benchHeap } from './heap.js';
import { formatHotspots, hotspots, readProfile, type Hotspots } from './hotspots.js';
import { benchList } from './list.js';
import { benchLoad } from './load.js';
import { RawEtcd } from './rawetcd.js';
import { benchSnapshot } from './snapshot.js';
import { formatTable, ratio, type MeasureResult } from './report.js';
import { BenchClient, startBenchServer, type BenchServer } from './server.js';
import { benchWatch } from './watch.js';

const MEASURES = ['heap', 'create', 'get', 'update', 'apply', 'list', 'watch', 'snapshot', 'load'] as const;
type MeasureName = (typeof MEASURES)[number];

const FULL = {
  concurrency: 64,
  objectBytes: 1024,
  crud: { n: 5_000, warmup: 300 },
  apply: { n: 2_000 },
  list: { objects: 10_000, runs: 5, pageSize: 500 },
  // 10 writes/s is 10,000 deliveries/s at 1,000 watchers: within what this process can receive
  // on a small machine, so the figure is the server's and not the benchmark client's
  watch: { watchers: 1_000, writes: 200, writesPerSec: 10, drainTimeoutMs: 30_000 },
  heap: { objects: 10_000, valueBytes: 1024 },
  // a mixed load: 200 clients and 20 watches on about 5,000 small objects
  load: { objects: 5_000, objectBytes: 512, clients: 200, watches: 20, closedLoopSec: 60, openLoopSec: 30, openLoopRate: 100 },
  snapshot: { keys: 192, valueBytes: 100 * 1024, concurrency: 8, writesAfter: 200 },
};

const QUICK: typeof FULL = {
  concurrency: 16,
  objectBytes: 1024,
  crud: { n: 300, warmup: 50 },
  apply: { n: 200 },
  list: { objects: 1_000, runs: 2, pageSize: 500 },
  watch: { watchers: 50, writes: 20, writesPerSec: 50, drainTimeoutMs: 10_000 },
  heap: { objects: 1_000, valueBytes: 1024 },
  load: { objects: 300, objectBytes: 512, clients: 20, watches: 3, closedLoopSec: 2, openLoopSec: 2, openLoopRate: 50 },
  snapshot: { keys: 32, valueBytes: 32 * 1024, concurrency: 8, writesAfter: 50 },
};

interface Args {
  out: string;
  quick: boolean;
  only: Set<MeasureName>;
  profile?: string;
  watchRate?: number;
}

function usage(): string {
  return `usage: npm run bench -- [--quick] [--only ${MEASURES.join('|')}[,...]] [--out FILE] [--profile DIR]
  --quick         a small smoke run (seconds, not minutes)
  --only NAMES    run only these measures (comma-separated or repeated)
  --out FILE      JSON report (default bench/results/latest.json)
  --profile DIR   run the server under node --cpu-prof, write the profile to DIR and print its hot spots
  --watch-rate N  writes per second during the watch measure (default ${FULL.watch.writesPerSec})`;
}

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'bench/results/latest.json' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      profile: { type: 'string' },
      'watch-rate': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(usage() + '\n');
    process.exit(0);
  }
  const only = new Set<MeasureName>();
  for (const name of (values.only ?? []).flatMap((v) => v.split(','))) {
    if (!(MEASURES as readonly string[]).includes(name)) throw new Error(`--only: unknown measure "${name}" (one of ${MEASURES.join(', ')})`);
    only.add(name as MeasureName);
  }
  const rate = values['watch-rate'] === undefined ? undefined : Number(values['watch-rate']);
  if (rate !== undefined && !(rate > 0 && rate <= 1000)) throw new Error('--watch-rate: writes per second, more than 0 and at most 1000');
  return {
    out: resolve(values.out!),
    quick: values.quick!,
    only: only.size ? only : new Set(MEASURES),
    profile: values.profile ? resolve(values.profile) : undefined,
    watchRate: rate,
  };
}

/** the heap measure needs global.gc: run this same script again under --expose-gc */
function reexecWithGC(): void {
  const child = spawn(process.execPath, ['--expose-gc', ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
}

const started = Date.now();
function progress(msg: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
}

async function newestProfile(dir: string, since: number): Promise<string | undefined> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  const stamped = await Promise.all(files.map(async (f) => ({ f, t: (await stat(f)).mtimeMs })));
  return stamped.filter((x) => x.t >= since).sort((a, b) => b.t - a.t)[0]?.f;
}

async function run(args: Args): Promise<void> {
  const base = args.quick ? QUICK : FULL;
  const cfg = args.watchRate ? { ...base, watch: { ...base.watch, writesPerSec: args.watchRate } } : base;
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch((e: unknown) => progress(`cleanup: ${String(e)}`));
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  const loadAtStart = loadavg();
  if (loadAtStart[0]! > cpus().length / 2) {
    progress(`warning: the load average is ${loadAtStart[0]!.toFixed(1)} on ${cpus().length} CPUs: other work on this machine will skew the figures`);
  }
  const results: MeasureResult[] = [];
  let profile: { file: string; whole: Hotspots; windows: Record<string, Hotspots> } | undefined;
  let etcdVersion = 'unknown';
  try {

    if (args.only.has('heap')) {
      // an etcd of its own: the measure writes and then deletes twice its object count, and an
      // etcd left with that many tombstones (nothing compacts during a run) answers ranges and
      // transactions several times slower, which would skew every raw figure after it
      progress(`heap: ${cfg.heap.objects} cached values in-process, on an etcd of its own`);
      const heapEtcd = await startEtcd();
      const heapRaw = new RawEtcd(heapEtcd.endpoints[0]!);
      try {
        results.push(await benchHeap(heapEtcd.endpoints[0]!, heapRaw, { ...cfg.heap, concurrency: cfg.concurrency }));
      } finally {
        heapRaw.close();
        await heapEtcd.cleanup();
      }
    }
    const serverMeasures = MEASURES.filter((m) => m !== 'heap' && m !== 'snapshot' && m !== 'load' && args.only.has(m));
    if (serverMeasures.length > 0) {
      progress('starting etcd');
      const etcd: EtcdServer = await startEtcd();
      cleanups.push(() => etcd.cleanup());
      const endpoint = etcd.endpoints[0]!;
      const raw = new RawEtcd(endpoint);
      cleanups.push(() => raw.close());
      etcdVersion = (await raw.client.maintenance.status()).version;
      progress(`starting the server${args.profile ? ` under --cpu-prof (${args.profile})` : ''}`);
      if (args.profile) await mkdir(args.profile, { recursive: true });
      const serverStart = Date.now();
      const server: BenchServer = await startBenchServer({
        etcdEndpoint: endpoint,
        nodeArgs: args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [],
      });
      cleanups.push(() => server.stop());
      const client = new BenchClient(server.url, server.identity, cfg.concurrency + 16);
      cleanups.push(() => client.close());
      const fx = new Fixture(client, raw, cfg.concurrency, cfg.objectBytes, new CpuMeter(server.proc.pid, childPid('etcd')));
      for (const m of serverMeasures) {
        progress(`${m}`);
        if (m === 'create') results.push(await benchCreate(fx, cfg.crud));
        if (m === 'get') results.push(await benchGet(fx, cfg.crud));
        if (m === 'update') results.push(await benchUpdate(fx, cfg.crud));
        if (m === 'apply') results.push(await benchApply(server.url, server.identity, cfg.apply.n, cfg.concurrency));
        if (m === 'list') results.push(await benchList(fx, cfg.list));
        if (m === 'watch') results.push(await benchWatch(fx, cfg.watch));
      }
      client.close();
      await server.stop();
      if (args.profile) {
        const file = await newestProfile(args.profile, serverStart);
        if (file) {
          const cpuProfile = await readProfile(file);
          profile = { file, whole: hotspots(cpuProfile), windows: {} };
          process.stderr.write(`server CPU profile ${file}\n`);
          for (const w of fx.windows) {
            const h = hotspots(cpuProfile, 15, w);
            profile.windows[w.name] = h;
            process.stderr.write(`\n== server while measuring: ${w.name}\n${formatHotspots(h)}\n`);
          }
        } else {
          progress(`no .cpuprofile was written to ${args.profile}`);
        }
      }
    }
    if (args.only.has('snapshot')) {
      progress(`snapshot: embedded store in-process, ${cfg.snapshot.keys} values of ${cfg.snapshot.valueBytes} B`);
      results.push(await benchSnapshot(cfg.snapshot));
    }
    if (args.only.has('load')) {
      // a server of its own on the embedded store: what a single machine runs, and where history
      // compaction and snapshots happen under the load
      progress(`load: ${cfg.load.clients} clients and ${cfg.load.watches} watches for ${cfg.load.closedLoopSec} s, then ${cfg.load.openLoopRate}/s for ${cfg.load.openLoopSec} s (embedded store)`);
      const server = await startBenchServer({});
      try {
        results.push(await benchLoad(server, cfg.load));
      } finally {
        await server.stop();
      }
    }
  } finally {
    await cleanup();
  }

  const rows = results.flatMap((r) => r.rows);
  const table = formatTable(rows);
  process.stdout.write(`\n${table}\n`);
  const missed = rows.filter((r) => r.target && !r.target.pass);
  if (missed.length) process.stdout.write(`\ntargets missed: ${missed.map((r) => `${r.label} (${r.target!.miss ?? r.target!.text})`).join('; ')}\n`);
  const cpu = cpus();
  const report = {
    benchmark: 'talos-fleet-apiserver against raw etcd',
    date: new Date(started).toISOString(),
    durationSec: (Date.now() - started) / 1000,
    command: `npm run bench --${process.argv.slice(2).map((a) => ` ${a}`).join('')}`,
    argv: [process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model,
      totalMemBytes: totalmem(),
      platform: process.platform,
      arch: process.arch,
      kernel: release(),
      node: process.version,
      etcd: etcdVersion,
      // 1, 5 and 15 minute load averages: anything else running makes the figures worse
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadavg(),
    },
    config: { quick: args.quick, only: [...args.only], ...cfg },
    results: rows.map((r) => ({ ...r, ratio: ratio(r) })),
    table,
    details: Object.fromEntries(results.map((r) => [r.name, r.details])),
    ...(profile ? { serverProfile: profile } : {}),
  };
  await mkdir(dirname(args.out), { recursive: true });
  await writeFile(args.out, JSON.stringify(report, null, 2) + '\n');
  progress(`wrote ${args.out}`);
}

if (!(globalThis as { gc?: unknown }).gc) {
  reexecWithGC();
} else {
  let args: Args;
  try {
    args = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage()}\n`);
    process.exit(2);
  }
  run(args).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
