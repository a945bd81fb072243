// The rolling Talos upgrade of a running cluster, one step of each lifecycle round. A change of
// the Talos version the configs ask for (spec.talos.version, regenerated into each Machine's
// config Secret) is rolled out here, never by applying a config (apply.ts holds it as
// VersionChangePending until the node runs the new version, then hands the new config over
// without a reboot). Control planes go first, one at a time, each back at the target, healthy
// and an etcd member before the next; then workers, spec.upgradeStrategy.maxUnavailable at a
// time. The rollout lives in status.upgrade (written under its own field manager) so a restart
// resumes it: a node's intent is written before it is asked, a done node is never asked again,
// and a failed node stops the rollout until the user decides.
import type { ClusterUpgradeStatus, KubernetesClusterStatus, UpgradeNodeStatus } from '../../api/kubernetescluster.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import { systemContext } from '../../machinery/registry/context.js';
import { clusterSpec } from '../../machineconfig/fromcluster.js';
import { using } from '../../nodeaccess/machinenode.js';
import { unhealthyServices } from '../../nodeaccess/sighting.js';
import { MACHINECONFIG_KEY, machineconfigSecretName } from '../../secrets/clustersecrets.js';
import { TalosError } from '../../talos/errors.js';
import { conditionOf, setCondition, type Condition, type ConditionUpdate } from '../conditions.js';
import { event, isMember, live, now, ordered, type NodeView, type Round } from './round.js';
import { configVersions } from './versions.js';

export const UPGRADE_FIELD_MANAGER = 'upgrade-controller';
/** "true": the failed nodes of the rollout are asked again (talos-operator's names; consumed) */
export const RETRY_FAILED_ANNOTATION = 'upgrade.vitistack.io/retry-failed-nodes';
/** "true": the failed nodes are left at their version and the rollout goes on (consumed) */
export const SKIP_FAILED_ANNOTATION = 'upgrade.vitistack.io/skip-failed-nodes';

type Phase = UpgradeNodeStatus['phase'];
const inFlight = (p: Phase) => p === 'upgrading' || p === 'rebooting';
const settled = (p: Phase) => p === 'done' || p === 'skipped';

/** what a rollout needs of the configs: the Talos version and installer image they ask for */
async function target(r: Round): Promise<{ to: string; image: string } | undefined> {
  for (const v of ordered(live(r))) {
    const text = (await r.deps.secrets.get(r.namespace, machineconfigSecretName(v.name)))?.[MACHINECONFIG_KEY];
    const versions = text ? configVersions(text) : {};
    if (versions.talos && versions.installImage) return { to: versions.talos, image: versions.installImage };
  }
  return undefined;
}

const healthyAt = (r: Round, v: NodeView, version: string) =>
  v.sighting?.mode === 'configured' &&
  v.sighting.talosVersion === version &&
  !unhealthyServices(v.sighting.services ?? []).length &&
  (v.role !== 'controlplane' || isMember(r, v));

/** a new rollout to `to`: every configured node, control planes first; a node already there is done */
function begin(r: Round, to: string, image: string): ClusterUpgradeStatus | undefined {
  const views = ordered(live(r));
  if (!views.length || views.some((v) => v.sighting?.mode !== 'configured')) return undefined;
  const behind = views.filter((v) => v.sighting!.talosVersion !== to);
  if (!behind.length) return undefined;
  return {
    kind: 'Talos',
    from: behind[0]!.sighting!.talosVersion,
    to,
    image,
    startedAt: now(),
    nodes: views.map((v) => ({
      machine: v.name,
      role: v.role,
      phase: v.sighting!.talosVersion === to ? 'done' : 'pending',
      attempts: 0,
    })),
  };
}

export interface RolloutOptions {
  nodeTimeoutMs: number;
}

