// What each version contract may and must contain, as `gen config` writes it: keys a younger
// contract must not get, keys an older one must keep, the 1.14 multi-document layout.
import { beforeAll, describe, expect, it } from 'vitest';
import type { SecretsBundle } from '../../../../src/machineconfig/bundle.js';
import { parseConfigStream, stringifyConfigStream } from '../../../../src/machineconfig/configstream.js';
import { generateMachineConfig } from '../../../../src/machineconfig/generate/generate.js';
import { inV1Alpha1KeyOrder } from '../../../../src/machineconfig/patch/keyorder.js';
import { fixtureBundle, GOLDEN_INPUTS, type Plain, yamlDocuments } from './fixtures.js';

const ROLES = ['controlplane', 'worker'] as const;
const LEGACY_CONTRACTS = ['1.8', '1.9', '1.10', '1.11'];
const ALL_CONTRACTS = [...LEGACY_CONTRACTS, '1.12', '1.13', '1.14'];
/** the tag a bare minor resolves to (the newest of its line) */
const NEWEST_TAG: Record<string, string> = { '1.8': 'v1.8.4', '1.9': 'v1.9.6', '1.10': 'v1.10.9', '1.11': 'v1.11.6' };

let bundle: SecretsBundle;
beforeAll(async () => {
  bundle = await fixtureBundle();
});

const generate = (role: (typeof ROLES)[number], talosVersion: string, extra: Plain = {}) =>
  generateMachineConfig(role, { ...GOLDEN_INPUTS, talosVersion, ...extra }, bundle);
const documents = yamlDocuments;
const kinds = (yaml: string) => documents(yaml).map((d) => d.kind ?? 'v1alpha1');
const v1alpha1 = (yaml: string): Plain => documents(yaml)[0] as Plain;
/** a YAML line that has `key` as its mapping key (a value such as `name: rbac` does not count) */
const keyLine = (key: string) => new RegExp(`^[ -]*${key}:`, 'm');
const DROPPED_IN_112 = ['rbac', 'stableHostname', 'apidCheckExtKeyUsage', 'disablePodSecurityPolicy'];

describe('contracts 1.8 to 1.11', () => {
  it('produce byte-identical output for the same Kubernetes version and install image', () => {
    const pinned = { kubernetesVersion: '1.31.4', installImage: 'ghcr.io/siderolabs/installer:v1.8.4' };
    for (const role of ROLES) {
      const reference = generate(role, '1.8', pinned);
      for (const contract of LEGACY_CONTRACTS.slice(1)) expect(generate(role, contract, pinned)).toBe(reference);
    }
  });

  it('differ with default inputs only in the version strings', () => {
    for (const role of ROLES) {
      const old = generate(role, '1.8').replaceAll('1.31.4', 'K').replaceAll('v1.8.4', 'T');
      const young = generate(role, '1.11').replaceAll('1.34.1', 'K').replaceAll('v1.11.6', 'T');
      expect(young).toBe(old);
      expect(generate(role, '1.8')).not.toBe(generate(role, '1.11'));
    }
  });

  it('write the v1alpha1 document alone, with the features and apiserver settings 1.12 dropped', () => {
    for (const contract of LEGACY_CONTRACTS) {
      const cp = generate('controlplane', contract);
      expect(kinds(cp)).toEqual(['v1alpha1']);
      const { machine, cluster } = v1alpha1(cp);
      expect(machine.features).toMatchObject({ rbac: true, stableHostname: true, apidCheckExtKeyUsage: true });
      expect(cluster.apiServer.disablePodSecurityPolicy).toBe(true);
      expect(cluster.apiServer.certSANs).toEqual(['10.5.0.2']);
      expect(machine.install).toEqual({
        disk: '/dev/sda',
        image: `ghcr.io/siderolabs/installer:${NEWEST_TAG[contract]}`,
        wipe: false,
      });
      for (const key of DROPPED_IN_112) expect(cp).toMatch(keyLine(key));
      expect(cp).not.toMatch(keyLine('grubUseUKICmdline'));
      expect(cp).not.toContain('HostnameConfig');
    }
  });

  it('1.8 gets none of the keys 1.9 introduced', () => {
    const text = generate('controlplane', '1.8');
    for (const key of [
      'imageCache',
      'nodeAddressSortAlgorithm',
      'baseRuntimeSpecOverrides',
      'searchDomains',
      'authorizationConfig',
    ]) {
      expect(text).not.toMatch(keyLine(key));
    }
  });
});

