// The Kubernetes versions of one KubernetesCluster judged together: each inside the Talos line's
// range, the control plane within one minor of the cluster's, a pool's kubelet never newer than the
// control plane and at most three minors older. Through the admission plugin too: a 422 naming the field.
import { describe, expect, it } from 'vitest';
import { clusterInputsAdmission } from '../../../src/admission/machineconfig.js';
import { StatusError } from '../../../src/machinery/errors.js';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { systemContext } from '../../../src/machinery/registry/context.js';
import { talosLine } from '../../../src/machineconfig/generate/versions.js';
import { versionSkewProblems, type ClusterVersions } from '../../../src/machineconfig/versionskew.js';

const talos113 = talosLine(13)!; // Kubernetes 1.31 to 1.36

const problems = (v: ClusterVersions) =>
  versionSkewProblems(v, talos113).map((e) => `${e.field}: ${e.message.slice(e.field.length + 2)}`);

describe('versionSkewProblems', () => {
  it('accepts versions that agree, a control plane one minor off the cluster, pools up to three minors behind', () => {
    expect(problems({ cluster: '1.33', controlPlane: '1.33.6', pools: ['v1.33.1', undefined] })).toEqual([]);
    expect(problems({ cluster: '1.34', controlPlane: '1.35', pools: ['1.32', '1.35'] })).toEqual([]);
    expect(problems({ cluster: '1.36.3', pools: [undefined] })).toEqual([]);
    expect(problems({ pools: ['1.33'] })).toEqual([]);
  });

  it('refuses a cluster version outside the Talos range even when every role has its own', () => {
    expect(problems({ cluster: '1.20', controlPlane: '1.33', pools: ['1.33'] })).toEqual([
      'spec.topology.version: Invalid value: "1.20": Kubernetes 1.20 is outside 1.31 – 1.36, the range Talos 1.13 accepts',
    ]);
    // a cluster version that is no version at all, which no other check reads when every role has its own
    expect(problems({ cluster: 'one-point-two', controlPlane: '1.33', pools: [] })).toEqual([
      'spec.topology.version: Invalid value: "one-point-two": is not a Kubernetes version such as 1.33 or 1.33.6',
    ]);
  });

  it('refuses a control plane more than one minor from the cluster version', () => {
    expect(problems({ cluster: '1.33', controlPlane: '1.35.1', pools: ['1.33'] })).toEqual([
      `spec.topology.version: Invalid value: "1.33": must be within one minor of the control plane's 1.35.1 (spec.topology.controlplane.version)`,
    ]);
  });

  it("refuses a pool's kubelet newer than the control plane or more than three minors older", () => {
    expect(problems({ cluster: '1.35', controlPlane: '1.35', pools: ['1.36', '1.31', '1.32'] })).toEqual([
      `spec.topology.workers[0].version: Invalid value: "1.36": a kubelet must not be newer than the control plane's 1.35 (spec.topology.controlplane.version)`,
      `spec.topology.workers[1].version: Invalid value: "1.31": a kubelet may be at most 3 minors older than the control plane's 1.35 (spec.topology.controlplane.version)`,
    ]);
    // a pool following the cluster's version is judged on it
    expect(problems({ cluster: '1.34', controlPlane: '1.33', pools: [undefined] })).toEqual([
      `spec.topology.version: Invalid value: "1.34": a kubelet must not be newer than the control plane's 1.33 (spec.topology.controlplane.version)`,
    ]);
  });

  it('without a Talos line (reported elsewhere) judges the skew only', () => {
    expect(versionSkewProblems({ cluster: '1.20', controlPlane: '1.20', pools: ['1.20'] }, undefined)).toEqual([]);
    expect(versionSkewProblems({ cluster: '1.20', controlPlane: '1.25', pools: [] }, undefined)).toHaveLength(1);
  });
});

describe('KubernetesClusterInputs admission', () => {
  const cluster = (topology: Record<string, unknown>): KubeObject => ({
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name: 'mixed', namespace: 'ns', uid: 'u' },
    spec: {
      data: { clusterId: 'mixed-id' },
      topology,
      talos: { endpoint: 'https://10.0.0.1:6443', version: 'v1.13.9' },
    },
  });

  it('refuses spec.topology.version "1.20" beside 1.33 per-role versions with a 422 naming the field', async () => {
    const obj = cluster({
      version: '1.20',
      controlplane: { replicas: 1, version: '1.33' },
      workers: [{ name: 'pool', replicas: 1, version: '1.33' }],
    });
    const e = await clusterInputsAdmission.validate!('CREATE', obj, undefined, systemContext()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(StatusError);
    const st = (e as StatusError).toStatus();
    expect(st).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(st.message).toBe(
      'KubernetesCluster.vitistack.io "mixed" is invalid: spec.topology.version: Invalid value: "1.20": Kubernetes 1.20 is outside 1.31 – 1.36, the range Talos 1.13 accepts',
    );
    expect(st.details?.causes).toEqual([
      expect.objectContaining({ field: 'spec.topology.version', reason: 'FieldValueInvalid' }),
    ]);
  });

  it('a control plane out of range is reported once, in the generator words', async () => {
    const obj = cluster({ version: '1.33', controlplane: { replicas: 1, version: '1.20' }, workers: [] });
    const e = (await clusterInputsAdmission.validate!('CREATE', obj, undefined, systemContext()).catch(
      (err: unknown) => err,
    )) as StatusError;
    expect(e.details?.causes?.filter((c) => c.field === 'spec.topology.controlplane.version')).toHaveLength(1);
  });

  it('accepts a consistent cluster', async () => {
    const obj = cluster({
      version: '1.35',
      controlplane: { replicas: 1, version: '1.35' },
      workers: [{ name: 'pool', replicas: 1, version: '1.34' }],
    });
    await expect(clusterInputsAdmission.validate!('CREATE', obj, undefined, systemContext())).resolves.toBeUndefined();
  });
});
