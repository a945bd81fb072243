// --tls-cert-file/--tls-private-key-file are followed: a certificate renewed into the mounted
// Secret (kubelet swaps the volume's `..data` symlink, as here) is served to new connections without
// a restart, and a pair that does not load leaves the previous certificate in place.
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStandalonePKI, type StandalonePKI } from '../../apiservice/standalone.js';
import { issueCertificate, type PemPair } from '../../src/pki/devca.js';
import { disposeServer, SAMPLE_OBJECTS_ONLY, startServer, type TestServer } from '../helpers/server.js';
import { ok } from './kubectl-helpers.js';

let s: TestServer;
let pki: StandalonePKI;
let volume: string;
let generation = 0;

/** writes a new generation of the Secret volume and swaps `..data` to it, as kubelet does */
function rotate(pair: { cert: string; key: string }): void {
  const dir = `..gen-${++generation}`;
  mkdirSync(join(volume, dir));
  writeFileSync(join(volume, dir, 'tls.crt'), pair.cert);
  writeFileSync(join(volume, dir, 'tls.key'), pair.key);
  symlinkSync(dir, join(volume, '..data_tmp'));
  renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
}

const serving = (name: string): Promise<PemPair> =>
  issueCertificate(pki.ca, {
    subject: 'CN=talos-fleet-apiserver',
    usage: 'server',
    dnsNames: [name],
    ipAddresses: ['127.0.0.1'],
  });

/** the DNS names of the certificate a new TLS connection is served */
function servedNames(): Promise<string> {
  const { port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port: Number(port), ca: pki.ca.certPem, ALPNProtocols: ['h2'] }, () => {
      resolve(sock.getPeerCertificate().subjectaltname ?? '');
      sock.end();
    });
    sock.on('error', reject);
  });
}

/** resolves when the server has logged a line with this message (event-driven, bounded) */
function logged(msg: string, from: number, timeoutMs = 10_000): Promise<void> {
  const seen = () => s.logs.slice(from).some((l) => l.includes(`"msg":"${msg}"`));
  return new Promise((resolve, reject) => {
    if (seen()) return resolve();
    const check = () => {
      if (!seen()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`the server did not log "${msg}" within ${timeoutMs} ms`));
    }, timeoutMs);
    // the helper reads stdout line by line; a line is in s.logs once the chunk holding it is read
    const onData = () => setImmediate(check);
    const cleanup = () => {
      clearTimeout(timer);
      s.proc.stdout!.off('data', onData);
    };
    s.proc.stdout!.on('data', onData);
  });
}

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tfa-e2e-serving-'));
  pki = await ensureStandalonePKI(dataDir, '127.0.0.1');
  volume = join(dataDir, 'serving');
  mkdirSync(volume);
  const first = await serving('first.example');
  rotate({ cert: first.certPem, key: first.keyPem });
  symlinkSync('..data/tls.crt', join(volume, 'tls.crt'));
  symlinkSync('..data/tls.key', join(volume, 'tls.key'));
  s = await startServer({
    dataDir,
    args: [
      '--tls-cert-file',
      join(volume, 'tls.crt'),
      '--tls-private-key-file',
      join(volume, 'tls.key'),
      ...SAMPLE_OBJECTS_ONLY,
    ],
  });
});

afterAll(async () => {
  await disposeServer(s);
});

describe('serving certificate files', () => {
  it('a renewed certificate is served to new connections without a restart', async () => {
    expect(await servedNames()).toContain('DNS:first.example');
    const from = s.logs.length;
    const second = await serving('second.example');
    rotate({ cert: second.certPem, key: second.keyPem });
    await logged('serving certificate reloaded', from);
    expect(await servedNames()).toContain('DNS:second.example');
    expect(await ok(s, ['get', 'namespace', 'default', '-o', 'name'])).toBe('namespace/default\n');
  });

  it('a pair that does not load is refused and the previous certificate stays', async () => {
    const before = await servedNames();
    const from = s.logs.length;
    const third = await serving('third.example');
    const other = await serving('other.example');
    rotate({ cert: third.certPem, key: other.keyPem }); // the key of another certificate
    await logged('serving certificate files do not load; still serving the previous certificate', from);
    expect(await servedNames()).toBe(before);
    expect(await ok(s, ['get', 'namespace', 'default', '-o', 'name'])).toBe('namespace/default\n');

    // and the next good pair is taken
    const fixed = s.logs.length;
    rotate({ cert: third.certPem, key: third.keyPem });
    await logged('serving certificate reloaded', fixed);
    expect(await servedNames()).toContain('DNS:third.example');
  });
});
