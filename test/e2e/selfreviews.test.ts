// Standalone mode's own SelfSubjectAccessReview and SelfSubjectRulesReview (kubectl auth can-i):
// discovery, answers for the requesting user that agree with what the server then really does,
// and bad reviews refused with kube-apiserver's Status codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PemPair } from '../../src/pki/devca.js';
import { expectStatus, JSON_HDR } from '../helpers/api.js';
import { disposeServer, SAMPLE_OBJECTS_ONLY, startServer, type TestServer } from '../helpers/server.js';
import { standaloneUser } from './kubectl-helpers.js';

let s: TestServer;
let viewer: { cert: PemPair; kubeconfig: string };
const GV = '/apis/authorization.k8s.io/v1';
const SSAR = `${GV}/selfsubjectaccessreviews`;
const SSRR = `${GV}/selfsubjectrulesreviews`;

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  viewer = await standaloneUser(s, 'viewer', ['team']);
});

afterAll(() => disposeServer(s));

const review = (spec: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec, ...extra });

/** POSTs a review as the admin, or as `cert`'s user */
function post(path: string, body: string, cert?: PemPair, query = '') {
  return s.request('POST', `${path}${query}`, { body, headers: JSON_HDR, ...(cert ? { cert } : {}) });
}

const createKC = { resourceAttributes: { verb: 'create', group: 'vitistack.io', resource: 'kubernetesclusters' } };

describe('discovery', () => {
  it('lists authorization.k8s.io/v1 with the two reviews, create only, not stored', async () => {
    const list = (await s.request('GET', GV)).json();
    expect(list).toMatchObject({ kind: 'APIResourceList', groupVersion: 'authorization.k8s.io/v1' });
    expect(list.resources).toEqual([
      {
        name: 'selfsubjectaccessreviews',
        singularName: 'selfsubjectaccessreview',
        namespaced: false,
        kind: 'SelfSubjectAccessReview',
        verbs: ['create'],
      },
      {
        name: 'selfsubjectrulesreviews',
        singularName: 'selfsubjectrulesreview',
        namespaced: false,
        kind: 'SelfSubjectRulesReview',
        verbs: ['create'],
      },
    ]);
    const groups = (await s.request('GET', '/apis')).json().groups.map((g: { name: string }) => g.name);
    expect(groups).toContain('authorization.k8s.io');
    const aggregated = (
      await s.request('GET', '/apis', {
        headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' },
      })
    ).json();
    const authz = aggregated.items.find((i: any) => i.metadata.name === 'authorization.k8s.io');
    expect(authz.versions[0].resources.map((r: any) => [r.resource, r.scope, r.verbs])).toEqual([
      ['selfsubjectaccessreviews', 'Cluster', ['create']],
      ['selfsubjectrulesreviews', 'Cluster', ['create']],
    ]);
  });
});

