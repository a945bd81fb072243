// Small hostile requests that once took the server down or answered 500, against the real binary:
// each now gets a 4xx Status (or succeeds safely) and changes nothing it should not.
import { connect as http2Connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expectStatus, JSON_HDR, JSONPATCH_HDR, storeRevision } from '../helpers/api.js';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';

const SERVERS = '/apis/metal.sidero.dev/v1alpha2/servers';
let s: TestServer;

beforeAll(async () => {
  s = await startServer({ args: [...SAMPLE_OBJECTS_ONLY, '--log-level', 'debug'] });
  const r = await s.request('POST', SERVERS, { headers: JSON_HDR, body: JSON.stringify(server('bomb')) });
  expect(r.status).toBe(201);
});

afterAll(async () => {
  await disposeServer(s);
});

function server(name: string, spec: Record<string, unknown> = { accepted: false }) {
  return { apiVersion: 'metal.sidero.dev/v1alpha2', kind: 'Server', metadata: { name }, spec };
}

/** the admin identity's TLS material, for clients the harness does not provide */
function tlsMaterial() {
  const kc = parse(readFileSync(s.kubeconfig, 'utf8'));
  return {
    ca: readFileSync(join(s.dataDir, 'pki', 'ca.crt')),
    cert: Buffer.from(kc.users[0].user['client-certificate-data'], 'base64'),
    key: Buffer.from(kc.users[0].user['client-key-data'], 'base64'),
  };
}

