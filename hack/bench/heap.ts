// Heap per cached object. The server is another process and has no debug endpoint for this, so
// the watch cache runs here, in-process, over the same etcd store the server uses: heap
// (heapUsed + external, after forced GCs) with N cached ~1 KiB values minus heap without them.
// Two ways to fill a cache, both measured: the initial paginated list (a server that just
// started) and a stream of watch events (a server that saw every object created, so its window
// of recent events is full too). Then the standalone garbage collector's owner graph of the same
// objects, which a standalone server keeps besides its cache.
import { nodeOf, OwnerGraph } from '../../src/controllers/garbagecollector/graph.js';
import { decodeObject } from '../../src/machinery/registry/codec.js';
import type { ResourceStore } from '../../src/machinery/registry/store.js';
import { CachedStorage } from '../../src/storage/cache/storage.js';
import { openEtcdStore } from '../../src/storage/etcd3/store.js';
import { makeObject, objectName, storedForm } from './objects.js';
import { runPool, sleep } from './measure.js';
import type { RawEtcd } from './rawetcd.js';
import { below, type MeasureResult } from './report.js';

export interface HeapConfig {
  objects: number;
  concurrency: number;
  valueBytes: number;
}

const LISTED = '/bench-heap/listed/';
const WATCHED = '/bench-heap/watched/';

async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('heap measure needs node --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function values(prefix: string, cfg: HeapConfig): { keys: string[]; values: Buffer[] } {
  const keys: string[] = [];
  const vals: Buffer[] = [];
  for (let i = 0; i < cfg.objects; i++) {
    const name = objectName('heap', i);
    keys.push(`${prefix}${name}`);
    // the stored form of a ~1 KiB object, cut or padded to exactly valueBytes
    const v = storedForm(makeObject(name, cfg.valueBytes));
    vals.push(v.length >= cfg.valueBytes ? v.subarray(0, cfg.valueBytes) : Buffer.concat([v, Buffer.alloc(cfg.valueBytes - v.length, 0x20)]));
  }
  return { keys, values: vals };
}

export async function benchHeap(endpoint: string, raw: RawEtcd, cfg: HeapConfig): Promise<MeasureResult> {
  const n = cfg.objects;
  let data: { keys: string[]; values: Buffer[] } | undefined = values(LISTED, cfg);
  await runPool(n, cfg.concurrency, (i) => raw.put(data!.keys[i]!, data!.values[i]!));
  const keyBytes = data.keys.reduce((s, k) => s + Buffer.byteLength(k), 0) / n;
  data = undefined;
  const store = await openEtcdStore({ endpoints: [endpoint], compactionIntervalMs: 0 });
  const cache = new CachedStorage(store, [LISTED, WATCHED]);
  try {
    await store.currentRevision(); // connected before the baseline, so the connection is not counted
    const empty = await settledHeap();
    await cache.start();
    const listedHeap = await settledHeap();
    const statsOf = (prefix: string) => cache.stats().find((s) => s.prefix === prefix)!;
    if (statsOf(LISTED).objects !== n) throw new Error(`the cache holds ${statsOf(LISTED).objects} of ${n} listed objects`);

    const watched = values(WATCHED, cfg);
    await runPool(n, cfg.concurrency, (i) => raw.put(watched.keys[i]!, watched.values[i]!));
    watched.keys.length = 0;
    watched.values.length = 0;
    for (let i = 0; i < 500 && statsOf(WATCHED).objects < n; i++) await sleep(20);
    if (statsOf(WATCHED).objects !== n) throw new Error(`the cache holds ${statsOf(WATCHED).objects} of ${n} watched objects`);
    const watchedHeap = await settledHeap();

    // as the collector's watch feeds it: every object decoded once, only its graph record kept
    const cached = (await cache.list(WATCHED)).kvs;
    const beforeGraph = await settledHeap();
    const graph = new OwnerGraph();
    const resource = {} as ResourceStore; // identity only: the graph never calls it
    for (const kv of cached) graph.upsert(nodeOf(resource, decodeObject(kv))!);
    if (graph.size !== n) throw new Error(`the graph holds ${graph.size} of ${n} objects`);
    const graphHeap = await settledHeap();
    const perGraphObject = (graphHeap - beforeGraph) / n;

    const perListed = (listedHeap - empty) / n;
    const perWatched = (watchedHeap - listedHeap) / n;
    const rawBytes = cfg.valueBytes + keyBytes;
    const worst = Math.max(perListed, perWatched);
    return {
      name: 'heap',
      rows: [
        {
          id: 'heap.listed.bytesPerObject',
          label: `heap per cached ${cfg.valueBytes} B object, filled by list`,
          unit: 'B',
          server: perListed,
          etcd: rawBytes,
          etcdOp: 'key + value bytes',
        },
        {
          id: 'heap.watched.bytesPerObject',
          label: `heap per cached ${cfg.valueBytes} B object, filled by watch`,
          unit: 'B',
          server: perWatched,
          etcd: rawBytes,
          etcdOp: 'key + value bytes',
          target: n >= 10_000 ? below(worst, 2048, '< 2 KB (worst of both)') : undefined,
        },
        {
          id: 'heap.gcGraph.bytesPerObject',
          label: `heap per object of the garbage collector's graph (standalone)`,
          unit: 'B',
          server: perGraphObject,
        },
      ],
      details: { objects: n, valueBytes: cfg.valueBytes, keyBytes, emptyHeap: empty, listedHeap, watchedHeap, graphHeap, perListed, perWatched, perGraphObject },
    };
  } finally {
    await cache.close();
    await raw.deletePrefix('/bench-heap/');
  }
}
