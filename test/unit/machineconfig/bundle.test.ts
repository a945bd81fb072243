// generateSecretsBundle against Talos's CA profile, key encodings and bundle contents.
import { createPrivateKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSecretsBundle, type SecretsBundle } from '../../../src/machineconfig/bundle.js';
import { parsePrivateKeyPem } from '../../../src/machineconfig/keys.js';
import { checkSecretsBundle } from '../../../src/machineconfig/bundlecheck.js';
import { TOKEN_PATTERN } from '../../../src/machineconfig/tokens.js';
import { EKU, HOUR_MS, inspect, NOW, pemLabel } from './helpers.js';

const CAS = [
  // [bundle field, key type, curve, Subject O]
  ['os', 'ed25519', undefined, ['talos']],
  ['k8s', 'ec', 'prime256v1', ['kubernetes']],
  ['etcd', 'ec', 'prime256v1', ['etcd']],
  ['k8saggregator', 'ec', 'prime256v1', []],
] as const;

let bundle: SecretsBundle;
beforeAll(async () => {
  bundle = await generateSecretsBundle({ contract: { major: 1, minor: 13 }, now: NOW });
});

describe.each(CAS)('certs.%s CA', (name, keyType, curve, organizations) => {
  it(`is ${keyType}${curve ? ` ${curve}` : ''} with Subject O=${JSON.stringify(organizations)} and nothing else in the subject`, () => {
    const c = inspect(bundle.certs[name].crt);
    expect(c.node.publicKey.asymmetricKeyType).toBe(keyType);
    expect(c.node.publicKey.asymmetricKeyDetails?.namedCurve).toBe(curve);
    expect(c.subjectOrganizations).toEqual(organizations);
    expect(c.subjectAttributeCount).toBe(organizations.length);
  });

  it('is self-signed and verifies with its own key', () => {
    const { node } = inspect(bundle.certs[name].crt);
    expect(node.checkIssued(node)).toBe(true);
    expect(node.verify(node.publicKey)).toBe(true);
  });

  it('has the CA extensions: CA:TRUE and KeyUsage {DigitalSignature, CertSign} critical, EKU {serverAuth, clientAuth}, a 20-byte SubjectKeyId', () => {
    const c = inspect(bundle.certs[name].crt);
    expect(c.node.ca).toBe(true);
    expect(c.basicConstraints).toEqual({ ca: true, critical: true });
    expect(c.keyUsage).toEqual({
      flags: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
      critical: true,
    });
    expect(c.extKeyUsage).toEqual([EKU.serverAuth, EKU.clientAuth]);
    expect(c.subjectKeyIdHex).toMatch(/^[0-9a-f]{40}$/);
  });

  it('lives exactly 87 600 h from the generation time', () => {
    const c = inspect(bundle.certs[name].crt);
    expect(c.notBefore).toEqual(NOW);
    expect(c.notAfter.getTime() - c.notBefore.getTime()).toBe(87_600 * HOUR_MS);
  });

  it('has a positive serial of at most 128 bits', () => {
    const serial = BigInt(`0x${inspect(bundle.certs[name].crt).node.serialNumber}`);
    expect(serial > 0n).toBe(true);
    expect(serial < 2n ** 128n).toBe(true);
  });

  it('holds the private key of its certificate, written with the Talos label', () => {
    const { crt, key } = bundle.certs[name];
    expect(inspect(crt).node.checkPrivateKey(parsePrivateKeyPem(key))).toBe(true);
    expect(pemLabel(crt)).toBe('CERTIFICATE');
    expect(pemLabel(key)).toBe(keyType === 'ed25519' ? 'ED25519 PRIVATE KEY' : 'EC PRIVATE KEY');
  });
});

describe('generateSecretsBundle (contract 1.13)', () => {
  it('gives every CA its own key, serial and SubjectKeyId', () => {
    const certs = CAS.map(([name]) => inspect(bundle.certs[name].crt));
    expect(new Set(certs.map((c) => c.node.serialNumber)).size).toBe(CAS.length);
    expect(new Set(certs.map((c) => c.subjectKeyIdHex)).size).toBe(CAS.length);
    expect(new Set(certs.map((c) => c.node.fingerprint256)).size).toBe(CAS.length);
  });

  it('makes an RSA 4096 service-account key in PKCS#1', () => {
    const { key } = bundle.certs.k8sserviceaccount;
    expect(pemLabel(key)).toBe('RSA PRIVATE KEY');
    const k = createPrivateKey(key);
    expect(k.asymmetricKeyType).toBe('rsa');
    expect(k.asymmetricKeyDetails?.modulusLength).toBe(4096);
  });

  it('makes tokens in the bootstrap token shape, distinct from each other', () => {
    expect(bundle.secrets.bootstraptoken).toMatch(TOKEN_PATTERN);
    expect(bundle.trustdinfo.token).toMatch(TOKEN_PATTERN);
    expect(bundle.trustdinfo.token).not.toBe(bundle.secrets.bootstraptoken);
  });

  it('makes a secretbox secret (32 bytes, standard base64) and no AES-CBC secret', () => {
    expect(bundle.secrets.aescbcencryptionsecret).toBeUndefined();
    expect(bundle.secrets.secretboxencryptionsecret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(bundle.secrets.secretboxencryptionsecret ?? '', 'base64')).toHaveLength(32);
  });

  it('writes the cluster id URL-safe with padding and the cluster secret standard, both 32 bytes', () => {
    expect(bundle.cluster.id).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(Buffer.from(bundle.cluster.id, 'base64url')).toHaveLength(32);
    expect(bundle.cluster.secret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(bundle.cluster.secret, 'base64')).toHaveLength(32);
  });

  it('passes its own import checks', () => {
    expect(checkSecretsBundle(bundle)).toEqual([]);
  });

  it('makes fresh secrets on every call', async () => {
    const other = await generateSecretsBundle({ contract: { major: 1, minor: 6 } });
    expect(other.cluster.id).not.toBe(bundle.cluster.id);
    expect(other.cluster.secret).not.toBe(bundle.cluster.secret);
    expect(other.certs.os.key).not.toBe(bundle.certs.os.key);
  });
});

describe('generateSecretsBundle: version contract switches', () => {
  it('contract 1.6 uses an ECDSA P-256 service-account key in SEC1', async () => {
    const b = await generateSecretsBundle({ contract: { major: 1, minor: 6 } });
    const { key } = b.certs.k8sserviceaccount;
    expect(pemLabel(key)).toBe('EC PRIVATE KEY');
    expect(createPrivateKey(key).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(checkSecretsBundle(b)).toEqual([]);
  });

  it('contract 1.2 uses an AES-CBC secret instead of secretbox', async () => {
    const b = await generateSecretsBundle({ contract: { major: 1, minor: 2 } });
    expect(b.secrets.secretboxencryptionsecret).toBeUndefined();
    expect(Buffer.from(b.secrets.aescbcencryptionsecret ?? '', 'base64')).toHaveLength(32);
    expect(checkSecretsBundle(b)).toEqual([]);
  });

  it('contract 1.14 writes the cluster id in the standard alphabet', async () => {
    const b = await generateSecretsBundle({ contract: { major: 1, minor: 14 } });
    const raw = Buffer.from(b.cluster.id, 'base64');
    expect(raw).toHaveLength(32);
    expect(b.cluster.id).toBe(raw.toString('base64'));
  });
});
