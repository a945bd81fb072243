// /openapi/v2 and /swagger-2.0.0.pb-v1 through the real request path on a loopback socket:
// JSON or protobuf by Accept, each form with its own ETag, 304s, and Status errors for the rest.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHandler } from '../../../apiservice/app.js';
import { allKinds, coreKinds, subresourcesOf } from '../../../src/api/index.js';
import { APIRegistry } from '../../../src/machinery/registry/apis.js';
import { openEmbeddedStore } from '../../../src/storage/embedded/store.js';
import type { Storage } from '../../../src/storage/storage.js';
import { compareDecoded } from '../../helpers/openapi-v2-compare.js';
import { decodeOpenAPIV2 } from '../../helpers/openapi-v2-proto.js';

const PB = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
const PB_AT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

let dir: string;
let storage: Storage;
let server: Server;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tfa-openapi-v2-'));
  storage = await openEmbeddedStore(dir);
  const registry = new APIRegistry([...coreKinds, ...allKinds], storage);
  const handler = requestHandler({
    log: pino({ level: 'silent' }),
    registry,
    maxRequestBytes: 1024 * 1024,
    watchBookmarkIntervalMs: 60_000,
    authenticate: () => ({ name: 'admin', groups: ['system:masters', 'system:authenticated'] }),
    authorize: () => ({ allowed: true }),
    healthChecks: [],
    isReady: () => true,
    serverAddress: () => '127.0.0.1:0',
    version: 'test',
    subresources: allKinds.flatMap(subresourcesOf),
  });
  server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/openapi/v2', () => {
  it('answers JSON without Accept and protobuf for either protobuf spelling, the same document', async () => {
    const json = await get('/openapi/v2');
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toBe('application/json');
    expect(json.headers.vary).toBe('Accept');
    const doc = JSON.parse(json.body.toString('utf8'));

    const pb = await get('/openapi/v2', { Accept: PB_AT });
    expect(pb.status).toBe(200);
    expect(pb.headers['content-type']).toBe(PB);
    expect(pb.headers.vary).toBe('Accept');
    expect(Number(pb.headers['content-length'])).toBe(pb.body.length);
    expect(compareDecoded(doc, decodeOpenAPIV2(pb.body)).diffs).toEqual([]);

    const pbDot = await get('/openapi/v2', { Accept: PB });
    expect(pbDot.headers['content-type']).toBe(PB);
    expect(pbDot.body.equals(pb.body)).toBe(true);
    expect(pbDot.headers.etag).toBe(pb.headers.etag);
  });

  it('gives each form its own strong ETag, and 304 only for the ETag of the form asked for', async () => {
    const json = await get('/openapi/v2', { Accept: 'application/json' });
    const pb = await get('/openapi/v2', { Accept: PB_AT });
    const jsonTag = json.headers.etag as string;
    const pbTag = pb.headers.etag as string;
    expect(pbTag).toMatch(/^"[0-9a-f]{64}"$/);
    expect(pbTag).not.toBe(jsonTag);

    for (const ifNoneMatch of [pbTag, `W/${pbTag}`, `"other", ${pbTag}`, '*']) {
      const cached = await get('/openapi/v2', { Accept: PB_AT, 'If-None-Match': ifNoneMatch });
      expect([ifNoneMatch, cached.status]).toEqual([ifNoneMatch, 304]);
      expect(cached.body.length).toBe(0);
      expect(cached.headers.etag).toBe(pbTag);
      expect(cached.headers.vary).toBe('Accept');
    }
    const crossed = await get('/openapi/v2', { Accept: PB_AT, 'If-None-Match': jsonTag });
    expect(crossed.status).toBe(200);
    expect(crossed.body.equals(pb.body)).toBe(true);
    expect((await get('/openapi/v2', { Accept: 'application/json', 'If-None-Match': pbTag })).status).toBe(200);
    expect((await get('/openapi/v2', { 'If-None-Match': jsonTag })).status).toBe(304);
  });

  it('negotiates like kube-openapi: JSON first for wildcards, q-values respected', async () => {
    const cases: [string, string][] = [
      ['*/*', 'application/json'],
      ['application/*', 'application/json'],
      [`application/json;q=0.5, ${PB_AT}`, PB],
      [`${PB};q=0.5, application/json`, 'application/json'],
      [`*/*, ${PB_AT}`, PB],
    ];
    for (const [accept, contentType] of cases) {
      const r = await get('/openapi/v2', { Accept: accept });
      expect([accept, r.status, r.headers['content-type']]).toEqual([accept, 200, contentType]);
    }
  });

  it('refuses what it cannot serve with a 406 Status, and other methods with 405', async () => {
    for (const accept of ['text/html', 'application/yaml', 'application/json;q=0']) {
      const r = await get('/openapi/v2', { Accept: accept });
      expect(r.status).toBe(406);
      expect(JSON.parse(r.body.toString('utf8'))).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'NotAcceptable',
        code: 406,
        message: `only application/json and ${PB} are served for this document`,
      });
    }
    const post = await get('/openapi/v2', { Accept: PB }, 'POST');
    expect(post.status).toBe(405);
    expect(JSON.parse(post.body.toString('utf8'))).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed' });
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const get_ = await get('/openapi/v2', { Accept: PB });
    const head = await get('/openapi/v2', { Accept: PB }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers.etag).toBe(get_.headers.etag);
    expect(head.headers['content-length']).toBe(get_.headers['content-length']);
  });
});

describe('/swagger-2.0.0.pb-v1', () => {
  it('serves the protobuf whatever the Accept header says, with its ETag and 304', async () => {
    const pb = await get('/openapi/v2', { Accept: PB });
    for (const accept of [undefined, 'application/json', 'text/html']) {
      const legacy = await get('/swagger-2.0.0.pb-v1', accept ? { Accept: accept } : {});
      expect(legacy.status).toBe(200);
      expect(legacy.headers['content-type']).toBe(PB);
      expect(legacy.headers.vary).toBeUndefined();
      expect(legacy.headers.etag).toBe(pb.headers.etag);
      expect(legacy.body.equals(pb.body)).toBe(true);
    }
    expect((await get('/swagger-2.0.0.pb-v1', { 'If-None-Match': pb.headers.etag as string })).status).toBe(304);
    expect((await get('/swagger-2.0.0.pb-v1.gz')).status).toBe(404);
  });

  it('is listed at /', async () => {
    const root = JSON.parse((await get('/')).body.toString('utf8'));
    expect(root.paths).toContain('/swagger-2.0.0.pb-v1');
    expect(root.paths).toContain('/openapi/v2');
  });
});
