// Raw HTTP against the real server binary: discovery, OpenAPI, health, create/get/update, deletes,
// /status and field validation, checked against kube-apiserver's behaviour. Reads:
// api-reads.test.ts; watch: api-watch.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adoptedServer,
  adoptedServers,
  AS_GV,
  bulkClient,
  create,
  createNamespace,
  expectStatus,
  JSON_HDR,
  MERGE_HDR,
} from '../helpers/api.js';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';

let s: TestServer;

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  for (const ns of ['sem-crud', 'sem-del', 'sem-status', 'sem-fv']) await createNamespace(s, ns);
});

afterAll(async () => {
  await disposeServer(s);
});

const V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

describe('discovery, version, OpenAPI, health', () => {
  it('serves legacy /apis, /apis/<g>, /apis/<g>/<v>, /api and /api/v1 as application/json', async () => {
    const apis = await s.request('GET', '/apis', { headers: { Accept: 'application/json' } });
    expect(apis.status).toBe(200);
    expect(apis.headers['content-type']).toBe('application/json');
    const list = apis.json();
    expect(list.kind).toBe('APIGroupList');
    // standalone mode: also authorization.k8s.io, for the self reviews it answers
    expect(list.groups.map((g: any) => g.name).sort()).toEqual([
      'authorization.k8s.io',
      'metal.sidero.dev',
      'vitistack.io',
    ]);

    const group = (await s.request('GET', '/apis/metal.sidero.dev')).json();
    expect(group).toMatchObject({
      kind: 'APIGroup',
      name: 'metal.sidero.dev',
      preferredVersion: { groupVersion: 'metal.sidero.dev/v1alpha2', version: 'v1alpha2' },
    });

    const rl = (await s.request('GET', AS_GV)).json();
    expect(rl).toMatchObject({ kind: 'APIResourceList', groupVersion: 'metal.sidero.dev/v1alpha2' });
    const byName = new Map<string, any>(rl.resources.map((r: any) => [r.name, r]));
    expect(byName.get('adoptedservers')).toMatchObject({
      singularName: 'adoptedserver',
      namespaced: true,
      kind: 'AdoptedServer',
      shortNames: ['as'],
      categories: ['talos'],
    });
    expect([...byName.get('adoptedservers').verbs].sort()).toEqual([
      'create',
      'delete',
      'deletecollection',
      'get',
      'list',
      'patch',
      'update',
      'watch',
    ]);
    expect(byName.get('adoptedservers/status')).toMatchObject({ namespaced: true, kind: 'AdoptedServer' });
    expect([...byName.get('adoptedservers/status').verbs].sort()).toEqual(['get', 'patch', 'update']);
    expect(byName.get('servers')).toMatchObject({ namespaced: false, kind: 'Server' });
    for (const r of rl.resources) expect(r.kind, r.name).toBeTruthy();

    const api = (await s.request('GET', '/api')).json();
    expect(api).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = (await s.request('GET', '/api/v1')).json();
    expect(v1.groupVersion).toBe('v1');
    const core = new Map<string, any>(v1.resources.map((r: any) => [r.name, r]));
    expect(core.get('namespaces')).toMatchObject({ namespaced: false, kind: 'Namespace' });
    expect(core.get('secrets')).toMatchObject({ namespaced: true, kind: 'Secret' });
    expect(core.get('events')).toMatchObject({ namespaced: true, kind: 'Event' });
  });

  it('serves aggregated discovery v2 and v2beta1 by Accept, with ETag and 304', async () => {
    const accept = `${V2},${V2BETA1},application/json`;
    const r = await s.request('GET', '/apis', { headers: { Accept: accept } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(V2);
    expect(r.headers.vary).toMatch(/Accept/);
    const etag = r.headers.etag as string;
    expect(etag).toMatch(/^".+"$/);
    const doc = r.json();
    expect(doc).toMatchObject({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2' });
    const metal = doc.items.find((g: any) => g.metadata.name === 'metal.sidero.dev');
    const as = metal.versions[0].resources.find((x: any) => x.resource === 'adoptedservers');
    expect(metal.versions[0]).toMatchObject({ version: 'v1alpha2', freshness: 'Current' });
    expect(as).toMatchObject({
      scope: 'Namespaced',
      singularResource: 'adoptedserver',
      shortNames: ['as'],
      categories: ['talos'],
      responseKind: { group: 'metal.sidero.dev', version: 'v1alpha2', kind: 'AdoptedServer' },
      subresources: [
        { subresource: 'status', responseKind: { kind: 'AdoptedServer' }, verbs: ['get', 'patch', 'update'] },
        { subresource: 'health', responseKind: { kind: 'HealthReport' }, verbs: ['get'] },
        { subresource: 'kubeconfig', responseKind: { kind: 'Kubeconfig' }, verbs: ['get'] },
        { subresource: 'upgrade', responseKind: { kind: 'UpgradeRequest' }, verbs: ['create'] },
      ],
    });

    const cached = await s.request('GET', '/apis', { headers: { Accept: accept, 'If-None-Match': etag } });
    expect(cached.status).toBe(304);
    expect(cached.body).toBe('');

    // parameter order is arbitrary; v2beta1 alone gets v2beta1
    const reordered = await s.request('GET', '/apis', {
      headers: { Accept: 'application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io' },
    });
    expect(reordered.headers['content-type']).toBe(V2);
    const beta = await s.request('GET', '/apis', { headers: { Accept: V2BETA1 } });
    expect(beta.headers['content-type']).toBe(V2BETA1);
    expect(beta.json().apiVersion).toBe('apidiscovery.k8s.io/v2beta1');

    const core = await s.request('GET', '/api', { headers: { Accept: accept } });
    expect(core.headers['content-type']).toBe(V2);
    const coreResources = core
      .json()
      .items[0].versions[0].resources.map((x: any) => x.resource)
      .sort();
    expect(coreResources).toEqual(['events', 'namespaces', 'secrets']);
  });

  it('reports the Kubernetes level in /version', async () => {
    const v = (await s.request('GET', '/version')).json();
    expect(v.major).toBe('1');
    expect(v.minor).toBe('33');
    expect(v.gitVersion).toMatch(/^v1\.33\.0\+talos-fleet\./);
  });

  it('serves /openapi/v2 with ETag and per-GV /openapi/v3 documents without redirects', async () => {
    const v2 = await s.request('GET', '/openapi/v2', { headers: { Accept: 'application/json' } });
    expect(v2.status).toBe(200);
    const swagger = v2.json();
    expect(swagger.swagger).toBe('2.0');
    const defs = Object.values(swagger.definitions) as any[];
    expect(
      defs.some((d) => d['x-kubernetes-group-version-kind']?.some((g: any) => g.kind === 'KubernetesCluster')),
    ).toBe(true);
    const again = await s.request('GET', '/openapi/v2', { headers: { 'If-None-Match': v2.headers.etag as string } });
    expect(again.status).toBe(304);

    const root = (await s.request('GET', '/openapi/v3')).json();
    expect(Object.keys(root.paths).sort()).toEqual([
      'api/v1',
      'apis/metal.sidero.dev/v1alpha2',
      'apis/vitistack.io/v1alpha1',
    ]);
    const url: string = root.paths['apis/metal.sidero.dev/v1alpha2'].serverRelativeURL;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/metal\.sidero\.dev\/v1alpha2\?hash=[0-9A-Fa-f]+$/);
    const gv = await s.request('GET', url, { headers: { Accept: 'application/json' } });
    expect(gv.status).toBe(200);
    expect(gv.headers['cache-control']).toMatch(/immutable/);
    const doc = gv.json();
    expect(doc.openapi).toMatch(/^3\.0/);
    const item = doc.paths['/apis/metal.sidero.dev/v1alpha2/namespaces/{namespace}/adoptedservers/{name}'];
    expect(item.patch['x-kubernetes-group-version-kind']).toEqual({
      group: 'metal.sidero.dev',
      version: 'v1alpha2',
      kind: 'AdoptedServer',
    });
    expect(item.patch.parameters.map((p: any) => p.name)).toContain('fieldValidation');
    const schemas = Object.values(doc.components.schemas) as any[];
    expect(
      schemas.some((sc) => sc['x-kubernetes-group-version-kind']?.some((g: any) => g.kind === 'AdoptedServer')),
    ).toBe(true);

    const stale = await s.request('GET', '/openapi/v3/apis/metal.sidero.dev/v1alpha2?hash=0123ABCD');
    expect(stale.status).toBe(200);
    expect(String(stale.headers['cache-control'] ?? '')).not.toMatch(/immutable/);
    expect(stale.body).toBe(gv.body);
    for (const p of ['/apis/', '/api/', '/openapi/v3/', `${AS_GV}/`, '/version/']) {
      const r = await s.request('GET', p);
      expect(r.status, p).toBeLessThan(300);
    }
  });

  it('answers /healthz, /livez and /readyz, with ?verbose and without a client certificate', async () => {
    for (const ep of ['healthz', 'livez', 'readyz']) {
      for (const anonymous of [false, true]) {
        const r = await s.request('GET', `/${ep}`, { anonymous });
        expect(r.status).toBe(200);
        expect(r.body).toBe('ok');
        const v = await s.request('GET', `/${ep}?verbose`, { anonymous });
        expect(v.status).toBe(200);
        expect(v.body).toContain('[+]ping ok');
        expect(v.body.trim().endsWith(`${ep} check passed`)).toBe(true);
      }
    }
  });

  it('answers 401 Unauthorized to a resource request without a client certificate', async () => {
    const r = await s.request('GET', adoptedServers('default'), { anonymous: true });
    expectStatus(r, 401, 'Unauthorized');
  });
});

describe('create, get, update', () => {
  const base = adoptedServers('sem-crud');

  it('creates (201), gets and updates (200) with optimistic concurrency', async () => {
    const c = await s.request('POST', base, { body: JSON.stringify(adoptedServer('one')), headers: JSON_HDR });
    expect(c.status).toBe(201);
    const created = c.json();
    expect(created.metadata).toMatchObject({ name: 'one', namespace: 'sem-crud', generation: 1 });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);

    const got = await s.request('GET', `${base}/one`);
    expect(got.status).toBe(200);
    expect(got.json()).toEqual(created);

    const dup = await s.request('POST', base, { body: JSON.stringify(adoptedServer('one')), headers: JSON_HDR });
    expect(expectStatus(dup, 409, 'AlreadyExists').message).toBe(
      'adoptedservers.metal.sidero.dev "one" already exists',
    );
    const missing = await s.request('GET', `${base}/nope`);
    expect(expectStatus(missing, 404, 'NotFound')).toMatchObject({
      message: 'adoptedservers.metal.sidero.dev "nope" not found',
      details: { name: 'nope', group: 'metal.sidero.dev', kind: 'adoptedservers' },
    });

    const changed = { ...created, spec: { ...created.spec, accepted: true } };
    const u = await s.request('PUT', `${base}/one`, { body: JSON.stringify(changed), headers: JSON_HDR });
    expect(u.status, u.body).toBe(200);
    const updated = u.json();
    expect(updated.spec.accepted).toBe(true);
    expect(updated.metadata.generation).toBe(2);
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));

    const stale = await s.request('PUT', `${base}/one`, { body: JSON.stringify(changed), headers: JSON_HDR });
    expect(expectStatus(stale, 409, 'Conflict').message).toBe(
      'Operation cannot be fulfilled on adoptedservers.metal.sidero.dev "one": the object has been modified; please apply your changes to the latest version and try again',
    );
    const { resourceVersion: _rv, ...noRV } = updated.metadata;
    const unconditional = await s.request('PUT', `${base}/one`, {
      body: JSON.stringify({ ...updated, metadata: noRV }),
      headers: JSON_HDR,
    });
    const st = expectStatus(unconditional, 422, 'Invalid');
    expect(st.details.causes.map((c: any) => c.field)).toContain('metadata.resourceVersion');
  });

  it('generates names from generateName', async () => {
    const obj = adoptedServer('', { extra: { generateName: 'gen-' } });
    delete (obj.metadata as { name?: string }).name;
    const created = await create(s, base, obj);
    expect(created.metadata.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect((await s.request('GET', `${base}/${created.metadata.name}`)).status).toBe(200);
  });

  it('dryRun=All creates nothing and updates nothing', async () => {
    const r = await s.request('POST', `${base}?dryRun=All`, {
      body: JSON.stringify(adoptedServer('dry')),
      headers: JSON_HDR,
    });
    expect(r.status).toBe(201);
    const obj = r.json();
    expect(obj.metadata.uid).toBeTruthy();
    expect(obj.metadata.resourceVersion ?? '').toBe('');
    expect((await s.request('GET', `${base}/dry`)).status).toBe(404);

    const real = await create(s, base, adoptedServer('dry2'));
    const du = await s.request('PUT', `${base}/dry2?dryRun=All`, {
      body: JSON.stringify({ ...real, spec: { ...real.spec, accepted: true } }),
      headers: JSON_HDR,
    });
    expect(du.status).toBe(200);
    expect(du.json().spec.accepted).toBe(true);
    expect((await s.request('GET', `${base}/dry2`)).json()).toEqual(real);
  });

  it('loses no unconditional patch under concurrent writers (kube retries them)', async () => {
    await create(s, base, adoptedServer('hot'));
    const client = bulkClient(s, 16);
    const codes: Record<number, number> = {};
    let n = 0;
    const loop = async () => {
      while (n < 200) {
        const i = n++;
        const r = await client.request(
          'PATCH',
          `${base}/hot`,
          JSON.stringify({ metadata: { annotations: { [`k${i}`]: 'v' } } }),
          MERGE_HDR,
        );
        codes[r.status] = (codes[r.status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 16 }, loop));
    client.close();
    expect(codes).toEqual({ 200: 200 });
    const final = (await s.request('GET', `${base}/hot`)).json();
    expect(Object.keys(final.metadata.annotations)).toHaveLength(200);
  });
});

describe('delete', () => {
  const base = adoptedServers('sem-del');

  it('checks uid and resourceVersion preconditions', async () => {
    const obj = await create(s, base, adoptedServer('pre'));
    const del = (pre: Record<string, string>) =>
      s.request('DELETE', `${base}/pre`, {
        body: JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', preconditions: pre }),
        headers: JSON_HDR,
      });
    const uid = expectStatus(await del({ uid: 'wrong' }), 409, 'Conflict');
    expect(uid.message).toBe(
      `Operation cannot be fulfilled on adoptedservers.metal.sidero.dev "pre": Precondition failed: UID in precondition: wrong, UID in object meta: ${obj.metadata.uid}`,
    );
    const rv = expectStatus(await del({ resourceVersion: '1' }), 409, 'Conflict');
    expect(rv.message).toContain('Precondition failed: ResourceVersion in precondition: 1');
    expect((await s.request('GET', `${base}/pre`)).status).toBe(200);
    const ok = await del({ uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion });
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'pre', uid: obj.metadata.uid },
    });
    expect((await s.request('GET', `${base}/pre`)).status).toBe(404);
    expectStatus(await s.request('DELETE', `${base}/pre`), 404, 'NotFound');
  });

  it('marks an object with finalizers terminating and deletes it when the last finalizer goes', async () => {
    await create(s, base, adoptedServer('fin', { extra: { finalizers: ['example.com/hold'] } }));
    const r = await s.request('DELETE', `${base}/fin`, {
      body: '{"propagationPolicy":"Background"}',
      headers: JSON_HDR,
    });
    expect(r.status).toBe(200);
    const marked = r.json();
    expect(marked.kind).toBe('AdoptedServer');
    expect(marked.metadata.deletionTimestamp).toMatch(/Z$/);
    expect(marked.metadata.deletionGracePeriodSeconds).toBe(0);
    expect((await s.request('GET', `${base}/fin`)).json().metadata.deletionTimestamp).toBe(
      marked.metadata.deletionTimestamp,
    );

    const add = await s.request('PATCH', `${base}/fin`, {
      body: JSON.stringify({ metadata: { finalizers: ['example.com/hold', 'example.com/other'] } }),
      headers: MERGE_HDR,
    });
    expect(expectStatus(add, 422, 'Invalid').message).toContain(
      'no new finalizers can be added if the object is being deleted, found new finalizers ["example.com/other"]',
    );
    const label = await s.request('PATCH', `${base}/fin`, {
      body: '{"metadata":{"labels":{"still":"editable"}}}',
      headers: MERGE_HDR,
    });
    expect(label.status).toBe(200);
    const remove = await s.request('PATCH', `${base}/fin`, {
      body: '{"metadata":{"finalizers":null}}',
      headers: MERGE_HDR,
    });
    expect(remove.status, remove.body).toBe(200);
    expect((await s.request('GET', `${base}/fin`)).status).toBe(404);
  });
});

