// Standalone mode's files in the data directory: a dev CA, serving and admin certificates made on
// first start, and admin.kubeconfig rewritten atomically on every start with the real address.
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createCA, issueCertificate, subjectAltNames, type PemPair } from '../src/pki/devca.js';

export interface StandalonePKI {
  ca: PemPair;
  serving: PemPair;
  admin: PemPair;
}

async function readPair(dir: string, base: string): Promise<PemPair | undefined> {
  const cert = join(dir, `${base}.crt`);
  const key = join(dir, `${base}.key`);
  if (!existsSync(cert) || !existsSync(key)) return undefined;
  return { certPem: await readFile(cert, 'utf8'), keyPem: await readFile(key, 'utf8') };
}

async function writePair(dir: string, base: string, p: PemPair): Promise<void> {
  await atomicWrite(join(dir, `${base}.key`), p.keyPem, 0o600);
  await atomicWrite(join(dir, `${base}.crt`), p.certPem, 0o644);
}

/** write to a temp file, fsync, rename: readers see the old or the new file, never half of one */
export async function atomicWrite(path: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

function servingNames(bindAddress: string): { dns: string[]; ip: string[] } {
  const ip = ['127.0.0.1'];
  const dns = ['localhost'];
  const unspecified = bindAddress === '0.0.0.0' || bindAddress === '::';
  if (!unspecified && !ip.includes(bindAddress)) {
    if (/^[\d.]+$/.test(bindAddress) || bindAddress.includes(':')) ip.push(bindAddress);
    else dns.push(bindAddress);
  }
  return { dns, ip };
}

export async function ensureStandalonePKI(dataDir: string, bindAddress: string): Promise<StandalonePKI> {
  const dir = join(dataDir, 'pki');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let ca = await readPair(dir, 'ca');
  let fresh = false;
  if (!ca) {
    ca = await createCA('talos-fleet-apiserver-dev-ca');
    await writePair(dir, 'ca', ca);
    fresh = true;
  }
  const want = servingNames(bindAddress);
  let serving = fresh ? undefined : await readPair(dir, 'serving');
  if (serving) {
    const have = subjectAltNames(serving.certPem);
    const covered = want.ip.every((i) => have.ip.includes(i)) && want.dns.every((d) => have.dns.includes(d));
    if (!covered) serving = undefined; // bind address changed: reissue for the new SANs
  }
  if (!serving) {
    serving = await issueCertificate(ca, {
      subject: 'CN=talos-fleet-apiserver',
      usage: 'server',
      dnsNames: want.dns,
      ipAddresses: want.ip,
    });
    await writePair(dir, 'serving', serving);
  }
  let admin = fresh ? undefined : await readPair(dir, 'admin');
  if (!admin) {
    admin = await issueCertificate(ca, { subject: 'CN=admin, O=system:masters', usage: 'client' });
    await writePair(dir, 'admin', admin);
  }
  return { ca, serving, admin };
}

export function serverURL(host: string, port: number): string {
  const unspecified = host === '0.0.0.0' || host === '::' || host === '';
  const h = unspecified ? '127.0.0.1' : host;
  return `https://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export async function writeAdminKubeconfig(dataDir: string, pki: StandalonePKI, url: string): Promise<string> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'talos-fleet', cluster: { server: url, 'certificate-authority-data': b64(pki.ca.certPem) } }],
    users: [
      {
        name: 'admin',
        user: { 'client-certificate-data': b64(pki.admin.certPem), 'client-key-data': b64(pki.admin.keyPem) },
      },
    ],
    contexts: [{ name: 'talos-fleet-admin', context: { cluster: 'talos-fleet', user: 'admin', namespace: 'default' } }],
    'current-context': 'talos-fleet-admin',
    preferences: {},
  };
  const path = join(dataDir, 'admin.kubeconfig');
  await atomicWrite(path, stringify(doc), 0o600);
  return path;
}
