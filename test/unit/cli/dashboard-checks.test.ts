// The dashboard's own checks, without a browser: who may use the listener (Host, Origin, token)
// and which API requests its proxy forwards.
import { describe, expect, it } from 'vitest';
import { cookieName, judgeRequest, newToken, type RequestFacts } from '../../../src/cli/dashboardguard.js';
import { routeFor } from '../../../src/cli/dashboardroutes.js';
import { watchRequest } from '../../../src/cli/dashboardwatch.js';

const guard = { port: 4711, token: newToken() };
const cookie = `${cookieName(4711)}=${guard.token}`;
const ask = (over: Partial<RequestFacts>) =>
  judgeRequest(guard, { method: 'GET', url: '/', host: '127.0.0.1:4711', origin: undefined, cookie, ...over });

describe('the listener guard', () => {
  it('serves the page to the browser holding the cookie, under either loopback name', () => {
    expect(ask({})).toEqual({ kind: 'allow' });
    expect(ask({ host: 'localhost:4711', origin: 'http://localhost:4711' })).toEqual({ kind: 'allow' });
    expect(ask({ method: 'POST', url: '/k8s/x', origin: 'http://127.0.0.1:4711' })).toEqual({ kind: 'allow' });
  });

  it('swaps the token in the URL for an HttpOnly SameSite=Strict cookie, and drops it from the URL', () => {
    const v = ask({ url: `/?token=${guard.token}`, cookie: undefined });
    expect(v).toEqual({
      kind: 'login',
      location: '/',
      setCookie: `${cookieName(4711)}=${guard.token}; Path=/; HttpOnly; SameSite=Strict`,
    });
    expect(ask({ url: `/?x=1&token=${guard.token}`, cookie: undefined })).toMatchObject({ location: '/?x=1' });
  });

  it('refuses a wrong or missing token, in the URL or the cookie', () => {
    const wrong = newToken();
    for (const v of [
      ask({ url: `/?token=${wrong}`, cookie: undefined }),
      ask({ url: `/?token=${guard.token.slice(1)}`, cookie: undefined }),
      ask({ cookie: undefined }),
      ask({ cookie: `${cookieName(4711)}=${wrong}` }),
      // another dashboard's cookie (cookies are shared across ports) is not ours
      ask({ cookie: `${cookieName(4712)}=${guard.token}` }),
    ])
      expect(v).toMatchObject({ kind: 'refuse', message: expect.stringMatching(/token/) });
    // a token in a URL is for opening the page: never on a write
    expect(
      ask({ method: 'POST', url: `/k8s/x?token=${guard.token}`, origin: 'http://127.0.0.1:4711', cookie: undefined }),
    ).toMatchObject({ kind: 'refuse' });
  });

  it('refuses any Host but its own (DNS rebinding), even with the right token', () => {
    for (const host of ['evil.example:4711', '127.0.0.1:4712', '127.0.0.1', 'localhost', '[::1]:4711', undefined])
      expect(ask({ host })).toMatchObject({ kind: 'refuse', message: expect.stringContaining('Host') });
  });

  it("refuses another page's Origin, and a write without Origin", () => {
    for (const origin of ['http://evil.example', 'http://127.0.0.1:4712', 'https://127.0.0.1:4711', 'null'])
      expect(ask({ origin })).toMatchObject({ kind: 'refuse', message: expect.stringContaining('another page') });
    // the Origin must be the page's own name: localhost's page cannot use 127.0.0.1's listener
    expect(ask({ origin: 'http://localhost:4711' })).toMatchObject({ kind: 'refuse' });
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'])
      expect(ask({ method, url: '/k8s/x' })).toMatchObject({
        kind: 'refuse',
        message: expect.stringMatching(/Origin/),
      });
  });
});

const AS = '/apis/metal.sidero.dev/v1alpha2';
const KC = '/apis/vitistack.io/v1alpha1';