describe('SelfSubjectAccessReview', () => {
  it('answers for the admin (system:masters): allowed, 201, the spec returned as sent', async () => {
    const r = await post(SSAR, review(createKC));
    expect(r.status, r.body).toBe(201);
    expect(r.json()).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: {},
      spec: createKC,
      status: { allowed: true },
    });
    const path = await post(SSAR, review({ nonResourceAttributes: { path: '/metrics', verb: 'get' } }));
    expect(path.json().status).toEqual({ allowed: true });
  });

  it('answers for the user who asks, as the server then decides its requests', async () => {
    const no = await post(SSAR, review(createKC), viewer.cert);
    expect(no.status, no.body).toBe(201);
    expect(no.json().status).toEqual({ allowed: false });
    const refused = await s.request('GET', '/apis/vitistack.io/v1alpha1/namespaces/default/kubernetesclusters', {
      cert: viewer.cert,
    });
    expectStatus(refused, 403, 'Forbidden');

    const discovery = await post(SSAR, review({ nonResourceAttributes: { path: '/apis', verb: 'get' } }), viewer.cert);
    expect(discovery.json().status).toEqual({ allowed: true });
    expect((await s.request('GET', '/apis', { cert: viewer.cert })).status).toBe(200);
    const metrics = await post(SSAR, review({ nonResourceAttributes: { path: '/metrics', verb: 'get' } }), viewer.cert);
    expect(metrics.json().status).toEqual({ allowed: false });
    expectStatus(await s.request('GET', '/metrics', { cert: viewer.cert }), 403, 'Forbidden');

    // a user named in the spec is not a field of a self review: dropped, and the asker is answered
    const other = await post(SSAR, review({ ...createKC, user: 'admin', groups: ['system:masters'] }), viewer.cert);
    expect(other.status).toBe(201);
    expect(other.json().status).toEqual({ allowed: false });
    expect(other.headers.warning).toMatch(/unknown field \\"spec\.user\\"/);
    expectStatus(
      await post(SSAR, review({ ...createKC, user: 'admin' }), viewer.cert, '?fieldValidation=Strict'),
      400,
      'BadRequest',
    );
  });

  it('answers for what the sender put in status: never', async () => {
    const r = await post(SSAR, review(createKC, { status: { allowed: true } }), viewer.cert);
    expect(r.json().status).toEqual({ allowed: false });
  });

  it('refuses a spec that asks nothing, or two things, with 422 Invalid', async () => {
    const none = expectStatus(await post(SSAR, review({})), 422, 'Invalid');
    expect(none.message).toBe(
      'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
    expect(none.details).toMatchObject({ group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview' });
    const both = expectStatus(
      await post(SSAR, review({ ...createKC, nonResourceAttributes: { path: '/apis', verb: 'get' } })),
      422,
      'Invalid',
    );
    expect(both.details.causes).toEqual([
      expect.objectContaining({ field: 'spec.nonResourceAttributes', reason: 'FieldValueInvalid' }),
    ]);
    const named = expectStatus(await post(SSAR, review(createKC, { metadata: { name: 'x' } })), 422, 'Invalid');
    expect(named.message).toMatch(/metadata: Invalid value: \{"name":"x"\}: must be empty$/);
    const selector = expectStatus(
      await post(SSAR, review({ resourceAttributes: { ...createKC.resourceAttributes, labelSelector: {} } })),
      422,
      'Invalid',
    );
    expect(selector.details.causes[0].field).toBe('spec.resourceAttributes.labelSelector.requirements');
  });

  it('refuses what cannot be decoded as one with 400, and changes nothing', async () => {
    expectStatus(await post(SSAR, review({ resourceAttributes: { verb: 5 } })), 400, 'BadRequest');
    expectStatus(await post(SSAR, review({ resourceAttributes: 'all' })), 400, 'BadRequest');
    expectStatus(await post(SSAR, '[]'), 400, 'BadRequest');
    expectStatus(await post(SSAR, '{"apiVersion":'), 400, 'BadRequest');
    const wrongKind = expectStatus(
      await post(SSAR, JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview' })),
      400,
      'BadRequest',
    );
    expect(wrongKind.message).toMatch(/the kind in the data \(SubjectAccessReview\) does not match/);
  });

  it('serves POST on the collection only, cluster-scoped, as kube-apiserver routes it', async () => {
    expectStatus(await s.request('GET', SSAR), 405, 'MethodNotAllowed');
    expectStatus(await s.request('DELETE', SSAR), 405, 'MethodNotAllowed');
    expectStatus(await post(`${SSAR}/x`, review(createKC)), 404, 'NotFound');
    expectStatus(await post(`${GV}/namespaces/default/selfsubjectaccessreviews`, review(createKC)), 404, 'NotFound');
    expectStatus(await post(`${GV}/localsubjectaccessreviews`, review(createKC)), 404, 'NotFound');
    expectStatus(await post(`${GV}/subjectaccessreviews`, review(createKC)), 404, 'NotFound');
  });
});

describe('SelfSubjectRulesReview', () => {
  it('lists the rules of the groups the asker is in', async () => {
    const body = JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectRulesReview',
      spec: { namespace: 'default' },
    });
    const admin = await post(SSRR, body);
    expect(admin.status, admin.body).toBe(201);
    expect(admin.json().spec).toEqual({ namespace: 'default' });
    expect(admin.json().status.resourceRules).toContainEqual({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
    expect(admin.json().status.incomplete).toBe(false);
    const mine = (await post(SSRR, body, viewer.cert)).json().status;
    expect(mine.resourceRules).toEqual([
      {
        verbs: ['create'],
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
      },
    ]);
    expect(mine.nonResourceRules).toHaveLength(1);
    expect(mine.nonResourceRules[0].nonResourceURLs).toContain('/apis/*');
  });
});

describe('kubectl auth can-i', () => {
  it('says yes (exit 0) and no (exit 1) as the server decides', async () => {
    const yes = await s.kubectl(['auth', 'can-i', 'create', 'kubernetesclusters']);
    expect([yes.code, yes.stdout]).toEqual([0, 'yes\n']);
    const no = await s.kubectl(['auth', 'can-i', 'create', 'kc'], { env: { KUBECONFIG: viewer.kubeconfig } });
    expect([no.code, no.stdout]).toEqual([1, 'no\n']);
    const version = await s.kubectl(['auth', 'can-i', 'get', '/version'], { env: { KUBECONFIG: viewer.kubeconfig } });
    expect([version.code, version.stdout]).toEqual([0, 'yes\n']);
    const list = await s.kubectl(['auth', 'can-i', '--list'], { env: { KUBECONFIG: viewer.kubeconfig } });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    expect(list.stdout).not.toMatch(/^\*\.\*/m);
  });
});

describe('impersonation (kubectl --as), as kube-apiserver judges it', () => {
  it('the admin may impersonate: the request and its review run as the impersonated user', async () => {
    const can = await s.kubectl(['auth', 'can-i', 'create', 'kubernetesclusters', '--as', 'viewer']);
    expect([can.code, can.stdout]).toEqual([1, 'no\n']);
    const asAdminGroup = await s.kubectl([
      'auth',
      'can-i',
      'create',
      'kubernetesclusters',
      '--as',
      'someone',
      '--as-group',
      'system:masters',
    ]);
    expect([asAdminGroup.code, asAdminGroup.stdout]).toEqual([0, 'yes\n']);
    const get = await s.kubectl(['get', 'kubernetesclusters', '-A', '--as', 'viewer']);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain(
      'kubernetesclusters.vitistack.io is forbidden: User "viewer" cannot list resource "kubernetesclusters" in API group "vitistack.io" at the cluster scope',
    );
  });

  it('a user without the impersonate permission is refused, naming what it tried to impersonate', async () => {
    const r = await s.kubectl(['get', 'kubernetesclusters', '-A', '--as', 'admin'], {
      env: { KUBECONFIG: viewer.kubeconfig },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'users "admin" is forbidden: User "viewer" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    const group = await s.kubectl(['get', '--raw', '/version', '--as', 'viewer', '--as-group', 'system:masters'], {
      env: { KUBECONFIG: viewer.kubeconfig },
    });
    expect(group.code).toBe(1);
    expect(group.stderr).toContain('User "viewer" cannot impersonate resource "users"');
  });

  it('impersonating a group without a user is a 400, not a 500, and an SSAR answers for the impersonated user', async () => {
    const groupOnly = await s.request('GET', '/version', { headers: { 'Impersonate-Group': 'team' } });
    expect(expectStatus(groupOnly, 400, 'BadRequest').message).toMatch(/requires impersonating a user/);
    const r = await s.request('POST', SSAR, {
      body: review(createKC),
      headers: { ...JSON_HDR, 'Impersonate-User': 'viewer', 'Impersonate-Group': 'team' },
    });
    expect(r.status).toBe(201);
    expect(JSON.parse(r.body).status.allowed).toBe(false);
  });
});
