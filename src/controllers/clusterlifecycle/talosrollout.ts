// The Talos rollout's node steps: the Upgrade RPC with the installer image of the target, the
// reboot, and the node back at the target with every service healthy (a control plane also an
// etcd member). The intent is written before the node is asked, so a restart never asks a node
// twice; a node back at its old version, refusing, or late is failed and never asked again
// unless the user says so (rolloutrecord.ts).
import type { ClusterUpgradeStatus, UpgradeNodeStatus } from '../../api/kubernetescluster.js';
import { using } from '../../nodeaccess/machinenode.js';
import { unhealthyServices } from '../../nodeaccess/sighting.js';
import { compareVersions } from '../../machineconfig/upgradepolicy.js';
import { TalosError } from '../../talos/errors.js';
import { event, isMember, live, now, ordered, type NodeView, type Round } from './round.js';
import { rolloutTarget, summary, writeRollout } from './rolloutrecord.js';
import type { RolloutDriver, RolloutOptions } from './rolloutdriver.js';

/** what a Talos rollout needs of the configs: the version and installer image they ask for */
export interface TalosTarget {
  to: string;
  image: string;
}

const healthyAt = (r: Round, v: NodeView, version: string) =>
  v.sighting?.mode === 'configured' &&
  v.sighting.talosVersion === version &&
  !unhealthyServices(v.sighting.services ?? []).length &&
  (v.role !== 'controlplane' || isMember(r, v));

/** why a node is not (yet) at the target and healthy; undefined when it is */
function notThere(r: Round, v: NodeView, to: string): string | undefined {
  const s = v.sighting;
  if (healthyAt(r, v, to)) return undefined;
  if (s?.mode !== 'configured') return s?.error ?? `the node is ${s?.mode ?? 'not seen'}`;
  if (s.talosVersion !== to) return `runs ${s.talosVersion}, not ${to}`;
  const sick = unhealthyServices(s.services ?? []);
  return sick.length ? `unhealthy: ${sick.join(', ')}` : 'not an etcd member';
}

/** a new rollout to `t`: every configured node, control planes first; a node there (or skipped for it) is done */
export function beginTalos(r: Round, t: TalosTarget): ClusterUpgradeStatus | undefined {
  const views = ordered(live(r));
  const key = `Talos ${t.to}`;
  const leftOut = (v: NodeView) => (v.record.skippedUpgrades ?? []).includes(key);
  const behind = views.filter((v) => v.sighting?.talosVersion !== t.to && !leftOut(v));
  if (!behind.length) return undefined;
  const from = behind[0]!.sighting!.talosVersion;
  return {
    kind: 'Talos',
    ...(from ? { from } : {}),
    to: t.to,
    image: t.image,
    ...(from && compareVersions(t.to, from) < 0 ? { rollback: true } : {}),
    startedAt: now(),
    nodes: views.map((v) => ({
      machine: v.name,
      role: v.role,
      phase: leftOut(v) ? 'skipped' : v.sighting!.talosVersion === t.to ? 'done' : 'pending',
      ...(v.sighting?.talosVersion ? { from: v.sighting.talosVersion } : {}),
      attempts: 0,
    })),
  };
}

export const talosDriver: RolloutDriver = {
  steady: (r, u, _n, v) => healthyAt(r, v, u.to),

  stillFailing: async (r, u, n) => {
    const v = live(r).find((x) => x.name === n.machine);
    return v ? notThere(r, v, u.to) : 'its Machine is gone';
  },

  async follow(r: Round, u: ClusterUpgradeStatus, n: UpgradeNodeStatus, v: NodeView, o: RolloutOptions) {
    const s = v.sighting;
    if (healthyAt(r, v, u.to) && n.phase === 'upgrading') {
      // back at the target before it was looked at again: it did reboot, and the reboot is
      // recorded all the same (done follows on the next look), so a watcher sees every phase
      Object.assign(n, { phase: 'rebooting', message: `rebooted into ${u.to} (back before it was looked at again)` });
      await event(r, 'Normal', 'UpgradeNodeRebooting', `machine ${v.name} rebooted into Talos ${u.to}`);
      return;
    }
    if (healthyAt(r, v, u.to)) {
      Object.assign(n, { phase: 'done', finishedAt: now(), message: `runs ${u.to}, healthy` });
      await event(r, 'Normal', 'UpgradeNodeDone', `machine ${v.name} runs Talos ${u.to} and is healthy`);
      return;
    }
    if (s?.mode === 'unreachable' && n.phase === 'upgrading') {
      Object.assign(n, { phase: 'rebooting', message: `rebooting into ${u.to}` });
      await event(r, 'Normal', 'UpgradeNodeRebooting', `machine ${v.name} is rebooting into Talos ${u.to}`);
      return;
    }
    if (n.phase === 'rebooting' && s?.mode === 'configured' && s.talosVersion && s.talosVersion !== u.to) {
      const why = `came back at ${s.talosVersion}, not ${u.to}: the upgrade did not take`;
      Object.assign(n, { phase: 'failed', finishedAt: now(), message: why });
      await event(r, 'Warning', 'UpgradeNodeFailed', `machine ${v.name} ${why}`);
      return;
    }
    const since = Date.parse(n.acceptedAt ?? n.requestedAt ?? u.startedAt ?? now());
    if (Date.now() - since > o.nodeTimeoutMs) {
      const why = `not back at ${u.to} and healthy within ${o.nodeTimeoutMs}ms (${notThere(r, v, u.to)})`;
      Object.assign(n, { phase: 'failed', finishedAt: now(), message: why });
      await event(r, 'Warning', 'UpgradeNodeFailed', `machine ${v.name} ${why}`);
    }
  },

  async start(r: Round, u: ClusterUpgradeStatus, n: UpgradeNodeStatus, v: NodeView) {
    const resumed = n.phase === 'upgrading' && !n.acceptedAt;
    if (resumed && v.sighting?.talosVersion === u.to) {
      // asked before a restart, and already there: it is followed, never asked twice
      n.acceptedAt = n.requestedAt ?? now();
      return;
    }
    if (!resumed) {
      Object.assign(n, { phase: 'upgrading', attempts: (n.attempts ?? 0) + 1, requestedAt: now() });
      delete n.acceptedAt;
      delete n.finishedAt;
      n.message = `asking the node to upgrade to ${u.image}`;
      await writeRollout(r, u, summary(u));
    }
    try {
      await using(r.deps.nodes.configured(v.endpoint!, r.creds), (c) => c.upgrade({ image: u.image! }));
      Object.assign(n, { acceptedAt: now(), message: `the node accepted the upgrade to ${u.to}` });
      await event(r, 'Normal', 'UpgradeNodeStarted', `machine ${v.name}: upgrading Talos to ${u.to} with ${u.image}`);
    } catch (e) {
      if (!(e instanceof TalosError)) throw e;
      // the call may have reached a node that then went away: following it judges the outcome
      if (e.failure === 'Unreachable' || e.failure === 'Timeout') {
        n.message = `the upgrade call got no answer (${e.message}); following the node`;
        n.acceptedAt = now();
        return;
      }
      Object.assign(n, { phase: 'failed', finishedAt: now(), message: `the node refused the upgrade: ${e.message}` });
      await event(
        r,
        'Warning',
        'UpgradeNodeFailed',
        `machine ${v.name}: the node refused the ${rolloutTarget(u)} upgrade: ${e.message}`,
      );
    }
  },
};
