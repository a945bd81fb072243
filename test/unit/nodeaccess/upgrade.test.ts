import { describe, expect, it } from 'vitest';
import { validateUpgradeRequest, versionOfImage } from '../../../src/api/live.js';
import { DEFAULT_FACTORY_SCHEMATIC, defaultInstallerImage } from '../../../src/machineconfig/generate/versions.js';
import {
  advanceUpgrade,
  upgradeInProgress,
  UPGRADE_TIMEOUT_MS,
  type UpgradeProgress,
} from '../../../src/nodeaccess/upgrade.js';

const started = Date.parse('2026-12-01T10:00:00Z');
const base: UpgradeProgress = {
  phase: 'Upgrading',
  image: 'ghcr.io/siderolabs/installer:v1.13.10',
  fromVersion: 'v1.13.9',
  toVersion: 'v1.13.10',
  actorID: 'a1',
  startedAt: '2026-12-01T10:00:00Z',
  message: 'accepted',
};
const at = (s: number) => [started + s * 1000, new Date(started + s * 1000).toISOString()] as const;

describe('following an upgrade', () => {
  it('goes Upgrading -> Rebooting (unreachable) -> Completed (new version), with an event at each move', () => {
    const r1 = advanceUpgrade(base, { reachable: false, why: 'connection refused' }, ...at(2));
    expect(r1.progress.phase).toBe('Rebooting');
    expect(r1.event).toMatchObject({ type: 'Normal', reason: 'UpgradeRebooting' });
    const r2 = advanceUpgrade(r1.progress, { reachable: false, why: 'connection refused' }, ...at(3));
    expect(r2.progress).toBe(r1.progress);
    expect(r2.event).toBeUndefined();
    const r3 = advanceUpgrade(r1.progress, { reachable: true, version: 'v1.13.10' }, ...at(6));
    expect(r3.progress).toMatchObject({ phase: 'Completed', finishedAt: at(6)[1] });
    expect(r3.event).toMatchObject({ type: 'Normal', reason: 'UpgradeCompleted' });
    expect(advanceUpgrade(r3.progress, { reachable: false, why: 'x' }, ...at(7)).progress).toBe(r3.progress);
  });

  it('records a reboot it missed (the node back at the new version at the first look) before completing', () => {
    const missed = advanceUpgrade(base, { reachable: true, version: 'v1.13.10' }, ...at(5));
    expect(missed.progress).toMatchObject({
      phase: 'Rebooting',
      message: 'the node rebooted into v1.13.10 (back before it was looked at again)',
    });
    expect(missed.event).toMatchObject({ type: 'Normal', reason: 'UpgradeRebooting' });
    expect(advanceUpgrade(missed.progress, { reachable: true, version: 'v1.13.10' }, ...at(6)).progress.phase).toBe(
      'Completed',
    );
    // an image without a version: any other version than the one it ran means it rebooted
    const byImage = { ...base, image: 'registry.local/installer@sha256:abc', toVersion: undefined };
    const r = advanceUpgrade(byImage, { reachable: true, version: 'v1.13.12' }, ...at(5));
    expect(r.progress.phase).toBe('Rebooting');
    expect(advanceUpgrade(r.progress, { reachable: true, version: 'v1.13.12' }, ...at(6)).progress.phase).toBe(
      'Completed',
    );
  });

  it('stays Upgrading while the node still answers at the old version', () => {
    expect(advanceUpgrade(base, { reachable: true, version: 'v1.13.9' }, ...at(5)).progress).toBe(base);
  });

  it('fails when the node comes back at the old version, or after the timeout', () => {
    const back = advanceUpgrade({ ...base, phase: 'Rebooting' }, { reachable: true, version: 'v1.13.9' }, ...at(30));
    expect(back.progress.phase).toBe('Failed');
    expect(back.event).toMatchObject({ type: 'Warning', reason: 'UpgradeFailed' });
    expect(back.event!.message).toContain('v1.13.9');
    const late = advanceUpgrade(
      base,
      { reachable: true, version: 'v1.13.9' },
      started + UPGRADE_TIMEOUT_MS + 1,
      'later',
    );
    expect(late.progress.phase).toBe('Failed');
  });

  it('an image without a version completes after the node rebooted', () => {
    const p: UpgradeProgress = {
      ...base,
      image: 'registry.local/installer@sha256:abc',
      toVersion: undefined,
      phase: 'Rebooting',
    };
    expect(advanceUpgrade(p, { reachable: true, version: 'v1.13.9' }, ...at(10)).progress.phase).toBe('Completed');
  });

  it('a staged upgrade waits for the next reboot, without a timeout', () => {
    const staged = { ...base, phase: 'Staged' as const };
    expect(advanceUpgrade(staged, { reachable: false, why: 'x' }, ...at(5)).progress).toBe(staged);
    expect(
      advanceUpgrade(staged, { reachable: true, version: 'v1.13.9' }, started + 2 * UPGRADE_TIMEOUT_MS, 'x').progress,
    ).toBe(staged);
    expect(advanceUpgrade(staged, { reachable: true, version: 'v1.13.10' }, ...at(5)).progress.phase).toBe('Completed');
    expect(upgradeInProgress(staged)).toBe(false);
    expect(upgradeInProgress(base)).toBe(true);
  });
});

describe('upgrade requests', () => {
  it('wants exactly one of version and image', () => {
    expect(validateUpgradeRequest({ version: 'v1.13.10' })).toEqual([]);
    expect(validateUpgradeRequest({ image: 'x:v1' })).toEqual([]);
    expect(validateUpgradeRequest({})[0]).toMatchObject({ type: 'FieldValueRequired', field: 'spec.version' });
    expect(validateUpgradeRequest({ version: 'v1.13.10', image: 'x' })[0]).toMatchObject({
      type: 'FieldValueForbidden',
      field: 'spec.image',
    });
  });

  it('maps versions to installer images and back', () => {
    expect(defaultInstallerImage('1.13.10')).toBe('ghcr.io/siderolabs/installer:v1.13.10');
    // talosctl's default from 1.14 on: the factory image of the default schematic
    expect(defaultInstallerImage('v1.14.0-rc.1')).toBe(
      `factory.talos.dev/metal-installer/${DEFAULT_FACTORY_SCHEMATIC}:v1.14.0-rc.1`,
    );
    expect(defaultInstallerImage('v1.15.2')).toBe(
      `factory.talos.dev/metal-installer/${DEFAULT_FACTORY_SCHEMATIC}:v1.15.2`,
    );
    expect(versionOfImage('ghcr.io/siderolabs/installer:v1.13.10')).toBe('v1.13.10');
    expect(versionOfImage('localhost:5000/installer:1.12.3')).toBe('v1.12.3');
    expect(versionOfImage('localhost:5000/installer@sha256:00')).toBeUndefined();
    expect(versionOfImage('localhost:5000/installer:latest')).toBeUndefined();
  });
});
