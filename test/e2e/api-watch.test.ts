// Watch over raw HTTP against the real server binary, with kube-apiserver's semantics:
// event stream shape, resume, selectors entering/leaving, bookmarks, watch-list (sendInitialEvents),
// PartialObjectMetadata and Table events, and 410 once history is compacted (also for lists).
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adoptedServer,
  adoptedServers,
  bulkClient,
  create,
  createNamespace,
  credentials,
  expectStatus,
  MERGE_HDR,
  openWatch,
  POM_ACCEPT,
  TABLE_ACCEPT,
  type WatchEvent,
  type WatchStream,
} from '../helpers/api.js';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';

let s: TestServer;
const open: WatchStream[] = [];

beforeAll(async () => {
  s = await startServer({ args: ['--watch-bookmark-interval-ms', '200', ...SAMPLE_OBJECTS_ONLY] });
  for (const ns of ['w-basic', 'w-sel', 'w-bm', 'w-list', 'w-fmt', 'w-compact', 'w-slow']) await createNamespace(s, ns);
});

afterAll(async () => {
  for (const w of open) w.close();
  await disposeServer(s);
});

async function watch(path: string, accept?: string): Promise<WatchStream> {
  const w = await openWatch(s, path, accept);
  open.push(w);
  expect(w.status, w.error).toBe(200);
  return w;
}

const is = (type: string, name?: string) => (ev: WatchEvent) =>
  ev.type === type && (name === undefined || ev.object.metadata?.name === name);
const patch = (path: string, body: unknown) =>
  s.request('PATCH', path, { body: JSON.stringify(body), headers: MERGE_HDR });

describe('watch stream', () => {
  const base = adoptedServers('w-basic');

  it('streams ADDED, MODIFIED and DELETED as newline-delimited WatchEvents, and resumes from a resourceVersion', async () => {
    const rv = (await s.request('GET', base)).json().metadata.resourceVersion;
    const w = await watch(`${base}?watch=true&resourceVersion=${rv}`);
    expect(w.headers['content-type']).toBe('application/json');
    const created = await create(s, base, adoptedServer('w1'));
    const added = await w.waitFor(is('ADDED', 'w1'));
    expect(Object.keys(added).sort()).toEqual(['object', 'type']);
    expect(added.object).toMatchObject({
      apiVersion: 'metal.sidero.dev/v1alpha2',
      kind: 'AdoptedServer',
      metadata: { uid: created.metadata.uid },
    });
    const modified = (await patch(`${base}/w1`, { metadata: { labels: { a: 'b' } } })).json();
    expect((await w.waitFor(is('MODIFIED', 'w1'))).object.metadata.resourceVersion).toBe(
      modified.metadata.resourceVersion,
    );
    expect((await s.request('DELETE', `${base}/w1`)).status).toBe(200);
    const deleted = await w.waitFor(is('DELETED', 'w1'));
    expect(Number(deleted.object.metadata.resourceVersion)).toBeGreaterThan(Number(modified.metadata.resourceVersion));
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);

    const resumed = await watch(`${base}?watch=true&resourceVersion=${added.object.metadata.resourceVersion}`);
    await resumed.waitFor(is('DELETED', 'w1'));
    expect(resumed.events.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED']);
  });

  it('sends synthetic ADDED events for existing objects when no resourceVersion is given', async () => {
    await create(s, base, adoptedServer('e1'));
    await create(s, base, adoptedServer('e2'));
    const w = await watch(`${base}?watch=1`);
    await w.waitFor(is('ADDED', 'e1'));
    await w.waitFor(is('ADDED', 'e2'));
    w.close();
    const zero = await watch(`${base}?watch=1&resourceVersion=0`);
    await zero.waitFor(is('ADDED', 'e2'));
  });

  it('ends the stream after timeoutSeconds', async () => {
    const w = await watch(`${base}?watch=true&timeoutSeconds=1`);
    await w.waitEnd(5000);
  });
});

