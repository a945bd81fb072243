// The etcd3 backend against real etcd processes: the shared conformance suite, then what only a
// networked store has to get right: mTLS, outages, resumed watches, compaction, paging, and a
// three-member cluster losing its leader under load.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  openEtcdStore,
  type CompactionReport,
  type EtcdStore,
  type EtcdStoreOptions,
} from '../../src/storage/etcd3/store.js';
import { StorageError, type KeyValue, type StorageEvent } from '../../src/storage/storage.js';
import {
  startEtcd,
  startEtcdCluster,
  startTcpProxy,
  type EtcdCluster,
  type EtcdServer,
  type TcpProxy,
} from '../helpers/etcd.js';
import { runStorageConformance } from './conformance.js';

const b = (s: string): Buffer => Buffer.from(s);

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.cleanup();
});

runStorageConformance('etcd3', async () => {
  const store = await openEtcdStore({ endpoints: etcd.endpoints, compactionIntervalMs: 0, requestTimeoutMs: 5_000 });
  return { store, cleanup: () => store.close() };
});

/** a watch's events and end, with a way to wait for a condition (bounded by the test timeout) */
function collect(store: EtcdStore, prefix: string, from: number) {
  const state = { events: [] as StorageEvent[], error: undefined as StorageError | undefined };
  let wake = (): void => undefined;
  const watch = store.watch(prefix, from, {
    onEvent: (ev) => (state.events.push(ev), wake()),
    onError: (err) => ((state.error = err), wake()),
  });
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = () => (cond() ? resolve() : (wake = check));
      check();
    });
  const revisions = () => state.events.map((e) => e.revision);
  const untilRevision = (rev: number) =>
    until(() => state.error !== undefined || state.events.some((e) => e.revision >= rev));
  return { state, watch, until, untilRevision, revisions };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function failure(p: Promise<unknown>): Promise<StorageError> {
  const err = await p.then(
    () => expect.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  return err as StorageError;
}

const stores: EtcdStore[] = [];
const cleanups: (() => Promise<void>)[] = [];
async function open(opts: Partial<EtcdStoreOptions> & { endpoints: string[] }): Promise<EtcdStore> {
  const store = await openEtcdStore({ compactionIntervalMs: 0, requestTimeoutMs: 5_000, ...opts });
  stores.push(store);
  return store;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('etcd3 store', () => {
  it('pages lists: no range asks etcd for more than the page size, and all pages are read at one revision', async () => {
    const store = await open({ endpoints: etcd.endpoints, listPageSize: 5 });
    const root = `/registry/paging/${Date.now()}/`;
    for (let i = 0; i < 23; i++) await store.create(`${root}k${String(i).padStart(2, '0')}`, b(`v${i}`));
    // writes race with the pages; the list must still be one snapshot
    const writing = Promise.all(range(23, 40).map((i) => store.create(`${root}k${i}`, b(`v${i}`))));
    const all = await store.list(root);
    await writing;
    const snapshot = await (await open({ endpoints: etcd.endpoints })).list(root, { revision: all.revision });
    expect(all.kvs).toEqual(snapshot.kvs);
    expect(all).toMatchObject({ more: false, remaining: 0 });
    const some = await store.list(root, { limit: 12 });
    expect(some.kvs).toHaveLength(12);
    expect(some).toMatchObject({ more: true, remaining: 41 - 12 });
    expect(store.stats()).toMatchObject({ largestListLimit: 5, unlimitedListRanges: 0 });
    expect(store.stats().listRanges).toBeGreaterThanOrEqual(Math.ceil(all.kvs.length / 5) + 3);
  });

  it('lists and watches more data than one gRPC reply may carry, in smaller pieces', async () => {
    const store = await open({ endpoints: etcd.endpoints });
    const root = `/registry/big/${Date.now()}/`;
    const value = (i: number) => Buffer.alloc(1024 * 1024, i);
    const r0 = await store.currentRevision();
    for (let i = 0; i < 20; i++) await store.create(`${root}k${String(i).padStart(2, '0')}`, value(i));
    const intact = (kvs: KeyValue[]) => kvs.map((kv) => kv.value.equals(value(Number(kv.key.slice(-2)))));
    const res = await store.list(root);
    expect(intact(res.kvs)).toEqual(Array(20).fill(true));
    expect(store.stats().listRanges).toBeGreaterThanOrEqual(10);
    // the replay of 20 MiB of history comes in fragments, not one reply over the limit
    const w = collect(store, root, r0);
    await w.untilRevision(r0 + 20);
    expect(w.state.error).toBeUndefined();
    expect(intact(w.state.events.map((e) => e.kv))).toEqual(Array(20).fill(true));
  });

  it('connects over mTLS, and etcd refuses a client without a certificate', async () => {
    const tlsEtcd = await startEtcd({ tls: true });
    cleanups.push(() => tlsEtcd.cleanup());
    const files = tlsEtcd.tls!;
    const store = await open({ endpoints: tlsEtcd.endpoints, ...files });
    const kv = await store.create('/registry/tls/a', b('secret'));
    expect(await store.get('/registry/tls/a')).toEqual(kv);
    const anonymous = await open({ endpoints: tlsEtcd.endpoints, caFile: files.caFile, requestTimeoutMs: 3_000 });
    const started = Date.now();
    const err = await failure(anonymous.get('/registry/tls/a'));
    expect(err.code).toBe('Unavailable');
    expect(err.message).toMatch(/certificate/);
    expect(Date.now() - started).toBeLessThan(3_000 + 1_000);
  });

  it('fails fast while etcd is down, recovers by itself, and resumes an open watch without gaps', async () => {
    const own = await startEtcd();
    cleanups.push(() => own.cleanup());
    const timeout = 1_500;
    const store = await open({ endpoints: own.endpoints, requestTimeoutMs: timeout, watchReconnectTimeoutMs: 30_000 });
    const impatient = await open({
      endpoints: own.endpoints,
      requestTimeoutMs: timeout,
      watchReconnectTimeoutMs: 1_000,
    });
    const r0 = await store.currentRevision();
    const w = collect(store, '/registry/outage/', r0);
    const short = collect(impatient, '/registry/outage/', r0);
    for (let i = 0; i < 5; i++) await store.create(`/registry/outage/a${i}`, b('before'));
    await w.untilRevision(r0 + 5);
    await short.untilRevision(r0 + 5);

    await own.stop();
    // the stream broke before stop() returned; the impatient watch gives up 1 s after that
    const down = Date.now();
    await short.until(() => short.state.error !== undefined);
    expect(short.state.error?.code).toBe('Unavailable');
    expect(Date.now() - down).toBeLessThan(1_000 + 1_000);
    for (const call of [
      () => store.get('/registry/outage/a0'),
      () => store.create('/registry/outage/x', b('x')),
      () => store.list('/registry/outage/'),
    ]) {
      const started = Date.now();
      expect((await failure(call())).code).toBe('Unavailable');
      expect(Date.now() - started).toBeLessThan(timeout + 1_000);
    }

    await own.start();
    expect((await store.get('/registry/outage/a0'))?.value).toEqual(b('before'));
    for (let i = 0; i < 5; i++) await store.create(`/registry/outage/b${i}`, b('after'));
    await w.untilRevision(r0 + 10);
    expect(w.state.error).toBeUndefined();
    expect(w.revisions()).toEqual(range(r0 + 1, r0 + 10));
    expect(store.stats().watchReconnects).toBeGreaterThan(0);
  });

  describe('behind a connection that breaks', () => {
    let proxy: TcpProxy;
    afterEach(async () => proxy?.close());

    it('resumes a watch after the last delivered revision: every event written meanwhile arrives once', async () => {
      proxy = await startTcpProxy(etcd.endpoints[0]!);
      const direct = await open({ endpoints: etcd.endpoints });
      const cutOff = await open({ endpoints: [proxy.endpoint] });
      const root = `/registry/cut/${Date.now()}/`;
      const r0 = await direct.currentRevision();
      const w = collect(cutOff, root, r0);
      const first = await direct.create(`${root}a`, b('1'));
      await w.untilRevision(first.modRevision);
      proxy.cut();
      let last = first;
      for (let i = 0; i < 10; i++) last = await direct.update(last.key, b(String(i)), last.modRevision);
      proxy.restore();
      await w.untilRevision(last.modRevision);
      expect(w.state.error).toBeUndefined();
      expect(w.revisions()).toEqual(range(first.modRevision, last.modRevision));
      expect(w.state.events.at(-1)).toMatchObject({ type: 'put', kv: last });
    });

    it('reports Compacted when the history it must resume from was compacted meanwhile', async () => {
      proxy = await startTcpProxy(etcd.endpoints[0]!);
      const direct = await open({ endpoints: etcd.endpoints });
      const cutOff = await open({ endpoints: [proxy.endpoint] });
      const root = `/registry/cut-compacted/${Date.now()}/`;
      const w = collect(cutOff, root, await direct.currentRevision());
      const first = await direct.create(`${root}a`, b('1'));
      await w.untilRevision(first.modRevision);
      proxy.cut();
      const second = await direct.update(first.key, b('2'), first.modRevision);
      const third = await direct.update(first.key, b('3'), second.modRevision);
      await direct.compact(third.modRevision);
      proxy.restore();
      await w.until(() => w.state.error !== undefined);
      expect(w.state.error).toMatchObject({ code: 'Compacted', revision: third.modRevision });
      expect(w.revisions()).toEqual([first.modRevision]);
    });
  });

  it('compacts periodically to the revision seen at the previous tick, one server per round', async () => {
    const own = await startEtcd();
    cleanups.push(() => own.cleanup());
    const reports: { server: number; report: CompactionReport }[] = [];
    let wake = (): void => undefined;
    const opts = (server: number) => ({
      endpoints: own.endpoints,
      compactionIntervalMs: 150,
      onCompaction: (report: CompactionReport) => {
        reports.push({ server, report });
        wake();
      },
    });
    const servers = [await open(opts(0)), await open(opts(1))];
    const r0 = await servers[0]!.currentRevision();
    const everything = collect(servers[0]!, '', r0);
    let kv = await servers[0]!.create('/registry/compaction/k', b('0'));
    const compactions = () =>
      reports.flatMap(({ server, report }) => (report.outcome === 'compacted' ? [{ server, ...report }] : []));
    for (let i = 1; compactions().length < 4; i++) {
      expect(i).toBeLessThan(10_000);
      kv = await servers[i % 2]!.update(kv.key, b(String(i)), kv.modRevision);
      if (i % 20 === 0) await new Promise<void>((resolve) => (wake = resolve));
    }
    expect(reports.filter((r) => r.report.outcome === 'failed')).toEqual([]);
    // the clock moves once per round, and only the server that moved it compacts
    const clocks = reports.flatMap(({ report: r }) =>
      r.outcome === 'compacted' || r.outcome === 'nothing-yet' ? [r.clock] : [],
    );
    expect(new Set(clocks).size).toBe(clocks.length);
    // ... to the revision it saw at its own previous tick, so one interval of history remains
    for (const server of [0, 1]) {
      const mine = reports.filter((r) => r.server === server).map((r) => r.report);
      mine.forEach(
        (r, i) =>
          r.outcome === 'compacted' && expect(r.revision).toBe((mine[i - 1] as { observed?: number })?.observed),
      );
    }
    const compacted = compactions().at(-1)!.revision;
    // (the loops keep running, so etcd may have been compacted further by now)
    for (const s of servers) expect(await s.compactedRevision()).toBeGreaterThanOrEqual(compacted);
    expect((await failure(servers[1]!.get(kv.key, compacted - 1))).code).toBe('Compacted');
    // the election key sits in etcd's root, which an empty prefix exposes: lists and watches hide it
    const listed = await servers[1]!.list('');
    expect(listed).toMatchObject({ kvs: [kv], more: false, remaining: 0 });
    expect(await servers[1]!.list('', { limit: 1 })).toMatchObject({ kvs: [kv], more: false, remaining: 0 });
    await everything.untilRevision(kv.modRevision);
    expect(everything.state.events.every((e) => e.kv.key === kv.key)).toBe(true);
  });
});

describe('etcd3 store on a three-member cluster', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster(3);
  });
  afterAll(async () => cluster?.cleanup());

  it('keeps acknowledging writes when the leader stops mid-load; every acknowledged write survives and is watched once', async () => {
    const store = await open({ endpoints: cluster.endpoints });
    const root = '/registry/cluster/';
    const r0 = await store.currentRevision();
    // one watch may use any member; the other can only reach the leader until the leader dies,
    // when it has to move to a follower and resume there
    const leader = await cluster.leaderIndex();
    const proxies = await Promise.all(cluster.endpoints.filter((_, i) => i !== leader).map((e) => startTcpProxy(e)));
    cleanups.push(async () => void (await Promise.all(proxies.map((p) => p.close()))));
    for (const p of proxies) p.cut();
    const watcher = await open({ endpoints: [cluster.endpoints[leader]!, ...proxies.map((p) => p.endpoint)] });
    const watches = [collect(store, root, r0), collect(watcher, root, r0)];
    const acked = new Map<string, number>();
    let ackedAfterStop = 0;
    let stopped = false;
    const writer = async (id: number) => {
      for (let i = 0; i < 2_000 && !(stopped && ackedAfterStop >= 100); i++) {
        const key = `${root}w${id}-${i}`;
        try {
          const kv = await store.create(key, b(`${id}/${i}`));
          acked.set(key, kv.modRevision);
          if (stopped) ackedAfterStop++;
        } catch (err) {
          // a write in flight when the leader dies has an unknown outcome; it is not acknowledged
          if (!(err instanceof StorageError) || err.code !== 'Unavailable') throw err;
        }
      }
    };
    const writers = Promise.all(range(0, 3).map(writer));
    await watches[1]!.until(() => acked.size >= 40 && watches[1]!.state.events.length > 0);
    for (const p of proxies) p.restore();
    await cluster.members[leader]!.kill();
    stopped = true;
    await writers;
    expect(ackedAfterStop).toBeGreaterThanOrEqual(100);
    for (const [key, rev] of acked) expect((await store.get(key))?.modRevision).toBe(rev);
    const end = await store.currentRevision();
    for (const w of watches) {
      await w.untilRevision(end);
      expect(w.state.error).toBeUndefined();
      // every write here is ours, one revision each: a watch must have every one, once
      expect(w.revisions()).toEqual(range(r0 + 1, end));
    }
    expect(watcher.stats().watchReconnects).toBeGreaterThan(0);
    await cluster.startMember(leader);
  });
});
