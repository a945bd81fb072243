// The admission plugins served as AdmissionReview v1 webhooks on the server's HTTPS listener,
// with real AdmissionReview bodies as kube-apiserver sends them (no client certificate).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adoptedServer, JSON_HDR, expectStatus } from '../helpers/api.js';
import { disposeServer, SAMPLE_OBJECTS_ONLY, startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
});
afterAll(async () => {
  await disposeServer(s);
});

function reviewOf(
  kind: { group: string; version: string; kind: string; resource: string },
  operation: string,
  object: unknown,
  oldObject?: unknown,
) {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: kind.group, version: kind.version, kind: kind.kind },
      resource: { group: kind.group, version: kind.version, resource: kind.resource },
      operation,
      namespace: 'default',
      name: (object as { metadata?: { name?: string } }).metadata?.name,
      object,
      ...(oldObject ? { oldObject } : {}),
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      dryRun: false,
    },
  });
}

const AS_KIND = { group: 'metal.sidero.dev', version: 'v1alpha2', kind: 'AdoptedServer', resource: 'adoptedservers' };
const KC_KIND = {
  group: 'vitistack.io',
  version: 'v1alpha1',
  kind: 'KubernetesCluster',
  resource: 'kubernetesclusters',
};
const post = (path: string, body: string) => s.request('POST', path, { anonymous: true, body, headers: JSON_HDR });

function kc(name: string, cps: number, version = '1.33') {
  return {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name, namespace: 'default' },
    spec: {
      data: {
        clusterUid: 'u',
        clusterId: `${name}-id`,
        provider: 'talos',
        environment: 'e',
        datacenter: 'd',
        project: 'p',
        region: 'r',
        workorder: 'w',
        zone: 'z',
        workspace: 'ws',
      },
      topology: { version, controlplane: { replicas: cps, version }, workers: [{ name: 'a', replicas: 1, version }] },
      talos: { version: 'v1.13.9' },
    },
  };
}

describe('/webhooks/mutate', () => {
  it('answers with the defaults as a base64 JSONPatch, without credentials', async () => {
    const r = await post('/webhooks/mutate', reviewOf(AS_KIND, 'CREATE', adoptedServer('w1')));
    expect(r.status).toBe(200);
    const res = r.json();
    expect(res).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true, patchType: 'JSONPatch' },
    });
    const ops = JSON.parse(Buffer.from(res.response.patch, 'base64').toString('utf8'));
    expect(ops).toContainEqual({ op: 'add', path: '/spec/accepted', value: false });
  });

  it('an object that needs no default gets no patch', async () => {
    const obj = adoptedServer('w2');
    Object.assign(obj.spec, { accepted: true });
    const r = (await post('/webhooks/mutate', reviewOf(AS_KIND, 'CREATE', obj))).json();
    expect(r.response).toEqual({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
  });
});

describe('/webhooks/validate', () => {
  it('allows a valid object and denies an invalid one with a 422 Status naming every field', async () => {
    expect((await post('/webhooks/validate', reviewOf(KC_KIND, 'CREATE', kc('ok', 3)))).json().response.allowed).toBe(
      true,
    );
    const r = (await post('/webhooks/validate', reviewOf(KC_KIND, 'CREATE', kc('even', 2, '1.20')))).json().response;
    expect(r.allowed).toBe(false);
    expect(r.status).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(r.status.message).toContain('spec.topology.controlplane.replicas: Invalid value: 2: must be odd');
    // named as kube-apiserver names it, and as the in-process admission does (kubectl: `The KubernetesCluster "even" is invalid`)
    expect(r.status.message).toMatch(/^KubernetesCluster\.vitistack\.io "even" is invalid: /);
    expect(r.status.details).toMatchObject({ name: 'even', group: 'vitistack.io', kind: 'KubernetesCluster' });
  });

  it('runs the Talos checks: a Kubernetes version outside the target Talos range', async () => {
    const r = (await post('/webhooks/validate', reviewOf(KC_KIND, 'CREATE', kc('old', 3, '1.20')))).json().response;
    expect(r.allowed).toBe(false);
    expect(r.status.details.causes).toContainEqual(
      expect.objectContaining({ field: 'spec.topology.controlplane.version' }),
    );
    expect(r.status.message).toMatch(/^KubernetesCluster\.vitistack\.io "old" is invalid: /);
    expect(r.status.details).toMatchObject({ name: 'old', group: 'vitistack.io', kind: 'KubernetesCluster' });
  });

  it('checks immutable fields on UPDATE', async () => {
    const before = kc('imm', 3);
    const after = structuredClone(before);
    after.spec.data.clusterId = 'changed';
    const r = (await post('/webhooks/validate', reviewOf(KC_KIND, 'UPDATE', after, before))).json().response;
    expect(r.allowed).toBe(false);
    expect(r.status.message).toContain('spec.data.clusterId: Invalid value: "changed": field is immutable');
  });

  it('writes nothing: no Secret appears for a reviewed KubernetesCluster', async () => {
    await post('/webhooks/validate', reviewOf(KC_KIND, 'CREATE', kc('ghost', 1)));
    expect((await s.request('GET', '/api/v1/namespaces/default/secrets')).json().items).toEqual([]);
  });

  it('refuses what is not an AdmissionReview with a 400 Status, and GET with 405', async () => {
    expectStatus(await post('/webhooks/validate', '{"kind":"Pod"}'), 400, 'BadRequest');
    expectStatus(await post('/webhooks/validate', '{not json'), 400, 'BadRequest');
    expect((await s.request('GET', '/webhooks/validate', { anonymous: true })).status).toBe(405);
  });
});
