// A node dialed by IP address: the TLS server name (SNI) is never that IP (RFC 6066 forbids it and
// Node prints DEP0123 "Setting the TLS ServerName to an IP address" for it), and the node's
// certificate is still checked against the IP, through its IP SANs. The warning is printed once per
// process, so the clients run in a child process of their own (from dist/: build first) and its
// stderr is read whole.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, controlPlane, expectFailure, simulator, type Simulator } from './helpers.js';
import { startSimulator } from '../../hack/talos-sim/simulator.js';
import { createCA, issueCertificate } from '../../src/pki/devca.js';

const clientModule = fileURLToPath(new URL('../../dist/src/talos/client.js', import.meta.url));
const probeModule = fileURLToPath(new URL('../../dist/src/talos/tls-probe.js', import.meta.url));
const WARNING = /ServerName to an IP address|DEP0123/;

let configured: Simulator;
let maintenance: Simulator;

beforeAll(async () => {
  [configured, maintenance] = await Promise.all([
    simulator({ nodes: 1 }),
    startSimulator({ maintenance: true, nodes: 1, rebootMs: 5, shutdownMs: 5, installMs: 5 }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([configured?.stop(), maintenance?.stop()]);
});

/** Runs a script in a child node (asynchronously: the simulators live in this process's event loop). */
function runChild(script: string): Promise<{ stdout: string; stderr: string; status: number | null }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ stdout, stderr, status }));
  });
}

describe('a Talos connection to an IP address', () => {
  it('prints no ServerName warning, over mTLS and in maintenance mode', async () => {
    const ctx = configured.talosconfig.contexts[configured.talosconfig.context]!;
    const node = configured.nodes()[0]!;
    const bare = maintenance.nodes()[0]!;
    expect(node.endpoint).toMatch(/^127\.\d+\.\d+\.\d+:\d+$/);
    const script = `
      const { TalosClient } = await import(${JSON.stringify(clientModule)});
      const mtls = new TalosClient(${JSON.stringify({ endpoint: node.endpoint, ca: ctx.ca, crt: ctx.crt, key: ctx.key, timeoutMs: 10_000 })});
      const insecure = TalosClient.maintenance(${JSON.stringify({ endpoint: bare.endpoint, timeoutMs: 10_000 })});
      const names = [await mtls.hostname(), (await insecure.version()).version.tag];
      mtls.close();
      insecure.close();
      process.stdout.write(JSON.stringify(names));
    `;
    const r = await runChild(script);
    expect(r.stderr).not.toMatch(WARNING);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([node.name, bare.version]);
  });

  it('the check above sees the warning when a process does set an IP as the server name', async () => {
    const node = configured.nodes()[0]!;
    const script = `
      const { connect } = await import('node:tls');
      const s = connect({ host: ${JSON.stringify(node.address)}, port: ${node.port}, servername: ${JSON.stringify(node.address)}, rejectUnauthorized: false });
      s.on('secureConnect', () => s.destroy());
      s.on('error', () => undefined);
    `;
    expect((await runChild(script)).stderr).toMatch(WARNING);
  });

  it('still checks the certificate against the IP: an IP it does not name fails, its own IP passes', async () => {
    const node = configured.node(controlPlane(configured));
    const lookup = async () => [node.ip];
    const endpoint = `alias.example.test:${node.port}`;
    const wrongIp = clientFor(configured, node.name, { endpoint, lookup, targetNameOverride: '127.0.0.99' });
    const rightIp = clientFor(configured, node.name, { endpoint, lookup, targetNameOverride: node.ip });
    try {
      const e = await expectFailure(wrongIp.version(), 'TLSError', 503);
      expect(e.message).toMatch(/127\.0\.0\.99|altnames|dialed name/);
      expect(await rightIp.hostname()).toBe(node.name);
    } finally {
      wrongIp.close();
      rightIp.close();
    }
  });

  it('the TLS probe of a refused connection sends no IPv6 address named to check as the server name', async () => {
    // a node whose certificate names an IPv6 address, reached at 127.0.0.1 (a targetNameOverride)
    const ca = await createCA('probe-ca');
    const leaf = await issueCertificate(ca, { subject: 'CN=node', usage: 'server', ipAddresses: ['fd00::10'] });
    const server = createServer({ cert: leaf.certPem, key: leaf.keyPem, ALPNProtocols: ['h2'] }, (s) => s.end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const client = await issueCertificate(ca, { subject: 'CN=client', usage: 'client' });
    const target = {
      address: '127.0.0.1',
      port,
      verifyName: 'fd00::10',
      credentials: { ca: ca.certPem, crt: client.certPem, key: client.keyPem },
    };
    try {
      const r = await runChild(`
        const { probeTls } = await import(${JSON.stringify(probeModule)});
        const t = ${JSON.stringify(target)};
        t.credentials = { ca: Buffer.from(t.credentials.ca), crt: Buffer.from(t.credentials.crt), key: Buffer.from(t.credentials.key) };
        process.stdout.write(String(await probeTls(t, 5000)));
      `);
      expect(r.stderr).not.toMatch(WARNING);
      // the certificate passed the check against fd00::10; the server hung up after the handshake
      expect([r.status, r.stdout], r.stderr).toEqual([
        0,
        'the node closed the connection right after the handshake: it most likely rejected our client certificate',
      ]);
    } finally {
      server.close();
    }
  });
});
