import { describe, expect, it } from 'vitest';
import { kubernetesUpgradeProblems, talosUpgradeProblems } from '../../../src/machineconfig/upgradepolicy.js';

const fields = { talos: 'spec.version', kubernetes: 'spec.kubernetesVersion' };
const talos = (from: string, to: string, more: { kubernetes?: string; allowDowngrade?: boolean } = {}) =>
  talosUpgradeProblems({ from, to, ...more }, fields);

describe('Talos upgrade rule', () => {
  it('allows a patch, the next line and the same version', () => {
    expect(talos('v1.12.11', 'v1.12.11')).toEqual([]);
    expect(talos('v1.13.2', 'v1.13.9')).toEqual([]);
    expect(talos('v1.12.11', 'v1.13.9')).toEqual([]);
    // 1.13 may be upgraded to from 1.11 on: one line may be skipped
    expect(talos('v1.11.6', 'v1.13.9')).toEqual([]);
    expect(talos('1.12', 'v1.13.0-alpha.1')).toEqual([]);
  });

  it('refuses skipping further than the target line supports, naming the line to stop on', () => {
    const [e, ...rest] = talos('v1.10.9', 'v1.13.9');
    expect(rest).toEqual([]);
    expect(e).toMatchObject({ type: 'FieldValueInvalid', field: 'spec.version' });
    expect(e.message).toContain('Talos 1.13 upgrades only from Talos 1.11 or newer, not from v1.10.9');
    expect(e.message).toContain('upgrade to v1.12.11 first');
  });

  it('refuses a downgrade unless allowed, and an allowed one only as far back as the running line upgrades from', () => {
    expect(talos('v1.13.9', 'v1.13.2')[0].message).toContain('a downgrade is refused unless allowDowngrade is set');
    expect(talos('v1.13.9', 'v1.12.11')[0].message).toContain('downgrade');
    expect(talos('v1.13.9', 'v1.12.11', { allowDowngrade: true })).toEqual([]);
    expect(talos('v1.13.9', 'v1.11.6', { allowDowngrade: true })).toEqual([]);
    expect(talos('v1.13.9', 'v1.10.9', { allowDowngrade: true })[0].message).toContain('only as far as Talos 1.11');
  });

  it('refuses a Kubernetes version outside the target line, on the field that named it', () => {
    const [e] = talos('v1.12.11', 'v1.13.9', { kubernetes: '1.30.4' });
    expect(e.field).toBe('spec.kubernetesVersion');
    expect(e.message).toContain('Talos 1.13 runs Kubernetes 1.31 to 1.36; Kubernetes 1.30 is outside that range');
    expect(talos('v1.12.11', 'v1.13.9', { kubernetes: 'v1.35.4' })).toEqual([]);
    // without a field of its own, the Talos field carries it (the cluster runs that Kubernetes)
    const [k] = talosUpgradeProblems({ from: 'v1.12.11', to: 'v1.13.9', kubernetes: '1.30.4' }, { talos: 'x' });
    expect(k.field).toBe('x');
  });

  it('refuses what it cannot judge: an unknown line, a garbled version', () => {
    expect(talos('v1.12.11', 'v1.99.0')[0].message).toContain('Talos 1.99 is not a known release line');
    expect(talos('v1.12.11', 'latest')[0].message).toContain('is not a Talos version');
    expect(talos('banana', 'v1.13.9')[0].message).toContain('the running Talos version "banana"');
    // the development line has no release to upgrade to
    expect(talos('v1.14.0-rc.1', 'v1.15.0')[0].message).toContain('not a known release line');
  });
});

describe('Kubernetes upgrade rule', () => {
  const k8s = (from: string, to: string, t = 'v1.13.9', allowDowngrade = false) =>
    kubernetesUpgradeProblems({ from, to, talos: t, allowDowngrade }, fields);

  it('allows a patch and the next minor inside the Talos range', () => {
    expect(k8s('1.35.4', '1.35.6')).toEqual([]);
    expect(k8s('1.35.4', '1.36.3')).toEqual([]);
  });

  it('refuses two minors at once, a downgrade, and a version the Talos line does not run', () => {
    expect(k8s('1.34.1', '1.36.3')[0].message).toContain('one minor version at a time: from 1.34.1 to 1.35 first');
    expect(k8s('1.36.3', '1.35.4')[0].message).toContain('downgrade is refused');
    expect(k8s('1.36.3', '1.35.4', 'v1.13.9', true)).toEqual([]);
    const [e] = k8s('1.35.4', '1.36.3', 'v1.12.11');
    expect(e.field).toBe('spec.kubernetesVersion');
    expect(e.message).toContain('Talos 1.12 runs Kubernetes 1.30 to 1.35');
    expect(k8s('1.35.4', 'nope')[0].message).toContain('is not a Kubernetes version');
  });
});
