// Hand-built minimal valid machine configs, one per contract family (1.11, 1.12, 1.13, 1.14
// multi-document), laid out as `gen config` writes them, with real CAs from
// src/machineconfig/pki.ts so the certificate checks run for real. Tests change a copy and look for
// the one problem they made.
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { base64OfText } from '../../../../src/machineconfig/base64.js';
import { generatePrivateKey, privateKeyToTalosPem } from '../../../../src/machineconfig/keys.js';
import { createCA, type CertAndKeyPem } from '../../../../src/machineconfig/pki.js';
import { generateSecret, generateToken } from '../../../../src/machineconfig/tokens.js';
import { validateMachineConfig, type ConfigProblem } from '../../../../src/machineconfig/validate/index.js';

export interface FixtureSecrets {
  os: CertAndKeyPem;
  k8s: CertAndKeyPem;
  etcd: CertAndKeyPem;
  aggregator: CertAndKeyPem;
  /** a second Ed25519 CA, for "key does not match" cases */
  otherOS: CertAndKeyPem;
  serviceAccountKey: string;
  trustdToken: string;
  bootstrapToken: string;
  clusterId: string;
  clusterSecret: string;
  secretbox: string;
}

export async function makeSecrets(): Promise<FixtureSecrets> {
  const [os, k8s, etcd, aggregator, otherOS, saKey] = await Promise.all([
    createCA({ organization: 'talos', algorithm: 'ed25519' }),
    createCA({ organization: 'kubernetes', algorithm: 'ecdsa-p256' }),
    createCA({ organization: 'etcd', algorithm: 'ecdsa-p256' }),
    createCA({ algorithm: 'ecdsa-p256' }),
    createCA({ organization: 'talos', algorithm: 'ed25519' }),
    generatePrivateKey('rsa-4096'),
  ]);
  return {
    os,
    k8s,
    etcd,
    aggregator,
    otherOS,
    serviceAccountKey: privateKeyToTalosPem(saKey),
    trustdToken: generateToken(),
    bootstrapToken: generateToken(),
    clusterId: generateSecret(32, 'url'),
    clusterSecret: generateSecret(),
    secretbox: generateSecret(),
  };
}

export type Family = '1.11' | '1.12' | '1.13' | '1.14';
export type FixtureRole = 'controlplane' | 'worker';

/** The Kubernetes version gen config defaults to for each family. */
export const KUBERNETES_BY_FAMILY: Record<Family, string> = {
  '1.11': '1.34.1',
  '1.12': '1.35.4',
  '1.13': '1.36.3',
  '1.14': '1.37.0-rc.0',
};
export const TALOS_BY_FAMILY: Record<Family, string> = {
  '1.11': 'v1.11.6',
  '1.12': 'v1.12.11',
  '1.13': 'v1.13.9',
  '1.14': 'v1.14.0-rc.1',
};

export const ENDPOINT = 'https://cp.example.com:6443';

export type Doc = Record<string, any>;

const pair = (ca: CertAndKeyPem, withKey: boolean) => ({
  crt: base64OfText(ca.crt),
  key: withKey ? base64OfText(ca.key) : '',
});

function v1alpha1Document(s: FixtureSecrets, family: Family, role: FixtureRole): Doc {
  const cp = role === 'controlplane';
  const k = KUBERNETES_BY_FAMILY[family];
  const p12 = family !== '1.11';
  const features: Doc = {
    ...(p12 ? {} : { rbac: true, stableHostname: true, apidCheckExtKeyUsage: true }),
    diskQuotaSupport: true,
    kubePrism: { enabled: true, port: 7445 },
    hostDNS: { enabled: true, forwardKubeDNSToHost: true },
  };
  const machine: Doc = {
    type: role,
    token: s.trustdToken,
    ca: pair(s.os, cp),
    certSANs: [],
    kubelet: {
      image: `ghcr.io/siderolabs/kubelet:v${k}`,
      defaultRuntimeSeccompProfileEnabled: true,
      disableManifestsDirectory: true,
    },
    ...(family === '1.13' ? {} : { network: {} }),
    install: {
      disk: '/dev/sda',
      image: `ghcr.io/siderolabs/installer:${TALOS_BY_FAMILY[family]}`,
      wipe: false,
      ...(p12 ? { grubUseUKICmdline: true } : {}),
    },
    features,
    ...(cp ? { nodeLabels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } } : {}),
  };
  const cluster: Doc = {
    id: s.clusterId,
    secret: s.clusterSecret,
    controlPlane: { endpoint: ENDPOINT },
    clusterName: 'demo',
    network: { dnsDomain: 'cluster.local', podSubnets: ['10.244.0.0/16'], serviceSubnets: ['10.96.0.0/12'] },
    token: s.bootstrapToken,
    ...(cp ? { secretboxEncryptionSecret: s.secretbox } : {}),
    ca: pair(s.k8s, cp),
    ...(cp
      ? {
          aggregatorCA: pair(s.aggregator, true),
          serviceAccount: { key: base64OfText(s.serviceAccountKey) },
          apiServer: {
            image: `registry.k8s.io/kube-apiserver:v${k}`,
            certSANs: p12 ? [] : ['cp.example.com'],
            ...(p12 ? {} : { disablePodSecurityPolicy: true }),
            admissionControl: [
              {
                name: 'PodSecurity',
                configuration: {
                  apiVersion: 'pod-security.admission.config.k8s.io/v1alpha1',
                  kind: 'PodSecurityConfiguration',
                  defaults: { enforce: 'baseline' },
                },
              },
            ],
            auditPolicy: { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata' }] },
          },
          controllerManager: { image: `registry.k8s.io/kube-controller-manager:v${k}` },
          proxy: { image: `registry.k8s.io/kube-proxy:v${k}` },
          scheduler: { image: `registry.k8s.io/kube-scheduler:v${k}` },
        }
      : {}),
    discovery: { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } },
    ...(cp ? { etcd: { ca: pair(s.etcd, true) } } : {}),
  };
  return { version: 'v1alpha1', debug: false, persist: true, machine, cluster };
}

