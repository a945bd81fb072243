// Cluster mode behind a harness that plays kube-apiserver (test/helpers/aggregator.ts): front-proxy
// authentication, delegated authorization through recorded SubjectAccessReviews, TokenReview,
// the authentication ConfigMap followed, and namespaces, Secrets and Events from kube-apiserver.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { createCA, issueCertificate } from '../../src/pki/devca.js';
import { startHarness, type Harness } from '../helpers/aggregator.js';
import { AS_GV, adoptedServer, expectStatus, JSON_HDR } from '../helpers/api.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { tempDir } from './kubectl-helpers.js';

const tmp = tempDir();
let h: Harness;
let s: TestServer;
let sim: Simulator;
const AS = `${AS_GV}/namespaces/default/adoptedservers`;

/** kubectl through the aggregator proxy as `name` */
async function kubectlAs(name: string, groups: string[], args: string[]) {
  const kc = await h.kubeconfigFor(tmp.dir, name, groups);
  return s.kubectl(args, { env: { KUBECONFIG: kc } });
}

/** a request as the front proxy would send it for `user` */
function proxied(
  method: string,
  path: string,
  user: string,
  groups: string[],
  opts: { body?: string; headers?: Record<string, string> } = {},
) {
  return s.request(method, path, {
    cert: h.frontProxyClient,
    ...opts,
    headers: { 'X-Remote-User': user, 'X-Remote-Group': groups.join(', '), ...opts.headers },
  });
}

const sars = () => h.reviews.filter((r) => r.kind === 'SubjectAccessReview').map((r) => r.spec);
const discovery = (spec: any) =>
  spec.nonResourceAttributes?.verb === 'get' &&
  /^\/(api|apis|openapi|version)(\/|$)/.test(spec.nonResourceAttributes.path);

beforeAll(async () => {
  h = await startHarness(tmp.dir);
  sim = await startSimulator({ nodes: 1, controlPlanes: 1, clusterName: 'kube' });
  s = await startServer({
    args: ['--kubeconfig', h.kube.kubeconfig, '--resync-period', '1s', '--talos-call-timeout', '2s'],
  });
  h.setBackend(s.url, readFileSync(join(s.dataDir, 'pki', 'ca.crt'), 'utf8'));
});

afterAll(async () => {
  await disposeServer(s);
  await h?.stop();
  await sim?.stop();
  tmp.remove();
});

beforeEach(() => {
  h.reviews.length = 0;
  // like kube's bootstrap roles: discovery for everyone authenticated; alice may read adoptedservers
  h.policy = (spec) => {
    if (discovery(spec)) return { allowed: true };
    const r = spec.resourceAttributes;
    if (
      spec.user === 'alice' &&
      r?.resource === 'adoptedservers' &&
      ['get', 'list', 'watch'].includes(r.verb) &&
      !r.subresource
    )
      return { allowed: true };
    return { allowed: false, reason: 'no RBAC policy matched' };
  };
});

