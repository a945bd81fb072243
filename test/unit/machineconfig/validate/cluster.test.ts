// Structure and cluster section, one failing case per rule with its exact path.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectProblem,
  makeSecrets,
  problemsAfter,
  type Doc,
  type FixtureRole,
  type FixtureSecrets,
} from './fixtures.js';

let s: FixtureSecrets;
beforeAll(async () => {
  s = await makeSecrets();
});

const cp = (edit: (v1: Doc) => void) => problemsAfter(s, '1.13', 'controlplane', (d) => edit(d[0]));
const on = (role: FixtureRole, edit: (v1: Doc) => void) => problemsAfter(s, '1.13', role, (d) => edit(d[0]));

describe('structure', () => {
  it('version must be v1alpha1', () => {
    expectProblem(
      cp((v) => (v.version = 'v1alpha2')),
      'version',
      'must be v1alpha1, not "v1alpha2"',
    );
    expectProblem(
      cp((v) => delete v.version),
      'version',
      'required',
    );
  });

  it('persist: false is an error', () => {
    expectProblem(
      cp((v) => (v.persist = false)),
      'persist',
      'must not be false',
    );
  });

  it('machine and cluster sections are required', () => {
    expectProblem(
      cp((v) => delete v.machine),
      'machine',
      'no machine section',
    );
    expectProblem(
      cp((v) => delete v.cluster),
      'cluster',
      'no cluster section',
    );
  });

  it('an unknown machine type is an error; init, join and empty are accepted with a warning', () => {
    expectProblem(
      cp((v) => (v.machine.type = 'master')),
      'machine.type',
      'must be one of: controlplane, worker',
    );
    expectProblem(
      on('worker', (v) => (v.machine.type = 'join')),
      'machine.type',
      'accepted as worker',
      'warning',
    );
    expectProblem(
      cp((v) => (v.machine.type = 'init')),
      'machine.type',
      'deprecated value "init": not in the schema of Talos v1.13; it is accepted as controlplane',
      'warning',
    );
    expectProblem(
      on('worker', (v) => delete v.machine.type),
      'machine.type',
      'empty machine type',
      'warning',
    );
  });

  it('tokens are required and have the bootstrap-token shape', () => {
    expectProblem(
      cp((v) => delete v.machine.token),
      'machine.token',
      'required',
    );
    expectProblem(
      cp((v) => (v.machine.token = 'not-a-token')),
      'machine.token',
      '[a-z0-9]{6}.[a-z0-9]{16}',
      'warning',
    );
    expectProblem(
      cp((v) => delete v.cluster.token),
      'cluster.token',
      'required',
    );
    expectProblem(
      cp((v) => (v.cluster.token = 'ABCDEF.0123456789abcdef')),
      'cluster.token',
      '[a-z0-9]{6}.[a-z0-9]{16}',
    );
  });

  it('cluster id, secret and encryption secret are base64 of the right length; one encryption secret at most', () => {
    expectProblem(
      cp((v) => (v.cluster.secret = Buffer.alloc(16).toString('base64'))),
      'cluster.secret',
      'must decode to 32 bytes, not 16',
    );
    expectProblem(
      cp((v) => (v.cluster.id = 'not base64!')),
      'cluster.id',
      'must be base64',
    );
    expectProblem(
      cp((v) => (v.cluster.aescbcEncryptionSecret = Buffer.alloc(32).toString('base64'))),
      'cluster.aescbcEncryptionSecret',
      'only one of',
    );
    expectProblem(
      cp((v) => (v.cluster.secretboxEncryptionSecret = Buffer.alloc(8).toString('base64'))),
      'cluster.secretboxEncryptionSecret',
      'must decode to 32 bytes',
    );
  });

  it('clusterName: blank is an error, missing a warning', () => {
    expectProblem(
      cp((v) => (v.cluster.clusterName = '  ')),
      'cluster.clusterName',
      'must not be blank',
    );
    expectProblem(
      cp((v) => delete v.cluster.clusterName),
      'cluster.clusterName',
      'not set',
      'warning',
    );
  });
});

