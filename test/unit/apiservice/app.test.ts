// The request path in-process (supertest over plain HTTP): authentication, Status mapping, health,
// and a create/get round trip through the generic store on a real embedded store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHandler, type AppDeps } from '../../../apiservice/app.js';
import { InflightLimiter } from '../../../apiservice/inflight.js';
import { requestInfo } from '../../../apiservice/requestinfo.js';
import { allKinds, coreKinds } from '../../../src/api/index.js';
import { namespaceChecker } from '../../../src/admission/namespacelifecycle.js';
import { ensureInitialNamespaces } from '../../../src/controllers/namespace.js';
import { APIRegistry } from '../../../src/machinery/registry/apis.js';
import { openEmbeddedStore } from '../../../src/storage/embedded/store.js';
import type { Storage } from '../../../src/storage/storage.js';

let dir: string;
let storage: Storage;
let app: ReturnType<typeof requestHandler>;
let deps: AppDeps;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tfa-app-'));
  storage = await openEmbeddedStore(dir);
  const registry: APIRegistry = new APIRegistry([...coreKinds, ...allKinds], storage, {
    checkNamespace: (ns) => namespaceChecker(registry, ns),
  });
  await ensureInitialNamespaces(registry);
  deps = {
    log: pino({ level: 'silent' }),
    registry,
    maxRequestBytes: 1024 * 1024,
    watchBookmarkIntervalMs: 60_000,
    // test identity: the X-Test-User header stands in for a verified client certificate
    authenticate: (req) => {
      const u = req.headers['x-test-user'];
      return typeof u === 'string'
        ? { name: u, groups: u === 'admin' ? ['system:masters', 'system:authenticated'] : ['system:authenticated'] }
        : undefined;
    },
    authorize: (user) => ({ allowed: user.groups.includes('system:masters') }),
    healthChecks: [],
    isReady: () => true,
    serverAddress: () => '127.0.0.1:0',
    version: 'test',
  };
  app = requestHandler(deps);
});

afterAll(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const server = {
  kind: 'Server',
  apiVersion: 'metal.sidero.dev/v1alpha2',
  metadata: { name: 'uuid-1' },
  spec: { accepted: true, hostname: 'h1' },
};

describe('request path', () => {
  it('answers health checks without credentials', async () => {
    const r = await request(app).get('/readyz?verbose');
    expect(r.status).toBe(200);
    expect(r.text).toContain('[+]ping ok');
    expect(r.text).toContain('readyz check passed');
  });

  it('refuses an unauthenticated request with a 401 Status', async () => {
    const r = await request(app).get('/apis/metal.sidero.dev/v1alpha2/servers');
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  it('refuses an authenticated but unauthorized user with a 403 naming user, verb and resource', async () => {
    const r = await request(app).get('/apis/metal.sidero.dev/v1alpha2/servers/x').set('X-Test-User', 'bob');
    expect(r.status).toBe(403);
    expect(r.body.message).toBe(
      'servers.metal.sidero.dev "x" is forbidden: User "bob" cannot get resource "servers" in API group "metal.sidero.dev" at the cluster scope',
    );
  });

  it('creates and reads back an object, as JSON and as a Table', async () => {
    const c = await request(app)
      .post('/apis/metal.sidero.dev/v1alpha2/servers')
      .set('X-Test-User', 'admin')
      .send(server);
    expect(c.status).toBe(201);
    expect(c.body.metadata).toMatchObject({ name: 'uuid-1', generation: 1 });
    expect(c.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const t = await request(app)
      .get('/apis/metal.sidero.dev/v1alpha2/servers/uuid-1')
      .set('X-Test-User', 'admin')
      .set('Accept', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
    expect(t.status).toBe(200);
    expect(t.body.kind).toBe('Table');
    expect(t.body.columnDefinitions[0]).toMatchObject({ name: 'Name', format: 'name' });
    expect(t.body.rows[0].cells[0]).toBe('uuid-1');
    expect(t.body.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'uuid-1' } });
  });

  it('maps an unknown resource to a 404 Status and a second create to 409 AlreadyExists', async () => {
    const r = await request(app).get('/apis/metal.sidero.dev/v1alpha2/widgets').set('X-Test-User', 'admin');
    expect(r.status).toBe(404);
    expect(r.body.kind).toBe('Status');
    const again = await request(app)
      .post('/apis/metal.sidero.dev/v1alpha2/servers')
      .set('X-Test-User', 'admin')
      .send(server);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      reason: 'AlreadyExists',
      message: 'servers.metal.sidero.dev "uuid-1" already exists',
      details: { name: 'uuid-1', group: 'metal.sidero.dev', kind: 'servers' },
    });
  });

  it('refuses a body over the limit with 413 before reading it all', async () => {
    const big = JSON.stringify({
      ...server,
      metadata: { name: 'big' },
      spec: { accepted: true, hostname: 'x'.repeat(1024 * 1024 + 10) },
    });
    const r = await request(app)
      .post('/apis/metal.sidero.dev/v1alpha2/servers')
      .set('X-Test-User', 'admin')
      .set('Content-Type', 'application/json')
      .send(big);
    expect(r.status).toBe(413);
    expect(r.body.reason).toBe('RequestEntityTooLarge');
    const g = await request(app).get('/apis/metal.sidero.dev/v1alpha2/servers/big').set('X-Test-User', 'admin');
    expect(g.status).toBe(404);
  });

  it('answers 429 TooManyRequests with Retry-After once the in-flight limit is reached', async () => {
    const inflight = new InflightLimiter({ maxReadOnly: 1, maxMutating: 1, maxLargeLists: 0, queueWaitMs: 0 });
    const limited = requestHandler({ ...deps, inflight });
    const held = inflight.admit(requestInfo('GET', '/apis/metal.sidero.dev/v1alpha2/servers', new URLSearchParams()));
    const r = await request(limited).get('/apis/metal.sidero.dev/v1alpha2/servers').set('X-Test-User', 'admin');
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('1');
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429 });
    (held as () => void)();
    expect(
      (await request(limited).get('/apis/metal.sidero.dev/v1alpha2/servers').set('X-Test-User', 'admin')).status,
    ).toBe(200);
  });
});
