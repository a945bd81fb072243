// Bad requests against the real server binary: each gets the 4xx Status kube-apiserver would give
// (never a 500), and nothing changes: the store revision does not move and the objects stay as they were.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adoptedServer,
  adoptedServers,
  AS_GV,
  create,
  createNamespace,
  expectStatus,
  JSON_HDR,
  JSONPATCH_HDR,
  kubernetesCluster,
  kubernetesClusters,
  MERGE_HDR,
  storeRevision,
} from '../helpers/api.js';
import {
  disposeServer,
  startServer,
  type RawResponse,
  type TestServer,
  SAMPLE_OBJECTS_ONLY,
} from '../helpers/server.js';

const NS = 'bad';
const AS = adoptedServers(NS);
const KC = kubernetesClusters(NS);
let s: TestServer;
let keep: any;

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  await createNamespace(s, NS);
  keep = await create(s, AS, adoptedServer('keep', { labels: { app: 'keep' } }));
  await create(s, KC, kubernetesCluster('kc1', 3));
});

afterAll(async () => {
  await disposeServer(s);
});

/** sends a bad request and asserts the Status it gets and that the store did not change */
async function rejected(
  method: string,
  path: string,
  code: number,
  reason: string,
  opts: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<any> {
  const before = await storeRevision(s);
  const r: RawResponse = await s.request(method, path, { headers: JSON_HDR, ...opts });
  const status = expectStatus(r, code, reason);
  expect(await storeRevision(s), `${method} ${path} changed the store`).toBe(before);
  expect((await s.request('GET', `${AS}/keep`)).json()).toEqual(keep);
  return status;
}

const post = (body: unknown) => ({ body: typeof body === 'string' ? body : JSON.stringify(body) });
const causes = (st: any): string[] => (st.details?.causes ?? []).map((c: any) => c.field);

describe('malformed bodies', () => {
  it('rejects malformed JSON and YAML with 400', async () => {
    await rejected('POST', AS, 400, 'BadRequest', post('{"apiVersion": "metal.sidero.dev/v1alpha2", "kind": '));
    await rejected('POST', AS, 400, 'BadRequest', {
      body: 'apiVersion: v1\nkind: [unclosed\n  metadata: {',
      headers: { 'Content-Type': 'application/yaml' },
    });
    await rejected('PUT', `${AS}/keep`, 400, 'BadRequest', post('{"metadata": {"name": "keep"'));
  });

  it('rejects bodies that are not objects with 400', async () => {
    for (const body of ['[1,2]', '"text"', '42', 'null']) await rejected('POST', AS, 400, 'BadRequest', post(body));
    await rejected('POST', AS, 400, 'BadRequest', post(''));
  });

  it('rejects a wrong or missing apiVersion or kind with 400', async () => {
    const obj = adoptedServer('x');
    const wrongVersion = await rejected(
      'POST',
      AS,
      400,
      'BadRequest',
      post({ ...obj, apiVersion: 'metal.sidero.dev/v1alpha1' }),
    );
    expect(wrongVersion.message).toBe(
      'the API version in the data (metal.sidero.dev/v1alpha1) does not match the expected API version (metal.sidero.dev/v1alpha2)',
    );
    const wrongKind = await rejected('POST', AS, 400, 'BadRequest', post({ ...obj, kind: 'Server' }));
    expect(wrongKind.message).toContain('Server');
    const { kind: _k, ...noKind } = obj;
    expect((await rejected('POST', AS, 400, 'BadRequest', post(noKind))).message).toContain("Object 'Kind' is missing");
    const { apiVersion: _a, ...noVersion } = obj;
    expect((await rejected('POST', AS, 400, 'BadRequest', post(noVersion))).message).toContain(
      "'apiVersion' is missing",
    );
  });

  it('rejects a request body over 3 MiB with 413', async () => {
    const big = adoptedServer('big', { extra: { annotations: { filler: 'x'.repeat(3 * 1024 * 1024 + 10) } } });
    await rejected('POST', AS, 413, 'RequestEntityTooLarge', post(big));
  });

  it('refuses an object over the 1.5 MiB storage limit with 413, as etcd-backed kube-apiserver does', async () => {
    // under the 3 MiB body limit, over the store's 1.5 MiB value limit (kept in a free-form field)
    const kc = { ...kubernetesCluster('hugekc', 1) } as any;
    kc.spec.topology.workers = [
      { name: 'p', replicas: 1, version: '1.33', providerConfig: { blob: 'x'.repeat(1700 * 1024) } },
    ];
    const st = await rejected('POST', KC, 413, 'RequestEntityTooLarge', post(kc));
    expect(st.message).toContain('too large to store');
    expect((await s.request('GET', `${KC}/hugekc`)).status).toBe(404);
  });

  it('rejects unknown content types with 415', async () => {
    await rejected('POST', AS, 415, 'UnsupportedMediaType', {
      body: JSON.stringify(adoptedServer('ct')),
      headers: { 'Content-Type': 'text/plain' },
    });
    await rejected('PUT', `${AS}/keep`, 415, 'UnsupportedMediaType', {
      body: JSON.stringify(keep),
      headers: { 'Content-Type': 'application/xml' },
    });
  });
});

describe('invalid metadata', () => {
  it('rejects invalid names with 422 on metadata.name', async () => {
    for (const name of ['Upper', 'x'.repeat(254), '..', 'a_b', '-lead']) {
      const st = await rejected('POST', AS, 422, 'Invalid', post(adoptedServer(name)));
      expect(causes(st), name).toContain('metadata.name');
      expect(st.details.kind).toBe('AdoptedServer');
    }
    const st = await rejected('POST', AS, 422, 'Invalid', post({ ...adoptedServer('x'), metadata: {} }));
    expect(st.message).toContain('name or generateName is required');
  });

  it('rejects a name or namespace that does not match the URL with 400', async () => {
    const put = await rejected(
      'PUT',
      `${AS}/keep`,
      400,
      'BadRequest',
      post({ ...keep, metadata: { ...keep.metadata, name: 'other' } }),
    );
    expect(put.message).toBe('the name of the object (other) does not match the name on the URL (keep)');
    const ns = await rejected(
      'POST',
      AS,
      400,
      'BadRequest',
      post(adoptedServer('nsx', { extra: { namespace: 'default' } })),
    );
    expect(ns.message).toBe('the namespace of the provided object does not match the namespace sent on the request');
    await rejected(
      'PUT',
      `${AS}/keep`,
      400,
      'BadRequest',
      post({ ...keep, metadata: { ...keep.metadata, namespace: 'default' } }),
    );
  });

  it('rejects invalid label and annotation keys and values with 422', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ labels: { 'bad key!': 'v' } }, 'metadata.labels'],
      [{ labels: { ok: 'v'.repeat(64) } }, 'metadata.labels'],
      [{ labels: { ok: 'white space' } }, 'metadata.labels'],
      [{ annotations: { 'a/b/c': 'x' } }, 'metadata.annotations'],
    ];
    for (const [extra, field] of cases) {
      const st = await rejected('POST', AS, 422, 'Invalid', post(adoptedServer('lbl', { extra })));
      expect(
        causes(st).some((f) => f.startsWith(field)),
        JSON.stringify(st),
      ).toBe(true);
    }
    await rejected('PATCH', `${AS}/keep`, 422, 'Invalid', {
      body: '{"metadata":{"labels":{"-bad-":"x"}}}',
      headers: MERGE_HDR,
    });
  });
});

