// Certificates and keys (base64 of PEM in v1alpha1, Talos's PEM labels) and who holds the CA keys
// (control planes only), with real CAs from pki.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { base64OfText } from '../../../../src/machineconfig/base64.js';
import { generatePrivateKey, privateKeyToTalosPem } from '../../../../src/machineconfig/keys.js';
import { encodePem, PEM_LABEL } from '../../../../src/machineconfig/pem.js';
import { issueCertificate } from '../../../../src/machineconfig/pki.js';
import {
  expectProblem,
  makeSecrets,
  problemsAfter,
  type Doc,
  type FixtureRole,
  type FixtureSecrets,
} from './fixtures.js';

let s: FixtureSecrets;
let leafCrt: string;
let ed25519KeyPem: string;
beforeAll(async () => {
  s = await makeSecrets();
  leafCrt = (
    await issueCertificate(s.os, { extKeyUsage: ['clientAuth'], organizations: ['os:admin'], lifetimeMs: 3600_000 })
  ).crt;
  ed25519KeyPem = privateKeyToTalosPem(await generatePrivateKey('ed25519'));
});

const on = (role: FixtureRole, edit: (v1: Doc) => void) => problemsAfter(s, '1.13', role, (d) => edit(d[0]));
const cp = (edit: (v1: Doc) => void) => on('controlplane', edit);

describe('who holds the CA keys', () => {
  it('a control plane needs machine.ca with its key', () => {
    expectProblem(
      cp((v) => (v.machine.ca.key = '')),
      'machine.ca.key',
      'required on a control plane',
    );
    expectProblem(
      cp((v) => delete v.machine.ca),
      'machine.ca.crt',
      'required on a control plane',
    );
  });

  it('a worker must have machine.ca.key empty', () => {
    expectProblem(
      on('worker', (v) => (v.machine.ca.key = base64OfText(s.os.key))),
      'machine.ca.key',
      'must be empty on a worker',
    );
  });

  it('a worker must have cluster.ca.key empty', () => {
    expectProblem(
      on('worker', (v) => (v.cluster.ca.key = base64OfText(s.k8s.key))),
      'cluster.ca.key',
      'must be empty on a worker',
    );
  });

  it('neither machine.ca nor machine.acceptedCAs is an error; acceptedCAs alone will do on a worker', () => {
    expectProblem(
      on('worker', (v) => delete v.machine.ca),
      'machine.ca',
      'machine.ca.crt or machine.acceptedCAs',
    );
    const accepted = on('worker', (v) => {
      delete v.machine.ca;
      v.machine.acceptedCAs = [{ crt: base64OfText(s.os.crt) }];
    });
    expect(accepted.filter((p) => p.path.startsWith('machine.ca') || p.path.startsWith('machine.acceptedCAs'))).toEqual(
      [],
    );
  });
});

describe('certificate and key contents', () => {
  it('a certificate must be base64 of a PEM, not the PEM itself', () => {
    expectProblem(
      cp((v) => (v.cluster.ca.crt = s.k8s.crt)),
      'cluster.ca.crt',
      'must be base64 of the PEM',
    );
    expectProblem(
      cp((v) => (v.cluster.ca.crt = 'not base64 %%')),
      'cluster.ca.crt',
      'is not base64',
    );
  });

  it('a certificate field must hold a CERTIFICATE block that parses', () => {
    expectProblem(
      cp((v) => (v.cluster.aggregatorCA.crt = base64OfText(s.aggregator.key))),
      'cluster.aggregatorCA.crt',
      'PEM label "EC PRIVATE KEY" is not CERTIFICATE',
    );
    expectProblem(
      cp((v) => (v.cluster.aggregatorCA.crt = base64OfText(encodePem('CERTIFICATE', Buffer.from('not DER'))))),
      'cluster.aggregatorCA.crt',
      'not a parseable X.509 certificate',
    );
    expectProblem(
      cp((v) => (v.cluster.aggregatorCA.crt = base64OfText('hello'))),
      'cluster.aggregatorCA.crt',
      'no PEM block found',
    );
  });

  it('CA fields must hold CA certificates', () => {
    expectProblem(
      on('worker', (v) => (v.machine.ca.crt = base64OfText(leafCrt))),
      'machine.ca.crt',
      'not a CA certificate',
    );
    expectProblem(
      on('worker', (v) => (v.machine.acceptedCAs = [{ crt: base64OfText(leafCrt) }])),
      'machine.acceptedCAs[0].crt',
      'not a CA certificate',
    );
  });

  it('a key must match its certificate (public keys compared)', () => {
    expectProblem(
      cp((v) => (v.machine.ca.key = base64OfText(s.otherOS.key))),
      'machine.ca.key',
      'does not match the certificate in machine.ca.crt',
    );
    expectProblem(
      cp((v) => (v.cluster.etcd.ca.key = base64OfText(s.k8s.key))),
      'cluster.etcd.ca.key',
      'does not match',
    );
  });

  it('accepts every key label Talos accepts, including generic PKCS#8', () => {
    const relabelled = s.os.key.replaceAll(PEM_LABEL.ed25519PrivateKey, PEM_LABEL.pkcs8PrivateKey);
    expect(cp((v) => (v.machine.ca.key = base64OfText(relabelled))).filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('an unsupported key label is refused', () => {
    const openssh = s.os.key.replaceAll(PEM_LABEL.ed25519PrivateKey, 'OPENSSH PRIVATE KEY');
    expectProblem(
      cp((v) => (v.machine.ca.key = base64OfText(openssh))),
      'machine.ca.key',
      'not a supported private key label',
    );
  });

  it('a key without its certificate is an error', () => {
    expectProblem(
      cp((v) => delete v.cluster.aggregatorCA.crt),
      'cluster.aggregatorCA.crt',
      'has a key but no certificate',
    );
  });

  it('the service-account key must be RSA or ECDSA', () => {
    expectProblem(
      cp((v) => (v.cluster.serviceAccount.key = base64OfText(ed25519KeyPem))),
      'cluster.serviceAccount.key',
      'must be an RSA or ECDSA key, not ed25519',
    );
    expectProblem(
      cp((v) => (v.cluster.serviceAccount.key = base64OfText(s.k8s.crt))),
      'cluster.serviceAccount.key',
      'not a supported private key label',
    );
  });

  it('no message quotes key or certificate material', () => {
    const problems = cp((v) => {
      v.machine.ca.key = base64OfText(s.otherOS.key);
      v.cluster.ca.crt = s.k8s.crt;
      v.cluster.serviceAccount.key = base64OfText(ed25519KeyPem);
      v.cluster.aggregatorCA.crt = base64OfText(s.aggregator.key);
    });
    expect(problems.length).toBeGreaterThanOrEqual(4);
    const text = JSON.stringify(problems);
    for (const secret of [s.otherOS.key, s.k8s.crt, ed25519KeyPem, s.aggregator.key]) {
      const body = secret.split('\n')[1] ?? '';
      expect(body.length).toBeGreaterThan(20);
      expect(text).not.toContain(body.slice(0, 20));
      expect(text).not.toContain(base64OfText(secret).slice(0, 20));
    }
  });
});