/** the rollout's status and condition, applied under the upgrade field manager */
async function write(r: Round, u: ClusterUpgradeStatus, condition: ConditionUpdate): Promise<void> {
  const previous = ((r.cluster.status as KubernetesClusterStatus | undefined)?.conditions ?? []) as Condition[];
  const conditions = setCondition(previous, condition, now()).conditions.filter((c) => c.type === 'Upgrading');
  const body = {
    apiVersion: r.cluster.apiVersion,
    kind: r.cluster.kind,
    metadata: { name: r.name, namespace: r.namespace },
    status: { upgrade: u, conditions },
  };
  try {
    const stored = await r.deps.clusters.apply(
      r.namespace,
      r.name,
      { value: body, duplicates: [] },
      { ...systemContext(), fieldManager: UPGRADE_FIELD_MANAGER },
      true,
      'status',
    );
    r.cluster = stored.object;
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 404)) throw e;
  }
}

function summary(u: ClusterUpgradeStatus): ConditionUpdate {
  const nodes = u.nodes ?? [];
  const done = nodes.filter((n) => settled(n.phase)).length;
  const progress = `${done}/${nodes.length}`;
  const failed = nodes.filter((n) => n.phase === 'failed');
  if (failed.length)
    return {
      type: 'Upgrading',
      status: 'False',
      severity: 'Error',
      reason: 'UpgradeFailed',
      message: `Talos ${u.to}: ${progress} nodes done; stopped: ${failed.map((n) => `${n.machine}: ${n.message ?? 'failed'}`).join('; ')}`,
    };
  if (done === nodes.length)
    return {
      type: 'Upgrading',
      status: 'False',
      reason: 'Completed',
      message: `Talos ${u.to}: ${progress} nodes done`,
    };
  const going = nodes.filter((n) => inFlight(n.phase)).map((n) => `${n.machine} ${n.phase}`);
  return {
    type: 'Upgrading',
    status: 'True',
    reason: 'RollingTalos',
    message: `Talos ${u.from ?? '?'} -> ${u.to}: ${progress} nodes done${going.length ? `; ${going.join(', ')}` : ''}`,
  };
}

/** follows a node that was asked: back at the target and healthy, still away, back unchanged, or late */
async function follow(r: Round, u: ClusterUpgradeStatus, n: UpgradeNodeStatus, v: NodeView, o: RolloutOptions) {
  const s = v.sighting;
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
    const why = `not back at ${u.to} and healthy within ${o.nodeTimeoutMs}ms (${s?.mode === 'configured' ? `runs ${s.talosVersion}` : (s?.error ?? 'unreachable')})`;
    Object.assign(n, { phase: 'failed', finishedAt: now(), message: why });
    await event(r, 'Warning', 'UpgradeNodeFailed', `machine ${v.name} ${why}`);
  }
}

/** asks one node to upgrade, its intent written first; a call that did not arrive is asked again */
async function start(r: Round, u: ClusterUpgradeStatus, n: UpgradeNodeStatus, v: NodeView): Promise<void> {
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
    await write(r, u, summary(u));
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
    await event(r, 'Warning', 'UpgradeNodeFailed', `machine ${v.name}: the node refused the upgrade: ${e.message}`);
  }
}

/**
 * The user's answer to a stopped rollout: retry or skip its failed nodes. The annotations are
 * consumed whenever they are seen, failed nodes or not, so one left over never retries a later
 * failure by accident.
 */
async function userDecisions(r: Round, u: ClusterUpgradeStatus | undefined): Promise<string[]> {
  const annotations = r.cluster.metadata.annotations ?? {};
  const seen = [RETRY_FAILED_ANNOTATION, SKIP_FAILED_ANNOTATION].filter((a) => a in annotations);
  if (!u) return seen;
  for (const n of (u.nodes ?? []).filter((x) => x.phase === 'failed')) {
    if (annotations[RETRY_FAILED_ANNOTATION] === 'true') {
      Object.assign(n, { phase: 'pending', message: `retry asked after: ${n.message ?? 'a failure'}` });
      delete n.finishedAt;
      await event(r, 'Normal', 'UpgradeNodeRetry', `machine ${n.machine}: its upgrade to ${u.to} is tried again`);
    } else if (annotations[SKIP_FAILED_ANNOTATION] === 'true') {
      Object.assign(n, { phase: 'skipped', message: `skipped after: ${n.message ?? 'a failure'}` });
      await event(r, 'Warning', 'UpgradeNodeSkipped', `machine ${n.machine} is left out of the upgrade to ${u.to}`);
    }
  }
  return seen;
}