describe('contracts 1.12 and 1.13', () => {
  for (const contract of ['1.12', '1.13']) {
    it(`${contract}: HostnameConfig replaces stableHostname; rbac, apidCheckExtKeyUsage and disablePodSecurityPolicy are gone`, () => {
      for (const role of ROLES) {
        const text = generate(role, contract);
        expect(kinds(text)).toEqual(['v1alpha1', 'HostnameConfig']);
        expect(documents(text)[1]).toEqual({ apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'stable' });
        for (const key of DROPPED_IN_112) expect(text).not.toMatch(keyLine(key));
        expect(v1alpha1(text).machine.install.grubUseUKICmdline).toBe(true);
      }
    });
  }

  it('the apiserver SANs list only the additional SANs, never the endpoint host', () => {
    expect(v1alpha1(generate('controlplane', '1.12')).cluster.apiServer).not.toHaveProperty('certSANs');
    const withSans = v1alpha1(generate('controlplane', '1.13', { certSANs: ['api.example'] }));
    expect(withSans.cluster.apiServer.certSANs).toEqual(['api.example']);
    expect(withSans.machine.certSANs).toEqual(['api.example']);
  });
});

describe('machine.network: {}', () => {
  it('is written up to 1.12 and not from 1.13 on', () => {
    for (const contract of ALL_CONTRACTS) {
      for (const role of ROLES) {
        const { machine } = v1alpha1(generate(role, contract));
        if (['1.13', '1.14'].includes(contract)) expect(machine).not.toHaveProperty('network');
        else expect(machine.network).toEqual({});
      }
    }
  });
});

