// Connection bounds on real sockets: the TLS handshake and the first request's headers within
// --read-header-timeout, a request body within --request-timeout, idle HTTP/1.1 keep-alive
// connections and HTTP/2 sessions closed after --idle-connection-timeout, a quiet watch never cut,
// and at most --max-unauthenticated-connections-per-address connections per address before
// authentication. Every closure is awaited as the socket's 'close' event, within the test's timeout.
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adoptedServer, adoptedServers, credentials, h2request, openWatch } from '../helpers/api.js';
import {
  disposeServer,
  SAMPLE_OBJECTS_ONLY,
  startServer,
  type RawResponse,
  type TestServer,
} from '../helpers/server.js';

const NS = 'default';
const TEST_TIMEOUT_MS = 20_000;
/** the bounds under test: tens to hundreds of milliseconds */
const BOUNDS = ['--read-header-timeout', '300ms', '--idle-connection-timeout', '500ms', '--request-timeout', '500ms'];
const MAX_UNAUTHENTICATED = 4;

let s: TestServer;

beforeAll(async () => {
  // bookmarks every 10 minutes: the quiet watch below sees no byte from the server
  s = await startServer({ args: [...SAMPLE_OBJECTS_ONLY, ...BOUNDS, '--watch-bookmark-interval-ms', '600000'] });
});

afterAll(async () => {
  await disposeServer(s);
});

const port = (t: TestServer) => Number(new URL(t.url).port);

function closed(sock: { once(ev: 'close', f: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => sock.once('close', () => resolve()));
}

/** a TLS connection after its handshake; with `cert`, the admin's client certificate */
function tls(t: TestServer, alpn: string, withCert: boolean): Promise<TLSSocket> {
  const { ca, cert, key } = credentials(t);
  return new Promise((resolve, reject) => {
    const sock = tlsConnect(
      { host: '127.0.0.1', port: port(t), ca, ALPNProtocols: [alpn], ...(withCert ? { cert, key } : {}) },
      () => resolve(sock),
    );
    sock.once('error', reject);
  });
}

/** reads one HTTP/1.1 response with a Content-Length body off a raw socket */
function readResponse(sock: TLSSocket): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      sock.off('data', onData);
      resolve({
        status: Number(head.split(' ')[1]),
        head,
        body: buf.subarray(end + 4, end + 4 + length).toString('utf8'),
      });
    };
    sock.on('data', onData);
    sock.once('close', () =>
      reject(new Error(`closed before a whole response: ${JSON.stringify(buf.toString('latin1'))}`)),
    );
  });
}

