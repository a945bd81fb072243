// The talos-operator's target annotations become the spec change, and the annotation goes; the
// upgrade rule then judges the change like any other.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { systemContext } from '../../../src/machinery/registry/context.js';
import { upgradeTargetAdmission } from '../../../src/admission/upgradetarget.js';
import { versionChangeProblems } from '../../../src/admission/versionchange.js';

function cluster(annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name: 'c', namespace: 'ns', annotations: { keep: 'me', ...annotations } },
    spec: {
      topology: {
        version: '1.35.4',
        controlplane: { replicas: 1, version: '1.35.4' },
        workers: [
          { name: 'a', replicas: 1, version: '1.35.4' },
          { name: 'pinned', replicas: 1, version: '1.34.1' },
        ],
      },
      talos: { version: 'v1.12.11' },
    },
  };
}

describe('upgrade target annotations', () => {
  it('copy talos-target into spec.talos.version and kubernetes-target into the versions that followed the cluster', async () => {
    const obj = cluster({
      'upgrade.vitistack.io/talos-target': 'v1.13.9',
      'upgrade.vitistack.io/kubernetes-target': '1.36.3',
    });
    await upgradeTargetAdmission.mutate!('UPDATE', obj, cluster(), systemContext());
    expect(obj.metadata.annotations).toEqual({ keep: 'me' });
    const spec = obj.spec as any;
    expect(spec.talos.version).toBe('v1.13.9');
    expect(spec.topology.version).toBe('1.36.3');
    expect(spec.topology.controlplane.version).toBe('1.36.3');
    expect(spec.topology.workers.map((w: any) => w.version)).toEqual(['1.36.3', '1.34.1']);
    expect(versionChangeProblems(obj, cluster())).toEqual([]);
  });

  it('a refused target is refused like the same spec change (a downgrade here)', async () => {
    const obj = cluster({ 'upgrade.vitistack.io/talos-target': 'v1.11.6' });
    await upgradeTargetAdmission.mutate!('UPDATE', obj, cluster(), systemContext());
    const [p] = versionChangeProblems(obj, cluster());
    expect(p?.field).toBe('spec.talos.version');
    expect(p?.message).toContain('downgrade');
  });

  it('leaves other kinds alone', async () => {
    const other = { ...cluster({ 'upgrade.vitistack.io/talos-target': 'v1.13.9' }), kind: 'Machine' };
    await upgradeTargetAdmission.mutate!('UPDATE', other, undefined, systemContext());
    expect(other.metadata.annotations?.['upgrade.vitistack.io/talos-target']).toBe('v1.13.9');
  });
});
