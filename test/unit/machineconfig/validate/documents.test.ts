// Multi-document rules, and the 1.14 typed documents: endpoint in KubeClusterConfig, plain-PEM
// certificates and keys in the Kube*CA documents.
import { beforeAll, describe, expect, it } from 'vitest';
import { base64OfText } from '../../../../src/machineconfig/base64.js';
import { issueCertificate } from '../../../../src/machineconfig/pki.js';
import {
  expectProblem,
  makeSecrets,
  problemsAfter,
  type Doc,
  type Family,
  type FixtureRole,
  type FixtureSecrets,
} from './fixtures.js';

let s: FixtureSecrets;
let leafCrt: string;
beforeAll(async () => {
  s = await makeSecrets();
  leafCrt = (await issueCertificate(s.k8s, { extKeyUsage: ['serverAuth'], dnsNames: ['cp'], lifetimeMs: 3600_000 }))
    .crt;
});

const docs = (family: Family, role: FixtureRole, edit: (d: Doc[]) => void) => problemsAfter(s, family, role, edit);
const kindIndex = (d: Doc[], kind: string) => d.findIndex((x) => x.kind === kind);

describe('HostnameConfig', () => {
  it('needs exactly one of auto and hostname', () => {
    expectProblem(
      docs('1.12', 'worker', (d) => (d[1].hostname = 'node-1')),
      'documents[1] (HostnameConfig)',
      'exactly one of auto and hostname, not both',
    );
    expectProblem(
      docs('1.12', 'worker', (d) => delete d[1].auto),
      'documents[1] (HostnameConfig)',
      'exactly one of auto and hostname',
    );
  });

  it('conflicts with machine.network.hostname and features.stableHostname', () => {
    expectProblem(
      docs('1.12', 'worker', (d) => (d[0].machine.network.hostname = 'node-1')),
      'documents[1] (HostnameConfig)',
      'conflicts with machine.network.hostname',
    );
    expectProblem(
      docs('1.12', 'worker', (d) => (d[0].machine.features.stableHostname = true)),
      'documents[1] (HostnameConfig)',
      'conflicts with machine.features.stableHostname',
    );
  });
});

describe('settings moved to typed documents', () => {
  it('the v1alpha1 section is deprecated from the release that has the document, naming what replaces it', () => {
    const problems = docs('1.14', 'worker', (d) => {
      d[0].machine.kubelet = { image: 'ghcr.io/siderolabs/kubelet:v1.37.0-rc.0' };
    });
    expectProblem(problems, 'machine.kubelet', 'configure it with a KubeletConfig document', 'warning');
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    const network = docs('1.13', 'worker', (d) => {
      d[0].machine.network = { kubespan: { enabled: false } };
      d.push({ apiVersion: 'v1alpha1', kind: 'KubeSpanConfig', enabled: true });
    });
    // one warning for the section: what it holds is covered by it
    expect(network.map((p) => [p.severity, p.path])).toEqual([['warning', 'machine.network']]);
  });
});

describe('1.14 multi-document configs', () => {
  it('the endpoint may come from KubeClusterConfig, which is checked like cluster.controlPlane.endpoint', () => {
    expectProblem(
      docs('1.14', 'worker', (d) => (d[kindIndex(d, 'KubeClusterConfig')].endpoint = 'http://cp:6443')),
      'documents[1] (KubeClusterConfig).endpoint',
      'must be an https:// URL',
    );
    expectProblem(
      docs('1.14', 'worker', (d) => d.splice(kindIndex(d, 'KubeClusterConfig'), 1)),
      'cluster.controlPlane.endpoint',
      'or `endpoint` in a KubeClusterConfig document',
    );
  });

  it('certificates and keys are plain PEM there, not base64', () => {
    const problems = docs(
      '1.14',
      'controlplane',
      (d) => (d[kindIndex(d, 'KubeAPIServerCAConfig')].issuingCA.cert = base64OfText(s.k8s.crt)),
    );
    expectProblem(
      problems,
      'documents[3] (KubeAPIServerCAConfig).issuingCA.cert',
      'must be PEM text in this document, not base64',
    );
  });

  it('a key must match the certificate beside it, and CA documents hold CAs', () => {
    const mismatch = docs(
      '1.14',
      'controlplane',
      (d) => (d[kindIndex(d, 'KubeAggregatorCAConfig')].issuingCA.key = s.k8s.key),
    );
    expectProblem(
      mismatch,
      'documents[4] (KubeAggregatorCAConfig).issuingCA.key',
      'does not match the certificate in issuingCA.cert',
    );
    const leaf = docs('1.14', 'worker', (d) => (d[kindIndex(d, 'KubeAPIServerCAConfig')].acceptedCAs = [leafCrt]));
    expectProblem(leaf, 'documents[3] (KubeAPIServerCAConfig).acceptedCAs[0]', 'not a CA certificate');
  });

  it('a worker must not hold the Kubernetes CA key', () => {
    const problems = docs(
      '1.14',
      'worker',
      (d) => (d[kindIndex(d, 'KubeAPIServerCAConfig')].issuingCA = { cert: s.k8s.crt, key: s.k8s.key }),
    );
    const p = expectProblem(
      problems,
      'documents[3] (KubeAPIServerCAConfig).issuingCA.key',
      'a worker must not hold the Kubernetes CA private key',
    );
    expect(p.message).not.toContain(s.k8s.key.split('\n')[1]);
  });

  it('a broken PEM in a typed document is reported at its path', () => {
    const broken = s.serviceAccountKey.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
    expectProblem(
      docs('1.14', 'controlplane', (d) => (d[kindIndex(d, 'KubeServiceAccountConfig')].issuer.privateKey = broken)),
      'documents[5] (KubeServiceAccountConfig).issuer.privateKey',
      'no valid base64 body',
    );
  });
});