describe('control-plane endpoint', () => {
  const endpoint = (value: string) => cp((v) => (v.cluster.controlPlane.endpoint = value));

  it('is required', () => {
    expectProblem(
      cp((v) => delete v.cluster.controlPlane),
      'cluster.controlPlane.endpoint',
      'required',
    );
  });

  it.each([
    ['http://cp.example.com:6443', 'must be an https:// URL'],
    ['cp.example.com:6443', 'is not an absolute URL'],
    ['https://:6443', 'has an empty host'],
    ['https://cp.example.com:99999', 'port that is not a number from 1 to 65535'],
    ['https://cp.example.com:http', 'port that is not a number'],
    ['https://fd00::1:6443', 'IPv6 host that is not in brackets'],
    ['https://[fd00::zz]:6443', 'bracketed host that is not an IPv6 address'],
    ['https://cp_bad!.example.com', 'neither a DNS name nor an IP address'],
    ['https://10.0.0.300:6443', 'neither a DNS name nor an IP address'],
    [' https://cp.example.com', 'white space'],
  ])('%s is refused', (value, fragment) => {
    expectProblem(endpoint(value), 'cluster.controlPlane.endpoint', fragment);
  });

  it('accepts a bracketed IPv6 host, and never echoes URL credentials', () => {
    expect(endpoint('https://[fd00::1]:6443').filter((p) => p.path === 'cluster.controlPlane.endpoint')).toEqual([]);
    const p = expectProblem(endpoint('http://admin:hunter2@cp.example.com'), 'cluster.controlPlane.endpoint', 'https');
    expect(JSON.stringify(endpoint('https://admin:hunter2@[fd00::zz]'))).not.toContain('hunter2');
    expect(p.message).not.toContain('hunter2');
  });

  it('localAPIServerPort must be a port', () => {
    expectProblem(
      cp((v) => (v.cluster.controlPlane.localAPIServerPort = 70000)),
      'cluster.controlPlane.localAPIServerPort',
      'from 1 to 65535',
    );
  });
});

describe('cluster network', () => {
  it('dnsDomain must be a DNS name', () => {
    expectProblem(
      cp((v) => (v.cluster.network.dnsDomain = '-bad-.local')),
      'cluster.network.dnsDomain',
      'not a valid DNS name',
    );
  });

  it('pod and service subnets parse', () => {
    expectProblem(
      cp((v) => (v.cluster.network.podSubnets = ['10.244.0.0/33'])),
      'cluster.network.podSubnets[0]',
      'not a CIDR',
    );
    expectProblem(
      cp((v) => (v.cluster.network.serviceSubnets = ['10.96.0.0'])),
      'cluster.network.serviceSubnets[0]',
      'not a CIDR',
    );
  });

  it('a list holds at most one subnet per family, and both lists use the same families in the same order', () => {
    expectProblem(
      cp((v) => (v.cluster.network.podSubnets = ['10.244.0.0/16', '10.245.0.0/16'])),
      'cluster.network.podSubnets',
      'two of different families',
    );
    expectProblem(
      cp((v) => (v.cluster.network.podSubnets = ['10.244.0.0/16', 'fd00:10::/56'])),
      'cluster.network.serviceSubnets',
      'must match podSubnets (IPv4, IPv6)',
    );
    const dual = cp((v) => {
      v.cluster.network.podSubnets = ['10.244.0.0/16', 'fd00:10::/56'];
      v.cluster.network.serviceSubnets = ['10.96.0.0/12', 'fd00:20::/112'];
    });
    expect(dual.filter((p) => p.path.startsWith('cluster.network'))).toEqual([]);
  });
});

