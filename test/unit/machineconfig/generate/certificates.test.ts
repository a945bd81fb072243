// Certificates and keys inside generated configs, where `gen config` puts them:
// base64 of the PEM in v1alpha1, plain PEM in the 1.14 documents; CA keys on control planes only.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { SecretsBundle } from '../../../../src/machineconfig/bundle.js';
import { generateMachineConfig } from '../../../../src/machineconfig/generate/generate.js';
import { toNodeLoadableKeyPem } from '../../../../src/machineconfig/pem.js';
import { fixtureBundle, GOLDEN_INPUTS, type Plain } from './fixtures.js';

let bundle: SecretsBundle;
beforeAll(async () => {
  bundle = await fixtureBundle();
});

const documents = (role: 'controlplane' | 'worker', talosVersion: string): Plain[] =>
  parseAllDocuments(generateMachineConfig(role, { ...GOLDEN_INPUTS, talosVersion }, bundle)).map(
    (d) => d.toJS() as Plain,
  );
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** a certificate PEM and the key PEM that must belong to it */
function expectMatchingPair(crtPem: string, keyPem: string, organization: string | undefined): X509Certificate {
  const cert = new X509Certificate(crtPem);
  // Node reports an empty subject (the aggregator CA's) as undefined
  expect(cert.subject ?? '').toBe(organization === undefined ? '' : `O=${organization}`);
  expect(cert.ca).toBe(true);
  expect(cert.checkPrivateKey(createPrivateKey(toNodeLoadableKeyPem(keyPem)))).toBe(true);
  return cert;
}

describe('v1alpha1 certificates (contracts up to 1.13)', () => {
  for (const contract of ['1.8', '1.11', '1.12', '1.13']) {
    it(`${contract}: the control plane gets every CA with its key, base64 of the PEM`, () => {
      const { machine, cluster } = documents('controlplane', contract)[0] as Plain;
      expectMatchingPair(unb64(machine.ca.crt), unb64(machine.ca.key), 'talos');
      expectMatchingPair(unb64(cluster.ca.crt), unb64(cluster.ca.key), 'kubernetes');
      expectMatchingPair(unb64(cluster.aggregatorCA.crt), unb64(cluster.aggregatorCA.key), undefined);
      expectMatchingPair(unb64(cluster.etcd.ca.crt), unb64(cluster.etcd.ca.key), 'etcd');
      expect(createPrivateKey(unb64(cluster.serviceAccount.key)).asymmetricKeyType).toBe('rsa');
      expect(unb64(machine.ca.crt)).toBe(bundle.certs.os.crt);
    });

    it(`${contract}: a worker gets the OS and Kubernetes CA certificates with key: ""`, () => {
      const { machine, cluster } = documents('worker', contract)[0] as Plain;
      expect(machine.ca.key).toBe('');
      expect(cluster.ca.key).toBe('');
      expect(new X509Certificate(unb64(machine.ca.crt)).subject).toBe('O=talos');
      expect(new X509Certificate(unb64(cluster.ca.crt)).subject).toBe('O=kubernetes');
      expect(unb64(cluster.ca.crt)).toBe(bundle.certs.k8s.crt);
    });
  }
});

describe('1.14 documents', () => {
  const byKind = (docs: Plain[]) => new Map(docs.map((d) => [d.kind ?? 'v1alpha1', d]));

  it('the control plane gets plain PEMs for the apiserver CA, the aggregator CA and the service-account key', () => {
    const docs = byKind(documents('controlplane', '1.14'));
    const issuing = docs.get('KubeAPIServerCAConfig')?.issuingCA;
    expect(issuing.cert).toBe(bundle.certs.k8s.crt);
    expectMatchingPair(issuing.cert, issuing.key, 'kubernetes');
    const aggregator = docs.get('KubeAggregatorCAConfig')?.issuingCA;
    expectMatchingPair(aggregator.cert, aggregator.key, undefined);
    expect(docs.get('KubeServiceAccountConfig')?.issuer.privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    // the v1alpha1 document still holds base64 of the PEM
    const legacy = docs.get('v1alpha1') as Plain;
    expectMatchingPair(unb64(legacy.machine.ca.crt), unb64(legacy.machine.ca.key), 'talos');
    expectMatchingPair(unb64(legacy.cluster.etcd.ca.crt), unb64(legacy.cluster.etcd.ca.key), 'etcd');
  });

  it('a worker only accepts the Kubernetes CA and holds no CA key', () => {
    const docs = byKind(documents('worker', '1.14'));
    const ca = docs.get('KubeAPIServerCAConfig') as Plain;
    expect(ca).not.toHaveProperty('issuingCA');
    expect(ca.acceptedCAs).toHaveLength(1);
    expect(new X509Certificate(ca.acceptedCAs[0]).subject).toBe('O=kubernetes');
    expect((docs.get('v1alpha1') as Plain).machine.ca.key).toBe('');
    for (const kind of ['KubeAggregatorCAConfig', 'KubeServiceAccountConfig', 'KubeEtcdEncryptionConfig'])
      expect(docs.has(kind)).toBe(false);
  });
});
