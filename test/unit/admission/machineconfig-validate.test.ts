// A KubernetesCluster's inputs are judged when its spec is written, not on writes that leave the
// spec as it is (status, labels): a cluster stored under older rules keeps its status writable.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { systemContext } from '../../../src/machinery/registry/context.js';
import { clusterInputsAdmission as hooks } from '../../../src/admission/machineconfig.js';

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