describe('status subresource and generation', () => {
  const base = adoptedServers('sem-status');

  it('/status changes only status; the main endpoint ignores status; generation follows spec', async () => {
    const body = { ...adoptedServer('st'), status: { ready: true } };
    const created = await create(s, base, body);
    expect(created.status).toBeUndefined();

    const put = await s.request('PUT', `${base}/st/status`, {
      body: JSON.stringify({
        ...created,
        spec: { ...created.spec, accepted: true },
        metadata: { ...created.metadata, labels: { x: 'y' } },
        status: { ready: true },
      }),
      headers: JSON_HDR,
    });
    expect(put.status, put.body).toBe(200);
    const afterPut = put.json();
    expect(afterPut.status).toEqual({ ready: true });
    expect(afterPut.spec.accepted).toBe(false);
    expect(afterPut.metadata.labels).toBeUndefined();
    expect(afterPut.metadata.generation).toBe(1);

    const patch = await s.request('PATCH', `${base}/st/status`, {
      body: '{"status":{"connected":true},"spec":{"accepted":true}}',
      headers: MERGE_HDR,
    });
    expect(patch.status).toBe(200);
    expect(patch.json().status).toEqual({ ready: true, connected: true });
    expect(patch.json().spec.accepted).toBe(false);

    const main = await s.request('PATCH', `${base}/st`, {
      body: '{"status":{"ready":false},"metadata":{"labels":{"a":"b"}}}',
      headers: MERGE_HDR,
    });
    expect(main.status).toBe(200);
    expect(main.json().status).toEqual({ ready: true, connected: true });
    expect(main.json().metadata.generation).toBe(1);

    const spec = await s.request('PATCH', `${base}/st`, { body: '{"spec":{"accepted":true}}', headers: MERGE_HDR });
    expect(spec.json().metadata.generation).toBe(2);
    expect((await s.request('GET', `${base}/st/status`)).json().metadata.generation).toBe(2);
  });
});

