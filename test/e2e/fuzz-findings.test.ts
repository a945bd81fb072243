// Requests the fuzzer (hack/fuzz) found mishandled, pinned one by one over HTTP/1.1 and HTTP/2:
// each must be a clear Status error that changes nothing, and the server must stay up.
import { connect, type ClientHttp2Session } from 'node:http2';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { disposeServer, SAMPLE_OBJECTS_ONLY, startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let session: ClientHttp2Session;

function identity(dataDir: string) {
  const kc = parse(readFileSync(join(dataDir, 'admin.kubeconfig'), 'utf8'));
  return {
    ca: readFileSync(join(dataDir, 'pki', 'ca.crt')),
    cert: Buffer.from(kc.users[0].user['client-certificate-data'], 'base64'),
    key: Buffer.from(kc.users[0].user['client-key-data'], 'base64'),
  };
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

function h2(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': method, ':path': path, ...headers });
    let status = 0;
    let got: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      status = Number(h[':status']);
      got = h;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8'), headers: got }));
    req.on('error', reject);
    req.end(body);
  });
}

/** HTTP/1.1 with the path sent as written (the test helper's URL parsing would resolve dot segments) */
function h1(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const u = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname: u.hostname, port: u.port, path, method, headers, ...identity(s.dataDir) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** the same request over both protocols */
async function both(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Answer[]> {
  return [await h1(method, path, body, headers), await h2(method, path, body, headers)];
}

function expectStatus(a: Answer, code: number, message: RegExp): void {
  expect(a.status).toBe(code);
  const status = JSON.parse(a.body) as { kind: string; code: number; message: string };
  expect(status.kind).toBe('Status');
  expect(status.code).toBe(code);
  expect(status.message).toMatch(message);
}

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  session = connect(s.url, identity(s.dataDir));
  session.on('error', () => undefined);
});

afterAll(async () => {
  session?.close();
  await disposeServer(s);
});

