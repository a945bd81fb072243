// The per-connection client-certificate verdict needs one stable key per TLS connection: over
// HTTP/2, `req.socket` is a new proxy for every stream, so the key is the session's socket.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createSecureServer, type Http2SecureServer, type Http2ServerRequest } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { socketVerifiesTo, tlsConnectionOf } from '../../../apiservice/auth/x509.js';
import { ensureStandalonePKI, type StandalonePKI } from '../../../apiservice/standalone.js';

let dir: string;
let pki: StandalonePKI;
let server: Http2SecureServer;
let url: string;
const seen: { connection: object; socket: object; verified: string | undefined }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tfa-tlsconn-'));
  pki = await ensureStandalonePKI(dir, '127.0.0.1');
  const roots = [new X509Certificate(pki.ca.certPem)];
  server = createSecureServer({
    cert: pki.serving.certPem,
    key: pki.serving.keyPem,
    ca: pki.ca.certPem,
    requestCert: true,
    rejectUnauthorized: false,
    allowHTTP1: true,
  });
  server.on('request', (req: Http2ServerRequest, res) => {
    const connection = tlsConnectionOf(req);
    seen.push({ connection, socket: req.socket, verified: socketVerifiesTo(connection, roots)?.leaf.subject });
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function get(session: ReturnType<typeof connect>): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': '/' });
    req.on('data', () => undefined);
    req.on('end', resolve);
    req.on('error', reject);
    req.end();
  });
}

describe('tlsConnectionOf', () => {
  it('is the same object for every stream of one HTTP/2 connection and another for the next connection', async () => {
    const identity = { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem };
    const one = connect(url, identity);
    const two = connect(url, identity);
    try {
      await Promise.all([get(one), get(one), get(one)]);
      await get(two);
    } finally {
      one.close();
      two.close();
    }
    expect(seen).toHaveLength(4);
    // what made the verdict cache miss on every request: a socket proxy per stream
    expect(seen[0]!.socket).not.toBe(seen[1]!.socket);
    expect(seen[1]!.connection).toBe(seen[0]!.connection);
    expect(seen[2]!.connection).toBe(seen[0]!.connection);
    expect(seen[3]!.connection).not.toBe(seen[0]!.connection);
    expect(seen.map((x) => x.verified)).toEqual(Array(4).fill('CN=admin\nO=system:masters'));
  });
});
