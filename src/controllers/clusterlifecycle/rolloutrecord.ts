// What a rollout keeps and says (shared by the Talos and the Kubernetes rollout): status.upgrade
// and the Upgrading condition written under the upgrade field manager, the summary with its
// done/total, and the user's answer to a stopped rollout (retry, skip or resume its failed
// nodes), given as the talos-operator's annotations and consumed once seen.
import type { ClusterUpgradeStatus, KubernetesClusterStatus, UpgradeNodeStatus } from '../../api/kubernetescluster.js';
import { StatusError } from '../../machinery/errors.js';
import { systemContext } from '../../machinery/registry/context.js';
import { setCondition, type Condition, type ConditionUpdate } from '../conditions.js';
import { event, now, type Round } from './round.js';

export const UPGRADE_FIELD_MANAGER = 'upgrade-controller';
/** "true": the failed nodes of the rollout are asked again (talos-operator's names; consumed) */
export const RETRY_FAILED_ANNOTATION = 'upgrade.vitistack.io/retry-failed-nodes';
/** "true": the failed nodes are left at their version and the rollout goes on (consumed) */
export const SKIP_FAILED_ANNOTATION = 'upgrade.vitistack.io/skip-failed-nodes';
/** "true": failed nodes are looked at again, never asked: one put right by hand counts as done (consumed) */
export const RESUME_ANNOTATION = 'upgrade.vitistack.io/resume';

export type Phase = UpgradeNodeStatus['phase'];
export const inFlight = (p: Phase) => p === 'upgrading' || p === 'rebooting';
export const settled = (p: Phase) => p === 'done' || p === 'skipped';

/** `Talos v1.9.6` or `Kubernetes 1.32.4`: how a node's record remembers a rollout it was left out of */
export const rolloutTarget = (u: ClusterUpgradeStatus, n?: UpgradeNodeStatus) => `${u.kind} ${n?.to ?? u.to}`;

/** the rollout's status and condition, applied under the upgrade field manager */
export async function writeRollout(r: Round, u: ClusterUpgradeStatus, condition: ConditionUpdate): Promise<void> {
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

export function progressOf(u: ClusterUpgradeStatus): { done: number; total: number; failed: UpgradeNodeStatus[] } {
  const nodes = u.nodes ?? [];
  return {
    done: nodes.filter((n) => settled(n.phase)).length,
    total: nodes.length,
    failed: nodes.filter((n) => n.phase === 'failed'),
  };
}

const describeNode = (n: UpgradeNodeStatus) =>
  `${n.machine} ${n.phase}${n.step === 'components' ? ' (control-plane components)' : n.step === 'kubelet' ? ' (kubelet)' : ''}`;

export function summary(u: ClusterUpgradeStatus): ConditionUpdate {
  const { done, total, failed } = progressOf(u);
  const progress = `${done}/${total}`;
  const what = `${u.kind} ${u.from ?? '?'} -> ${u.to}`;
  if (u.supersededBy)
    return {
      type: 'Upgrading',
      status: 'False',
      reason: 'Superseded',
      message: `${what}: ${progress} nodes done; left for ${u.supersededBy}`,
    };
  if (failed.length)
    return {
      type: 'Upgrading',
      status: 'False',
      severity: 'Error',
      reason: 'UpgradeFailed',
      message: `${what}: ${progress} nodes done; stopped: ${failed.map((n) => `${n.machine}: ${n.message ?? 'failed'}`).join('; ')}`,
    };
  if (done === total)
    return { type: 'Upgrading', status: 'False', reason: 'Completed', message: `${what}: ${progress} nodes done` };
  const going = (u.nodes ?? []).filter((n) => inFlight(n.phase)).map(describeNode);
  return {
    type: 'Upgrading',
    status: 'True',
    reason: u.kind === 'Talos' ? 'RollingTalos' : 'RollingKubernetes',
    message: `${what}: ${progress} nodes done${going.length ? `; ${going.join(', ')}` : ''}`,
  };
}

/**
 * The user's answer to a stopped rollout: retry, skip or resume its failed nodes. The annotations
 * are consumed whenever they are seen, failed nodes or not, so one left over never acts on a later
 * failure by accident. `stillFailing` judges a failed node on resume: a reason it is still
 * failed, or undefined when it now is where the rollout wants it.
 */
export async function userDecisions(
  r: Round,
  u: ClusterUpgradeStatus | undefined,
  stillFailing: (n: UpgradeNodeStatus) => Promise<string | undefined>,
): Promise<string[]> {
  const annotations = r.cluster.metadata.annotations ?? {};
  const seen = [RETRY_FAILED_ANNOTATION, SKIP_FAILED_ANNOTATION, RESUME_ANNOTATION].filter((a) => a in annotations);
  if (!u) return seen;
  const records = new Map(r.views.map((v) => [v.name, v.record]));
  for (const n of (u.nodes ?? []).filter((x) => x.phase === 'failed')) {
    if (annotations[RETRY_FAILED_ANNOTATION] === 'true') {
      Object.assign(n, { phase: 'pending', message: `retry asked after: ${n.message ?? 'a failure'}` });
      delete n.finishedAt;
      await event(
        r,
        'Normal',
        'UpgradeNodeRetry',
        `machine ${n.machine}: its ${rolloutTarget(u, n)} upgrade is tried again`,
      );
    } else if (annotations[SKIP_FAILED_ANNOTATION] === 'true') {
      Object.assign(n, { phase: 'skipped', message: `skipped after: ${n.message ?? 'a failure'}` });
      const record = records.get(n.machine);
      if (record) record.skippedUpgrades = [...new Set([...(record.skippedUpgrades ?? []), rolloutTarget(u, n)])];
      await event(
        r,
        'Warning',
        'UpgradeNodeSkipped',
        `machine ${n.machine} is left out of the ${rolloutTarget(u, n)} upgrade`,
      );
    } else if (annotations[RESUME_ANNOTATION] === 'true') {
      const why = await stillFailing(n);
      if (why === undefined) {
        Object.assign(n, { phase: 'done', finishedAt: now(), message: `resumed: the node is at ${n.to ?? u.to}` });
        await event(r, 'Normal', 'UpgradeNodeDone', `machine ${n.machine} is at ${rolloutTarget(u, n)} (resumed)`);
      } else {
        n.message = `resume asked, still failed: ${why}`;
        await event(r, 'Warning', 'UpgradeResumeRefused', `machine ${n.machine} is still failed: ${why}`);
      }
    }
  }
  return seen;
}

export async function consumeAnnotations(r: Round, annotations: string[]): Promise<void> {
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
