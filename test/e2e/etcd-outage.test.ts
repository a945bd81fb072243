// The server when etcd goes away and comes back: requests fail fast with a 5xx Status
// instead of hanging, /readyz reports the storage check failing, everything recovers by itself,
// and a watch opened before the outage either resumes with every event exactly once or ends with
// a 410 ERROR the client answers by relisting, never a silent gap. Also: a 3-member etcd cluster
// that loses its leader under concurrent creates loses no acknowledged write and no watch event.
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeObject } from '../../src/machinery/registry/codec.js';
import {
  adoptedServer,
  adoptedServers,
  bulkClient,
  create,
  createNamespace,
  JSON_HDR,
  openWatch,
  type WatchEvent,
  type WatchStream,
} from '../helpers/api.js';
import {
  startEtcd,
  startEtcdCluster,
  startTcpProxy,
  type EtcdCluster,
  type EtcdServer,
  type TcpProxy,
} from '../helpers/etcd.js';
import {
  disposeServer,
  startServer,
  type RawResponse,
  type TestServer,
  SAMPLE_OBJECTS_ONLY,
} from '../helpers/server.js';

/** the bound a request may take while etcd is unreachable (the server's etcd deadline is 10 s) */
const FAIL_FAST_MS = 15_000;
const PREFIX = '/tf-outage';

const watches: WatchStream[] = [];
afterAll(() => {
  for (const w of watches) w.close();
});

async function watch(s: TestServer, path: string): Promise<WatchStream> {
  const w = await openWatch(s, path);
  watches.push(w);
  expect(w.status, w.error).toBe(200);
  return w;
}

/** polls (bounded) until pred holds */
async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function timed(p: Promise<RawResponse>): Promise<RawResponse & { ms: number }> {
  const started = Date.now();
  const r = await p;
  return Object.assign(r, { ms: Date.now() - started });
}

/** a 503/504 Status that arrived well within the bound */
function expectFastUnavailable(r: RawResponse & { ms: number }, what: string): void {
  expect(r.ms, `${what} took ${r.ms} ms`).toBeLessThan(FAIL_FAST_MS);
  expect([503, 504], `${what}: ${r.status} ${r.body}`).toContain(r.status);
  expect(String(r.headers['content-type'])).toMatch(/^application\/json/);
  const s = r.json();
  expect(s).toMatchObject({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code: r.status,
    reason: r.status === 503 ? 'ServiceUnavailable' : 'Timeout',
  });
  expect(s.message).toMatch(/\S/);
}

const added = (w: WatchStream, name: string) =>
  w.events.filter((e) => e.type === 'ADDED' && e.object.metadata?.name === name).length;
const isError = (ev: WatchEvent) => ev.type === 'ERROR';
const itemNames = (r: RawResponse): string[] =>
  r.json().items.map((i: { metadata: { name: string } }) => i.metadata.name);

/**
 * what a client makes of a watch after trouble: either it is still open, delivered each name once and
 * nothing after an ERROR, or it ended (410 ERROR or closed) and a relist must show every name
 */
async function expectNoSilentGap(
  s: TestServer,
  w: WatchStream,
  path: string,
  want: string[],
): Promise<'resumed' | 'relisted'> {
  const ended = () =>
    w.waitEnd(0).then(
      () => true,
      () => false,
    );
  await until(
    async () => want.every((n) => added(w, n) > 0) || w.events.some(isError) || (await ended()),
    15_000,
    `ADDED events for ${want.join(', ')} or the end of the watch`,
  );
  const error = w.events.find(isError);
  if (error || (await ended())) {
    if (error) {
      expect(
        error.object,
        `a watch that cannot continue must end with 410 Expired: ${JSON.stringify(error.object)}`,
      ).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
      expect(w.events.indexOf(error), 'nothing follows an ERROR event').toBe(w.events.length - 1);
    }
    const list = await s.request('GET', path);
    expect(list.status, list.body).toBe(200);
    expect(itemNames(list)).toEqual(expect.arrayContaining(want));
    return 'relisted';
  }
  for (const name of want) expect(added(w, name), `ADDED events for ${name}`).toBe(1);
  const seen = w.events.map((e) => `${e.type}/${e.object.metadata?.name}/${e.object.metadata?.resourceVersion}`);
  expect(new Set(seen).size, `duplicate events: ${seen.join(', ')}`).toBe(seen.length);
  return 'resumed';
}

