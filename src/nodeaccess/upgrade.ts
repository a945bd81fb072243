// Upgrading one node: starting it (the upgrade subresource) and following it (the AdoptedServer
// controller, from what each probe of the node shows). Talos acknowledges an upgrade at once and
// then works in the background: it goes away while it reboots and comes back at the new version.
import type { AdoptedServerStatus } from '../api/adoptedserver.js';
import { versionOfImage, type UpgradeRequestSpec } from '../api/live.js';
import type { CallOptions, TalosClient } from '../talos/client.js';

type UpgradeStatus = NonNullable<AdoptedServerStatus['upgrade']>;

/** status.upgrade as this server writes it: every field but toVersion and finishedAt is always set */
export type UpgradeProgress = Required<
  Pick<UpgradeStatus, 'phase' | 'image' | 'fromVersion' | 'actorID' | 'startedAt' | 'message'>
> &
  Pick<UpgradeStatus, 'toVersion' | 'finishedAt'>;

/** how long an upgrade may take before it counts as failed (pulling an image on a slow link included) */
export const UPGRADE_TIMEOUT_MS = 30 * 60_000;

export const upgradeInProgress = (p: UpgradeProgress | undefined): boolean =>
  p?.phase === 'Upgrading' || p?.phase === 'Rebooting';

/**
 * asks the node to upgrade; returns the progress to record once it has accepted. `vet` sees the
 * running and the target version before the node is asked, and throws to refuse the upgrade.
 */
export async function startUpgrade(
  client: TalosClient,
  /** the image resolved by the caller (a version's default installer image when only a version was asked) */
  spec: UpgradeRequestSpec & { image: string },
  call: CallOptions,
  vet?: (running: string, target: string | undefined) => void,
): Promise<UpgradeProgress> {
  const image = spec.image;
  const before = await client.version(call);
  vet?.(before.version.tag, versionOfImage(image));
  const ack = await client.upgrade(
    {
      image,
      stage: spec.stage,
      force: spec.force,
      preserve: spec.preserve,
      rebootMode: spec.rebootMode === 'powercycle' ? 'POWERCYCLE' : 'DEFAULT',
    },
    call,
  );
  const toVersion = versionOfImage(image);
  return {
    phase: spec.stage ? 'Staged' : 'Upgrading',
    image,
    fromVersion: before.version.tag,
    ...(toVersion ? { toVersion } : {}),
    actorID: ack.actorId,
    startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    message: spec.stage
      ? `staged ${image}: the node installs it on its next reboot`
      : `the node accepted the upgrade to ${image}${ack.ack ? ` (${ack.ack})` : ''}`,
  };
}

/** what one look at the node saw: its version, or that it could not be reached */
export type NodeSighting = { reachable: true; version: string } | { reachable: false; why: string };

export interface UpgradeStep {
  progress: UpgradeProgress;
  /** an event to record when the phase moved */
  event?: { type: 'Normal' | 'Warning'; reason: string; message: string };
}

/** the next state of an upgrade after a sighting of the node (pure; `now` in ms) */
export function advanceUpgrade(p: UpgradeProgress, seen: NodeSighting, now: number, nowText: string): UpgradeStep {
  if (p.phase === 'Completed' || p.phase === 'Failed') return { progress: p };
  const done = (
    phase: 'Completed' | 'Failed',
    message: string,
    type: 'Normal' | 'Warning',
    reason: string,
  ): UpgradeStep => ({
    progress: { ...p, phase, finishedAt: nowText, message },
    event: { type, reason, message },
  });
  if (seen.reachable) {
    if (p.phase === 'Upgrading' && (p.toVersion ? seen.version === p.toVersion : seen.version !== p.fromVersion)) {
      // back at another version before it was looked at again: it did reboot, and the reboot is
      // recorded all the same (Completed follows on the next look), so a watcher sees every phase
      const message = `the node rebooted into ${seen.version} (back before it was looked at again)`;
      return {
        progress: { ...p, phase: 'Rebooting', message },
        event: { type: 'Normal', reason: 'UpgradeRebooting', message },
      };
    }
    const arrived = p.toVersion
      ? seen.version === p.toVersion
      : p.phase === 'Rebooting' && seen.version !== p.fromVersion;
    if (arrived)
      return done('Completed', `the node runs ${seen.version} (was ${p.fromVersion})`, 'Normal', 'UpgradeCompleted');
    if (p.phase === 'Rebooting' && seen.version === p.fromVersion && !p.toVersion) {
      return done('Completed', `the node rebooted and runs ${seen.version}`, 'Normal', 'UpgradeCompleted');
    }
    if (p.phase === 'Rebooting' && seen.version === p.fromVersion) {
      return done(
        'Failed',
        `the node came back at ${seen.version}, not ${p.toVersion}: the upgrade did not take (the node rolled back?)`,
        'Warning',
        'UpgradeFailed',
      );
    }
  } else if (p.phase === 'Upgrading') {
    const message = `the node is rebooting into ${p.toVersion ?? p.image} (unreachable: ${seen.why})`;
    return {
      progress: { ...p, phase: 'Rebooting', message },
      event: { type: 'Normal', reason: 'UpgradeRebooting', message },
    };
  }
  if (p.phase !== 'Staged' && now - Date.parse(p.startedAt) > UPGRADE_TIMEOUT_MS) {
    return done(
      'Failed',
      `the upgrade to ${p.toVersion ?? p.image} did not finish within ${UPGRADE_TIMEOUT_MS / 60_000} minutes`,
      'Warning',
      'UpgradeFailed',
    );
  }
  return { progress: p };
}
