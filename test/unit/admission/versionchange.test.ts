// A KubernetesCluster's version change is judged by the one upgrade rule when the spec is written:
// a refused upgrade is a 422 on the field and nothing is stored.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { systemContext } from '../../../src/machinery/registry/context.js';
import { StatusError } from '../../../src/machinery/errors.js';
import { clusterInputsAdmission as hooks } from '../../../src/admission/machineconfig.js';

function cluster(talos: string, kubernetes: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name: 'c', namespace: 'ns', uid: 'u' },
    spec: {
      data: { clusterId: 'c-id' },
      topology: {
        version: kubernetes,
        controlplane: { replicas: 1, version: kubernetes },
        workers: [{ name: 'pool', replicas: 1, version: kubernetes }],
      },
      talos: { endpoint: 'https://10.0.0.1:6443', version: talos },
      ...extra,
    },
  };
}

async function refusal(obj: KubeObject, old: KubeObject): Promise<StatusError> {
  const e = await hooks.validate!('UPDATE', obj, old, systemContext()).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StatusError);
  return e as StatusError;
}

describe('KubernetesCluster version changes', () => {
  const running = cluster('v1.12.11', '1.35.4');
  const update = (obj: KubeObject) => hooks.validate!('UPDATE', obj, running, systemContext());

  it('allows the next Talos line, a patch, and the next Kubernetes minor the target runs', async () => {
    await expect(update(cluster('v1.13.9', '1.35.4'))).resolves.toBeUndefined();
    await expect(update(cluster('v1.12.2', '1.35.4', { upgradeStrategy: { allowDowngrade: true } }))).resolves.toBe(
      undefined,
    );
    await expect(
      hooks.validate!('UPDATE', cluster('v1.13.9', '1.36.3'), cluster('v1.13.9', '1.35.4'), systemContext()),
    ).resolves.toBeUndefined();
  });

  it('refuses a Talos downgrade unless spec.upgradeStrategy.allowDowngrade, on spec.talos.version', async () => {
    const e = await refusal(cluster('v1.12.2', '1.35.4'), running);
    expect(e.code).toBe(422);
    expect(e.reason).toBe('Invalid');
    expect(e.details?.causes?.[0]).toMatchObject({ field: 'spec.talos.version', reason: 'FieldValueInvalid' });
    expect(e.message).toContain('a downgrade is refused unless allowDowngrade is set');
  });

  it('refuses skipping Talos lines and a Kubernetes version the target does not run', async () => {
    const old = cluster('v1.10.9', '1.33.6');
    const skip = await refusal(cluster('v1.13.9', '1.33.6'), old);
    expect(skip.message).toContain('Talos 1.13 upgrades only from Talos 1.11 or newer, not from v1.10.9');
    const k8s = await refusal(cluster('v1.12.11', '1.29.0'), cluster('v1.11.6', '1.29.0'));
    expect(k8s.details?.causes?.map((c) => c.field)).toContain('spec.topology.version');
  });

  it('refuses Kubernetes two minors at once and a Kubernetes downgrade, on each field that asks it', async () => {
    const old = cluster('v1.13.9', '1.34.1');
    const twice = await refusal(cluster('v1.13.9', '1.36.3'), old);
    expect(twice.message).toContain('one minor version at a time: from 1.34.1 to 1.35 first');
    expect(twice.details?.causes?.map((c) => c.field)).toEqual(
      expect.arrayContaining(['spec.topology.version', 'spec.topology.workers[0].version']),
    );
    const down = await refusal(cluster('v1.13.9', '1.33.6'), old);
    expect(down.message).toContain('downgrade');
  });
});