describe('etcd unreachable, then back', () => {
  let etcd: EtcdServer;
  let proxy: TcpProxy;
  let s: TestServer;
  let raw: Etcd3;
  let before: any;
  let early: WatchStream;
  const ns = 'outage';
  const base = adoptedServers(ns);

  beforeAll(async () => {
    etcd = await startEtcd();
    proxy = await startTcpProxy(etcd.endpoints[0]!);
    raw = new Etcd3({ hosts: etcd.endpoints[0]! });
    s = await startServer({
      args: [
        '--storage-backend',
        'etcd3',
        '--etcd-servers',
        proxy.endpoint,
        '--etcd-prefix',
        PREFIX,
        ...SAMPLE_OBJECTS_ONLY,
      ],
    });
    await createNamespace(s, ns);
    const rv = (await s.request('GET', base)).json().metadata.resourceVersion;
    early = await watch(s, `${base}?watch=true&resourceVersion=${rv}`);
    before = await create(s, base, adoptedServer('before'));
    // the watch is established (not still being set up) when the outage begins
    await early.waitFor((ev) => ev.type === 'ADDED' && ev.object.metadata.name === 'before', 10_000);
  });

  afterAll(async () => {
    await disposeServer(s);
    raw?.close();
    await proxy?.close();
    await etcd?.cleanup();
  });

  /** another replica, still connected to etcd, writes an object while this one is cut off */
  async function writeAround(name: string): Promise<void> {
    const { resourceVersion: _rv, ...meta } = before.metadata;
    const obj = { ...before, metadata: { ...meta, name, uid: randomUUID() } };
    await raw.put(`${PREFIX}/metal.sidero.dev/adoptedservers/${ns}/${name}`).value(encodeObject(obj));
  }

  it('answers reads and writes with a 503/504 Status within the bound and fails /readyz while etcd is unreachable', async () => {
    proxy.cut();
    await writeAround('around-1');
    await writeAround('around-2');
    const [get, getAround, list, post, readyz, livez] = await Promise.all([
      timed(s.request('GET', `${base}/before`)),
      // written meanwhile by another replica: not served as if it did not exist
      timed(s.request('GET', `${base}/around-1`)),
      timed(s.request('GET', base)),
      timed(s.request('POST', base, { body: JSON.stringify(adoptedServer('during')), headers: JSON_HDR })),
      timed(s.request('GET', '/readyz', { anonymous: true })),
      timed(s.request('GET', '/livez', { anonymous: true })),
    ]);
    expectFastUnavailable(get, 'GET');
    expectFastUnavailable(getAround, 'GET of an object written during the outage');
    expectFastUnavailable(list, 'LIST');
    expectFastUnavailable(post, 'POST');
    expect(readyz.ms).toBeLessThan(FAIL_FAST_MS);
    expect(readyz.status, readyz.body).toBe(500);
    expect(readyz.body).toContain('[-]storage failed');
    expect(readyz.body).toContain('readyz check failed');
    // as kube-apiserver's: etcd being away is no reason for a liveness probe to restart the server
    expect(livez.ms).toBeLessThan(FAIL_FAST_MS);
    expect(livez.status, livez.body).toBe(200);
    expect(livez.body).toBe('ok');
  });

  it('recovers by itself once etcd is reachable: readyz, reads, writes', async () => {
    proxy.restore();
    await until(
      async () => (await s.request('GET', '/readyz', { anonymous: true })).status === 200,
      30_000,
      '/readyz to pass again',
    );
    expect((await s.request('GET', '/livez', { anonymous: true })).status).toBe(200);
    const got = await s.request('GET', `${base}/before`);
    expect(got.status, got.body).toBe(200);
    expect(got.json().metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect((await s.request('GET', `${base}/around-1`)).status).toBe(200);
    await create(s, base, adoptedServer('after-1'));
    const list = await s.request('GET', base);
    expect(list.status, list.body).toBe(200);
    expect(itemNames(list).sort()).toEqual(['after-1', 'around-1', 'around-2', 'before']);
    // the create that failed during the outage was never applied
    expect((await s.request('GET', `${base}/during`)).status).toBe(404);
  });

  it('continues a watch opened before the outage with every event exactly once, or ends it with 410 (never a gap)', async () => {
    const how = await expectNoSilentGap(s, early, base, ['around-1', 'around-2', 'after-1']);
    // either way the client ends up watching again and sees new writes
    const w =
      how === 'resumed'
        ? early
        : await watch(
            s,
            `${base}?watch=true&resourceVersion=${(await s.request('GET', base)).json().metadata.resourceVersion}`,
          );
    const from = w.events.length;
    await create(s, base, adoptedServer('after-2'));
    await w.waitFor((ev) => ev.type === 'ADDED' && ev.object.metadata.name === 'after-2', 10_000, from);
  });

  it('survives an etcd restart (killed, started again on its data) with the same guarantees', async () => {
    const rv = (await s.request('GET', base)).json().metadata.resourceVersion;
    const w = await watch(s, `${base}?watch=true&resourceVersion=${rv}`);
    await etcd.kill();
    await etcd.start();
    await until(
      async () => (await s.request('GET', '/readyz', { anonymous: true })).status === 200,
      30_000,
      '/readyz to pass after the etcd restart',
    );
    await create(s, base, adoptedServer('after-restart'));
    await expectNoSilentGap(s, w, base, ['after-restart']);
    expect((await s.request('GET', `${base}/after-restart`)).status).toBe(200);
  });
});

describe('a 3-member etcd cluster losing its leader under load', () => {
  let cluster: EtcdCluster;
  let s: TestServer;
  const ns = 'load';
  const base = adoptedServers(ns);

  beforeAll(async () => {
    cluster = await startEtcdCluster(3);
    s = await startServer({
      args: [
        '--storage-backend',
        'etcd3',
        '--etcd-servers',
        cluster.endpoints.join(','),
        '--etcd-prefix',
        PREFIX,
        ...SAMPLE_OBJECTS_ONLY,
      ],
    });
    await createNamespace(s, ns);
  });

  afterAll(async () => {
    await disposeServer(s);
    await cluster?.cleanup();
  });

  it('loses no acknowledged create when the leader is killed mid-load, and a watch opened before sees each exactly once', async () => {
    const rv = (await s.request('GET', base)).json().metadata.resourceVersion;
    const w = await watch(s, `${base}?watch=true&resourceVersion=${rv}`);
    const client = bulkClient(s, 8);
    const acked: string[] = [];
    const refused: { name: string; status: number; body: string }[] = [];
    let stop = false;
    const loop = async (id: number) => {
      for (let i = 0; !stop && i < 2_000; i++) {
        const name = `l${id}-${i}`;
        const r = await client.request('POST', base, JSON.stringify(adoptedServer(name)));
        if (r.status === 201) acked.push(name);
        else refused.push({ name, status: r.status, body: r.body });
      }
    };
    const loops = [0, 1, 2, 3].map(loop);
    try {
      await until(() => acked.length >= 100, 20_000, '100 acknowledged creates before a member stops');
      // twice, so the member this server's connections happen to use is likely among the killed
      for (const round of [1, 2]) {
        const leader = await cluster.leaderIndex();
        await cluster.members[leader]!.kill();
        const atStop = acked.length;
        await until(
          () => acked.length >= atStop + 100,
          30_000,
          `100 more acknowledged creates after leader ${leader} was killed (round ${round})`,
        );
        await cluster.startMember(leader);
      }
    } finally {
      stop = true;
      await Promise.all(loops);
      client.close();
    }

    // refusals while the cluster elected a new leader are proper 5xx Status answers
    for (const r of refused) {
      expect([503, 504], `${r.name}: ${r.status} ${r.body}`).toContain(r.status);
      expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', status: 'Failure', code: r.status });
    }
    const list = await s.request('GET', base);
    expect(list.status, list.body).toBe(200);
    const stored = new Set(itemNames(list));
    expect(
      acked.filter((n) => !stored.has(n)),
      'acknowledged creates missing afterwards',
    ).toEqual([]);

    for (const name of acked)
      await w.waitFor((ev) => (ev.type === 'ADDED' && ev.object.metadata?.name === name) || isError(ev), 15_000);
    expect(w.events.filter(isError), 'the watch must not end').toEqual([]);
    const counts = new Map<string, number>();
    for (const ev of w.events)
      if (ev.type === 'ADDED') counts.set(ev.object.metadata.name, (counts.get(ev.object.metadata.name) ?? 0) + 1);
    expect(
      [...counts].filter(([, n]) => n !== 1),
      'names seen more than once',
    ).toEqual([]);
    expect(acked.filter((n) => counts.get(n) !== 1)).toEqual([]);
    // whatever the watch saw was stored (a refused create that was applied after all is both)
    expect([...counts.keys()].filter((n) => !stored.has(n))).toEqual([]);
  });
});