describe('schema violations', () => {
  it('rejects an even control-plane replica count', async () => {
    const st = await rejected('POST', KC, 422, 'Invalid', post(kubernetesCluster('even', 2)));
    expect(st.message).toMatch(/^KubernetesCluster\.vitistack\.io "even" is invalid: /);
    expect(causes(st)).toContain('spec.topology.controlplane.replicas');
    await rejected('PATCH', `${KC}/kc1`, 422, 'Invalid', {
      body: '{"spec":{"topology":{"controlplane":{"replicas":4}}}}',
      headers: MERGE_HDR,
    });
  });

  it('lists every missing required field', async () => {
    const kc = kubernetesCluster('req');
    const { clusterId: _c, region: _r, ...data } = kc.spec.data;
    const st = await rejected('POST', KC, 422, 'Invalid', post({ ...kc, spec: { ...kc.spec, data } }));
    expect(causes(st)).toEqual(expect.arrayContaining(['spec.data.clusterId', 'spec.data.region']));
    const empty = await rejected('POST', KC, 422, 'Invalid', post({ ...kc, spec: {} }));
    expect(causes(empty)).toEqual(expect.arrayContaining(['spec.data', 'spec.topology']));
  });

  it('rejects enum violations and endpoints without a port', async () => {
    const enumSt = await rejected('POST', AS, 422, 'Invalid', post(adoptedServer('en', { nodeType: 'bogus' })));
    expect(enumSt.details.causes.find((c: any) => c.field === 'spec.talos.nodeType')).toMatchObject({
      reason: 'FieldValueNotSupported',
    });
    const obj = adoptedServer('ep');
    obj.spec.talos.endpoint = '10.0.0.1';
    expect(causes(await rejected('POST', AS, 422, 'Invalid', post(obj)))).toContain('spec.talos.endpoint');
  });
});