/** one request with the admin identity on a connection of its own (never a pooled one the server may be closing) */
function fresh(t: TestServer, method: string, path: string, body?: string): Promise<RawResponse> {
  const { ca, cert, key } = credentials(t);
  return new Promise((resolve, reject) => {
    const headers =
      body === undefined
        ? {}
        : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
    const req = httpsRequest(new URL(path, t.url), { method, ca, cert, key, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function h2(t: TestServer): ClientHttp2Session {
  const { ca, cert, key } = credentials(t);
  return h2connect(t.url, { ca, cert, key });
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} missing from /metrics`);
  return Number(m[1]);
}

/** polls /metrics (bounded) until the listener holds only the polling connection, every counter back to zero */
async function expectCountersAtZero(t: TestServer): Promise<void> {
  let last = '';
  for (let i = 0; i < 200; i++) {
    last = (await fresh(t, 'GET', '/metrics')).body;
    const authenticated = metric(last, 'talos_fleet_connections{state="authenticated"}');
    const unauthenticated = metric(last, 'talos_fleet_connections{state="unauthenticated"}');
    const addresses = metric(last, 'talos_fleet_unauthenticated_connection_addresses');
    // the polling request's own connection is the one authenticated connection left
    if (authenticated === 1 && unauthenticated === 0 && addresses === 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  expect.fail(
    `connections still tracked: ${last
      .split('\n')
      .filter((l) => l.startsWith('talos_fleet_'))
      .join('; ')}`,
  );
}

describe('connection bounds', () => {
  it('closes a TCP connection that never starts TLS', { timeout: TEST_TIMEOUT_MS }, async () => {
    const sock = netConnect({ host: '127.0.0.1', port: port(s) });
    let received = 0;
    sock.on('data', (d: Buffer) => (received += d.length));
    sock.on('error', () => undefined); // a reset is a closure too
    await closed(sock);
    expect(received).toBe(0);
  });

  it(
    'closes a TLS connection that sends no request (HTTP/1.1, h2 without a preface, an HTTP/2 session without a stream)',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const http1 = await tls(s, 'http/1.1', true);
      let received = 0;
      http1.on('data', (d: Buffer) => (received += d.length));
      await closed(http1);
      expect(received).toBe(0);

      // h2 negotiated, then silence: not even the connection preface
      const silent = await tls(s, 'h2', false);
      expect(silent.alpnProtocol).toBe('h2');
      silent.on('data', () => undefined);
      silent.on('error', () => undefined);
      await closed(silent);

      const session = h2(s);
      const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
      session.on('error', () => undefined);
      await closed(session);
      expect(await goaway).toBe(0); // NO_ERROR: a polite GOAWAY, then the close
    },
  );

  it(
    'cuts slowloris: HTTP/1.1 headers sent a byte at a time never become a request',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const sock = await tls(s, 'http/1.1', false);
      const head = Buffer.from(`GET /version HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(4000)}\r\n\r\n`);
      let sent = 0;
      let received = 0;
      sock.on('data', (d: Buffer) => (received += d.length));
      sock.on('error', () => undefined);
      // the attack itself: one byte every 10 ms would take 40 s to finish the headers
      const trickle = setInterval(() => {
        if (sent < head.length && !sock.destroyed) sock.write(head.subarray(sent, ++sent));
      }, 10);
      await closed(sock);
      clearInterval(trickle);
      expect(sent).toBeLessThan(head.length);
      expect(received).toBe(0);
    },
  );

  it(
    'answers 408 to a body sent too slowly, creates nothing, and cuts the request (HTTP/1.1 and HTTP/2)',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const body = Buffer.from(
        JSON.stringify(adoptedServer('slow-body', { extra: { annotations: { pad: 'x'.repeat(4000) } } })),
      );
      const sock = await tls(s, 'http/1.1', true);
      sock.write(
        `POST ${adoptedServers(NS)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      let sent = 0;
      const trickle = setInterval(() => {
        if (sent < body.length && !sock.destroyed) sock.write(body.subarray(sent, ++sent));
      }, 10);
      const isClosed = closed(sock);
      const reply = await readResponse(sock);
      expect(reply.status).toBe(408);
      expect(JSON.parse(reply.body)).toMatchObject({ kind: 'Status', status: 'Failure', code: 408, reason: 'Timeout' });
      await isClosed;
      clearInterval(trickle);
      expect(sent).toBeLessThan(body.length);

      const session = h2(s);
      const stream = session.request({
        ':method': 'POST',
        ':path': adoptedServers(NS),
        'content-type': 'application/json',
        'content-length': String(body.length),
      });
      stream.write(body.subarray(0, 100)); // and then nothing
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => undefined);
      await closed(stream);
      expect(status).toBe(408);
      expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toMatchObject({
        kind: 'Status',
        code: 408,
        reason: 'Timeout',
      });
      expect(stream.rstCode).toBe(0); // RST_STREAM NO_ERROR: stop sending, the answer is complete
      // only the stream was cut: the session still serves, and nothing was created
      const got = await h2request(session, 'GET', `${adoptedServers(NS)}/slow-body`);
      expect(got.status).toBe(404);
      expect(JSON.parse(got.body)).toMatchObject({ kind: 'Status', reason: 'NotFound' });
      session.close();
    },
  );

  it(
    'closes an idle HTTP/1.1 keep-alive connection and an idle HTTP/2 session after their request',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const sock = await tls(s, 'http/1.1', true);
      sock.write('GET /version HTTP/1.1\r\nHost: x\r\n\r\n');
      const reply = await readResponse(sock);
      expect(reply.status).toBe(200);
      expect(reply.head).not.toMatch(/\r\nconnection: close/i);
      await closed(sock);

      const session = h2(s);
      session.on('error', () => undefined);
      const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
      expect((await h2request(session, 'GET', '/version')).status).toBe(200);
      await closed(session);
      expect(await goaway).toBe(0);
    },
  );

  it(
    'never cuts a quiet watch, over HTTP/1.1 or HTTP/2, while its request is in flight',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const path = `${adoptedServers(NS)}?watch=true&fieldSelector=metadata.name%3Dquiet`;
      const http1 = await openWatch(s, path);
      expect(http1.status).toBe(200);
      const session = h2(s);
      const h2watch = session.request({ ':method': 'GET', ':path': path });
      let h2text = '';
      h2watch.setEncoding('utf8');
      h2watch.on('data', (c: string) => (h2text += c));
      await new Promise((r) => h2watch.once('response', r));
      let sessionClosed = false;
      session.once('close', () => (sessionClosed = true));

      // the server's own clock: three connections in a row, each closed by the idle timeout after
      // its request, take longer than every bound (300 to 500 ms) put together
      for (let i = 0; i < 3; i++) {
        const idle = await tls(s, 'http/1.1', true);
        idle.write('GET /version HTTP/1.1\r\nHost: x\r\n\r\n');
        expect((await readResponse(idle)).status).toBe(200);
        await closed(idle);
      }
      expect(http1.events).toEqual([]);
      expect(h2text).toBe('');
      expect(sessionClosed).toBe(false);

      expect((await fresh(s, 'POST', adoptedServers(NS), JSON.stringify(adoptedServer('quiet')))).status).toBe(201);
      await http1.waitFor((e) => e.type === 'ADDED' && e.object.metadata.name === 'quiet');
      for (let i = 0; i < 200 && !h2text.includes('"type":"ADDED"'); i++)
        await new Promise((r) => h2watch.once('data', r));
      expect(h2text).toContain('"name":"quiet"');
      http1.close();
      h2watch.close();
      session.close();
    },
  );

  it(
    'leaves no connection or per-address count behind once the connections closed',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await expectCountersAtZero(s);
    },
  );
});

