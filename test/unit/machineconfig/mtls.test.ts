// A real mTLS handshake on loopback: a node:tls server standing in for apid (server certificate
// from the OS CA, client certificates required and verified against the OS CA) accepts the
// talosconfig's client certificate, and refuses one from another CA.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toNodeLoadableKeyPem } from '../../../src/machineconfig/pem.js';
import { createCA, issueCertificate, type CertAndKeyPem } from '../../../src/machineconfig/pki.js';
import {
  generateTalosconfig,
  nodeTlsCredentials,
  type NodeTlsCredentials,
} from '../../../src/machineconfig/talosconfig.js';
import { HOUR_MS } from './helpers.js';

const servers: tls.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

interface Accepted {
  authorized: boolean;
  authorizationError?: string;
  organizations: string[];
  protocol: string | null;
  alpn: string | false | null;
}

/** An apid-like server: OS CA server certificate (serverAuth, SAN 127.0.0.1), client certificates required. */
async function startApidLike(osCA: CertAndKeyPem, maxVersion: tls.SecureVersion, rejectUnauthorized = true) {
  const serving = await issueCertificate(osCA, {
    commonName: 'node-1',
    extKeyUsage: ['serverAuth'],
    ipAddresses: ['127.0.0.1'],
    lifetimeMs: 24 * HOUR_MS,
  });
  const accepted: Accepted[] = [];
  const refused: string[] = [];
  const server = tls.createServer(
    {
      cert: serving.crt,
      key: toNodeLoadableKeyPem(serving.key),
      ca: osCA.crt,
      requestCert: true,
      rejectUnauthorized,
      maxVersion,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      const o = socket.getPeerCertificate().subject?.O;
      accepted.push({
        authorized: socket.authorized,
        ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}),
        organizations: o === undefined ? [] : [o].flat(),
        protocol: socket.getProtocol(),
        alpn: socket.alpnProtocol,
      });
      socket.end('ok');
    },
  );
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => refused.push(err.code ?? err.message));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, accepted, refused };
}

/** Connects with the credentials; resolves to what the server sent, rejects on a failed handshake. */
function connect(port: number, creds: NodeTlsCredentials): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: creds.ca,
      cert: creds.cert,
      key: creds.key,
      ALPNProtocols: ['h2'],
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('mTLS with the derived talosconfig', () => {
  it.each([
    ['ed25519', 'TLSv1.3'],
    ['ed25519', 'TLSv1.2'],
    ['ecdsa-p256', 'TLSv1.3'],
  ] as const)(
    '%s OS CA over %s: the server verifies the client certificate and sees role os:admin',
    async (algorithm, version) => {
      const osCA = await createCA({ organization: 'talos', algorithm });
      const { port, accepted } = await startApidLike(osCA, version);
      const config = await generateTalosconfig({ clusterName: 'c1', osCA, endpoints: [`127.0.0.1:${port}`] });
      const context = config.contexts.c1;
      if (!context) throw new Error('context c1 missing');

      await expect(connect(port, nodeTlsCredentials(context))).resolves.toBe('ok');
      expect(accepted).toEqual([{ authorized: true, organizations: ['os:admin'], protocol: version, alpn: 'h2' }]);
    },
  );

  it('refuses a client certificate signed by another CA', async () => {
    const osCA = await createCA({ organization: 'talos', algorithm: 'ed25519' });
    const stranger = await createCA({ organization: 'talos', algorithm: 'ed25519' });
    const { port, accepted, refused } = await startApidLike(osCA, 'TLSv1.3');
    const context = (await generateTalosconfig({ clusterName: 'c1', osCA: stranger })).contexts.c1;
    if (!context) throw new Error('context c1 missing');
    // the client must still trust the real server, so pin the right CA and present the stranger's certificate
    const creds = { ...nodeTlsCredentials(context), ca: osCA.crt };

    // in TLS 1.3 the client finishes its side before the server checks the certificate, so the
    // client only sees the connection close, and Node reports the failed handshake on the server
    // as a hang-up; the server side is what must refuse: a handshake error and no connection
    const outcome = await connect(port, creds).catch((e: Error) => e);
    expect(outcome).not.toBe('ok');
    await vi.waitFor(() => expect(refused).toHaveLength(1));
    expect(accepted).toEqual([]);

    // the same handshake against a server that only reports: the reason is that no trusted CA signed the client certificate
    const reporting = await startApidLike(osCA, 'TLSv1.3', false);
    await expect(connect(reporting.port, creds)).resolves.toBe('ok');
    expect(reporting.accepted).toMatchObject([
      { authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    ]);
  });
});