describe('through the aggregator', () => {
  it('answers probes without credentials and without a review; /api is 404 in cluster mode', async () => {
    for (const p of ['/readyz', '/livez', '/healthz'])
      expect((await s.request('GET', p, { anonymous: true })).status).toBe(200);
    expect(sars()).toEqual([]);
    expect((await proxied('GET', '/api', 'alice', [])).status).toBe(404);
  });

  it('an allowed user acts with their own identity: the review carries every attribute', async () => {
    await proxied('POST', AS, 'admin', ['system:masters'], {
      body: JSON.stringify(adoptedServer('cp-1')),
      headers: JSON_HDR,
    });
    const r = await kubectlAs('alice', ['devs'], ['get', 'adoptedservers', '-n', 'default', '-o', 'name']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('adoptedserver.metal.sidero.dev/cp-1\n');
    const list = sars().find((x) => x.resourceAttributes?.verb === 'list');
    expect(list).toMatchObject({
      user: 'alice',
      groups: expect.arrayContaining(['devs', 'system:authenticated']),
      resourceAttributes: {
        namespace: 'default',
        verb: 'list',
        group: 'metal.sidero.dev',
        version: 'v1alpha2',
        resource: 'adoptedservers',
        subresource: '',
        name: '',
      },
    });
    await kubectlAs('alice', ['devs'], ['get', 'adoptedserver', 'cp-1', '-n', 'default']);
    expect(sars().find((x) => x.resourceAttributes?.verb === 'get')?.resourceAttributes).toMatchObject({
      name: 'cp-1',
      resource: 'adoptedservers',
    });
  });

  it('a denied review is a 403 naming user, verb and resource, for every verb and subresource', async () => {
    const cases: [string, string, string, string?][] = [
      ['POST', AS, 'create'],
      ['PUT', `${AS}/cp-1`, 'update'],
      ['PATCH', `${AS}/cp-1`, 'patch'],
      ['DELETE', `${AS}/cp-1`, 'delete'],
      ['DELETE', AS, 'deletecollection'],
      ['GET', `${AS}/cp-1/status`, 'get', 'status'],
      ['PUT', `${AS}/cp-1/status`, 'update', 'status'],
      ['GET', `${AS}/cp-1/health`, 'get', 'health'],
      ['GET', `${AS}/cp-1/kubeconfig`, 'get', 'kubeconfig'],
      ['POST', `${AS}/cp-1/upgrade`, 'create', 'upgrade'],
      ['GET', `${AS_GV}/servers`, 'list'],
    ];
    for (const [method, path, verb, sub] of cases) {
      h.reviews.length = 0;
      const r = await proxied(method, path, 'alice', ['devs'], { body: '{}', headers: JSON_HDR });
      const st = expectStatus(r, 403, 'Forbidden');
      const resource = path.includes('/servers') ? 'servers' : 'adoptedservers';
      expect(st.message, `${method} ${path}`).toContain(
        `User "alice" cannot ${verb} resource "${sub ? `${resource}/${sub}` : resource}" in API group "metal.sidero.dev"`,
      );
      expect(sars()[0]?.resourceAttributes, `${method} ${path}`).toMatchObject({
        verb,
        resource,
        subresource: sub ?? '',
      });
    }
    // nothing was changed by the refused writes
    expect((await proxied('GET', `${AS}/cp-1`, 'admin', ['system:masters'])).status).toBe(200);
  });

  it('kubectl --as / --as-group: the review is of the impersonated user', async () => {
    const r = await kubectlAs(
      'cluster-admin',
      ['system:masters'],
      ['get', 'adoptedservers', '-n', 'default', '--as', 'bob', '--as-group', 'qa'],
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('User "bob" cannot list resource "adoptedservers"');
    expect(sars().find((x) => x.resourceAttributes)).toMatchObject({
      user: 'bob',
      groups: expect.arrayContaining(['qa', 'system:authenticated']),
    });
  });

  it('answers the APIService availability check as kube-aggregator sends it (front-proxy cert, system:kube-aggregator)', async () => {
    for (const gv of ['/apis/metal.sidero.dev/v1alpha2', '/apis/vitistack.io/v1alpha1']) {
      const r = await proxied('GET', gv, 'system:kube-aggregator', ['system:masters']);
      expect(r.status, gv).toBe(200);
      expect(r.json()).toMatchObject({ kind: 'APIResourceList', groupVersion: gv.slice('/apis/'.length) });
    }
  });

  it('system:masters skips the review, as in kube-apiserver', async () => {
    expect((await proxied('GET', AS, 'root', ['system:masters'])).status).toBe(200);
    expect(sars()).toEqual([]);
  });

  it('leaves authorization.k8s.io to kube-apiserver: no self reviews answered or announced here', async () => {
    const body = JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: 'list', group: 'metal.sidero.dev', resource: 'adoptedservers' } },
    });
    for (const resource of ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']) {
      const r = await proxied('POST', `/apis/authorization.k8s.io/v1/${resource}`, 'root', ['system:masters'], {
        body,
        headers: JSON_HDR,
      });
      expectStatus(r, 404, 'NotFound');
    }
    expectStatus(await proxied('GET', '/apis/authorization.k8s.io/v1', 'root', ['system:masters']), 404, 'NotFound');
    const groups = (await proxied('GET', '/apis', 'root', ['system:masters'])).json().groups;
    expect(groups.map((g: { name: string }) => g.name)).toEqual(['metal.sidero.dev', 'vitistack.io']);
  });
});