describe('fuzzer findings', () => {
  it('a watch with a malformed timeoutSeconds is a 400 Status (it was a 200 cut off, and no answer over HTTP/2)', async () => {
    for (const bad of ['x', '-1', 'NaN']) {
      for (const a of await both('GET', `/api/v1/namespaces?watch=true&timeoutSeconds=${bad}`)) {
        expectStatus(a, 400, new RegExp(`invalid value for timeoutSeconds: "${bad}"`));
      }
    }
  });

  it('a path with a dot segment, even percent-encoded, is a 400 Status: DELETE .../secrets/%2E%2E no longer deletes the namespace', async () => {
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dot-victim' } };
    expect(
      (
        await s.request('POST', '/api/v1/namespaces', {
          body: JSON.stringify(ns),
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(201);
    for (const dots of ['%2E%2E', '%2e.', '.%2E', '..', '%2e', '.']) {
      for (const a of await both('DELETE', `/api/v1/namespaces/dot-victim/secrets/${dots}`)) {
        expectStatus(a, 400, /the request path must not contain "\." or "\.\." segments/);
      }
    }
    for (const a of await both('DELETE', '/api/v1/namespaces/dot-victim/secrets\\..')) expectStatus(a, 400, /segments/);
    for (const a of await both('GET', '/api/v1/namespaces/dot-victim/%2E%2E/%2E%2E/namespaces'))
      expectStatus(a, 400, /segments/);
    const victim = await s.request('GET', '/api/v1/namespaces/dot-victim');
    expect(victim.json().status.phase).toBe('Active');
    expect(victim.json().metadata.deletionTimestamp).toBeUndefined();
  });

  it('server-side apply that stops applying every field keeps the object (was a 500: metadata removed whole)', async () => {
    const path = '/apis/metal.sidero.dev/v1alpha2/environments/ssa-shrink?fieldManager=m1';
    const headers = { 'content-type': 'application/apply-patch+yaml' };
    const full =
      'apiVersion: metal.sidero.dev/v1alpha2\nkind: Environment\nmetadata:\n  name: ssa-shrink\n  labels: {app: x}\nspec:\n  kernel: {args: [a]}\n';
    expect((await h1('PATCH', path, full, headers)).status).toBe(201);
    const bare = JSON.stringify({
      apiVersion: 'metal.sidero.dev/v1alpha2',
      kind: 'Environment',
      metadata: { name: 'ssa-shrink' },
    });
    for (const a of await both('PATCH', path, bare, headers)) {
      expect(a.status).toBe(200);
      const obj = JSON.parse(a.body) as { metadata: { name: string; labels?: unknown }; spec?: unknown };
      expect(obj.metadata.name).toBe('ssa-shrink');
      expect(obj.metadata.labels).toBeUndefined();
    }
  });

  it('a continue token whose resourceVersion is not a safe integer is a 400 Status (1e300 was a 500 from the store)', async () => {
    for (const rv of [1e300, 2 ** 53, 1e21]) {
      const token = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: '' })).toString('base64url');
      for (const a of await both('GET', `/api/v1/namespaces?limit=1&continue=${token}`)) {
        expectStatus(a, 400, /continue key is not valid: invalid continue token/);
      }
    }
  });

  it('a JSON patch may not nest the object deeper than a body may (repeated patches grew one to 1,800 levels: 500s, and a stack overflow away from an abort)', async () => {
    const base = '/apis/vitistack.io/v1alpha1/namespaces/default/kubernetesclusters/deep';
    const spec = {
      data: {
        clusterUid: 'u',
        clusterId: 'deep-id',
        provider: 'aks',
        environment: 'dev',
        datacenter: 'd',
        project: 'p',
        region: 'r',
        workorder: 'w',
        zone: 'z',
        workspace: 'ws',
      },
      topology: { version: '1.33', controlplane: { replicas: 1, version: '1.33' }, workers: [] },
    };
    const created = await h1(
      'POST',
      '/apis/vitistack.io/v1alpha1/namespaces/default/kubernetesclusters',
      JSON.stringify({
        apiVersion: 'vitistack.io/v1alpha1',
        kind: 'KubernetesCluster',
        metadata: { name: 'deep' },
        spec,
      }),
      { 'content-type': 'application/json' },
    );
    expect(created.status).toBe(201);
    const nest = (n: number): unknown => (n === 0 ? 1 : { d: nest(n - 1) });
    expect(
      (
        await h1('PATCH', `${base}/status`, JSON.stringify({ status: { state: { cluster: nest(90) } } }), {
          'content-type': 'application/merge-patch+json',
        })
      ).status,
    ).toBe(200);
    const deepest = `/status/state/cluster${'/d'.repeat(89)}`;
    const add = (n: number) => JSON.stringify([{ op: 'add', path: `${deepest}/d`, value: nest(n) }]);
    for (const a of await both('PATCH', `${base}/status`, add(20), { 'content-type': 'application/json-patch+json' })) {
      expectStatus(a, 422, /is invalid: status: Invalid value: the patched object nests deeper than 100 levels/);
    }
    expect(
      (await h1('PATCH', `${base}/status`, add(3), { 'content-type': 'application/json-patch+json' })).status,
    ).toBe(200);
    for (const accept of ['application/json', 'application/yaml', 'application/json;as=Table;v=v1;g=meta.k8s.io']) {
      expect((await h1('GET', base, undefined, { accept })).status).toBe(200);
    }
  });

  it("a protobuf timestamp out of Date's range is a 400 Status (it threw a RangeError: 500)", async () => {
    const varint = (n: bigint) => {
      const out: number[] = [];
      for (let v = n; ; v >>= 7n) {
        if (v < 0x80n) return [...out, Number(v)];
        out.push(Number(v & 0x7fn) | 0x80);
      }
    };
    const field = (num: number, b: Buffer) =>
      Buffer.from([...varint(BigInt(num * 8 + 2)), ...varint(BigInt(b.length)), ...b]);
    const seconds = (n: bigint) => Buffer.from([...varint(8n), ...varint(n)]);
    for (const s of [2n ** 62n, 8_640_000_000_001n]) {
      const meta = Buffer.concat([field(1, Buffer.from('pb-time')), field(8, seconds(s))]);
      const body = Buffer.concat([
        Buffer.from('k8s\0', 'binary'),
        field(1, Buffer.concat([field(1, Buffer.from('v1')), field(2, Buffer.from('Namespace'))])),
        field(2, field(1, meta)),
      ]);
      const a = await h1('POST', '/api/v1/namespaces', body, { 'content-type': 'application/vnd.kubernetes.protobuf' });
      expectStatus(a, 400, /unable to decode protobuf body: field creationTimestamp holds a time out of range/);
    }
    expect((await h1('GET', '/api/v1/namespaces/pb-time')).status).toBe(404);
  });

  it('finalizers that are not a list, on an object being deleted, are a 422 Status (they were a TypeError: 500)', async () => {
    const base = '/apis/metal.sidero.dev/v1alpha2/environments';
    const env = {
      apiVersion: 'metal.sidero.dev/v1alpha2',
      kind: 'Environment',
      metadata: { name: 'held', finalizers: ['example.com/hold'] },
    };
    expect((await h1('POST', base, JSON.stringify(env), { 'content-type': 'application/json' })).status).toBe(201);
    expect((await h1('DELETE', `${base}/held`)).status).toBe(200);
    const bad = JSON.stringify({ ...env, metadata: { ...env.metadata, finalizers: 'not-a-list' } });
    for (const a of await both('PATCH', `${base}/held?fieldManager=fuzz&force=true`, bad, {
      'content-type': 'application/apply-patch+yaml',
    })) {
      expectStatus(a, 422, /metadata.finalizers/);
    }
    for (const a of await both('PATCH', `${base}/held`, JSON.stringify({ metadata: { finalizers: { a: 1 } } }), {
      'content-type': 'application/merge-patch+json',
    })) {
      expectStatus(a, 422, /metadata.finalizers/);
    }
  });

  it('a YAML body nested too deep is a 400 Status, and the server stays up', async () => {
    for (const body of ['['.repeat(50_000), '- '.repeat(50_000) + 'x', '{a: '.repeat(20_000)]) {
      for (const a of await both('POST', '/api/v1/namespaces', body, { 'content-type': 'application/yaml' })) {
        expectStatus(a, 400, /error decoding YAML body: nesting exceeds the maximum depth of 100/);
      }
    }
    expect((await s.request('GET', '/healthz')).status).toBe(200);
  });
});
