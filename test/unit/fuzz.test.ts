// The fuzzer's own parts (hack/fuzz): a seed fixes the request sequence, the ledger tells a stored
// change a 2xx write made from one nobody made, and the verdict tells failures from excused 5xx.
import { describe, expect, it } from 'vitest';
import type { ServedResource } from '../../hack/fuzz/discovery.js';
import { Ledger } from '../../hack/fuzz/ledger.js';
import type { RecordedEvent, SeenObject } from '../../hack/fuzz/recorder.js';
import { isWatch } from '../../hack/fuzz/pieces.js';
import { RequestGenerator } from '../../hack/fuzz/requests.js';
import { Rng } from '../../hack/fuzz/rng.js';
import type { FuzzRequest, FuzzResponse } from '../../hack/fuzz/transport.js';
import { judge, KNOWN_DEFECTS_ALLOW_LIST } from '../../hack/fuzz/verdict.js';

const resources: ServedResource[] = [
  {
    group: '',
    version: 'v1',
    resource: 'secrets',
    kind: 'Secret',
    namespaced: true,
    verbs: ['create', 'get'],
    subresources: new Map(),
  },
  {
    group: '',
    version: 'v1',
    resource: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    verbs: ['create', 'get'],
    subresources: new Map(),
  },
  {
    group: 'metal.sidero.dev',
    version: 'v1alpha2',
    resource: 'adoptedservers',
    kind: 'AdoptedServer',
    namespaced: true,
    verbs: ['create'],
    subresources: new Map([
      ['status', ['get', 'update', 'patch']],
      ['health', ['get']],
      ['upgrade', ['create']],
    ]),
  },
  {
    group: 'vitistack.io',
    version: 'v1alpha1',
    resource: 'kubernetesclusters',
    kind: 'KubernetesCluster',
    namespaced: true,
    verbs: ['create'],
    subresources: new Map(),
  },
];

const sequence = (seed: number, n: number) => {
  const g = new RequestGenerator(new Rng(seed), resources, 1000);
  return Array.from({ length: n }, () => {
    const r = g.next();
    return JSON.stringify({ ...r, body: r.body?.toString('base64') });
  });
};

describe('the request generator', () => {
  it('draws the same requests from the same seed, and others from another', () => {
    expect(sequence(7, 300)).toEqual(sequence(7, 300));
    expect(sequence(8, 300)).not.toEqual(sequence(7, 300));
  });

  it('covers every verb, both protocols and streams for watches', () => {
    const g = new RequestGenerator(new Rng(1), resources, 1000);
    const reqs = Array.from({ length: 2000 }, () => g.next());
    const verbs = new Set(reqs.map((r) => r.verb.split(':')[0]));
    for (const v of [
      'get',
      'list',
      'watch',
      'create',
      'update',
      'patch',
      'delete',
      'deletecollection',
      'status',
      'health',
      'upgrade',
      'nonresource',
      'webhook',
      'oddmethod',
    ]) {
      expect(verbs, v).toContain(v);
    }
    expect(new Set(reqs.map((r) => r.proto))).toEqual(new Set(['h1', 'h2']));
    for (const r of reqs) if (isWatch(r.method, r.path)) expect(r.streamMs, r.path).toBe(1000);
    // a JSON patch copies a few times, or is the one that doubles an annotation until it is refused (413)
    for (const r of reqs.filter((x) => x.verb === 'patch:json' && x.body)) {
      const body = r.body!.toString('utf8');
      const copies = (body.match(/"op":"copy"/g) ?? []).length;
      const doubling = (
        body.match(/"op":"copy","from":"\/metadata\/annotations\/z","path":"\/metadata\/annotations\/z\/-"/g) ?? []
      ).length;
      if (copies > 5) expect(doubling, body.slice(0, 200)).toBe(copies);
    }
  });

  it('knows a watch as the server does', () => {
    expect(isWatch('GET', '/api/v1/namespaces?watch=1')).toBe(true);
    expect(isWatch('GET', '/api/v1/namespaces?watch=')).toBe(true);
    expect(isWatch('GET', '/api/v1/namespaces?watch=false')).toBe(false);
    expect(isWatch('GET', '/apis/metal.sidero.dev/v1alpha2/watch/servers')).toBe(true);
    expect(isWatch('GET', '/api/v1/watch/namespaces/x/secrets')).toBe(true);
    expect(isWatch('DELETE', '/api/v1/namespaces?watch=1')).toBe(false);
  });
});

const obj = (
  resource: string,
  name: string,
  rv: string,
  uid = `uid-${name}`,
  extra: Partial<SeenObject> = {},
): SeenObject => ({
  resource,
  namespace: 'ns',
  name,
  uid,
  rv,
  deleting: false,
  labels: {},
  ...extra,
});
const ev = (type: RecordedEvent['type'], o: SeenObject): RecordedEvent => ({ type, ...o, raw: '{}' });
const body = (o: SeenObject, apiVersion = 'v1', kind = 'Secret') => ({
  apiVersion,
  kind,
  metadata: { name: o.name, namespace: o.namespace, uid: o.uid, resourceVersion: o.rv },
});
const KINDS: Record<string, string> = {
  'v1|Secret': '/secrets',
  'vitistack.io/v1alpha1|KubernetesCluster': 'vitistack.io/kubernetesclusters',
};
const newLedger = () => new Ledger((apiVersion, kind) => KINDS[`${apiVersion}|${kind}`]);