describe('fieldValidation', () => {
  const base = adoptedServers('sem-fv');
  // raw text so the duplicate key reaches the server
  const raw = (name: string) =>
    `{"apiVersion":"metal.sidero.dev/v1alpha2","kind":"AdoptedServer","metadata":{"name":"${name}"},` +
    `"spec":{"foo":1,"accepted":true,"accepted":false,"talos":{"endpoint":"10.0.0.1:50000","nodeType":"worker"}}}`;

  it('Strict rejects unknown and duplicate fields with 400 and stores nothing', async () => {
    const r = await s.request('POST', `${base}?fieldValidation=Strict`, { body: raw('strict'), headers: JSON_HDR });
    const st = expectStatus(r, 400, 'BadRequest');
    expect(st.message).toContain(
      'AdoptedServer in version "v1alpha2" cannot be handled as a AdoptedServer: strict decoding error:',
    );
    expect(st.message).toContain('unknown field "spec.foo"');
    expect(st.message).toContain('duplicate field "spec.accepted"');
    expect((await s.request('GET', `${base}/strict`)).status).toBe(404);
  });

  it('Warn (and the default) accepts with Warning headers and prunes; Ignore is silent', async () => {
    for (const q of ['?fieldValidation=Warn', '']) {
      const name = q ? 'warn' : 'default';
      const r = await s.request('POST', `${base}${q}`, { body: raw(name), headers: JSON_HDR });
      expect(r.status).toBe(201);
      const warnings = ([] as string[]).concat(r.headers.warning ?? []).join(', ');
      expect(warnings).toContain('299 - "unknown field \\"spec.foo\\""');
      expect(warnings).toContain('299 - "duplicate field \\"spec.accepted\\""');
      expect(r.json().spec.foo).toBeUndefined();
    }
    const r = await s.request('POST', `${base}?fieldValidation=Ignore`, { body: raw('ignore'), headers: JSON_HDR });
    expect(r.status).toBe(201);
    expect(r.headers.warning).toBeUndefined();
    expect(r.json().spec.foo).toBeUndefined();
  });
});
