// Machine-section rules (other than networking and CA keys), one failing case per rule.
import { beforeAll, describe, expect, it } from 'vitest';
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
beforeAll(async () => {
  s = await makeSecrets();
});

const on = (role: FixtureRole, edit: (v1: Doc) => void, family: Family = '1.13') =>
  problemsAfter(s, family, role, (d) => edit(d[0]));
const cp = (edit: (v1: Doc) => void, family: Family = '1.13') => on('controlplane', edit, family);
const pathsUnder = (problems: { path: string }[], prefix: string) => problems.filter((p) => p.path.startsWith(prefix));

describe('machine entries', () => {
  it('certSANs entries are IPs or DNS names (wildcards allowed)', () => {
    const problems = cp((v) => (v.machine.certSANs = ['10.0.0.1', '*.example.com', 'bad name', '']));
    expectProblem(problems, 'machine.certSANs[2]', 'neither an IP address nor a DNS name');
    expectProblem(problems, 'machine.certSANs[3]', 'neither an IP address nor a DNS name');
    expect(pathsUnder(problems, 'machine.certSANs[0]')).toEqual([]);
    expect(pathsUnder(problems, 'machine.certSANs[1]')).toEqual([]);
  });

  it('forwardKubeDNSToHost needs hostDNS enabled, from 1.13', () => {
    const edit = (v: Doc) => (v.machine.features.hostDNS = { enabled: false, forwardKubeDNSToHost: true });
    expectProblem(
      cp(edit),
      'machine.features.hostDNS.forwardKubeDNSToHost',
      'requires machine.features.hostDNS.enabled: true',
    );
    expect(pathsUnder(cp(edit, '1.12'), 'machine.features.hostDNS')).toEqual([]);
  });

  it('disks: no null entries, a size-0 partition comes last', () => {
    const problems = cp(
      (v) =>
        (v.machine.disks = [
          null,
          { device: '/dev/sdb', partitions: [{ mountpoint: '/var/a' }, { mountpoint: '/var/b', size: '10 GB' }] },
        ]),
    );
    expectProblem(problems, 'machine.disks[0]', 'must not be null');
    expectProblem(problems, 'machine.disks[1].partitions[0].size', 'must be the last one');
  });

  it('kubelet: validSubnets parse, extraConfig protected keys, clusterDNS IPs', () => {
    const problems = cp((v) => {
      v.machine.kubelet.nodeIP = { validSubnets: ['!10.0.0.0/8', '192.168.0.0/33'] };
      v.machine.kubelet.extraConfig = { staticPodPath: '/x', serializeImagePulls: false };
      v.machine.kubelet.clusterDNS = ['10.96.0.10', 'kube-dns'];
    });
    expectProblem(problems, 'machine.kubelet.nodeIP.validSubnets[1]', 'not a CIDR');
    expectProblem(problems, 'machine.kubelet.extraConfig.staticPodPath', 'managed by Talos');
    expectProblem(problems, 'machine.kubelet.clusterDNS[1]', 'not an IP address');
    expect(
      problems.filter(
        (p) =>
          p.path.includes('serializeImagePulls') ||
          p.path.endsWith('validSubnets[0]') ||
          p.path.endsWith('clusterDNS[0]'),
      ),
    ).toEqual([]);
  });

  it('systemDiskEncryption: a key, unique slots, one method per key', () => {
    const problems = cp(
      (v) =>
        (v.machine.systemDiskEncryption = {
          state: { provider: 'luks2', keys: [] },
          ephemeral: {
            provider: 'luks2',
            keys: [{ slot: 0, nodeID: {} }, { slot: 0, static: { passphrase: 'x' }, tpm: {} }, { slot: 1 }],
          },
        }),
    );
    expectProblem(problems, 'machine.systemDiskEncryption.state.keys', 'at least one key');
    expectProblem(problems, 'machine.systemDiskEncryption.ephemeral.keys[1].slot', 'slot 0 is already used');
    expectProblem(problems, 'machine.systemDiskEncryption.ephemeral.keys[1]', 'has static and tpm');
    expectProblem(problems, 'machine.systemDiskEncryption.ephemeral.keys[2]', 'has none');
  });

  it('logging destinations: tcp/udp endpoint with a host', () => {
    const problems = cp(
      (v) =>
        (v.machine.logging = {
          destinations: [
            { endpoint: 'http://logs:5000', format: 'json_lines' },
            { format: 'json_lines' },
            { endpoint: 'udp://:5000' },
          ],
        }),
    );
    expectProblem(problems, 'machine.logging.destinations[0].endpoint', 'scheme must be tcp or udp');
    expectProblem(problems, 'machine.logging.destinations[1].endpoint', 'required');
    expectProblem(problems, 'machine.logging.destinations[2].endpoint', 'empty host');
  });

  it('install extensions are deprecated, and duplicates are errors', () => {
    const image = 'ghcr.io/siderolabs/gvisor:20231214.0-v1.6.1';
    const problems = cp((v) => (v.machine.install.extensions = [{ image }, { image }]));
    expectProblem(problems, 'machine.install.extensions', 'deprecated', 'warning');
    expectProblem(problems, 'machine.install.extensions[1].image', 'duplicate extension image');
  });

  it('kubernetesTalosAPIAccess: control plane only, known roles, rbac on 1.11', () => {
    const access = {
      enabled: true,
      allowedRoles: ['os:reader', 'os:superuser', 'os:image:verifier'],
      allowedKubernetesNamespaces: ['kube-system'],
    };
    expectProblem(
      on('worker', (v) => (v.machine.features.kubernetesTalosAPIAccess = { enabled: true })),
      'machine.features.kubernetesTalosAPIAccess.enabled',
      'only be enabled on control-plane',
    );
    const p113 = cp((v) => (v.machine.features.kubernetesTalosAPIAccess = access));
    expectProblem(p113, 'machine.features.kubernetesTalosAPIAccess.allowedRoles[1]', 'unknown role "os:superuser"');
    expect(pathsUnder(p113, 'machine.features.kubernetesTalosAPIAccess.allowedRoles[2]')).toEqual([]);
    expectProblem(
      cp((v) => (v.machine.features.kubernetesTalosAPIAccess = access), '1.12'),
      'machine.features.kubernetesTalosAPIAccess.allowedRoles[2]',
      'unknown role "os:image:verifier"',
    );
    expectProblem(
      cp((v) => {
        v.machine.features.rbac = false;
        v.machine.features.kubernetesTalosAPIAccess = { enabled: true };
      }, '1.11'),
      'machine.features.kubernetesTalosAPIAccess.enabled',
      'requires machine.features.rbac: true',
    );
  });

  it('baseRuntimeSpecOverrides is a mapping; registry entries are not null', () => {
    const problems = cp((v) => {
      v.machine.baseRuntimeSpecOverrides = ['process'];
      v.machine.registries = { mirrors: { 'docker.io': null }, config: { 'ghcr.io': null } };
    });
    expectProblem(problems, 'machine.baseRuntimeSpecOverrides', 'must be a mapping');
    expectProblem(problems, 'machine.registries.mirrors["docker.io"]', 'must not be null');
    expectProblem(problems, 'machine.registries.config["ghcr.io"]', 'must not be null');
  });
});

