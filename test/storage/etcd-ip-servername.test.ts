// etcd over TLS at an IP address (`https://127.0.0.1:port`): the TLS server name sent is never the
// IP (RFC 6066; Node prints DEP0123 "Setting the TLS ServerName to an IP address" for it), and the
// server certificate is still checked against the IP dialed, through its IP SANs. Node prints the
// warning once per process, so the clients run in a child process of their own (from dist/: build
// first) and its stderr is read whole.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCA, issueCertificate } from '../../src/pki/devca.js';
import { connectEtcd } from '../../src/storage/etcd3/client.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';

const clientModule = fileURLToPath(new URL('../../dist/src/storage/etcd3/client.js', import.meta.url));
const WARNING = /ServerName to an IP address|DEP0123/;

let etcd: EtcdServer;

beforeAll(async () => {
  etcd = await startEtcd({ tls: true });
}, 60_000);

afterAll(async () => {
  await etcd?.cleanup();
});

/** Runs a script in a child node (asynchronously: etcd's health checks live in this process). */
function runChild(script: string): Promise<{ stdout: string; stderr: string; status: number | null }> {
  const child = spawn(process.execPath, ['--trace-deprecation', '--input-type=module', '-e', script], {
    timeout: 30_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ stdout, stderr, status }));
  });
}

describe('etcd over TLS at an IP address', () => {
  it("the server's etcd client prints no ServerName warning, and reads back what it wrote", async () => {
    expect(etcd.endpoints[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const script = `
      const { connectEtcd } = await import(${JSON.stringify(clientModule)});
      const client = await connectEtcd(${JSON.stringify({ endpoints: etcd.endpoints, ...etcd.tls })});
      await client.put('/ip-servername/a').value('over tls');
      process.stdout.write(await client.get('/ip-servername/a').string());
      client.close();
    `;
    const r = await runChild(script);
    expect(r.stderr).not.toMatch(WARNING);
    expect([r.status, r.stdout], r.stderr).toEqual([0, 'over tls']);
  });

  it('the check above sees the warning from the etcd3 client as it comes, without our channels', async () => {
    const script = `
      const { readFileSync } = await import('node:fs');
      const { Etcd3 } = await import('etcd3');
      const tls = ${JSON.stringify(etcd.tls)};
      const client = new Etcd3({ hosts: ${JSON.stringify(etcd.endpoints)}, credentials: {
        rootCertificate: readFileSync(tls.caFile), certChain: readFileSync(tls.certFile), privateKey: readFileSync(tls.keyFile) } });
      process.stdout.write(String(await client.get('/ip-servername/a').string()));
      client.close();
    `;
    const r = await runChild(script);
    expect(r.stdout).toBe('over tls');
    expect(r.stderr).toMatch(WARNING);
  });

  it('still checks the certificate against the IP dialed: one that names another IP is refused', async () => {
    // a gRPC server on 127.0.0.1 whose certificate names 127.0.0.2 only, then one naming 127.0.0.1
    const ca = await createCA('ip-check-ca');
    const dir = mkdtempSync(join(tmpdir(), 'tf-etcd-ip-'));
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, ca.certPem);
    const serve = async (ip: string) => {
      const leaf = await issueCertificate(ca, { subject: 'CN=not-etcd', usage: 'server', ipAddresses: [ip] });
      const server = new grpc.Server();
      const creds = grpc.ServerCredentials.createSsl(null, [
        { cert_chain: Buffer.from(leaf.certPem), private_key: Buffer.from(leaf.keyPem) },
      ]);
      const port = await new Promise<number>((res, rej) =>
        server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? rej(e) : res(p))),
      );
      return { server, endpoint: `https://127.0.0.1:${port}` };
    };
    const wrong = await serve('127.0.0.2');
    const right = await serve('127.0.0.1');
    try {
      const failure = async (endpoint: string) => {
        const client = await connectEtcd({ endpoints: [endpoint], caFile });
        try {
          return await client
            .get('k')
            .string()
            .then(
              () => 'answered',
              (e: Error) => e.message,
            );
        } finally {
          client.close();
        }
      };
      // the certificate does not name 127.0.0.1: no connection
      expect(await failure(wrong.endpoint)).toMatch(
        /ERR_TLS_CERT_ALTNAME_INVALID.*IP: 127\.0\.0\.1 is not in the cert's list: 127\.0\.0\.2/,
      );
      // it does: TLS is set up and the call reaches the server, which has no etcd service
      expect(await failure(right.endpoint)).toMatch(
        /UNIMPLEMENTED: The server does not implement the method \/etcdserverpb\.KV\/Range/,
      );
    } finally {
      wrong.server.forceShutdown();
      right.server.forceShutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
