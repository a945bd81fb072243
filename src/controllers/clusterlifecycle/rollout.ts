// A cluster's rollouts, one step of each lifecycle round. A change of the versions the configs
// ask for (regenerated into each Machine's config Secret) is rolled out here, never by applying a
// config (apply.ts holds it as VersionChangePending): Talos first (talosrollout.ts: upgrade and
// reboot), then Kubernetes (kubernetesrollout.ts: control-plane components, then kubelets,
// without a reboot). Control planes go one at a time, each steady before the next; then workers,
// spec.upgradeStrategy.maxUnavailable at a time. The rollout lives in status.upgrade (written
// under its own field manager) so a restart resumes it: a node's intent is written before it is
// asked, a done node is never asked again, and a failed node stops the rollout until the user
// decides (rolloutrecord.ts). A target changed mid-way supersedes the rollout: what the new
// target needs is started afresh, from what each node runs.
import type { ClusterUpgradeStatus, KubernetesClusterStatus, UpgradeNodeStatus } from '../../api/kubernetescluster.js';
import { clusterSpec } from '../../machineconfig/fromcluster.js';
import { MACHINECONFIG_KEY, machineconfigSecretName } from '../../secrets/clustersecrets.js';
import { conditionOf, type Condition } from '../conditions.js';
import { beginKubernetes, kubernetesDriver, kubernetesStillWanted, type DesiredConfig } from './kubernetesrollout.js';
import { writeOperatorAnnotations } from './operatorannotations.js';
import { event, live, now, ordered, type NodeView, type Round } from './round.js';
import type { RolloutDriver, RolloutOptions } from './rolloutdriver.js';
import {
  consumeAnnotations,
  inFlight,
  rolloutTarget,
  settled,
  summary,
  userDecisions,
  writeRollout,
} from './rolloutrecord.js';
import { beginTalos, talosDriver, type TalosTarget } from './talosrollout.js';
import { configVersions } from './versions.js';
import { SeenTwice } from './seentwice.js';

export type { RolloutOptions } from './rolloutdriver.js';
export {
  RETRY_FAILED_ANNOTATION,
  SKIP_FAILED_ANNOTATION,
  RESUME_ANNOTATION,
  UPGRADE_FIELD_MANAGER,
} from './rolloutrecord.js';

async function desiredConfigs(r: Round): Promise<Map<string, DesiredConfig>> {
  const out = new Map<string, DesiredConfig>();
  for (const v of live(r)) {
    const text = (await r.deps.secrets.get(r.namespace, machineconfigSecretName(v.name)))?.[MACHINECONFIG_KEY];
    if (text) out.set(v.name, { text, ...configVersions(text) });
  }
  return out;
}

/** per cluster (namespace/name), what its configs asked for at the last look */
const configsSeen = new SeenTwice();

function sameAsLastLook(r: Round, desired: ReadonlyMap<string, DesiredConfig>): boolean {
  const seen = JSON.stringify([...desired].map(([name, d]) => [name, d.talos, d.installImage, d.kubernetes]).sort());
  return configsSeen.sameAsLast(`${r.namespace}/${r.cluster.metadata.name}`, r.cluster.metadata.uid!, seen);
}

/** the cluster is gone or going: its rollout memory with it */
export function forgetCluster(namespace: string, name: string): void {
  configsSeen.forget(`${namespace}/${name}`);
}

/** the Talos version and installer image the configs ask for (the first control plane's) */
function talosTarget(r: Round, desired: ReadonlyMap<string, DesiredConfig>): TalosTarget | undefined {
  for (const v of ordered(live(r))) {
    const d = desired.get(v.name);
    if (d?.talos && d.installImage) return { to: d.talos, image: d.installImage };
  }
  return undefined;
}

/**
 * Which nodes may be asked now: one resumed whose call may not have arrived; else, with nothing
 * failed and no control plane in flight, the next control plane (its components before any
 * control plane's kubelet) once every other is steady; else workers up to maxUnavailable.
 */
function nextNodes(r: Round, u: ClusterUpgradeStatus, d: RolloutDriver, byName: Map<string, NodeView>) {
  const nodes = u.nodes ?? [];
  if (nodes.some((n) => n.phase === 'failed')) return [];
  const unasked = nodes.filter((n) => inFlight(n.phase) && !n.acceptedAt && byName.has(n.machine));
  const cps = nodes.filter((n) => n.role === 'controlplane');
  const cpUnasked = unasked.find((n) => n.role === 'controlplane');
  if (cpUnasked) return [cpUnasked];
  if (cps.some((n) => inFlight(n.phase))) return [];
  const configured = (n: UpgradeNodeStatus) => byName.get(n.machine)?.sighting?.mode === 'configured';
  const ready = (n: UpgradeNodeStatus) => {
    const v = byName.get(n.machine);
    return !!v && (n.phase === 'done' ? d.steady(r, u, n, v) : configured(n));
  };
  const allConfigured = [...byName.values()].every((v) => v.sighting?.mode === 'configured');
  const nextCp =
    cps.find((n) => n.phase === 'pending' && n.step === 'components') ?? cps.find((n) => n.phase === 'pending');
  if (nextCp) return cps.every(ready) && allConfigured && byName.has(nextCp.machine) ? [nextCp] : [];
  if (!cps.every(ready)) return [];
  const workers = nodes.filter((n) => n.role !== 'controlplane');
  const max = Math.max(1, clusterSpec(r.cluster).upgradeStrategy?.maxUnavailable ?? 1);
  const out = unasked.filter((n) => n.role !== 'controlplane');
  let going = workers.filter((w) => inFlight(w.phase)).length;
  for (const n of workers) {
    if (going >= max) break;
    if (n.phase !== 'pending' || !configured(n)) continue;
    out.push(n);
    going++;
  }
  return out;
}