describe('the ledger', () => {
  it('accepts events carrying the resourceVersion of a 2xx write, and deletes of a 2xx delete', () => {
    const l = newLedger();
    const a = obj('/secrets', 's', '5');
    l.recordWrite('POST', body(a));
    l.recordWrite('DELETE', { kind: 'Status', details: { uid: a.uid } });
    expect(l.check([], [ev('ADDED', a), ev('DELETED', { ...a, rv: '6' })])).toEqual([]);
  });

  it('reports a change no write made, and a write no watch saw', () => {
    const l = newLedger();
    l.recordWrite('PUT', body(obj('/secrets', 'seen', '9')));
    const found = l
      .check([], [ev('MODIFIED', obj('/secrets', 'other', '7')), ev('DELETED', obj('/secrets', 'gone', '8'))])
      .map((v) => v.what);
    expect(found).toHaveLength(3);
    expect(found[0]).toMatch(/^MODIFIED \/secrets ns\/other at resourceVersion 7 .* without a 2xx write/);
    expect(found[1]).toMatch(/^DELETED \/secrets ns\/gone/);
    expect(found[2]).toMatch(
      /2xx write of \/secrets ns\/seen answered resourceVersion 9, which no watch event carries/,
    );
  });

  it('accepts the Secrets admission writes after a write of their KubernetesCluster, and a deletecollection marking finalizers', () => {
    const l = newLedger();
    const kc = obj('vitistack.io/kubernetesclusters', 'c1', '10');
    l.recordWrite('POST', body(kc, 'vitistack.io/v1alpha1', 'KubernetesCluster'));
    const bundle = obj('/secrets', 'c1-talos-secrets', '11', 'u1', {
      labels: { 'talos.vitistack.io/secret': 'secrets' },
    });
    const held = obj('/secrets', 'held', '12', 'u2', { deleting: true });
    l.recordWrite('DELETE', { apiVersion: 'v1', kind: 'SecretList', items: [{ metadata: { uid: 'u2' } }] });
    expect(l.check([], [ev('ADDED', kc), ev('ADDED', bundle), ev('MODIFIED', held)])).toEqual([]);
    // the same Secret before any write of its cluster is not explained
    const early = obj('/secrets', 'c2-talosconfig', '3', 'u3', {
      labels: { 'talos.vitistack.io/secret': 'talosconfig' },
    });
    expect(l.check([], [ev('ADDED', kc), ev('ADDED', bundle), ev('MODIFIED', held), ev('ADDED', early)])).toHaveLength(
      1,
    );
  });

  it('attributes a change to the known defect that answered the request touching the object', () => {
    const l = newLedger();
    l.taint({ resource: '/secrets', namespace: 'ns', name: 's' }, 'known-defect-c: ...');
    expect(l.check([], [ev('ADDED', obj('/secrets', 's', '4'))])).toEqual([
      expect.objectContaining({ knownDefect: 'known-defect-c: ...' }),
    ]);
    // a create with generateName: any name with its prefix
    l.taint({ resource: '/secrets', namespace: 'ns', name: 'meant' }, 'known-defect-c: gen', 'gen-');
    expect(l.check([], [ev('ADDED', obj('/secrets', 'gen-x1y2z', '5'))])).toEqual([
      expect.objectContaining({ knownDefect: 'known-defect-c: gen' }),
    ]);
    expect(l.check([], [ev('ADDED', obj('/secrets', 'other', '6'))])).toEqual([
      expect.objectContaining({ knownDefect: undefined }),
    ]);
  });
});

describe('the verdict', () => {
  const req = (over: Partial<FuzzRequest> = {}): FuzzRequest => ({
    seq: 1,
    proto: 'h1',
    method: 'POST',
    path: '/api/v1/namespaces',
    headers: {},
    verb: 'create',
    dryRun: false,
    ...over,
  });
  const res = (status: number, body: unknown, over: Partial<FuzzResponse> = {}): FuzzResponse => ({
    status,
    headers: {},
    body: Buffer.from(JSON.stringify(body)),
    ...over,
  });

  it('fails on a 5xx, a missing answer and an answer broken off', () => {
    expect(judge(req(), res(500, { message: 'boom' }))).toEqual({ ok: false, why: '500: boom' });
    expect(judge(req(), res(0, {}, { timedOut: true }))).toMatchObject({ ok: false });
    expect(judge(req(), res(200, {}, { error: 'aborted' }))).toMatchObject({ ok: false, why: '200, then aborted' });
    expect(judge(req(), res(422, {}))).toEqual({ ok: true });
    expect(judge(req(), res(200, {}, { error: 'x', cut: true }))).toEqual({ ok: true });
  });

  it("excuses kube-apiserver's own 5xx only, now that no known defect is allow-listed", () => {
    const tooLarge = {
      message: 'Timeout: Too large resource version',
      details: { causes: [{ reason: 'ResourceVersionTooLarge' }] },
    };
    expect(judge(req({ method: 'GET' }), res(504, tooLarge))).toMatchObject({
      ok: true,
      expected: expect.stringContaining('ResourceVersionTooLarge'),
    });
    expect(
      judge(req({ method: 'HEAD', path: '/api/v1/namespaces/x?resourceVersion=500000' }), res(504, {})),
    ).toMatchObject({ ok: true });
    const generic = { message: 'Internal error occurred: an unexpected error occurred; see the server log' };
    expect(KNOWN_DEFECTS_ALLOW_LIST).toEqual([]);
    // the two defects once excused here (a U+FFFD field name echoed into a Warning header, !!binary) are fixed
    expect(judge(req({ body: Buffer.from('{"a\uFFFD":1}') }), res(500, generic))).toMatchObject({ ok: false });
    expect(judge(req({ body: Buffer.from('{"plain":1}') }), res(500, generic))).toMatchObject({ ok: false });
    expect(judge(req({ body: Buffer.from('x: !!binary aGk=') }), res(500, generic))).toMatchObject({ ok: false });
  });
});
