// Image references, and Kubernetes image versions against the range the target Talos release
// accepts when a config is applied.
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

const on = (family: Family, role: FixtureRole, edit: (v1: Doc) => void, talosVersion?: string) =>
  problemsAfter(s, family, role, (d) => edit(d[0]), talosVersion ? { talosVersion } : {});

describe('Kubernetes version range', () => {
  it('a kubelet older than the range is an error naming the range', () => {
    expectProblem(
      on('1.11', 'worker', (v) => (v.machine.kubelet.image = 'ghcr.io/siderolabs/kubelet:v1.28.9')),
      'machine.kubelet.image',
      'Kubernetes 1.28 (kubelet) is outside the range Talos v1.11 accepts: 1.29 to 1.34',
    );
  });

  it('an apiserver newer than the range is an error on a control plane', () => {
    expectProblem(
      on('1.11', 'controlplane', (v) => (v.cluster.apiServer.image = 'registry.k8s.io/kube-apiserver:v1.35.0')),
      'cluster.apiServer.image',
      'Kubernetes 1.35 (kube-apiserver) is outside the range Talos v1.11 accepts',
    );
  });

  it('on a 1.13 target Kubernetes 1.34 is inside the range and 1.30 is outside it, for every control-plane image', () => {
    const images = (k: string) => (v: Doc) => {
      v.machine.kubelet.image = `ghcr.io/siderolabs/kubelet:v${k}`;
      v.cluster.controllerManager.image = `registry.k8s.io/kube-controller-manager:v${k}`;
      v.cluster.scheduler.image = `registry.k8s.io/kube-scheduler:v${k}`;
      v.cluster.apiServer.image = `registry.k8s.io/kube-apiserver:v${k}`;
    };
    expect(on('1.13', 'controlplane', images('1.34.1')).filter((p) => p.path.endsWith('.image'))).toEqual([]);
    const old = on('1.13', 'controlplane', images('1.30.2'));
    for (const path of [
      'machine.kubelet.image',
      'cluster.apiServer.image',
      'cluster.controllerManager.image',
      'cluster.scheduler.image',
    ]) {
      expectProblem(old, path, 'outside the range Talos v1.13 accepts: 1.31 to 1.36');
    }
  });

  it('the tag must be v<semver>', () => {
    expectProblem(
      on('1.13', 'worker', (v) => (v.machine.kubelet.image = 'ghcr.io/siderolabs/kubelet:latest')),
      'machine.kubelet.image',
      'tag must be v<Kubernetes version>',
    );
    expectProblem(
      on('1.13', 'worker', (v) => (v.machine.kubelet.image = `ghcr.io/siderolabs/kubelet@sha256:${'a'.repeat(64)}`)),
      'machine.kubelet.image',
      'tag must be v<Kubernetes version>',
    );
    const digestAndTag = on(
      '1.13',
      'worker',
      (v) => (v.machine.kubelet.image = `ghcr.io/siderolabs/kubelet:v1.36.3@sha256:${'a'.repeat(64)}`),
    );
    expect(digestAndTag.filter((p) => p.path === 'machine.kubelet.image')).toEqual([]);
  });

  it('an empty image means the release default and is not checked', () => {
    expect(
      on('1.13', 'controlplane', (v) => delete v.machine.kubelet.image).filter((p) => p.severity === 'error'),
    ).toEqual([]);
  });

  it('on 1.14 an image in KubeletConfig is checked the same way', () => {
    const problems = problemsAfter(
      s,
      '1.14',
      'worker',
      (d) => (d[d.findIndex((x) => x.kind === 'KubeletConfig')].image = 'ghcr.io/siderolabs/kubelet:v1.31.0'),
    );
    expectProblem(
      problems,
      'documents[2] (KubeletConfig).image',
      'Kubernetes 1.31 (kubelet) is outside the range Talos v1.14 accepts: 1.32 to 1.37',
    );
  });
});

describe('image references', () => {
  it.each([
    [
      'machine.install.image',
      (v: Doc) => (v.machine.install.image = 'GHCR.io/Siderolabs/Installer:v1.13.9'),
      'repository path',
    ],
    [
      'machine.install.image',
      (v: Doc) => (v.machine.install.image = 'ghcr.io/siderolabs/installer:v1.13.9!'),
      'tag that is not',
    ],
    [
      'machine.install.image',
      (v: Doc) => (v.machine.install.image = 'ghcr.io/siderolabs/installer@sha256:xyz'),
      'digest that is not',
    ],
    ['cluster.etcd.image', (v: Doc) => (v.cluster.etcd.image = 'registry.k8s.io//etcd:3.7.1'), 'repository path'],
    [
      'cluster.coreDNS.image',
      (v: Doc) => (v.cluster.coreDNS = { image: 'registry.k8s.io/coredns/coredns: v1.14.6' }),
      'tag that is not',
    ],
  ])('%s refuses an invalid reference', (path, edit, fragment) => {
    expectProblem(on('1.13', 'controlplane', edit), path, `is not a valid image reference: it has a ${fragment}`);
  });

  it('accepts registries with ports and the factory installer pattern', () => {
    const problems = on('1.13', 'controlplane', (v) => {
      v.machine.install.image =
        'factory.talos.dev/metal-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.9';
      v.cluster.etcd.image = 'registry.local:5000/etcd:3.7.1';
      v.cluster.proxy.image = 'localhost/kube-proxy:v1.36.3';
    });
    expect(problems.filter((p) => p.path.endsWith('.image'))).toEqual([]);
  });
});