/** a skip holds while its target does: a rollout of the same kind to another target forgets it */
function forgetOtherSkips(r: Round, u: ClusterUpgradeStatus): void {
  const entries = new Map((u.nodes ?? []).map((n) => [n.machine, n]));
  for (const v of live(r)) {
    const skips = v.record.skippedUpgrades;
    if (!skips) continue;
    const kept = skips.filter((x) => !x.startsWith(`${u.kind} `) || x === rolloutTarget(u, entries.get(v.name)));
    if (kept.length) v.record.skippedUpgrades = kept;
    else delete v.record.skippedUpgrades;
  }
}

/** one round of the rollouts; returns whether one is going on (the round looks again soon) */
export async function rolloutStep(r: Round, o: RolloutOptions): Promise<boolean> {
  const status = (r.cluster.status ?? {}) as KubernetesClusterStatus;
  if (!r.bootstrap.completedAt) return false;
  // while the configs are regenerated for a changed spec, some ask for the old versions and some
  // for the new: nothing is begun, superseded or asked until they all are of one generation
  const generated = conditionOf((status.conditions ?? []) as Condition[], 'ConfigGenerated')?.status === 'True';
  if (status.observedGeneration !== r.cluster.metadata.generation || !generated)
    return !!status.upgrade && !status.upgrade.finishedAt;
  const desired = await desiredConfigs(r);
  const talos = talosTarget(r, desired);
  const allConfigured = live(r).length > 0 && live(r).every((v) => v.sighting?.mode === 'configured');
  let u = status.upgrade ? (structuredClone(status.upgrade) as ClusterUpgradeStatus) : undefined;
  const wanted = (x: ClusterUpgradeStatus) =>
    x.kind === 'Talos' ? talos?.to === x.to : kubernetesStillWanted(x, desired) && !(talos && beginTalos(r, talos));
  if (!u || u.finishedAt || !wanted(u)) {
    // a rollout begins from configs seen alike twice in a row, never from a set still being rewritten
    const steady = sameAsLastLook(r, desired);
    const fresh =
      allConfigured && steady
        ? ((talos ? beginTalos(r, talos) : undefined) ?? (await beginKubernetes(r, desired)))
        : undefined;
    if (u && !u.finishedAt && !wanted(u) && steady && (fresh || allConfigured)) {
      // the target changed mid-way: this rollout ends here, what the new one needs starts afresh
      u.supersededBy = fresh ? rolloutTarget(fresh) : 'the versions the nodes run';
      u.finishedAt = now();
      await event(r, 'Normal', 'UpgradeSuperseded', `${rolloutTarget(u)} is left for ${u.supersededBy}`);
      if (!fresh) await writeRollout(r, u, summary(u));
    }
    if (!fresh) {
      await consumeAnnotations(r, await userDecisions(r, undefined, async () => undefined));
      await writeOperatorAnnotations(r, u, talos?.to);
      // configs that just changed are looked at again soon
      return (!!u && !u.finishedAt) || !steady;
    }
    u = fresh;
    forgetOtherSkips(r, u);
    await event(
      r,
      'Normal',
      'UpgradeStarted',
      `rolling ${u.kind} ${u.from ?? '?'} -> ${u.to} over ${u.nodes!.length} nodes`,
    );
  }
  const driver = u.kind === 'Talos' ? talosDriver : kubernetesDriver(desired, o);
  const current = u;
  const decided = await userDecisions(r, u, (n) => driver.stillFailing(r, current, n));
  const byName = new Map(live(r).map((v) => [v.name, v]));
  const nodes = u.nodes ?? [];
  for (const n of nodes) {
    const v = byName.get(n.machine);
    if (v && inFlight(n.phase) && n.acceptedAt) await driver.follow(r, u, n, v, o);
  }
  for (const n of nextNodes(r, u, driver, byName)) {
    await driver.start(r, u, n, byName.get(n.machine)!);
    if (n.phase === 'failed') break;
  }
  if (nodes.every((n) => settled(n.phase)) && !u.finishedAt) {
    u.finishedAt = now();
    await event(r, 'Normal', 'UpgradeCompleted', `every node runs ${rolloutTarget(u)}`);
  }
  const condition = summary(u);
  const previous = conditionOf((status.conditions ?? []) as Condition[], 'Upgrading');
  if (condition.reason === 'UpgradeFailed' && previous?.reason !== 'UpgradeFailed')
    await event(r, 'Warning', 'UpgradeStopped', condition.message);
  await writeRollout(r, u, condition);
  await consumeAnnotations(r, decided);
  await writeOperatorAnnotations(r, u, talos?.to);
  return !u.finishedAt;
}