describe('bad patches', () => {
  const jp = (ops: unknown) => ({ body: JSON.stringify(ops), headers: JSONPATCH_HDR });

  it('rejects a failing test op and a missing path with 422', async () => {
    await rejected(
      'PATCH',
      `${AS}/keep`,
      422,
      'Invalid',
      jp([
        { op: 'test', path: '/spec/accepted', value: true },
        { op: 'replace', path: '/spec/accepted', value: true },
      ]),
    );
    await rejected('PATCH', `${AS}/keep`, 422, 'Invalid', jp([{ op: 'remove', path: '/metadata/labels/nope' }]));
    await rejected(
      'PATCH',
      `${AS}/keep`,
      422,
      'Invalid',
      jp([{ op: 'replace', path: '/spec/nothing/here', value: 1 }]),
    );
  });

  it('rejects malformed patch documents with 400', async () => {
    await rejected('PATCH', `${AS}/keep`, 400, 'BadRequest', jp({ op: 'add' }));
    await rejected('PATCH', `${AS}/keep`, 400, 'BadRequest', { body: '[{"op":', headers: JSONPATCH_HDR });
    await rejected('PATCH', `${AS}/keep`, 400, 'BadRequest', { body: '{"spec":', headers: MERGE_HDR });
  });

  it('refuses __proto__ paths and keeps working', async () => {
    for (const path of ['/__proto__/polluted', '/metadata/__proto__/polluted', '/constructor/prototype/polluted']) {
      const before = await storeRevision(s);
      const r = await s.request('PATCH', `${AS}/keep`, jp([{ op: 'add', path, value: 'yes' }]));
      expect([400, 422], r.body).toContain(r.status);
      expect(r.json().kind).toBe('Status');
      expect(await storeRevision(s)).toBe(before);
    }
    const fresh = await create(s, AS, adoptedServer('after-proto'));
    expect(JSON.stringify(fresh)).not.toContain('polluted');
    expect((await s.request('GET', `${AS}/keep`)).json()).toEqual(keep);
  });

  it('rejects more than 10000 JSON patch operations with 413', async () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/kind', value: 'AdoptedServer' }));
    await rejected('PATCH', `${AS}/keep`, 413, 'RequestEntityTooLarge', jp(ops));
  });

  it('answers strategic merge patch, CBOR apply patch and plain JSON with 415', async () => {
    const smp = await rejected('PATCH', `${AS}/keep`, 415, 'UnsupportedMediaType', {
      body: '{"spec":{"accepted":true}}',
      headers: { 'Content-Type': 'application/strategic-merge-patch+json' },
    });
    expect(smp.message).toBe(
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    );
    await rejected('PATCH', `${AS}/keep?fieldManager=kubectl`, 415, 'UnsupportedMediaType', {
      body: 'apiVersion: metal.sidero.dev/v1alpha2\nkind: AdoptedServer\nmetadata:\n  name: keep\n',
      headers: { 'Content-Type': 'application/apply-patch+cbor' },
    });
    await rejected('PATCH', `${AS}/keep`, 415, 'UnsupportedMediaType', { body: '{}', headers: JSON_HDR });
  });
});