describe('who is trusted', () => {
  it('ignores X-Remote-* headers from a client certificate that is not the front proxy', async () => {
    const mallory = await h.cert(h.clientCA, 'CN=mallory, O=devs');
    const r = await s.request('GET', AS, {
      cert: mallory,
      headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' },
    });
    expect(expectStatus(r, 403, 'Forbidden').message).toContain('User "mallory"');
    expect(sars()[0]).toMatchObject({ user: 'mallory', groups: ['devs', 'system:authenticated'] });
  });

  it('a proxy certificate with a CN outside requestheader-allowed-names, or from another CA, authenticates nobody', async () => {
    const wrongName = await h.cert(h.frontProxyCA, 'CN=not-the-proxy');
    const other = await issueCertificate(await createCA('rogue'), {
      subject: 'CN=front-proxy-client',
      usage: 'client',
    });
    for (const cert of [wrongName, other]) {
      const r = await s.request('GET', AS, {
        cert,
        headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' },
      });
      expectStatus(r, 401, 'Unauthorized');
    }
    expectStatus(await s.request('GET', AS, { anonymous: true }), 401, 'Unauthorized');
  });

  it('bearer tokens go through TokenReview, cached briefly; an unknown token is 401', async () => {
    h.tokens.set('good-token', { username: 'ci-bot', groups: ['system:masters'] });
    const headers = { Authorization: 'Bearer good-token' };
    expect((await s.request('GET', AS, { anonymous: true, headers })).status).toBe(200);
    expect((await s.request('GET', AS, { anonymous: true, headers })).status).toBe(200);
    expect(h.reviews.filter((r) => r.kind === 'TokenReview')).toEqual([
      { kind: 'TokenReview', spec: { token: 'good-token' } },
    ]);
    expectStatus(
      await s.request('GET', AS, { anonymous: true, headers: { Authorization: 'Bearer bad' } }),
      401,
      'Unauthorized',
    );
  });

  it('follows a rotation of the front-proxy CA in extension-apiserver-authentication', async () => {
    const newCA = await createCA('front-proxy-ca-2');
    const newProxy = await issueCertificate(newCA, { subject: 'CN=front-proxy-client', usage: 'client' });
    const headers = { 'X-Remote-User': 'root', 'X-Remote-Group': 'system:masters' };
    expectStatus(await s.request('GET', AS, { cert: newProxy, headers }), 401, 'Unauthorized');
    h.setAuthenticationData({ ...h.authenticationData(), 'requestheader-client-ca-file': newCA.certPem });
    let status = 0;
    for (let i = 0; i < 200 && status !== 200; i++) {
      status = (await s.request('GET', AS, { cert: newProxy, headers })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 25));
    }
    expect(status).toBe(200);
    expectStatus(await s.request('GET', AS, { cert: h.frontProxyClient, headers }), 401, 'Unauthorized');
    h.setAuthenticationData({ ...h.authenticationData(), 'requestheader-client-ca-file': h.frontProxyCA.certPem });
    for (let i = 0; i < 200 && (await s.request('GET', AS, { cert: h.frontProxyClient, headers })).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 25));
  });
});

