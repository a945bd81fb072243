// The derived talosconfig: its client certificate and talosctl's file format.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePrivateKeyPem } from '../../../src/machineconfig/keys.js';
import { createCA, type CertAndKeyPem } from '../../../src/machineconfig/pki.js';
import {
  generateTalosconfig,
  issueTalosClientCertificate,
  nodeTlsCredentials,
  talosconfigToYaml,
  type Talosconfig,
} from '../../../src/machineconfig/talosconfig.js';
import { EKU, HOUR_MS, inspect, NOW, pemLabel } from './helpers.js';

const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

let osCA: CertAndKeyPem;
let config: Talosconfig;
beforeAll(async () => {
  osCA = await createCA({ organization: 'talos', algorithm: 'ed25519', now: NOW });
  config = await generateTalosconfig({ clusterName: 'prod-eu', osCA, now: NOW });
});

const clientPems = () => {
  const ctx = config.contexts['prod-eu'];
  if (!ctx) throw new Error('context prod-eu missing');
  return { ca: unb64(ctx.ca), crt: unb64(ctx.crt), key: unb64(ctx.key) };
};

describe('the talosconfig client certificate', () => {
  it('is issued by the OS CA and verifies with its key', () => {
    const ca = new X509Certificate(osCA.crt);
    const client = new X509Certificate(clientPems().crt);
    expect(client.checkIssued(ca)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(client.issuer).toBe('O=talos');
  });

  it('carries role os:admin in Subject O and has no CN', () => {
    const c = inspect(clientPems().crt);
    expect(c.subjectOrganizations).toEqual(['os:admin']);
    expect(c.subjectCommonNames).toEqual([]);
    expect(c.subjectAttributeCount).toBe(1);
  });

  it('has EKU exactly [clientAuth], KeyUsage DigitalSignature only, and is not a CA', () => {
    const c = inspect(clientPems().crt);
    expect(c.extKeyUsage).toEqual([EKU.clientAuth]);
    expect(c.keyUsage?.flags).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(c.node.ca).toBe(false);
  });

  it("names the OS CA's SubjectKeyId as its AuthorityKeyId", () => {
    expect(inspect(clientPems().crt).authorityKeyIdHex).toBe(inspect(osCA.crt).subjectKeyIdHex);
  });

  it('is valid for one year from now', () => {
    const c = inspect(clientPems().crt);
    expect(c.notBefore).toEqual(NOW);
    expect(c.notAfter.getTime() - NOW.getTime()).toBe(8_760 * HOUR_MS);
  });

  it('has an Ed25519 key, like its CA, written with the Talos label, matching the certificate', () => {
    const { crt, key } = clientPems();
    const cert = new X509Certificate(crt);
    expect(cert.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(pemLabel(key)).toBe('ED25519 PRIVATE KEY');
    expect(cert.checkPrivateKey(parsePrivateKeyPem(key))).toBe(true);
  });

  it('takes other roles, one O value each', async () => {
    const pair = await issueTalosClientCertificate(osCA, { roles: ['os:reader', 'os:etcd:backup'] });
    expect(inspect(pair.crt).subjectOrganizations).toEqual(['os:reader', 'os:etcd:backup']);
    await expect(issueTalosClientCertificate(osCA, { roles: ['os:reader', ' '] })).rejects.toThrow('non-empty');
  });

  it('follows an ECDSA OS CA with an ECDSA P-256 key and an ECDSA signature', async () => {
    const ecCA = await createCA({ organization: 'talos', algorithm: 'ecdsa-p256' });
    const pair = await issueTalosClientCertificate(ecCA);
    const cert = new X509Certificate(pair.crt);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(pemLabel(pair.key)).toBe('EC PRIVATE KEY');
    expect(cert.verify(new X509Certificate(ecCA.crt).publicKey)).toBe(true);
    expect(new x509.X509Certificate(pair.crt).signatureAlgorithm).toMatchObject({
      name: 'ECDSA',
      hash: { name: 'SHA-256' },
    });
  });

  it('follows an RSA OS CA with an RSA 4096 key', async () => {
    const rsaCA = await createCA({ organization: 'talos', algorithm: 'rsa-4096' });
    const pair = await issueTalosClientCertificate(rsaCA);
    const cert = new X509Certificate(pair.crt);
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect(pemLabel(pair.key)).toBe('RSA PRIVATE KEY');
    expect(cert.verify(new X509Certificate(rsaCA.crt).publicKey)).toBe(true);
  });

  it('refuses a CA whose key does not match its certificate', async () => {
    const other = await createCA({ organization: 'talos', algorithm: 'ed25519' });
    await expect(issueTalosClientCertificate({ crt: osCA.crt, key: other.key })).rejects.toThrow(
      'CA key does not match',
    );
  });
});

describe('talosconfigToYaml', () => {
  it('writes context and contexts.<cluster> with endpoints [], ca, crt, key in that order', () => {
    const doc = parse(talosconfigToYaml(config)) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['context', 'contexts']);
    expect(doc.context).toBe('prod-eu');
    const contexts = doc.contexts as Record<string, Record<string, unknown>>;
    expect(Object.keys(contexts)).toEqual(['prod-eu']);
    expect(Object.keys(contexts['prod-eu'] ?? {})).toEqual(['endpoints', 'ca', 'crt', 'key']);
    expect(contexts['prod-eu']?.endpoints).toEqual([]);
    expect(unb64(String(contexts['prod-eu']?.ca))).toBe(osCA.crt);
  });

  it('writes given endpoints and nodes', async () => {
    const c = await generateTalosconfig({
      clusterName: 'lab',
      osCA,
      endpoints: ['10.0.0.2', 'cp.lab:50000'],
      nodes: ['10.0.0.5'],
    });
    const ctx = (parse(talosconfigToYaml(c)) as { contexts: Record<string, Record<string, unknown>> }).contexts.lab;
    expect(Object.keys(ctx ?? {})).toEqual(['endpoints', 'nodes', 'ca', 'crt', 'key']);
    expect(ctx?.endpoints).toEqual(['10.0.0.2', 'cp.lab:50000']);
    expect(ctx?.nodes).toEqual(['10.0.0.5']);
  });

  it('never contains the OS CA key', () => {
    const out = talosconfigToYaml(config);
    const caKeyBody = osCA.key.split('\n')[1] ?? '';
    expect(caKeyBody.length).toBeGreaterThan(20);
    expect(out).not.toContain(Buffer.from(osCA.key).toString('base64'));
    const { key } = clientPems();
    expect(key).not.toContain(caKeyBody);
  });

  it('needs a cluster name', async () => {
    await expect(generateTalosconfig({ clusterName: '', osCA })).rejects.toThrow('cluster name');
  });
});

describe('nodeTlsCredentials', () => {
  it('re-labels the Ed25519 key to PRIVATE KEY, which Node loads, with the same key inside', () => {
    const ctx = config.contexts['prod-eu'];
    if (!ctx) throw new Error('context prod-eu missing');
    const creds = nodeTlsCredentials(ctx);
    const raw = clientPems();
    expect(() => createPrivateKey(raw.key)).toThrow();
    expect(pemLabel(creds.key)).toBe('PRIVATE KEY');
    expect(createPrivateKey(creds.key).equals(parsePrivateKeyPem(raw.key))).toBe(true);
    expect(creds.cert).toBe(raw.crt);
    expect(creds.ca).toBe(osCA.crt);
  });

  it('gives PEMs that tls.createSecureContext accepts together', () => {
    const ctx = config.contexts['prod-eu'];
    if (!ctx) throw new Error('context prod-eu missing');
    const creds = nodeTlsCredentials(ctx);
    expect(() => createSecureContext({ ca: creds.ca, cert: creds.cert, key: creds.key })).not.toThrow();
    // and the Talos label (ED25519 PRIVATE KEY) alone is what breaks it
    expect(() => createSecureContext({ ca: creds.ca, cert: creds.cert, key: clientPems().key })).toThrow();
  });

  it('reports a field that is not base64', () => {
    const ctx = config.contexts['prod-eu'];
    if (!ctx) throw new Error('context prod-eu missing');
    expect(() => nodeTlsCredentials({ ...ctx, crt: '%%%' })).toThrow(
      'talosconfig context field crt is not base64 of a PEM',
    );
  });
});
