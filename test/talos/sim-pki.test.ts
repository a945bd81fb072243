// The simulator's Talos-style PKI (CA, node server and client certificate profiles) and its
// secrets-bundle reading.
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createCA, createOsCA, issueClientCert, issueNodeCert, talosKeyLabel } from '../../hack/talos-sim/pki.js';
import { osCAFromSecrets } from '../../hack/talos-sim/secrets.js';
import { startSimulator } from '../../hack/talos-sim/simulator.js';

const HOUR = 3600_000;
const lifetime = (c: X509Certificate) => Date.parse(c.validTo) - Date.parse(c.validFrom);

describe('simulator PKI', () => {
  it('the OS CA is a self-signed Ed25519 CA with only O=talos, valid 10 years', async () => {
    const ca = await createOsCA();
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('O=talos');
    expect(cert.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(Math.round(lifetime(cert) / HOUR)).toBe(87_600);
  });

  it('node certs: CN hostname, SANs IP + 127.0.0.1 + hostname, serverAuth only, 24 h', async () => {
    const ca = await createOsCA();
    const pair = await issueNodeCert(ca, 'node-a', '127.0.0.5');
    const cert = new X509Certificate(pair.certPem);
    expect(cert.subject).toBe('CN=node-a');
    expect(cert.subjectAltName).toBe('DNS:node-a, IP Address:127.0.0.5, IP Address:127.0.0.1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(Math.round(lifetime(cert) / HOUR)).toBe(24);
  });

  it('client certs: roles as O values, EKU exactly clientAuth, 1 year', async () => {
    const ca = await createOsCA();
    const cert = new X509Certificate((await issueClientCert(ca, ['os:admin', 'os:reader'])).certPem);
    expect(cert.subject.split('\n')).toEqual(['O=os:admin', 'O=os:reader']);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(Math.round(lifetime(cert) / HOUR)).toBe(365 * 24);
  });

  it('writes Ed25519 keys under the Talos label', async () => {
    const ca = await createOsCA();
    expect(talosKeyLabel(ca.keyPem, 'ed25519')).toMatch(/^-----BEGIN ED25519 PRIVATE KEY-----/);
    expect(talosKeyLabel(ca.keyPem, 'ecdsa')).toBe(ca.keyPem);
  });
});

describe('secrets bundle', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('loads certs.os with the Talos key label', async () => {
    const ca = await createOsCA();
    const issuer = await osCAFromSecrets(
      stringify({ certs: { os: { crt: b64(ca.certPem), key: b64(talosKeyLabel(ca.keyPem, 'ed25519')) } } }),
    );
    expect(issuer.kind).toBe('ed25519');
    expect(issuer.certPem.trim()).toBe(ca.certPem.trim());
  });

  it('loads an ECDSA OS CA (older bundles) and signs leaves with the same key type', async () => {
    const ca = await createCA('talos', 'ecdsa');
    const issuer = await osCAFromSecrets(stringify({ certs: { os: { crt: b64(ca.certPem), key: b64(ca.keyPem) } } }));
    const leaf = new X509Certificate((await issueClientCert(issuer)).certPem);
    expect(leaf.publicKey.asymmetricKeyType).toBe('ec');
    expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
  });

  it.each([
    ['not YAML', 'certs: [', /not valid YAML/],
    ['no certs.os', stringify({ certs: {} }), /certs\.os\.crt is missing/],
    ['not PEM', stringify({ certs: { os: { crt: b64('nope'), key: b64('nope') } } }), /not base64 of a PEM block/],
  ])('rejects %s', async (_label, text, message) => {
    await expect(osCAFromSecrets(text)).rejects.toThrow(message);
  });

  it('rejects a key that does not belong to the certificate', async () => {
    const [a, b] = await Promise.all([createOsCA(), createOsCA()]);
    await expect(
      osCAFromSecrets(stringify({ certs: { os: { crt: b64(a.certPem), key: b64(b.keyPem) } } })),
    ).rejects.toThrow(/does not belong/);
  });
});

describe('simulator options', () => {
  it.each([
    [{ nodes: 0 }, /nodes must be/],
    [{ nodes: 2, controlPlanes: 3 }, /controlplanes must be/],
    [{ nodes: 1, version: '1.13' }, /not a Talos version tag/],
  ])('rejects %j', async (opts, message) => {
    await expect(startSimulator(opts)).rejects.toThrow(message);
  });
});
