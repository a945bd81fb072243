// Listing every object of a namespace (10,000 in the full run): from the watch cache
// (resourceVersion=0), consistent (no resourceVersion), and in pages of 500 following `continue`;
// against etcd ranging over the server's own keys of those objects, in one range and in pages.
// Each list is read whole, as a client must; it is parsed once to check the count, not on every run.
import { RESOURCE_PATH, SERVER_KEY_PREFIX } from './objects.js';
import { repeat, sleep } from './measure.js';
import { below, type MeasureResult } from './report.js';
import type { Fixture } from './fixture.js';

export interface ListConfig {
  objects: number;
  runs: number;
  pageSize: number;
}

function itemCount(body: string): number {
  return (JSON.parse(body) as { items: unknown[] }).items.length;
}

/** waits (bounded) until the cache serves every object */
async function cacheHolds(fx: Fixture, count: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const body = await fx.client.expect(200, 'GET', `${RESOURCE_PATH}?resourceVersion=0`);
    if (itemCount(body) >= count) return;
    await sleep(100);
  }
  throw new Error(`the server's cache did not reach ${count} objects`);
}

async function listPaged(fx: Fixture, limit: number): Promise<number> {
  let pages = 0;
  let cont = '';
  for (;;) {
    const query = `?limit=${limit}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
    const body = await fx.client.expect(200, 'GET', `${RESOURCE_PATH}${query}`);
    pages++;
    // the list's metadata comes before its items: no need to parse 500 objects to find it
    cont = /"continue":"([^"]*)"/.exec(body.slice(0, 2048))?.[1] ?? '';
    if (!cont) return pages;
  }
}

export async function benchList(fx: Fixture, cfg: ListConfig): Promise<MeasureResult> {
  await fx.ensureServer(cfg.objects);
  await cacheHolds(fx, cfg.objects);
  const checks = {
    cache: itemCount(await fx.client.expect(200, 'GET', `${RESOURCE_PATH}?resourceVersion=0`)),
    consistent: itemCount(await fx.client.expect(200, 'GET', RESOURCE_PATH)),
    pages: await listPaged(fx, cfg.pageSize),
    etcdRange: await fx.raw.rangeAll(SERVER_KEY_PREFIX),
    etcdPaged: await fx.raw.rangePaged(SERVER_KEY_PREFIX, cfg.pageSize),
  };
  if (checks.cache !== checks.consistent || checks.cache !== checks.etcdRange || checks.etcdRange !== checks.etcdPaged) {
    throw new Error(`list sizes differ: ${JSON.stringify(checks)}`);
  }
  const runs = cfg.runs;
  const measured = (fn: () => Promise<unknown>) => fx.cpu.measure(() => repeat(runs, () => fn().then(() => undefined)));
  const server = (window: string, fn: () => Promise<unknown>) => fx.window(window, () => measured(fn));
  const cache = await server('list resourceVersion=0', () => fx.client.expect(200, 'GET', `${RESOURCE_PATH}?resourceVersion=0`));
  const consistent = await server('list consistent', () => fx.client.expect(200, 'GET', RESOURCE_PATH));
  const paged = await server('list paginated', () => listPaged(fx, cfg.pageSize));
  const etcdFull = await measured(() => fx.raw.rangeAll(SERVER_KEY_PREFIX));
  const etcdPaged = await measured(() => fx.raw.rangePaged(SERVER_KEY_PREFIX, cfg.pageSize));
  const n = checks.cache;
  const p = cfg.pageSize;
  return {
    name: 'list',
    rows: [
      {
        id: 'list.cache.ms',
        label: `list ${n}, resourceVersion=0 (cache)`,
        unit: 'ms',
        server: cache.p50,
        etcd: etcdFull.p50,
        etcdOp: 'one range',
        target: n >= 10_000 ? below(cache.p50, 100, '< 100 ms') : undefined,
      },
      { id: 'list.consistent.ms', label: `list ${n}, consistent`, unit: 'ms', server: consistent.p50, etcd: etcdFull.p50, etcdOp: 'one range' },
      { id: 'list.paged.ms', label: `list ${n}, limit=${p} + continue`, unit: 'ms', server: paged.p50, etcd: etcdPaged.p50, etcdOp: `ranges of ${p}` },
    ],
    details: { objects: n, runs, pageSize: p, pages: checks.pages, medianOf: runs, cache, consistent, paged, etcdFull, etcdPaged },
  };
}