describe('filtered watch', () => {
  const base = adoptedServers('w-sel');

  it('turns objects entering and leaving a label selection into ADDED and DELETED', async () => {
    const w = await watch(`${base}?watch=true&labelSelector=color%3Dblue`);
    await create(s, base, adoptedServer('lb', { labels: { color: 'blue' } }));
    await w.waitFor(is('ADDED', 'lb'));
    await patch(`${base}/lb`, { metadata: { labels: { color: 'red' } } });
    const left = await w.waitFor(is('DELETED', 'lb'));
    expect(left.object.metadata.labels).toEqual({ color: 'blue' });
    await create(s, base, adoptedServer('lr', { labels: { color: 'red' } }));
    await patch(`${base}/lb`, { metadata: { labels: { color: 'blue' } } });
    await w.waitFor(is('ADDED', 'lb'), 5000, 2);
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED lb', 'DELETED lb', 'ADDED lb']);
  });

  it('filters by field selector', async () => {
    const w = await watch(`${base}?watch=true&fieldSelector=metadata.name%3Dfw`);
    await create(s, base, adoptedServer('fx'));
    await create(s, base, adoptedServer('fw'));
    await patch(`${base}/fx`, { metadata: { labels: { n: '1' } } });
    await patch(`${base}/fw`, { metadata: { labels: { n: '1' } } });
    await w.waitFor(is('MODIFIED', 'fw'));
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED fw', 'MODIFIED fw']);
  });
});