describe('bad query parameters', () => {
  it('rejects bad selectors with 400, also on deletecollection', async () => {
    await rejected('GET', `${AS}?labelSelector=${encodeURIComponent('app in (keep')}`, 400, 'BadRequest');
    await rejected('GET', `${AS}?labelSelector=${encodeURIComponent('a b')}`, 400, 'BadRequest');
    await rejected('GET', `${AS}?fieldSelector=metadata.name`, 400, 'BadRequest');
    const unsupported = await rejected('GET', `${AS}?fieldSelector=spec.nope%3Dx`, 400, 'BadRequest');
    expect(unsupported.message).toBe('field label not supported: spec.nope');
    await rejected('DELETE', `${AS}?labelSelector=${encodeURIComponent('app in (keep')}`, 400, 'BadRequest');
    await rejected('DELETE', `${AS}?fieldSelector=spec.nope%3Dx`, 400, 'BadRequest');
  });

  it('rejects invalid write options with 422', async () => {
    const body = post(adoptedServer('opt'));
    const dry = await rejected('POST', `${AS}?dryRun=Foo`, 422, 'Invalid', body);
    expect(dry.details.causes[0]).toMatchObject({ field: 'dryRun', reason: 'FieldValueNotSupported' });
    const fv = await rejected('POST', `${AS}?fieldValidation=Foo`, 422, 'Invalid', body);
    expect(fv.details.causes[0]).toMatchObject({ field: 'fieldValidation' });
    await rejected('PUT', `${AS}/keep?dryRun=Foo`, 422, 'Invalid', post(keep));
    await rejected('DELETE', `${AS}/keep?dryRun=Foo`, 422, 'Invalid');
    const policy = await rejected(
      'DELETE',
      `${AS}/keep`,
      422,
      'Invalid',
      post({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Bogus' }),
    );
    expect(policy.details.causes[0]).toMatchObject({ field: 'propagationPolicy' });
    await rejected('DELETE', `${AS}/keep?propagationPolicy=Bogus`, 422, 'Invalid');
    await rejected('DELETE', `${AS}/keep`, 400, 'BadRequest', post('{"propagationPolicy": '));
  });

  it('rejects invalid list options', async () => {
    await rejected('GET', `${AS}?limit=-1`, 400, 'BadRequest');
    await rejected('GET', `${AS}?limit=abc`, 400, 'BadRequest');
    const cont = await rejected('GET', `${AS}?limit=1&continue=garbage`, 400, 'BadRequest');
    expect(cont.message).toContain('continue');
    await rejected('GET', `${AS}?resourceVersion=abc`, 400, 'BadRequest');
    await rejected('GET', `${AS}/keep?resourceVersion=abc`, 400, 'BadRequest');
    const rvm = await rejected('GET', `${AS}?resourceVersionMatch=NotOlderThan`, 422, 'Invalid');
    expect(rvm.message).toContain('resourceVersionMatch is forbidden unless resourceVersion is provided');
    await rejected('GET', `${AS}?resourceVersionMatch=Exact&resourceVersion=0`, 422, 'Invalid');
    await rejected('GET', `${AS}?resourceVersionMatch=Sometimes&resourceVersion=1`, 422, 'Invalid');
    await rejected('GET', `${AS}?includeObject=Everything`, 400, 'BadRequest', {
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    });
  });
});

describe('wrong places', () => {
  it('answers 404 for a missing namespace and unknown resources', async () => {
    const ns = await rejected('POST', adoptedServers('nope'), 404, 'NotFound', post(adoptedServer('x')));
    expect(ns.message).toBe('namespaces "nope" not found');
    expect(ns.details).toMatchObject({ name: 'nope', kind: 'namespaces' });
    await rejected('GET', `${AS_GV}/namespaces/${NS}/widgets`, 404, 'NotFound');
    await rejected('POST', `${AS_GV}/namespaces/${NS}/widgets`, 404, 'NotFound', post(adoptedServer('x')));
    await rejected('GET', '/apis/example.com/v1/things', 404, 'NotFound');
    await rejected('GET', `${AS}/keep/scale`, 404, 'NotFound');
    await rejected('GET', `${AS_GV}/namespaces/${NS}/servers`, 404, 'NotFound');
  });

  it('answers 405 for verbs a path does not serve', async () => {
    const st = await rejected('POST', `${AS}/keep`, 405, 'MethodNotAllowed', post(adoptedServer('keep2')));
    expect(st.message).toContain('adoptedservers.metal.sidero.dev');
    await rejected('POST', `${AS}/keep/status`, 405, 'MethodNotAllowed', post(keep));
    await rejected('DELETE', `${AS}/keep/status`, 405, 'MethodNotAllowed');
    expect((await s.request('GET', `${AS}/keep2`)).status).toBe(404);
  });
});