describe('a JSON patch that doubles a subtree again and again', () => {
  it('is refused with 413 once its copies pass the limit, quickly, and the object is untouched', async () => {
    const before = await storeRevision(s);
    const ops: unknown[] = [{ op: 'add', path: '/spec/z', value: ['x'.repeat(1024)] }];
    // 40 doublings would be a terabyte; the limit stops it near 3 MiB of copies
    for (let i = 0; i < 40; i++) ops.push({ op: 'copy', from: '/spec/z', path: '/spec/z/-' });
    const r = await s.request('PATCH', `${SERVERS}/bomb`, { headers: JSONPATCH_HDR, body: JSON.stringify(ops) });
    const st = expectStatus(r, 413, 'RequestEntityTooLarge');
    expect(st.message).toContain('accumulated size increase of copy operations exceeds the limit of 3145728 bytes');
    expect(await storeRevision(s)).toBe(before);
    expect((await s.request('GET', '/healthz')).status).toBe(200);
  });

  it('still applies copies that stay under the limit', async () => {
    const ops = [
      { op: 'add', path: '/metadata/labels', value: { a: 'x' } },
      { op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/b' },
    ];
    const r = await s.request('PATCH', `${SERVERS}/bomb`, { headers: JSONPATCH_HDR, body: JSON.stringify(ops) });
    expect(r.status).toBe(200);
    expect(r.json().metadata.labels).toEqual({ a: 'x', b: 'x' });
  });
});

describe('YAML that JSON cannot hold', () => {
  it('answers 400 for !!binary, !!set, !!timestamp and .inf in an apply body, and stores nothing', async () => {
    const head = 'apiVersion: metal.sidero.dev/v1alpha2\nkind: Server\nmetadata:\n  name: yaml1\n';
    const before = await storeRevision(s);
    for (const [tail, what] of [
      ['spec: !!binary AAAA\n', '!!binary'],
      ['spec:\n  hostname: !!set {a}\n', '!!set'],
      ['spec:\n  hostname: !!timestamp 2001-12-14\n', '!!timestamp'],
      ['spec:\n  bmc:\n    port: .inf\n', 'Infinity'],
      ['spec:\n  ? [a, b]\n  : 1\n', 'mapping key'],
    ]) {
      const r = await s.request('PATCH', `${SERVERS}/yaml1?fieldManager=t`, {
        headers: { 'Content-Type': 'application/apply-patch+yaml' },
        body: head + tail,
      });
      const st = expectStatus(r, 400, 'BadRequest');
      expect(st.message).toContain(what);
      const c = await s.request('POST', SERVERS, {
        headers: { 'Content-Type': 'application/yaml' },
        body: head + tail,
      });
      expectStatus(c, 400, 'BadRequest');
    }
    expect(await storeRevision(s)).toBe(before);
  });
});

describe('an unknown field whose name is not plain ASCII', () => {
  const weird = 'bad\uFFFDname\u202E"\\\n';

  it('is written once and its Warning header carries the name escaped over HTTP/1.1', async () => {
    const obj = { ...server('warn1'), spec: { accepted: false, [weird]: 1 } };
    const before = Number(await storeRevision(s));
    const r = await s.request('POST', `${SERVERS}?fieldValidation=Warn`, {
      headers: JSON_HDR,
      body: JSON.stringify(obj),
    });
    expect(r.status).toBe(201);
    expect(String(r.headers.warning)).toBe('299 - "unknown field \\"spec.bad\\ufffdname\\u202e\\"\\\\ \\""');
    expect(Number(await storeRevision(s))).toBe(before + 1);
  });

  it('answers over HTTP/2 too', async () => {
    const { ca, cert, key } = tlsMaterial();
    const session = http2Connect(s.url, { ca, cert, key });
    try {
      const obj = { ...server('warn2'), spec: { accepted: false, [weird]: 1 } };
      const { status, warning } = await new Promise<{ status: number; warning: string }>((resolve, reject) => {
        const req = session.request({
          ':method': 'POST',
          ':path': `${SERVERS}?fieldValidation=Warn`,
          'content-type': 'application/json',
        });
        req.on('response', (h) => {
          req.resume();
          req.on('end', () => resolve({ status: Number(h[':status']), warning: String(h.warning) }));
        });
        req.on('error', reject);
        req.end(JSON.stringify(obj));
      });
      expect(status).toBe(201);
      expect(warning).toContain('bad\\ufffdname\\u202e');
    } finally {
      session.close();
    }
  });
});

describe('resourceVersion past 2^53', () => {
  it('is refused with 400 rather than read as a neighbouring revision', async () => {
    for (const q of [
      'resourceVersion=9007199254740993',
      'resourceVersion=9007199254740993&watch=true',
      'resourceVersion=99999999999999999999999',
    ]) {
      const st = expectStatus(await s.request('GET', `${SERVERS}?${q}`), 400, 'BadRequest');
      expect(st.message).toContain('resourceVersion must be at most 9007199254740991');
    }
  });

  it('refuses a limit that is not a plain integer', async () => {
    for (const limit of ['1e3', '-1', '0x10', '99999999999999999999']) {
      expectStatus(await s.request('GET', `${SERVERS}?limit=${limit}`), 400, 'BadRequest');
    }
  });
});

describe('names in URL paths', () => {
  it('are percent-decoded as kube-apiserver sees them', async () => {
    const r = await s.request('GET', `${SERVERS}/%62omb`);
    expect(r.status).toBe(200);
    expect(r.json().metadata.name).toBe('bomb');
    const missing = expectStatus(await s.request('GET', `${SERVERS}/a%3Fb`), 404, 'NotFound');
    expect(missing.message).toBe('servers.metal.sidero.dev "a?b" not found');
  });

  it('answers 400 for a broken escape', async () => {
    expectStatus(await s.request('GET', `${SERVERS}/a%zzb`), 400, 'BadRequest');
  });
});

describe('the data directory', () => {
  it('is readable by its owner only', () => {
    expect(statSync(s.dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(s.dataDir, 'store')).mode & 0o777).toBe(0o700);
    const files = readdirSync(join(s.dataDir, 'store'));
    expect(files.some((f) => f.endsWith('.log'))).toBe(true);
    for (const f of files) expect(statSync(join(s.dataDir, 'store', f)).mode & 0o777, f).toBe(0o600);
  });
});

describe('a client that goes away mid-request', () => {
  it('is logged at debug level, never as an error', async () => {
    const { ca, cert, key } = tlsMaterial();
    const u = new URL(s.url);
    const sock = tlsConnect({ host: u.hostname, port: Number(u.port), ca, cert, key, ALPNProtocols: ['http/1.1'] });
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', resolve);
      sock.once('error', reject);
    });
    const body = JSON.stringify(server('gone'));
    // "100 Continue" tells that the request reached the handler; then part of the body, and vanish
    const continued = new Promise<void>((resolve) =>
      sock.on('data', (d: Buffer) => d.toString().includes('100 Continue') && resolve()),
    );
    sock.write(
      `POST ${SERVERS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${body.length + 100}\r\n\r\n`,
    );
    await continued;
    sock.write(body);
    const closed = new Promise((r) => sock.once('close', r));
    sock.destroy();
    await closed;
    const deadline = Date.now() + 10_000;
    while (!s.logs.some((l) => l.includes('client went away')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(s.logs.some((l) => l.includes('client went away'))).toBe(true);
    expect(s.logs.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
    expect((await s.request('GET', `${SERVERS}/gone`)).status).toBe(404);
  });
});