describe('contract 1.14: the multi-document layout', () => {
  it('keeps only machine.{type, token, ca, certSANs, features.diskQuotaSupport} and cluster.{token, etcd.ca} in v1alpha1', () => {
    const cp = v1alpha1(generate('controlplane', '1.14'));
    expect(Object.keys(cp)).toEqual(['version', 'debug', 'persist', 'machine', 'cluster']);
    expect(Object.keys(cp.machine)).toEqual(['type', 'token', 'ca', 'certSANs', 'features']);
    expect(cp.machine.features).toEqual({ diskQuotaSupport: true });
    expect(Object.keys(cp.cluster)).toEqual(['token', 'etcd']);
    expect(Object.keys(cp.cluster.etcd)).toEqual(['ca']);
    for (const key of DROPPED_IN_112) expect(generate('controlplane', '1.14')).not.toMatch(keyLine(key));
    const worker = v1alpha1(generate('worker', '1.14'));
    expect(Object.keys(worker.machine)).toEqual(['type', 'token', 'ca', 'certSANs', 'features']);
    expect(Object.keys(worker.cluster)).toEqual(['token']);
  });

  it('moves the Kubernetes settings into Kube*Config documents and adds the 1.14 machine documents', () => {
    const machineKinds = [
      'UnattendedInstall',
      'ResolverConfig',
      'DiscoveryServiceConfig',
      'DiscoveryIdentityConfig',
      'VolumeConfig',
      'FilesystemTrimConfig',
      'SecurityProfileConfig',
    ];
    const nodeKinds = [
      'KubeClusterConfig',
      'KubeNodeConfig',
      'KubeletConfig',
      'KubeNetworkConfig',
      'KubeAPIServerCAConfig',
      'KubePrismConfig',
    ];
    expect(kinds(generate('worker', '1.14'))).toEqual(['v1alpha1', 'HostnameConfig', ...nodeKinds, ...machineKinds]);
    expect(kinds(generate('controlplane', '1.14'))).toEqual([
      'v1alpha1',
      'HostnameConfig',
      ...nodeKinds,
      'KubeAggregatorCAConfig',
      'KubeAdmissionControlConfig',
      'KubeAuditPolicyConfig',
      'KubeAuthenticationConfig',
      'KubeAuthorizerConfig',
      'KubeAuthorizerConfig',
      'KubeEtcdEncryptionConfig',
      'KubeServiceAccountConfig',
      'KubeAPIServerConfig',
      'KubeControllerManagerConfig',
      'KubeSchedulerConfig',
      'KubeProxyConfig',
      'KubeFlannelCNIConfig',
      'KubeCoreDNSConfig',
      ...machineKinds,
    ]);
  });

  it('writes the 1.14 documents with their values', () => {
    const byKind = new Map(documents(generate('controlplane', '1.14')).map((d) => [d.kind ?? 'v1alpha1', d]));
    expect(byKind.get('VolumeConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'VolumeConfig',
      name: 'EPHEMERAL',
      mount: { secure: true },
    });
    expect(byKind.get('FilesystemTrimConfig')?.interval).toBe('168h');
    expect(byKind.get('SecurityProfileConfig')?.workloadIsolation).toBe(true);
    expect(byKind.get('KubeClusterConfig')).toMatchObject({ clusterName: 'golden', endpoint: 'https://10.5.0.2:6443' });
    const authorizers = documents(generate('controlplane', '1.14')).filter((d) => d.kind === 'KubeAuthorizerConfig');
    expect(authorizers.map((a) => [a.name, a.type])).toEqual([
      ['node', 'Node'],
      ['rbac', 'RBAC'],
    ]);
    expect(byKind.get('KubeletConfig')?.image).toBe('ghcr.io/siderolabs/kubelet:v1.37.0-rc.0');
    expect(byKind.get('UnattendedInstall')).toMatchObject({
      installer: {
        image:
          'factory.talos.dev/metal-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.14.0-rc.1',
      },
      provisioning: { diskSelector: { match: 'disk.dev_path == "/dev/sda"' }, wipe: false },
    });
    expect(byKind.get('DiscoveryServiceConfig')).toMatchObject({
      name: 'default',
      endpoint: 'https://discovery.talos.dev/',
    });
    expect(byKind.get('KubeServiceAccountConfig')?.issuer.issuerURL).toBe('https://10.5.0.2:6443');
    expect(byKind.get('KubeEtcdEncryptionConfig')?.config.resources[0].resources).toEqual(['secrets']);
    expect(byKind.get('KubeFlannelCNIConfig')).toMatchObject({ backendType: 'vxlan', backendPort: 4789 });
    expect(byKind.get('DiscoveryIdentityConfig')).toMatchObject({
      clusterID: bundle.cluster.id,
      clusterSecret: bundle.cluster.secret,
    });
  });

  it('no contract before 1.14 gets any 1.14 kind, and before 1.12 no extra document at all', () => {
    for (const contract of ALL_CONTRACTS.filter((c) => c !== '1.14')) {
      for (const role of ROLES)
        expect(generate(role, contract)).not.toMatch(
          /kind: (Kube\w*Config|UnattendedInstall|VolumeConfig|SecurityProfileConfig)/,
        );
    }
  });

  it('leaves flannel out when the CNI is none, and deploys a custom CNI as external manifests', () => {
    const none = generate('controlplane', '1.14', { network: { cni: { name: 'none' } } });
    expect(kinds(none)).not.toContain('KubeFlannelCNIConfig');
    expect(kinds(none)).not.toContain('KubeExternalManifestConfig');
    expect(documents(none).find((d) => d.kind === 'KubeNetworkConfig')).not.toHaveProperty('cni');
    const urls = ['https://example.com/a.yaml', 'https://example.com/b.yaml'];
    const custom = generate('controlplane', '1.14', { network: { cni: { name: 'custom', urls } } });
    expect(kinds(custom)).not.toContain('KubeFlannelCNIConfig');
    expect(documents(custom).filter((d) => d.kind === 'KubeExternalManifestConfig')).toEqual([
      { apiVersion: 'v1alpha1', kind: 'KubeExternalManifestConfig', name: 'custom-cni-0', url: urls[0] },
      { apiVersion: 'v1alpha1', kind: 'KubeExternalManifestConfig', name: 'custom-cni-1', url: urls[1] },
    ]);
    // a worker deploys nothing: the manifests are applied from the control plane
    expect(kinds(generate('worker', '1.14', { network: { cni: { name: 'custom', urls } } }))).not.toContain(
      'KubeExternalManifestConfig',
    );
  });

  it('keeps workloads off control planes with the control-plane taint, unless scheduling on them is allowed', () => {
    const taints = (role: 'controlplane' | 'worker', extra: Plain = {}) =>
      documents(generate(role, '1.14', extra)).find((d) => d.kind === 'KubeNodeConfig')?.taints;
    expect(taints('controlplane')).toEqual({ 'node-role.kubernetes.io/control-plane': 'NoSchedule' });
    expect(taints('controlplane', { allowSchedulingOnControlPlanes: true })).toBeUndefined();
    expect(taints('worker')).toBeUndefined();
    expect(taints('controlplane', { nodeTaints: { dedicated: 'edge:NoSchedule' } })).toEqual({
      dedicated: 'edge:NoSchedule',
      'node-role.kubernetes.io/control-plane': 'NoSchedule',
    });
  });
});