describe('node labels, annotations and taints', () => {
  it('reports invalid keys and values in Kubernetes terms', () => {
    const problems = cp((v) => {
      v.machine.nodeLabels = { 'example.com/ok': 'yes', 'bad key': 'x', team: 'has spaces' };
      v.machine.nodeAnnotations = { 'example.com/note': 'any text at all', '/nameless': 'x' };
      v.machine.nodeTaints = {
        dedicated: 'gpu:NoSchedule',
        plain: 'NoExecute',
        wrong: 'gpu:Sometimes',
        'bad/value': 'a b:NoSchedule',
      };
    });
    expectProblem(problems, 'machine.nodeLabels["bad key"]', 'invalid key');
    expectProblem(problems, 'machine.nodeLabels.team', 'invalid value');
    expectProblem(problems, 'machine.nodeAnnotations["/nameless"]', 'prefix part must be non-empty');
    expectProblem(
      problems,
      'machine.nodeTaints.wrong',
      'taint effect must be one of NoSchedule, PreferNoSchedule, NoExecute',
    );
    expectProblem(problems, 'machine.nodeTaints["bad/value"]', 'invalid taint value');
    for (const fine of [
      'machine.nodeLabels["example.com/ok"]',
      'machine.nodeAnnotations["example.com/note"]',
      'machine.nodeTaints.dedicated',
      'machine.nodeTaints.plain',
    ]) {
      expect(problems.filter((p) => p.path === fine)).toEqual([]);
    }
  });
});