describe('unauthenticated connections per address', () => {
  let t: TestServer;

  beforeAll(async () => {
    // long bounds (the defaults): the unauthenticated connections stay open until the test closes them
    t = await startServer({
      args: [...SAMPLE_OBJECTS_ONLY, '--max-unauthenticated-connections-per-address', String(MAX_UNAUTHENTICATED)],
    });
  });

  afterAll(async () => {
    await disposeServer(t);
  });

  it(
    'refuses connections beyond the limit while authenticated clients keep working, and counts them down again',
    { timeout: TEST_TIMEOUT_MS * 2 },
    async () => {
      // an authenticated HTTP/2 session and HTTP/1.1 connection, opened before the flood
      const session = h2(t);
      expect((await h2request(session, 'GET', '/version')).status).toBe(200);
      const keepAlive = await tls(t, 'http/1.1', true);
      keepAlive.write('GET /version HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await readResponse(keepAlive)).status).toBe(200);

      // the limit's worth of connections without a credential; a 401 does not authenticate one
      const flood: TLSSocket[] = [];
      for (let i = 0; i < MAX_UNAUTHENTICATED; i++) flood.push(await tls(t, 'http/1.1', false));
      flood[0]!.write('GET /version HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await readResponse(flood[0]!)).status).toBe(401);

      // one more from the same address: closed before its handshake completes
      const extra = tlsConnect({
        host: '127.0.0.1',
        port: port(t),
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      let secured = false;
      extra.once('secureConnect', () => (secured = true));
      extra.on('error', () => undefined);
      await closed(extra);
      expect(secured).toBe(false);

      // the authenticated ones still serve, reads and writes
      expect(
        (await h2request(session, 'POST', adoptedServers(NS), JSON.stringify(adoptedServer('during-flood')))).status,
      ).toBe(201);
      keepAlive.write(`GET ${adoptedServers(NS)}/during-flood HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect((await readResponse(keepAlive)).status).toBe(200);
      const m = (await h2request(session, 'GET', '/metrics')).body;
      expect(metric(m, 'talos_fleet_connections{state="unauthenticated"}')).toBe(MAX_UNAUTHENTICATED);
      expect(metric(m, 'talos_fleet_refused_connections_total')).toBeGreaterThanOrEqual(1);

      // the flood gone, new connections are accepted again and every count is back to zero
      await Promise.all(
        flood.map((f) => {
          const done = closed(f);
          f.destroy();
          return done;
        }),
      );
      session.close();
      const endedKeepAlive = closed(keepAlive);
      keepAlive.end();
      await endedKeepAlive;
      expect((await fresh(t, 'GET', `${adoptedServers(NS)}/during-flood`)).status).toBe(200);
      await expectCountersAtZero(t);
    },
  );
});