describe('what cluster mode takes from kube-apiserver', () => {
  const admin = ['system:masters'];

  it('namespaces: a namespace kube-apiserver does not have is a 404', async () => {
    const r = await proxied('POST', `${AS_GV}/namespaces/nope/adoptedservers`, 'root', admin, {
      body: JSON.stringify(adoptedServer('x')),
      headers: JSON_HDR,
    });
    expect(expectStatus(r, 404, 'NotFound').message).toBe('namespaces "nope" not found');
  });

  it('Secrets and Events: the talosconfig is read from kube-apiserver, events are written there', async () => {
    const node = sim.nodes()[0]!;
    const obj = adoptedServer('live', { nodeType: 'controlplane' });
    Object.assign(obj.spec, {
      accepted: true,
      talos: { endpoint: node.endpoint, nodeType: 'controlplane', talosconfigSecretRef: { name: 'talos' } },
    });
    expect((await proxied('POST', AS, 'root', admin, { body: JSON.stringify(obj), headers: JSON_HDR })).status).toBe(
      201,
    );
    const reason = async () =>
      (await proxied('GET', `${AS}/live`, 'root', admin))
        .json()
        .status?.conditions?.find((c: any) => c.type === 'Connected')?.reason;
    for (let i = 0; i < 200 && (await reason()) !== 'SecretNotFound'; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await reason()).toBe('SecretNotFound');
    h.secrets.set('default/talos', { talosconfig: Buffer.from(sim.talosconfigYaml).toString('base64') });
    for (let i = 0; i < 400 && (await reason()) !== 'TalosAPIReachable'; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(await reason()).toBe('TalosAPIReachable');
    const health = await proxied('GET', `${AS}/live/health`, 'root', admin);
    expect(health.json()).toMatchObject({ kind: 'HealthReport', status: 'Healthy' });
    const connected = h.events.find((e) => e.method === 'POST' && e.body.reason === 'Connected');
    expect(connected).toMatchObject({
      path: '/api/v1/namespaces/default/events',
      body: { involvedObject: { kind: 'AdoptedServer', name: 'live', namespace: 'default' }, type: 'Normal' },
    });
  });

  it("Secrets: the KubernetesCluster controller follows the clusters' secrets bundles by a list+watch of kube-apiserver", async () => {
    const watches = () => h.secretQueries.filter((q) => q.get('watch') === '1');
    for (let i = 0; i < 400 && watches().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const list = h.secretQueries.find((q) => q.get('watch') === null);
    expect(list?.get('labelSelector')).toBe('talos.vitistack.io/secret=secrets');
    expect(watches()[0]!.get('labelSelector')).toBe('talos.vitistack.io/secret=secrets');
    expect(watches()[0]!.get('resourceVersion')).toMatch(/^\d+$/);
  });

  it("/metrics needs get on the non-resource path, and has kube-apiserver's names", async () => {
    expectStatus(await proxied('GET', '/metrics', 'alice', []), 403, 'Forbidden');
    expect(sars()).toContainEqual(
      expect.objectContaining({ user: 'alice', nonResourceAttributes: { path: '/metrics', verb: 'get' } }),
    );
    h.policy = () => ({ allowed: true });
    const r = await proxied('GET', '/metrics', 'prometheus', []);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body).toMatch(
      /^apiserver_request_total\{verb="LIST",dry_run="",group="metal\.sidero\.dev",version="v1alpha2",resource="adoptedservers",subresource="",scope="namespace",component="apiserver",code="200"\} \d+$/m,
    );
    expect(r.body).toMatch(/^apiserver_request_duration_seconds_bucket\{le="0\.005",verb="GET"/m);
    expect(r.body).toMatch(/^apiserver_storage_objects\{resource="adoptedservers\.metal\.sidero\.dev"\} \d+$/m);
    expect(r.body).toMatch(/^talos_fleet_talos_requests_total\{method="Version",code="OK"\} \d+$/m);
    expect(r.body).toMatch(/^apiserver_current_inflight_requests\{request_kind="readOnly"\} \d+$/m);
    // the controllers this mode runs; namespaces and garbage collection are kube-controller-manager's
    expect(r.body).toMatch(/^workqueue_adds_total\{name="adoptedserver"\} \d+$/m);
    expect(r.body).toMatch(/^workqueue_depth\{name="kubernetescluster"\} \d+$/m);
    expect(r.body).not.toMatch(/^workqueue_depth\{name="(namespace|garbage-collector)"\}/m);
  });
});

describe('anonymous requests', () => {
  it('are 401 by default and system:anonymous with --anonymous-auth=true, decided by authorization', async () => {
    const anon = await startServer({
      args: ['--kubeconfig', h.kube.kubeconfig, '--anonymous-auth=true', '--controllers', '*,-adoptedserver'],
    });
    try {
      h.reviews.length = 0;
      const r = await anon.request('GET', AS, { anonymous: true });
      expect(expectStatus(r, 403, 'Forbidden').message).toContain('User "system:anonymous"');
      expect(sars()[0]).toMatchObject({ user: 'system:anonymous', groups: ['system:unauthenticated'] });
    } finally {
      await disposeServer(anon);
    }
  });
});
