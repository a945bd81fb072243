// The pure parts of a cluster's rollouts: the talos-operator's status annotations from
// status.upgrade, the rollout's summary condition, and the config a control plane gets first in a
// Kubernetes rollout (its new control-plane components, its kubelet where it runs).
import { describe, expect, it } from 'vitest';
import type { ClusterUpgradeStatus } from '../../../src/api/kubernetescluster.js';
import { operatorAnnotations, operatorStatus } from '../../../src/controllers/clusterlifecycle/operatorannotations.js';
import { summary } from '../../../src/controllers/clusterlifecycle/rolloutrecord.js';
import { configVersions, withKubeletImage } from '../../../src/controllers/clusterlifecycle/versions.js';

const rollout = (phases: string[], extra: Partial<ClusterUpgradeStatus> = {}): ClusterUpgradeStatus => ({
  kind: 'Kubernetes',
  from: '1.33.6',
  to: '1.34.1',
  startedAt: '2026-12-07T00:00:00Z',
  nodes: phases.map((phase, i) => ({
    machine: `c-${i < 2 ? 'ctp' : 'wrk'}${i}`,
    role: i < 2 ? 'controlplane' : 'worker',
    phase: phase as never,
    ...(phase === 'failed' ? { message: 'kubelet 1.34.1 is unhealthy' } : {}),
  })),
  ...extra,
});

describe("the talos-operator's status annotations", () => {
  const P = 'upgrade.vitistack.io/';
  it('say in-progress with done/total while rolling, and the versions the cluster runs', () => {
    const a = operatorAnnotations(rollout(['done', 'upgrading', 'pending']), {
      talos: 'v1.13.9',
      kubernetes: 'v1.33.6',
    });
    expect(a).toMatchObject({
      [`${P}talos-current`]: 'v1.13.9',
      [`${P}kubernetes-current`]: '1.33.6',
      [`${P}kubernetes-status`]: 'in-progress',
      [`${P}kubernetes-progress`]: '1/3',
      [`${P}failed-nodes`]: null,
    });
    expect(a[`${P}kubernetes-message`]).toBe('Kubernetes 1.33.6 -> 1.34.1: 1/3 nodes done; c-ctp1 upgrading');
    expect(a).not.toHaveProperty(`${P}talos-status`);
  });

  it('name the failed nodes as CSV and say failed; completed, rolling-back and superseded (idle) otherwise', () => {
    const failed = operatorAnnotations(rollout(['done', 'done', 'failed', 'failed']), {});
    expect(failed[`${P}kubernetes-status`]).toBe('failed');
    expect(failed[`${P}failed-nodes`]).toBe('c-wrk2,c-wrk3');
    expect(operatorStatus(rollout(['done', 'skipped'], { finishedAt: '2026-12-07T00:01:00Z' }))).toBe('completed');
    expect(operatorStatus(rollout(['done', 'pending'], { rollback: true }))).toBe('rolling-back');
    expect(operatorStatus(rollout(['done', 'pending'], { finishedAt: 'x', supersededBy: 'Kubernetes 1.35.0' }))).toBe(
      'idle',
    );
  });

  it('with no rollout: talos-status pending when the spec asks for another Talos, else idle', () => {
    expect(operatorAnnotations(undefined, { talos: 'v1.13.9' }, 'v1.13.10')[`${P}talos-status`]).toBe('pending');
    expect(operatorAnnotations(undefined, { talos: 'v1.13.9' }, 'v1.13.9')[`${P}talos-status`]).toBe('idle');
  });
});

describe('the summary condition of a rollout', () => {
  it('is True while rolling, naming the step of each node in flight', () => {
    const u = rollout(['upgrading', 'pending', 'pending']);
    u.nodes![0]!.step = 'components';
    expect(summary(u)).toMatchObject({
      status: 'True',
      reason: 'RollingKubernetes',
      message: 'Kubernetes 1.33.6 -> 1.34.1: 0/3 nodes done; c-ctp0 upgrading (control-plane components)',
    });
  });

  it('is False UpgradeFailed naming the node and why, Completed when all are settled, Superseded when replaced', () => {
    expect(summary(rollout(['done', 'failed', 'pending']))).toMatchObject({
      status: 'False',
      reason: 'UpgradeFailed',
      message: 'Kubernetes 1.33.6 -> 1.34.1: 1/3 nodes done; stopped: c-ctp1: kubelet 1.34.1 is unhealthy',
    });
    expect(summary(rollout(['done', 'skipped']))).toMatchObject({ status: 'False', reason: 'Completed' });
    expect(summary(rollout(['done', 'pending'], { supersededBy: 'Talos v1.13.10' }))).toMatchObject({
      reason: 'Superseded',
      message: 'Kubernetes 1.33.6 -> 1.34.1: 1/2 nodes done; left for Talos v1.13.10',
    });
  });
});

describe("a control plane's first config in a Kubernetes rollout", () => {
  const config = `version: v1alpha1
machine:
  type: controlplane
  kubelet:
    image: ghcr.io/siderolabs/kubelet:v1.34.1
  install:
    image: ghcr.io/siderolabs/installer:v1.13.9
cluster:
  apiServer:
    image: registry.k8s.io/kube-apiserver:v1.34.1
---
apiVersion: v1alpha1
kind: HostnameConfig
hostname: c-ctp0
`;

  it('keeps the kubelet where it runs and everything else as the new config says', () => {
    const first = withKubeletImage(config, 'ghcr.io/siderolabs/kubelet:v1.33.6');
    expect(configVersions(first)).toMatchObject({ kubernetes: '1.33.6', talos: 'v1.13.9' });
    expect(first).toContain('image: registry.k8s.io/kube-apiserver:v1.34.1');
    expect(first).toContain('kind: HostnameConfig');
    expect(withKubeletImage(first, 'ghcr.io/siderolabs/kubelet:v1.34.1')).toBe(
      withKubeletImage(config, 'ghcr.io/siderolabs/kubelet:v1.34.1'),
    );
  });
});
