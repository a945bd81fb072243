import { describe, expect, it } from 'vitest';
import type { ConditionUpdate } from '../../../src/controllers/conditions.js';
import {
  LIFECYCLE_CONDITIONS,
  lifecycleStatus,
  type LifecycleCondition,
} from '../../../src/controllers/clusterlifecycle/status.js';
import { configVersions, versionChange } from '../../../src/controllers/clusterlifecycle/versions.js';

const T = '2025-01-01T00:00:00Z';
const generated = ['Valid', 'MachinesReconciled', 'ConfigGenerated'].map((type) => ({
  type,
  status: 'True' as const,
  lastTransitionTime: T,
  reason: 'x',
}));
const all = (status: 'True' | 'False', overrides: Partial<Record<LifecycleCondition, ConditionUpdate>> = {}) =>
  Object.fromEntries(
    LIFECYCLE_CONDITIONS.map((t) => [t, overrides[t] ?? { type: t, status, reason: `${t}R`, message: `${t} says` }]),
  ) as Record<LifecycleCondition, ConditionUpdate>;

describe('the lifecycle status', () => {
  it('is Ready when every step and the Machines generation are done', () => {
    const s = lifecycleStatus(generated, all('True'), T);
    expect(s).toMatchObject({ phase: 'Ready', ready: true });
    expect(s.message).toBeUndefined();
    expect(s.conditions.map((c) => [c.type, c.status])).toEqual([
      ['Bootstrapped', 'True'],
      ['ConfigApplied', 'True'],
      ['Healthy', 'True'],
      ['KubeconfigAvailable', 'True'],
      ['MachinesReady', 'True'],
      ['Ready', 'True'],
    ]);
  });

  it('names the first step not done, bootstrap before the other nodes', () => {
    const no = (t: LifecycleCondition): ConditionUpdate => ({
      type: t,
      status: 'False',
      reason: 'Wait',
      message: `${t} waits`,
    });
    const s = lifecycleStatus(
      generated,
      all('True', { ConfigApplied: no('ConfigApplied'), Bootstrapped: no('Bootstrapped') }),
      T,
    );
    expect(s).toMatchObject({ phase: 'Bootstrapping', message: 'Bootstrapped waits', ready: false });
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Wait',
      message: 'Bootstrapped: Bootstrapped waits',
    });
    expect(lifecycleStatus(generated, all('True', { ConfigApplied: no('ConfigApplied') }), T).phase).toBe(
      'Configuring',
    );
    expect(lifecycleStatus(generated, all('True', { MachinesReady: no('MachinesReady') }), T).phase).toBe(
      'WaitingForNodes',
    );
    expect(lifecycleStatus(generated, all('True', { Healthy: no('Healthy') }), T).phase).toBe('Unhealthy');
    expect(lifecycleStatus(generated, all('True', { KubeconfigAvailable: no('KubeconfigAvailable') }), T).phase).toBe(
      'Bootstrapped',
    );
  });

  it('leaves the phase to the KubernetesCluster controller until the Machines and configs exist', () => {
    const s = lifecycleStatus([{ ...generated[2]!, status: 'False' }], all('True'), T);
    expect(s.phase).toBeUndefined();
    expect(s.ready).toBe(false);
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'MachinesNotGenerated' });
    // only its own conditions are returned, never the other controller's
    expect(s.conditions.map((c) => c.type)).not.toContain('ConfigGenerated');
  });
});

describe('the versions a machine config asks for', () => {
  const config = (talos: string, k8s: string) => `version: v1alpha1
machine:
  type: controlplane
  kubelet:
    image: ghcr.io/siderolabs/kubelet:${k8s}
  install:
    disk: /dev/sda
    image: ghcr.io/siderolabs/installer:${talos}
cluster:
  clusterName: c
---
apiVersion: v1alpha1
kind: HostnameConfig
hostname: a
`;
  it('are the installer and kubelet image tags', () => {
    expect(configVersions(config('v1.13.9', 'v1.33.2'))).toEqual({
      talos: 'v1.13.9',
      // Kubernetes versions are written as the API writes them, without the tag's v
      kubernetes: '1.33.2',
      kubeletImage: 'ghcr.io/siderolabs/kubelet:v1.33.2',
      installImage: 'ghcr.io/siderolabs/installer:v1.13.9',
    });
    expect(configVersions('apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: a\n')).toEqual({});
  });
  it('changing either is a version change, never applied as a config', () => {
    expect(
      versionChange({ talos: 'v1.13.9', kubernetes: 'v1.33.2' }, { talos: 'v1.13.10', kubernetes: 'v1.33.2' }),
    ).toBe('Talos v1.13.9 -> v1.13.10');
    expect(
      versionChange({ talos: 'v1.13.9', kubernetes: 'v1.33.2' }, { talos: 'v1.13.9', kubernetes: 'v1.34.0' }),
    ).toBe('Kubernetes v1.33.2 -> v1.34.0');
    expect(versionChange({ talos: 'v1.13.9' }, { talos: 'v1.13.9', kubernetes: 'v1.34.0' })).toBeUndefined();
  });
});