describe('values per role', () => {
  it('a worker gets no control-plane secrets or components but the cluster name', () => {
    for (const contract of ['1.8', '1.13']) {
      const { machine, cluster } = v1alpha1(generate('worker', contract));
      expect(machine.type).toBe('worker');
      expect(machine).not.toHaveProperty('nodeLabels');
      expect(cluster.clusterName).toBe('golden');
      for (const key of [
        'secretboxEncryptionSecret',
        'aggregatorCA',
        'serviceAccount',
        'apiServer',
        'controllerManager',
        'proxy',
        'scheduler',
        'etcd',
      ]) {
        expect(cluster).not.toHaveProperty(key);
      }
      expect(cluster.discovery).toEqual({ enabled: true, registries: { kubernetes: { disabled: true }, service: {} } });
    }
  });

  it('a control plane carries the exclude-from-external-LB label and the shared tokens', () => {
    const { machine, cluster } = v1alpha1(generate('controlplane', '1.13'));
    expect(machine.nodeLabels).toEqual({ 'node.kubernetes.io/exclude-from-external-load-balancers': '' });
    expect(machine.token).toBe(bundle.trustdinfo.token);
    expect(cluster.token).toBe(bundle.secrets.bootstraptoken);
    expect(cluster.secretboxEncryptionSecret).toBe(bundle.secrets.secretboxencryptionsecret);
    expect(cluster).not.toHaveProperty('allowSchedulingOnControlPlanes');
    expect(
      v1alpha1(generate('controlplane', '1.13', { allowSchedulingOnControlPlanes: true })).cluster
        .allowSchedulingOnControlPlanes,
    ).toBe(true);
  });
});

describe('emission', () => {
  it('writes every v1alpha1 document in Talos struct order', () => {
    for (const contract of ALL_CONTRACTS) {
      for (const role of ROLES) {
        const text = generate(role, contract, {
          nodeTaints: { a: 'b:NoSchedule' },
          network: { cni: { name: 'custom', urls: ['https://x.example/cni.yaml'] } },
        });
        const [first, ...rest] = parseConfigStream(text);
        expect(stringifyConfigStream([inV1Alpha1KeyOrder(first!), ...rest])).toBe(text);
      }
    }
  });

  it('is deterministic, uses 2-space indentation and separates documents with ---', () => {
    const text = generate('controlplane', '1.14');
    expect(generate('controlplane', '1.14')).toBe(text);
    expect(text).toMatch(/^machine:\n {2}type: controlplane$/m);
    expect(text.split('\n').filter((l) => l === '---')).toHaveLength(kinds(text).length - 1);
    expect(text.startsWith('version: v1alpha1\n')).toBe(true);
  });
});
