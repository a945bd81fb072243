// A KubernetesCluster's inputs are judged when its spec is written, not on writes that leave the
// spec as it is (status, labels): a cluster stored under older rules keeps its status writable.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { systemContext } from '../../../src/machinery/registry/context.js';
import { clusterInputsAdmission as hooks, clusterProblems } from '../../../src/admission/machineconfig.js';

function cluster(version: string, status?: object): KubeObject {
  return {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name: 'c', namespace: 'ns', uid: 'u' },
    spec: {
      data: { clusterId: 'c-id' },
      topology: { version, controlplane: { replicas: 1, version } },
      talos: { endpoint: 'https://10.0.0.1:6443', version: 'v1.13.9' },
    },
    ...(status ? { status } : {}),
  };
}

describe('KubernetesCluster input validation', () => {
  it('judges a create and a spec change, not a write that keeps the spec', async () => {
    const outdated = cluster('1.20');
    await expect(hooks.validate!('CREATE', outdated, undefined, systemContext())).rejects.toThrow(
      /Kubernetes 1.20.0 is outside/,
    );
    await expect(hooks.validate!('UPDATE', cluster('1.21'), outdated, systemContext())).rejects.toThrow(/is outside/);
    await expect(
      hooks.validate!('UPDATE', cluster('1.20', { phase: 'Pending' }), outdated, systemContext()),
    ).resolves.toBeUndefined();
    await expect(hooks.validate!('UPDATE', cluster('1.33'), outdated, systemContext())).resolves.toBeUndefined();
  });
});

describe('CNI names and URLs', () => {
  const withNetwork = (network: object): KubeObject => {
    const c = cluster('1.33');
    (c.spec as any).talos.network = network;
    return c;
  };
  const problems = async (network: object) =>
    (await clusterProblems(withNetwork(network))).map((e) => ({ type: e.type, field: e.field, message: e.message }));

  it('a name Talos does not know: NotSupported on spec.talos.network.cni, with the names and how to run it', async () => {
    const [p, ...rest] = await problems({ cni: 'cilium' });
    expect(rest).toEqual([]);
    expect(p).toEqual({
      type: 'FieldValueNotSupported',
      field: 'spec.talos.network.cni',
      message:
        'spec.talos.network.cni: Unsupported value: "cilium": supported values: "flannel", "custom", "none": ' +
        'Talos deploys flannel itself and no other CNI by name; to run cilium, use "none" and install it yourself ' +
        'once the cluster is up, or "custom" with the URLs of its manifests in spec.talos.network.cniURLs, ' +
        'which Talos applies at bootstrap',
    });
    // one problem for the cluster, not one per role
    const pools = withNetwork({ cni: 'Calico' });
    (pools.spec as any).topology.workers = [
      { name: 'a', replicas: 1 },
      { name: 'b', replicas: 1 },
    ];
    expect((await clusterProblems(pools)).map((e) => e.field)).toEqual(['spec.talos.network.cni']);
  });

  it('custom needs cniURLs; cniURLs need custom; a URL in cni is a custom CNI of that manifest', async () => {
    expect(await problems({ cni: 'custom' })).toEqual([
      {
        type: 'FieldValueRequired',
        field: 'spec.talos.network.cniURLs',
        message:
          'spec.talos.network.cniURLs: Required value: a custom CNI is deployed from the URLs of its manifests; to install a CNI yourself, use "none"',
      },
    ]);
    for (const cni of [undefined, 'flannel', 'none'])
      expect((await problems({ cni, cniURLs: ['https://example.com/cni.yaml'] })).map((e) => e.type)).toEqual([
        'FieldValueForbidden',
      ]);
    expect(await problems({ cni: 'custom', cniURLs: ['https://example.com/cni.yaml'] })).toEqual([]);
    expect(await problems({ cni: 'https://example.com/cni.yaml' })).toEqual([]);
    expect(await problems({ cni: 'none' })).toEqual([]);
    expect(await problems({ cni: 'flannel' })).toEqual([]);
  });

  it('names the URL that is wrong, in cni or in cniURLs', async () => {
    expect((await problems({ cni: 'custom', cniURLs: ['https://ok.example/a.yaml', 'ftp://x/b.yaml'] }))[0]).toEqual({
      type: 'FieldValueInvalid',
      field: 'spec.talos.network.cniURLs[1]',
      message: 'spec.talos.network.cniURLs[1]: Invalid value: must be an http:// or https:// URL',
    });
    expect((await problems({ cni: 'https://', cniURLs: [] }))[0]?.field).toBe('spec.talos.network.cni');
    expect((await problems({ cni: 'https://ok.example/a.yaml', cniURLs: ['ftp://x/b.yaml'] }))[0]?.field).toBe(
      'spec.talos.network.cniURLs[0]',
    );
  });
});
