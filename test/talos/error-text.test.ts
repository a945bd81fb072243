// What a person reads when a Talos call fails: real grpc-js failures provoked on loopback (a closed
// port, a listener that never answers, a TLS server whose certificate another CA signed, one that
// hangs up on our client certificate) become one line naming the call, the node's host:port and the
// likely cause, without grpc-js's own wording, and keep their machine-readable reasons.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCA, issueClientCert, issueNodeCert, type Issuer } from '../../hack/talos-sim/pki.js';
import { TalosClient } from '../../src/talos/client.js';
import { nodeTlsKey } from '../../src/talos/talosconfig.js';
import { expectFailure } from './helpers.js';

const GRPC_NOISE = /No connection established|Last error|Resolution note|LB pick|name resolution:|Deadline exceeded/;

let ca: Issuer;
let clientPem: { certPem: string; keyPem: string };
const servers: Server[] = [];
const sockets = new Set<Socket>();

async function listen(server: Server): Promise<number> {
  servers.push(server);
  // the silent listener keeps its connections open: they are cut at the end so close() returns
  server.on('connection', (s: Socket) => sockets.add(s));
  server.on('secureConnection', (s: Socket) => sockets.add(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function clientOn(port: number, timeoutMs: number): TalosClient {
  return new TalosClient({
    endpoint: `127.0.0.1:${port}`,
    ca: ca.certPem,
    crt: clientPem.certPem,
    key: nodeTlsKey(clientPem.keyPem),
    timeoutMs,
  });
}

async function failedStatus(
  port: number,
  timeoutMs: number,
  failure: Parameters<typeof expectFailure>[1],
  code: number,
) {
  const c = clientOn(port, timeoutMs);
  try {
    const st = await expectFailure(c.version(), failure, code);
    expect(st.message).not.toMatch(GRPC_NOISE);
    expect(st.message).not.toContain('\n');
    expect(st.message.startsWith(`Talos node 127.0.0.1:${port} (Version)`)).toBe(true);
    return st;
  } finally {
    c.close();
  }
}

beforeAll(async () => {
  ca = await createCA('talos', 'ed25519');
  clientPem = await issueClientCert(ca, ['os:admin']);
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const s of servers) await new Promise((resolve) => s.close(resolve));
});

describe('Talos call failures read as one line with the likely cause', () => {
  it('a closed port: connection refused, Unreachable / UNAVAILABLE, 503', async () => {
    const port = await listen(createServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const st = await failedStatus(port, 2_000, 'Unreachable', 503);
    expect(st.message).toBe(
      `Talos node 127.0.0.1:${port} (Version) is unreachable: connection refused (nothing listens on that port, or a firewall rejects it)`,
    );
    expect(st.toStatus().details?.causes).toEqual([
      { reason: 'Unreachable', message: st.message },
      { reason: 'UNAVAILABLE', message: 'the gRPC status of the call' },
    ]);
  });

  it('a listener that never answers, with a tiny deadline: no connection set up in time, Timeout / DEADLINE_EXCEEDED, 504', async () => {
    const port = await listen(createServer(() => undefined));
    const st = await failedStatus(port, 150, 'Timeout', 504);
    expect(st.message).toBe(
      `Talos node 127.0.0.1:${port} (Version) did not answer within 150 ms: no connection could be set up in that time (the node is down or frozen, or a firewall drops the packets)`,
    );
    expect(st.toStatus().details?.causes?.[1]?.reason).toBe('DEADLINE_EXCEEDED');
  });

  it('a TLS server whose certificate another CA signed: certificate not trusted, TLSError, 503', async () => {
    const other = await createCA('talos', 'ed25519');
    const cert = await issueNodeCert(other, 'stranger', '127.0.0.1');
    const port = await listen(
      createTlsServer({ cert: cert.certPem, key: cert.keyPem, ALPNProtocols: ['h2'] }, (s) => s.end()),
    );
    const st = await failedStatus(port, 2_000, 'TLSError', 503);
    expect(st.message).toBe(
      `Talos node 127.0.0.1:${port} (Version): TLS handshake failed: certificate not trusted: the node's certificate does not verify against the talosconfig's OS CA`,
    );
    expect(st.toStatus().details?.causes?.[1]?.reason).toBe('UNAVAILABLE');
  });

  it('a TLS server that does not trust our client certificate: the node rejected it, TLSError, 503', async () => {
    const cert = await issueNodeCert(ca, 'picky', '127.0.0.1');
    const stranger = await createCA('talos', 'ed25519');
    const port = await listen(
      createTlsServer(
        {
          cert: cert.certPem,
          key: cert.keyPem,
          ca: stranger.certPem,
          requestCert: true,
          rejectUnauthorized: true,
          ALPNProtocols: ['h2'],
        },
        (s) => s.end(),
      ),
    );
    const st = await failedStatus(port, 2_000, 'TLSError', 503);
    expect(st.message).toMatch(
      new RegExp(
        `^Talos node 127\\.0\\.0\\.1:${port} \\(Version\\): TLS handshake failed: the node rejected our client certificate`,
      ),
    );
  });
});