describe('the proxy allow-list', () => {
  it('forwards list, watch and get of our kinds and of Events', () => {
    for (const path of [
      `${AS}/adoptedservers`,
      `${AS}/namespaces/prod/adoptedservers?watch=1&resourceVersion=12&allowWatchBookmarks=true`,
      `${AS}/namespaces/prod/adoptedservers/node-1`,
      `${AS}/servers`,
      `${AS}/servers/s-1`,
      `${AS}/serverclasses`,
      `${AS}/environments/default`,
      `${KC}/kubernetesclusters?labelSelector=a%3Db&limit=50&continue=x`,
      `${KC}/namespaces/prod/machines/c-ctp0`,
      '/api/v1/events',
      '/api/v1/namespaces/prod/events?fieldSelector=involvedObject.name%3Dnode-1',
    ])
      expect(routeFor('GET', `/k8s${path}`)).toEqual({ path });
  });

  it('forwards create of AdoptedServers in a namespace, and no other write', () => {
    expect(routeFor('POST', `/k8s${AS}/namespaces/prod/adoptedservers?fieldValidation=Strict`)).toEqual({
      path: `${AS}/namespaces/prod/adoptedservers?fieldValidation=Strict`,
    });
    for (const [method, path] of [
      ['POST', `${AS}/adoptedservers`],
      ['POST', `${AS}/namespaces/prod/adoptedservers/node-1`],
      ['PUT', `${AS}/namespaces/prod/adoptedservers/node-1`],
      ['PATCH', `${AS}/namespaces/prod/adoptedservers/node-1`],
      ['DELETE', `${AS}/namespaces/prod/adoptedservers/node-1`],
      ['DELETE', `${AS}/namespaces/prod/adoptedservers`],
      ['POST', `${KC}/namespaces/prod/kubernetesclusters`],
      ['POST', `${AS}/servers`],
      ['POST', '/api/v1/namespaces/prod/events'],
    ] as const)
      expect(routeFor(method, `/k8s${path}`)).toEqual({ refusal: expect.stringContaining('does not forward') });
  });

  it('forwards no subresource (secret material among them), other kind, or path trick', () => {
    for (const path of [
      `${AS}/namespaces/prod/adoptedservers/node-1/kubeconfig`,
      `${AS}/namespaces/prod/adoptedservers/node-1/health`,
      `${AS}/namespaces/prod/adoptedservers/node-1/status`,
      `${KC}/namespaces/prod/kubernetesclusters/c/talosconfig`,
      `${KC}/namespaces/prod/machines/c-ctp0/machineconfig`,
      '/api/v1/secrets',
      '/api/v1/namespaces/prod/secrets/c-talosconfig',
      '/api/v1/namespaces',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      `${AS}/namespaces/prod/adoptedservers/../../../../api/v1/secrets`,
      `${AS}/namespaces/prod/adoptedservers/a%2F..%2Fb`,
      `${AS}/namespaces/prod/adoptedservers/`,
      `${AS}/namespaces//adoptedservers`,
      `${AS}/namespaces/prod/servers`,
      `${AS}/adoptedservers/node-1`,
      '/metrics',
      '/',
    ])
      expect(routeFor('GET', `/k8s${path}`), path).toHaveProperty('refusal');
  });

  it('forwards only the query parameters of reads (and fieldValidation of the create)', () => {
    expect(routeFor('GET', `/k8s${AS}/adoptedservers?dryRun=All`)).toEqual({
      refusal: 'the dashboard does not forward the query parameter "dryRun"',
    });
    expect(routeFor('POST', `/k8s${AS}/namespaces/p/adoptedservers?watch=1`)).toHaveProperty('refusal');
    expect(routeFor('GET', `${AS}/adoptedservers`)).toHaveProperty('refusal');
  });
});

describe('the merged watch request', () => {
  const w = (...paths: string[]) =>
    watchRequest(`/watch?${paths.map((p) => `path=${encodeURIComponent(p)}`).join('&')}`);

  it('names allow-listed watches, forwarded as API paths', () => {
    expect(
      w(`/k8s${AS}/adoptedservers?watch=1&resourceVersion=5`, '/k8s/api/v1/namespaces/p/events?watch=true'),
    ).toEqual({
      paths: [`${AS}/adoptedservers?watch=1&resourceVersion=5`, '/api/v1/namespaces/p/events?watch=true'],
    });
  });

  it('refuses a path the proxy would refuse (403), a read that is not a watch, none, or too many (400)', () => {
    expect(w(`/k8s${AS}/adoptedservers?watch=1`, '/k8s/api/v1/secrets?watch=1')).toMatchObject({
      code: 403,
      reason: 'Forbidden',
    });
    expect(w(`/k8s${AS}/adoptedservers`)).toMatchObject({ code: 400, message: expect.stringContaining('not a watch') });
    expect(w(`/k8s${AS}/adoptedservers?watch=0`)).toMatchObject({ code: 400 });
    expect(watchRequest('/watch')).toMatchObject({ code: 400 });
    expect(w(...Array.from({ length: 9 }, () => `/k8s${AS}/adoptedservers?watch=1`))).toMatchObject({ code: 400 });
  });
});