/**
 * 1.14 "multi-doc everything": a slim v1alpha1 document plus Kube* and other documents, PEMs in
 * plain text, with the fields of Talos 1.14's schema.
 */
function multiDocument(s: FixtureSecrets, role: FixtureRole): Doc[] {
  const cp = role === 'controlplane';
  const k = KUBERNETES_BY_FAMILY['1.14'];
  const doc = (kind: string, body: Doc = {}): Doc => ({ apiVersion: 'v1alpha1', kind, ...body });
  const v1: Doc = {
    version: 'v1alpha1',
    machine: {
      type: role,
      token: s.trustdToken,
      ca: pair(s.os, cp),
      certSANs: [],
      features: { diskQuotaSupport: true },
    },
    cluster: { token: s.bootstrapToken, ...(cp ? { etcd: { ca: pair(s.etcd, true) } } : {}) },
  };
  return [
    v1,
    doc('KubeClusterConfig', { clusterName: 'demo', endpoint: ENDPOINT }),
    doc('KubeletConfig', { image: `ghcr.io/siderolabs/kubelet:v${k}` }),
    cp
      ? doc('KubeAPIServerCAConfig', { issuingCA: { cert: s.k8s.crt, key: s.k8s.key } })
      : doc('KubeAPIServerCAConfig', { acceptedCAs: [s.k8s.crt] }),
    ...(cp
      ? [
          doc('KubeAggregatorCAConfig', { issuingCA: { cert: s.aggregator.crt, key: s.aggregator.key } }),
          doc('KubeServiceAccountConfig', { issuer: { issuerURL: ENDPOINT, privateKey: s.serviceAccountKey } }),
          doc('KubeAPIServerConfig', { image: `registry.k8s.io/kube-apiserver:v${k}` }),
        ]
      : []),
    doc('HostnameConfig', { auto: 'stable' }),
    doc('UnattendedInstall', { provisioning: { diskSelector: { match: 'disk.dev_path == "/dev/sda"' } } }),
    doc('ResolverConfig', { hostDNS: { enabled: true, forwardKubeDNSToHost: true } }),
    doc('DiscoveryServiceConfig', { name: 'default', endpoint: 'https://discovery.talos.dev/' }),
    doc('VolumeConfig', { name: 'EPHEMERAL', mount: { secure: true } }),
  ];
}

/** The documents of a valid config; tests edit them (they are fresh objects each call). */
export function buildDocuments(s: FixtureSecrets, family: Family, role: FixtureRole): Doc[] {
  if (family === '1.14') return multiDocument(s, role);
  const v1 = v1alpha1Document(s, family, role);
  return family === '1.11' ? [v1] : [v1, { apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'stable' }];
}

export function toYaml(docs: Doc[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** A valid config's YAML after `edit` changed its documents ([0] is the v1alpha1 document). */
export function yamlWith(s: FixtureSecrets, family: Family, role: FixtureRole, edit: (docs: Doc[]) => void): string {
  const docs = buildDocuments(s, family, role);
  edit(docs);
  return toYaml(docs);
}

function format(problems: readonly ConfigProblem[]): string {
  return (
    problems
      .map((p) => `  ${p.severity} ${p.path}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`)
      .join('\n') || '  (none)'
  );
}

/** The problem at `path` whose message contains `fragment`; fails the test, listing all problems, when there is none. */
export function expectProblem(
  problems: readonly ConfigProblem[],
  path: string,
  fragment: string,
  severity: 'error' | 'warning' = 'error',
): ConfigProblem {
  const found = problems.find((p) => p.path === path && p.message.includes(fragment) && p.severity === severity);
  expect(found, `expected ${severity} at ${path} containing "${fragment}", got:\n${format(problems)}`).toBeDefined();
  return found as ConfigProblem;
}

export function expectNoErrors(problems: readonly ConfigProblem[]): void {
  const errors = problems.filter((p) => p.severity === 'error');
  expect(errors, `expected no errors, got:\n${format(errors)}`).toEqual([]);
}

export function expectNoProblems(problems: readonly ConfigProblem[]): void {
  expect(problems, `expected no problems, got:\n${format(problems)}`).toEqual([]);
}

export interface CheckOptions {
  talosVersion?: string;
  mode?: 'metal' | 'container';
}

/** Problems of a fixture config after `edit`, validated for the family's own Talos version unless told otherwise. */
export function problemsAfter(
  s: FixtureSecrets,
  family: Family,
  role: FixtureRole,
  edit: (docs: Doc[]) => void,
  opts: CheckOptions = {},
): ConfigProblem[] {
  return validateMachineConfig(yamlWith(s, family, role, edit), {
    talosVersion: opts.talosVersion ?? TALOS_BY_FAMILY[family],
    ...(opts.mode ? { mode: opts.mode } : {}),
  });
}
