// Reads over raw HTTP against the real server binary: list pagination and resourceVersion rules,
// Table and PartialObjectMetadata output, label and field selectors, deletecollection, as
// kube-apiserver answers them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adoptedServer,
  adoptedServers,
  AS_GV,
  create,
  createNamespace,
  expectStatus,
  MERGE_HDR,
  names,
  POM_ACCEPT,
  POML_ACCEPT,
  TABLE_ACCEPT,
} from '../helpers/api.js';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';

let s: TestServer;

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  for (const ns of ['sem-list', 'sem-sel']) await createNamespace(s, ns);
});

afterAll(async () => {
  await disposeServer(s);
});

describe('list', () => {
  const base = adoptedServers('sem-list');

  it('pages with limit/continue/remainingItemCount over one consistent snapshot', async () => {
    for (let i = 1; i <= 7; i++) await create(s, base, adoptedServer(`item-${i}`));
    const p1 = (await s.request('GET', `${base}?limit=3`)).json();
    expect(p1.items).toHaveLength(3);
    expect(p1.metadata.remainingItemCount).toBe(4);
    expect(p1.metadata.continue).toBeTruthy();
    const snapshot = p1.metadata.resourceVersion;
    await create(s, base, adoptedServer('item-0-late'));
    const p2 = (await s.request('GET', `${base}?limit=3&continue=${encodeURIComponent(p1.metadata.continue)}`)).json();
    expect(p2.items).toHaveLength(3);
    expect(p2.metadata).toMatchObject({ resourceVersion: snapshot, remainingItemCount: 1 });
    const p3 = (await s.request('GET', `${base}?limit=3&continue=${encodeURIComponent(p2.metadata.continue)}`)).json();
    expect(p3.items).toHaveLength(1);
    expect(p3.metadata.continue ?? '').toBe('');
    const all = [...p1.items, ...p2.items, ...p3.items].map((o: any) => o.metadata.name);
    expect(all).toEqual(['item-1', 'item-2', 'item-3', 'item-4', 'item-5', 'item-6', 'item-7']);
    const fresh = (await s.request('GET', base)).json();
    expect(fresh.items).toHaveLength(8);
    expect(fresh.kind).toBe('AdoptedServerList');
    expect(fresh.items[0]).toMatchObject({ apiVersion: 'metal.sidero.dev/v1alpha2', kind: 'AdoptedServer' });
  });

  it('honours resourceVersion 0, NotOlderThan and Exact', async () => {
    const before = (await s.request('GET', `${base}/item-1`)).json();
    const patched = await s.request('PATCH', `${base}/item-1`, {
      body: '{"metadata":{"labels":{"v":"2"}}}',
      headers: MERGE_HDR,
    });
    expect(patched.status).toBe(200);
    const now = patched.json().metadata.resourceVersion;

    const any = (await s.request('GET', `${base}?resourceVersion=0`)).json();
    expect(any.items.length).toBeGreaterThanOrEqual(8);
    const notOlder = (
      await s.request('GET', `${base}?resourceVersion=${now}&resourceVersionMatch=NotOlderThan`)
    ).json();
    expect(Number(notOlder.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(now));
    expect(notOlder.items.find((o: any) => o.metadata.name === 'item-1').metadata.labels).toEqual({ v: '2' });

    const exact = (
      await s.request('GET', `${base}?resourceVersion=${before.metadata.resourceVersion}&resourceVersionMatch=Exact`)
    ).json();
    expect(exact.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(exact.items.find((o: any) => o.metadata.name === 'item-1').metadata.labels).toBeUndefined();
    for (const rv of ['0', now]) {
      const one = await s.request('GET', `${base}/item-1?resourceVersion=${rv}`);
      expect(one.json().metadata.resourceVersion).toBe(now);
    }
    // legacy rule: an RV with a limit means exactly that RV
    const legacy = (
      await s.request('GET', `${base}?resourceVersion=${before.metadata.resourceVersion}&limit=100`)
    ).json();
    expect(legacy.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('waits for a resourceVersion a little ahead, and answers 504 for one far ahead', async () => {
    const rv = Number((await s.request('GET', base)).json().metadata.resourceVersion);
    const waiting = s.request('GET', `${base}?resourceVersion=${rv + 1}&resourceVersionMatch=NotOlderThan`);
    await create(s, base, adoptedServer('catch-up'));
    expect((await waiting).status).toBe(200);

    const started = Date.now();
    const r = await s.request('GET', `${base}?resourceVersion=${rv + 100000}`);
    const st = expectStatus(r, 504, 'Timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    expect(st.message).toContain('Too large resource version');
    expect(st.details.causes[0]).toMatchObject({
      reason: 'ResourceVersionTooLarge',
      message: 'Too large resource version',
    });
  });

  it('rejects a continue token that is not one of ours with 400', async () => {
    expectStatus(await s.request('GET', `${base}?limit=1&continue=bm90LWEtdG9rZW4`), 400, 'BadRequest');
  });
});

describe('Table and PartialObjectMetadata', () => {
  const base = adoptedServers('sem-list');

  it('renders lists and single objects as Tables', async () => {
    const r = await s.request('GET', `${base}?limit=2`, { headers: { Accept: TABLE_ACCEPT } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    const t = r.json();
    expect(t).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect(t.metadata.continue).toBeTruthy();
    const cols = t.columnDefinitions;
    expect(cols[0]).toMatchObject({ name: 'Name', type: 'string', format: 'name', priority: 0 });
    expect(cols.find((c: any) => c.name === 'Endpoint').priority).toBe(1);
    expect(cols.find((c: any) => c.name === 'Age')).toMatchObject({ type: 'date', priority: 0 });
    expect(t.rows).toHaveLength(2);
    for (const row of t.rows) {
      expect(row.cells).toHaveLength(cols.length);
      expect(row.object).toMatchObject({
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { name: row.cells[0] },
      });
    }
    const none = (await s.request('GET', `${base}?includeObject=None`, { headers: { Accept: TABLE_ACCEPT } })).json();
    expect(none.rows[0].object).toBeUndefined();
    const full = (await s.request('GET', `${base}?includeObject=Object`, { headers: { Accept: TABLE_ACCEPT } })).json();
    expect(full.rows[0].object).toMatchObject({ kind: 'AdoptedServer', spec: { talos: { nodeType: 'worker' } } });
    const one = (await s.request('GET', `${base}/item-2`, { headers: { Accept: TABLE_ACCEPT } })).json();
    expect(one.kind).toBe('Table');
    expect(one.rows).toHaveLength(1);
    expect(one.rows[0].cells[0]).toBe('item-2');
  });

  it('serves PartialObjectMetadata(List) by Accept and 406 for what it cannot serve', async () => {
    const one = (await s.request('GET', `${base}/item-2`, { headers: { Accept: POM_ACCEPT } })).json();
    expect(one).toMatchObject({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { name: 'item-2' },
    });
    expect(one.spec).toBeUndefined();
    const list = (await s.request('GET', base, { headers: { Accept: POML_ACCEPT } })).json();
    expect(list.kind).toBe('PartialObjectMetadataList');
    expect(list.items[0]).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1' });
    expect(list.metadata.resourceVersion).toMatch(/^\d+$/);

    expectStatus(await s.request('GET', base, { headers: { Accept: POM_ACCEPT } }), 406, 'NotAcceptable');
    expectStatus(await s.request('GET', `${base}/item-2`, { headers: { Accept: POML_ACCEPT } }), 406, 'NotAcceptable');
    expectStatus(await s.request('GET', base, { headers: { Accept: 'text/html' } }), 406, 'NotAcceptable');
    expectStatus(
      await s.request('GET', base, { headers: { Accept: 'application/json;as=Table;v=v1;g=other.io' } }),
      406,
      'NotAcceptable',
    );
  });
});

describe('selectors and deletecollection', () => {
  const base = adoptedServers('sem-sel');
  const list = async (q: string) => {
    const r = await s.request('GET', `${base}?${q}`);
    expect(r.status, r.body).toBe(200);
    return names(r.json());
  };

  beforeAll(async () => {
    await create(s, base, adoptedServer('a', { labels: { env: 'prod', tier: 'web' }, nodeType: 'controlplane' }));
    await create(s, base, adoptedServer('b', { labels: { env: 'dev', tier: 'web' } }));
    await create(s, base, adoptedServer('c', { labels: { env: 'prod' } }));
    await create(s, base, adoptedServer('d', { labels: { other: 'x' } }));
  });

  it('filters with the full label selector grammar', async () => {
    const cases: [string, string[]][] = [
      ['env=prod', ['a', 'c']],
      ['env==prod', ['a', 'c']],
      ['env!=prod', ['b', 'd']],
      ['env in (prod,dev)', ['a', 'b', 'c']],
      ['env notin (prod)', ['b', 'd']],
      ['tier', ['a', 'b']],
      ['!tier', ['c', 'd']],
      ['env=prod,tier', ['a']],
      ['', ['a', 'b', 'c', 'd']],
    ];
    for (const [sel, want] of cases) expect(await list(`labelSelector=${encodeURIComponent(sel)}`), sel).toEqual(want);
    const bad = expectStatus(
      await s.request('GET', `${base}?labelSelector=${encodeURIComponent('env in (prod')}`),
      400,
      'BadRequest',
    );
    expect(bad.message).toContain('unable to parse requirement');
  });

  it('filters with field selectors and rejects unsupported fields', async () => {
    expect(await list('fieldSelector=metadata.name=a')).toEqual(['a']);
    expect(await list('fieldSelector=metadata.name!=a')).toEqual(['b', 'c', 'd']);
    expect(await list('fieldSelector=spec.talos.nodeType=controlplane')).toEqual(['a']);
    expect(await list('fieldSelector=spec.talos.nodeType==worker,metadata.name!=b')).toEqual(['c', 'd']);
    const all = await s.request('GET', `${AS_GV}/adoptedservers?fieldSelector=metadata.namespace=sem-sel`);
    expect(names(all.json())).toEqual(['a', 'b', 'c', 'd']);
    const bad = expectStatus(await s.request('GET', `${base}?fieldSelector=spec.foo=bar`), 400, 'BadRequest');
    expect(bad.message).toBe('field label not supported: spec.foo');
  });

  it('deletes a collection by label selector', async () => {
    const r = await s.request('DELETE', `${base}?labelSelector=env%3Ddev`);
    expect(r.status).toBe(200);
    expect(r.json().kind).toBe('AdoptedServerList');
    expect(names(r.json())).toEqual(['b']);
    expect(await list('')).toEqual(['a', 'c', 'd']);
  });
});