describe('etcd', () => {
  it('is an error on a worker', () => {
    expectProblem(
      on('worker', (v) => (v.cluster.etcd = { subnet: '10.0.0.0/8' })),
      'cluster.etcd',
      'must not be set on a worker',
    );
  });

  it('needs its CA on a control plane', () => {
    const problems = cp((v) => delete v.cluster.etcd);
    expectProblem(problems, 'cluster.etcd.ca.crt', 'required on a control plane');
    expectProblem(problems, 'cluster.etcd.ca.key', 'required on a control plane');
  });

  it('subnet and advertisedSubnets are exclusive; every subnet parses, ! allowed', () => {
    expectProblem(
      cp((v) => Object.assign(v.cluster.etcd, { subnet: '10.0.0.0/8', advertisedSubnets: ['10.0.0.0/8'] })),
      'cluster.etcd.advertisedSubnets',
      'mutually exclusive',
    );
    expectProblem(
      cp((v) => (v.cluster.etcd.listenSubnets = ['!10.0.0.0/8', 'ten'])),
      'cluster.etcd.listenSubnets[1]',
      'not a CIDR',
    );
    expectProblem(
      cp((v) => (v.cluster.etcd.advertisedSubnets = ['10.0.0.1/40'])),
      'cluster.etcd.advertisedSubnets[0]',
      'not a CIDR',
    );
    expect(
      cp((v) => (v.cluster.etcd.advertisedSubnets = ['!192.168.0.0/16', '10.0.0.0/8'])).filter((p) =>
        p.path.startsWith('cluster.etcd'),
      ),
    ).toEqual([]);
  });
});

describe('manifests', () => {
  it('inline manifest names are non-blank and unique', () => {
    const problems = cp(
      (v) =>
        (v.cluster.inlineManifests = [
          { name: 'a', contents: 'x' },
          { name: ' ', contents: 'y' },
          { name: 'a', contents: 'z' },
        ]),
    );
    expectProblem(problems, 'cluster.inlineManifests[1].name', 'non-blank name');
    expectProblem(problems, 'cluster.inlineManifests[2].name', 'duplicate inline manifest name "a"');
  });

  it('external cloud provider manifests need the provider enabled, and valid URLs', () => {
    expectProblem(
      cp((v) => (v.cluster.externalCloudProvider = { enabled: false, manifests: ['https://example.com/ccm.yaml'] })),
      'cluster.externalCloudProvider.manifests',
      'not enabled',
    );
    expectProblem(
      cp((v) => (v.cluster.externalCloudProvider = { enabled: true, manifests: ['example.com/ccm.yaml'] })),
      'cluster.externalCloudProvider.manifests[0]',
      'not an absolute URL',
    );
    expectProblem(
      cp((v) => (v.cluster.extraManifests = ['ftp://example.com/x.yaml'])),
      'cluster.extraManifests[0]',
      'http:// or https://',
    );
  });
});

describe('discovery', () => {
  it('the service endpoint must be a URL with an empty path', () => {
    expectProblem(
      cp((v) => (v.cluster.discovery.registries.service.endpoint = 'https://discovery.example.com/v1')),
      'cluster.discovery.registries.service.endpoint',
      'empty path',
    );
    expectProblem(
      cp((v) => (v.cluster.discovery.registries.service.endpoint = 'discovery')),
      'cluster.discovery.registries.service.endpoint',
      'not an absolute URL',
    );
  });

  it('cluster id and secret are required while the service registry is on, not when it is disabled', () => {
    const problems = on('worker', (v) => {
      delete v.cluster.id;
      delete v.cluster.secret;
    });
    expectProblem(problems, 'cluster.id', 'discovery service registry is enabled');
    expectProblem(problems, 'cluster.secret', 'discovery service registry is enabled');
    const off = on('worker', (v) => {
      delete v.cluster.id;
      delete v.cluster.secret;
      v.cluster.discovery.registries.service.disabled = true;
    });
    expect(off.filter((p) => p.path === 'cluster.id' || p.path === 'cluster.secret')).toEqual([]);
  });
});