describe('bookmarks and watch-list', () => {
  it('sends BOOKMARK events only when allowWatchBookmarks=true', async () => {
    const base = adoptedServers('w-bm');
    const rv = (await s.request('GET', base)).json().metadata.resourceVersion;
    const withBm = await watch(`${base}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const without = await watch(`${base}?watch=true&resourceVersion=${rv}`);
    const bm = await withBm.waitFor(is('BOOKMARK'));
    expect(bm.object).toEqual({
      apiVersion: 'metal.sidero.dev/v1alpha2',
      kind: 'AdoptedServer',
      metadata: { resourceVersion: bm.object.metadata.resourceVersion },
    });
    await withBm.waitFor(is('BOOKMARK'), 5000, withBm.events.indexOf(bm) + 1);
    await create(s, base, adoptedServer('b1'));
    await without.waitFor(is('ADDED', 'b1'));
    expect(without.events.map((e) => e.type)).toEqual(['ADDED']);
  });

  it('sendInitialEvents=true: ADDED for every object, then the initial-events-end BOOKMARK, then changes', async () => {
    const base = adoptedServers('w-list');
    const rvs: number[] = [];
    for (const n of ['i1', 'i2', 'i3'])
      rvs.push(Number((await create(s, base, adoptedServer(n))).metadata.resourceVersion));
    const w = await watch(
      `${base}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
    );
    const end = await w.waitFor(
      (e) => e.type === 'BOOKMARK' && e.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true',
    );
    const endAt = w.events.indexOf(end);
    expect(
      w.events
        .slice(0, endAt)
        .map((e) => `${e.type} ${e.object.metadata.name}`)
        .sort(),
    ).toEqual(['ADDED i1', 'ADDED i2', 'ADDED i3']);
    expect(Number(end.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Math.max(...rvs));
    expect(end.object.kind).toBe('AdoptedServer');
    await create(s, base, adoptedServer('i4'));
    const live = await w.waitFor(is('ADDED', 'i4'));
    expect(w.events.indexOf(live)).toBeGreaterThan(endAt);

    // the same from an explicit resourceVersion
    const fromRv = await watch(
      `${base}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=${rvs[0]}`,
    );
    await fromRv.waitFor(
      (e) => e.type === 'BOOKMARK' && e.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true',
    );
    expect(fromRv.events.filter((e) => e.type === 'ADDED')).toHaveLength(4);
  });

  /**
   * the blueprint read as client-go's watch-list reads it: strict base64, then the decoder of the
   * stream's own Content-Type, into the list it assembles (which takes the blueprint's kind)
   */
  function blueprintOf(w: WatchStream, end: WatchEvent): any {
    const encoded: unknown = end.object.metadata.annotations?.['kubernetes.io/initial-events-list-blueprint'];
    expect(typeof encoded === 'string' && encoded.length > 0, 'the blueprint annotation has content').toBe(true);
    const bytes = Buffer.from(encoded as string, 'base64');
    expect(bytes.toString('base64'), 'standard base64, as Go decodes it').toBe(encoded);
    expect(w.headers['content-type']).toBe('application/json');
    return JSON.parse(bytes.toString('utf8'));
  }

  const watchList = 'watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true';
  const isEnd = (e: WatchEvent) =>
    e.type === 'BOOKMARK' && e.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true';

  it('the initial-events-end bookmark carries the list blueprint kube-apiserver 1.32 sends, decodable as client-go decodes it', async () => {
    const base = adoptedServers('w-list');
    const before = Number((await s.request('GET', base)).json().metadata.resourceVersion);
    const w = await watch(`${base}?${watchList}`);
    const end = await w.waitFor(isEnd);
    const after = Number((await s.request('GET', base)).json().metadata.resourceVersion);
    // an object of the resource's kind with nothing but the snapshot's resourceVersion and the two annotations
    expect(end.object).toEqual({
      apiVersion: 'metal.sidero.dev/v1alpha2',
      kind: 'AdoptedServer',
      metadata: {
        resourceVersion: end.object.metadata.resourceVersion,
        annotations: {
          'k8s.io/initial-events-end': 'true',
          'kubernetes.io/initial-events-list-blueprint':
            end.object.metadata.annotations['kubernetes.io/initial-events-list-blueprint'],
        },
      },
    });
    const rv = Number(end.object.metadata.resourceVersion);
    expect(rv).toBeGreaterThanOrEqual(before);
    expect(rv).toBeLessThanOrEqual(after);
    expect(blueprintOf(w, end)).toEqual({
      kind: 'AdoptedServerList',
      apiVersion: 'metal.sidero.dev/v1alpha2',
      metadata: {},
      items: [],
    });

    // client-go's typed clients prefer protobuf: the stream it gets is JSON, and so is the blueprint
    const proto = await watch(
      `${base}?${watchList}`,
      'application/vnd.kubernetes.protobuf;type=watch, application/json',
    );
    expect(blueprintOf(proto, await proto.waitFor(isEnd)).kind).toBe('AdoptedServerList');
    expectStatus(
      await s.request('GET', `${base}?${watchList}`, {
        headers: { Accept: 'application/vnd.kubernetes.protobuf;type=watch' },
      }),
      406,
      'NotAcceptable',
    );

    // a metadata informer: PartialObjectMetadata events, a PartialObjectMetadataList blueprint
    const meta = await watch(`${base}?${watchList}`, POM_ACCEPT);
    const metaEnd = await meta.waitFor(isEnd);
    expect(metaEnd.object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1' });
    expect(blueprintOf(meta, metaEnd)).toEqual({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata: {},
      items: [],
    });

    // a core kind of standalone mode
    const ns = await watch(`/api/v1/namespaces?${watchList}`);
    const nsEnd = await ns.waitFor(isEnd);
    expect(nsEnd.object).toMatchObject({ kind: 'Namespace', apiVersion: 'v1' });
    expect(blueprintOf(ns, nsEnd)).toEqual({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] });
  });

  it('rejects sendInitialEvents without resourceVersionMatch=NotOlderThan (and the reverse) with 422', async () => {
    const base = adoptedServers('w-list');
    for (const q of [
      'sendInitialEvents=true',
      'sendInitialEvents=false',
      'resourceVersionMatch=NotOlderThan&resourceVersion=0',
    ]) {
      const r = await s.request('GET', `${base}?watch=true&${q}`);
      expect(expectStatus(r, 422, 'Invalid').details.causes.length, q).toBeGreaterThan(0);
    }
  });
});

describe('watch representations', () => {
  const base = adoptedServers('w-fmt');

  it('sends PartialObjectMetadata events when asked', async () => {
    const w = await watch(`${base}?watch=true`, POM_ACCEPT);
    await create(s, base, adoptedServer('p1'));
    const ev = await w.waitFor(is('ADDED', 'p1'));
    expect(ev.object).toMatchObject({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { namespace: 'w-fmt' },
    });
    expect(ev.object.spec).toBeUndefined();
  });

  it('sends one-row Tables, with columnDefinitions only in the first event', async () => {
    const w = await watch(`${base}?watch=true&resourceVersion=0`, TABLE_ACCEPT);
    const first = await w.waitFor(() => true);
    expect(first.object.kind).toBe('Table');
    expect(first.object.columnDefinitions.length).toBeGreaterThan(2);
    expect(first.object.rows).toHaveLength(1);
    await create(s, base, adoptedServer('t2'));
    const second = await w.waitFor((e) => e.object.rows?.[0]?.cells?.[0] === 't2');
    expect(second.type).toBe('ADDED');
    expect(second.object.columnDefinitions ?? null).toBeNull();
    expect(second.object.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 't2' } });
  });
});

