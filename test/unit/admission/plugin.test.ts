// One plugin, served two ways: the in-process chain and the AdmissionReview adapter call the same
// hooks, so a KubernetesCluster refused in-process is refused by the webhook with the same causes.
import { describe, expect, it } from 'vitest';
import { reviewedPlugins } from '../../../src/admission/index.js';
import { clusterInputsAdmission } from '../../../src/admission/machineconfig.js';
import { admissionChain, type AdmissionPlugin } from '../../../src/admission/plugin.js';
import { review } from '../../../src/admission/review.js';
import { StatusError } from '../../../src/machinery/errors.js';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { systemContext } from '../../../src/machinery/registry/context.js';

const KC_KIND = { group: 'vitistack.io', version: 'v1alpha1', kind: 'KubernetesCluster' };

function cluster(endpoint: string): KubeObject {
  return {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name: 'c', namespace: 'ns' },
    spec: {
      data: {
        clusterUid: 'u',
        clusterId: 'c-id',
        provider: 'talos',
        environment: 'e',
        datacenter: 'd',
        project: 'p',
        region: 'r',
        workorder: 'w',
        zone: 'z',
        workspace: 'ws',
      },
      topology: { version: '1.33', controlplane: { replicas: 1, version: '1.33' }, workers: [] },
      talos: { endpoint, version: 'v1.13.9' },
    },
  };
}

describe('admission plugins', () => {
  it('the webhook refuses with the Status the in-process hook throws', async () => {
    expect(reviewedPlugins).toContain(clusterInputsAdmission);
    const obj = cluster('ftp://nowhere');
    const thrown = await clusterInputsAdmission.validate!(
      'CREATE',
      structuredClone(obj),
      undefined,
      systemContext(),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(thrown).toBeInstanceOf(StatusError);
    const answer = await review('validate', { uid: 'x', kind: KC_KIND, operation: 'CREATE', object: obj });
    expect(answer.allowed).toBe(false);
    expect(answer.status).toEqual({
      code: 422,
      reason: 'Invalid',
      message: (thrown as StatusError).message,
      details: (thrown as StatusError).details,
    });
  });

  it('the webhook and the chain allow the same valid cluster', async () => {
    const obj = cluster('https://10.0.0.1:6443');
    await expect(
      admissionChain([...reviewedPlugins]).validate!('CREATE', structuredClone(obj), undefined, systemContext()),
    ).resolves.toBeUndefined();
    expect(await review('validate', { uid: 'x', kind: KC_KIND, operation: 'CREATE', object: obj })).toEqual({
      uid: 'x',
      allowed: true,
    });
  });

  it('the chain calls plugins in order, passes a refusal through and names a plugin that fails unexpectedly', async () => {
    const calls: string[] = [];
    const plugin = (name: string, fail?: Error): AdmissionPlugin => ({
      name,
      async validate() {
        calls.push(name);
        if (fail) throw fail;
      },
    });
    const obj = cluster('https://10.0.0.1:6443');
    const refusal = new StatusError(403, 'Forbidden', 'no');
    await expect(
      admissionChain([plugin('a'), plugin('b', refusal), plugin('c')]).validate!(
        'CREATE',
        obj,
        undefined,
        systemContext(),
      ),
    ).rejects.toBe(refusal);
    expect(calls).toEqual(['a', 'b']);
    await expect(
      admissionChain([plugin('Broken', new Error('boom'))]).validate!('CREATE', obj, undefined, systemContext()),
    ).rejects.toThrow('admission plugin Broken: boom');
  });
});