describe('value types and version-gated keys (schema)', () => {
  it('reports values of the wrong type at their path', () => {
    const problems = cp((v) => {
      v.debug = 'no';
      v.machine.certSANs = 'cp.example.com';
      v.machine.features.kubePrism.port = '7445';
      v.cluster.network = ['10.0.0.0/8'];
    });
    expectProblem(problems, 'debug', 'must be a boolean');
    expectProblem(problems, 'machine.certSANs', 'must be a list');
    expectProblem(problems, 'machine.features.kubePrism.port', 'must be an integer');
    expectProblem(problems, 'cluster.network', 'must be a mapping');
  });

  it('list-valued extraArgs need 1.13', () => {
    const edit = (v: Doc) => (v.cluster.apiServer.extraArgs = { 'feature-gates': ['A=true', 'B=false'], v: 2 });
    expectProblem(cp(edit, '1.12'), 'cluster.apiServer.extraArgs.feature-gates', 'needs Talos v1.13+');
    expect(pathsUnder(cp(edit), 'cluster.apiServer.extraArgs')).toEqual([]);
    expectProblem(
      cp((v) => (v.machine.kubelet.extraArgs = { 'node-labels': { a: 'b' } })),
      'machine.kubelet.extraArgs.node-labels',
      'must be a string or a list of strings',
    );
  });

  it('kubespan filters.excludeAdvertisedNetworks needs 1.12; flannel kubeNetworkPoliciesEnabled needs 1.13', () => {
    const kubespan = (v: Doc) =>
      (v.machine.network.kubespan = { enabled: false, filters: { excludeAdvertisedNetworks: ['10.0.0.0/8'] } });
    expectProblem(
      cp(kubespan, '1.11'),
      'machine.network.kubespan.filters.excludeAdvertisedNetworks',
      'added in Talos v1.12',
    );
    expect(pathsUnder(cp(kubespan, '1.12'), 'machine.network.kubespan')).toEqual([]);
    const flannel = (v: Doc) =>
      (v.cluster.network.cni = { name: 'flannel', flannel: { kubeNetworkPoliciesEnabled: true } });
    expectProblem(
      cp(flannel, '1.12'),
      'cluster.network.cni.flannel.kubeNetworkPoliciesEnabled',
      'added in Talos v1.13',
    );
    expect(pathsUnder(cp(flannel), 'cluster.network.cni')).toEqual([]);
  });

  it('1.9 additions are unknown to a 1.8 target', () => {
    const problems = problemsAfter(
      s,
      '1.11',
      'controlplane',
      (d) => {
        d[0].machine.features.imageCache = { localEnabled: true };
        d[0].machine.features.nodeAddressSortAlgorithm = 'v2';
        d[0].machine.network.searchDomains = ['example.com'];
        d[0].machine.baseRuntimeSpecOverrides = { process: {} };
        d[0].machine.network.interfaces = [
          { deviceSelector: { permanentAddr: '00:11:22:33:44:55' }, dhcp: true, bridgePort: {} },
        ];
        d[0].machine.registries = {
          mirrors: { 'docker.io': { endpoints: ['https://m.example.com'], skipFallback: true } },
        };
        d[0].machine.kubelet.image = 'ghcr.io/siderolabs/kubelet:v1.31.4';
        d[0].cluster.apiServer.image = 'registry.k8s.io/kube-apiserver:v1.31.4';
        d[0].cluster.controllerManager.image = 'registry.k8s.io/kube-controller-manager:v1.31.4';
        d[0].cluster.scheduler.image = 'registry.k8s.io/kube-scheduler:v1.31.4';
        d[0].cluster.apiServer.authorizationConfig = [{ type: 'Node', name: 'node' }];
      },
      { talosVersion: 'v1.8.4' },
    );
    for (const path of [
      'machine.features.imageCache',
      'machine.features.nodeAddressSortAlgorithm',
      'machine.network.searchDomains',
      'machine.baseRuntimeSpecOverrides',
      'machine.network.interfaces[0].deviceSelector.permanentAddr',
      'machine.network.interfaces[0].bridgePort',
      'machine.registries.mirrors["docker.io"].skipFallback',
      'cluster.apiServer.authorizationConfig',
    ]) {
      expectProblem(problems, path, 'added in Talos v1.9');
    }
    expect(problems.filter((p) => p.severity === 'error')).toHaveLength(8);
  });
});