describe('apiServer and components', () => {
  it('authorizationConfig excludes the authorization flags', () => {
    const problems = cp((v) => {
      v.cluster.apiServer.authorizationConfig = [{ type: 'Node', name: 'node' }];
      v.cluster.apiServer.extraArgs = {
        'authorization-mode': 'Node,RBAC',
        'authorization-webhook-version': 'v1',
        'audit-log-maxage': '30',
      };
    });
    expectProblem(problems, 'cluster.apiServer.extraArgs.authorization-mode', 'cannot be combined');
    expectProblem(problems, 'cluster.apiServer.extraArgs.authorization-webhook-version', 'cannot be combined');
    expect(problems.filter((p) => p.path.includes('audit-log-maxage'))).toEqual([]);
  });

  it('resources are Kubernetes quantities', () => {
    expectProblem(
      cp((v) => (v.cluster.scheduler.resources = { requests: { cpu: '1 core' }, limits: { memory: '1Gi' } })),
      'cluster.scheduler.resources.requests.cpu',
      'not a valid Kubernetes quantity',
    );
  });

  it('apiServer certSANs are IPs or DNS names', () => {
    expectProblem(
      cp((v) => (v.cluster.apiServer.certSANs = ['cp.example.com', 'not a name'])),
      'cluster.apiServer.certSANs[1]',
      'neither an IP address nor a DNS name',
    );
  });
});

describe('CNI', () => {
  const cni = (value: Doc) => cp((v) => (v.cluster.network.cni = value));

  it('the name must be flannel, custom or none', () => {
    const problems = cni({ name: 'calico' });
    expectProblem(problems, 'cluster.network.cni.name', 'must be one of: flannel, custom, none');
    expect(problems.filter((p) => p.path.startsWith('cluster.network.cni'))).toHaveLength(1);
  });

  it('flannel and none take no URLs; custom without URLs is a warning', () => {
    expectProblem(
      cni({ name: 'flannel', urls: ['https://example.com/cni.yaml'] }),
      'cluster.network.cni.urls',
      'must be empty for CNI "flannel"',
    );
    expectProblem(
      cni({ name: 'none', urls: ['https://example.com/cni.yaml'] }),
      'cluster.network.cni.urls',
      'must be empty for CNI "none"',
    );
    expectProblem(cni({ name: 'custom' }), 'cluster.network.cni.urls', 'custom CNI without URLs', 'warning');
    expectProblem(cni({ name: 'custom', urls: ['cni.yaml'] }), 'cluster.network.cni.urls[0]', 'not an absolute URL');
  });

  it('flannel settings are refused with another CNI', () => {
    expectProblem(
      cni({ name: 'none', flannel: { extraArgs: ['--iface=eth1'] } }),
      'cluster.network.cni.flannel.extraArgs',
      'do not apply to CNI "none"',
    );
    expectProblem(
      cni({ name: 'custom', urls: ['https://example.com/c.yaml'], flannel: { kubeNetworkPoliciesEnabled: true } }),
      'cluster.network.cni.flannel.kubeNetworkPoliciesEnabled',
      'do not apply',
    );
  });

  it('is checked on workers only for what Talos decodes: the name (they deploy no CNI)', () => {
    const problems = on('worker', (v) => (v.cluster.network.cni = { name: 'calico' }));
    expect(problems.filter((p) => p.path.startsWith('cluster.network.cni')).map((p) => p.message)).toEqual([
      'must be one of: flannel, custom, none; to run "calico", use none and install it yourself once the cluster is up, or custom with the URLs of its manifests in cluster.network.cni.urls',
    ]);
    const none = on('worker', (v) => (v.cluster.network.cni = { name: 'none', urls: ['https://example.com/c.yaml'] }));
    expect(none.filter((p) => p.path.startsWith('cluster.network.cni'))).toEqual([]);
  });
});