async function consume(r: Round, annotations: string[]): Promise<void> {
  if (!annotations.length) return;
  const patch = { metadata: { annotations: Object.fromEntries(annotations.map((a) => [a, null])) } };
  try {
    r.cluster = await r.deps.clusters.patch(r.namespace, r.name, 'merge', patch, {
      ...systemContext(),
      fieldManager: UPGRADE_FIELD_MANAGER,
    });
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 404)) throw e;
  }
}

/** one round of the rollout; returns whether a rollout is going on (the round looks again soon) */
export async function rolloutStep(r: Round, o: RolloutOptions): Promise<boolean> {
  const status = (r.cluster.status ?? {}) as KubernetesClusterStatus;
  if (!r.bootstrap.completedAt) return false;
  const wanted = await target(r);
  if (!wanted) return false;
  let u = status.upgrade ? (structuredClone(status.upgrade) as ClusterUpgradeStatus) : undefined;
  if (!u || u.to !== wanted.to || u.kind !== 'Talos') {
    const fresh = begin(r, wanted.to, wanted.image);
    if (!fresh) return false;
    u = fresh;
    await event(r, 'Normal', 'UpgradeStarted', `rolling Talos ${u.from} -> ${u.to} over ${u.nodes!.length} nodes`);
  }
  const decided = await userDecisions(r, u.finishedAt ? undefined : u);
  if (u.finishedAt) {
    await consume(r, decided);
    return false;
  }
  const byName = new Map(live(r).map((v) => [v.name, v]));
  const nodes = u.nodes ?? [];
  for (const n of nodes) {
    const v = byName.get(n.machine);
    if (v && inFlight(n.phase) && n.acceptedAt) await follow(r, u, n, v, o);
  }
  const stopped = nodes.some((n) => n.phase === 'failed');
  if (!stopped) {
    const cps = nodes.filter((n) => n.role === 'controlplane');
    const workers = nodes.filter((n) => n.role !== 'controlplane');
    const allHealthy = [...byName.values()].every((v) => v.sighting?.mode === 'configured');
    const cpGoing = cps.find((n) => inFlight(n.phase));
    if (cpGoing && !cpGoing.acceptedAt) await start(r, u, cpGoing, byName.get(cpGoing.machine)!);
    else if (!cpGoing) {
      const nextCp = cps.find((n) => n.phase === 'pending');
      const cpsReady = cps.every((n) => {
        const v = byName.get(n.machine);
        return !!v && (n.phase === 'pending' ? v.sighting?.mode === 'configured' : healthyAt(r, v, u!.to));
      });
      if (nextCp && cpsReady && allHealthy) await start(r, u, nextCp, byName.get(nextCp.machine)!);
      else if (!nextCp && cpsReady) {
        const max = Math.max(1, clusterSpec(r.cluster).upgradeStrategy?.maxUnavailable ?? 1);
        for (const n of workers.filter((w) => inFlight(w.phase) && !w.acceptedAt))
          await start(r, u, n, byName.get(n.machine)!);
        let going = workers.filter((w) => inFlight(w.phase)).length;
        for (const n of workers) {
          if (going >= max || u.nodes!.some((x) => x.phase === 'failed')) break;
          const v = byName.get(n.machine);
          if (n.phase !== 'pending' || v?.sighting?.mode !== 'configured') continue;
          await start(r, u, n, v);
          going++;
        }
      }
    }
  }
  if (nodes.every((n) => settled(n.phase)) && !u.finishedAt) {
    u.finishedAt = now();
    await event(r, 'Normal', 'UpgradeCompleted', `every node runs Talos ${u.to}`);
  }
  const condition = summary(u);
  const previous = conditionOf((status.conditions ?? []) as Condition[], 'Upgrading');
  if (condition.reason === 'UpgradeFailed' && previous?.reason !== 'UpgradeFailed')
    await event(r, 'Warning', 'UpgradeStopped', condition.message);
  await write(r, u, condition);
  await consume(r, decided);
  return !u.finishedAt;
}