describe('compacted history', () => {
  it('answers 410 for an expired continue token, an Exact list and a watch from a compacted resourceVersion', async () => {
    const base = adoptedServers('w-compact');
    for (const n of ['c1', 'c2', 'c3']) await create(s, base, adoptedServer(n));
    const first = (await s.request('GET', `${base}?limit=1`)).json();
    const r0 = first.metadata.resourceVersion;

    // the embedded store keeps 10000 revisions of history: write until r0 falls out of it
    const client = bulkClient(s, 16);
    const secret = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { generateName: 'fill-' } });
    let compacted = false;
    for (let batch = 0; batch < 15 && !compacted; batch++) {
      let n = 0;
      const loop = async () => {
        while (n++ < 1000) {
          const r = await client.request('POST', '/api/v1/namespaces/w-compact/secrets', secret);
          if (r.status !== 201) throw new Error(r.body);
        }
      };
      await Promise.all(Array.from({ length: 16 }, loop));
      compacted = (await s.request('GET', `${base}?resourceVersion=${r0}&resourceVersionMatch=Exact`)).status === 410;
    }
    client.close();
    expect(compacted).toBe(true);

    const exact = expectStatus(
      await s.request('GET', `${base}?resourceVersion=${r0}&resourceVersionMatch=Exact`),
      410,
      'Expired',
    );
    expect(exact.message).toMatch(/too old resource version|resourceVersion for the provided list is too old/);

    const cont = await s.request('GET', `${base}?limit=1&continue=${encodeURIComponent(first.metadata.continue)}`);
    const st = expectStatus(cont, 410, 'Expired');
    expect(
      st.message.startsWith('The provided continue parameter is too old to display a consistent list result.'),
    ).toBe(true);
    expect(st.metadata.continue).toBeTruthy();
    const rest = (
      await s.request('GET', `${base}?limit=5&continue=${encodeURIComponent(st.metadata.continue)}`)
    ).json();
    expect(rest.items.map((o: any) => o.metadata.name)).toEqual(['c2', 'c3']);

    const w = await watch(`${base}?watch=true&resourceVersion=${r0}`);
    const err = await w.waitFor(is('ERROR'));
    expect(err.object).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 410,
      reason: 'Expired',
    });
    expect(err.object.message).toMatch(/^too old resource version: /);
    await w.waitEnd();
    expect(w.events).toHaveLength(1);
  });
});

describe('a slow watcher', () => {
  const base = adoptedServers('w-slow');
  // 150 events of ~200 KiB: ~30 MiB, well past what the server buffers for one watcher (16 MiB)
  // plus what the kernel's socket buffers hold
  const EVENTS = 150;
  const big = 'x'.repeat(200 * 1024);

  it('is cut off once too much is buffered for it; the other watchers get every event', async () => {
    const rv = (await s.request('GET', base)).json().metadata.resourceVersion;
    // a client that reads nothing once the headers arrived
    const slow = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = httpsRequest(
        new URL(`${base}?watch=true&resourceVersion=${rv}`, s.url),
        { method: 'GET', ...credentials(s) },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    expect(slow.statusCode).toBe(200);
    slow.pause();
    const fast = await watch(`${base}?watch=true&resourceVersion=${rv}`);

    const writer = bulkClient(s, 4);
    try {
      for (let i = 0; i < EVENTS; i++) {
        const r = await writer.request(
          'POST',
          base,
          JSON.stringify(adoptedServer(`big-${i}`, { extra: { annotations: { pad: big } } })),
        );
        expect(r.status, r.body.slice(0, 300)).toBe(201);
      }
    } finally {
      writer.close();
    }
    await fast.waitFor(is('ADDED', `big-${EVENTS - 1}`), 30_000);
    expect(fast.events.filter((e) => e.type === 'ADDED')).toHaveLength(EVENTS);

    // reading now: what was buffered arrives, then the stream breaks off before the last event
    let received = '';
    const ended = new Promise<void>((resolve) => {
      slow.on('close', resolve);
      slow.on('error', () => undefined);
    });
    slow.setEncoding('utf8');
    slow.on('data', (c: string) => (received += c));
    slow.resume();
    await ended;
    const lines = received.split('\n').filter((l) => l.startsWith('{"type":"ADDED"'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(EVENTS);
    expect(received).not.toContain(`"name":"big-${EVENTS - 1}"`);
  }, 60_000);
});
