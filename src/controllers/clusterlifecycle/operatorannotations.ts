// The talos-operator's status annotations (upgrade.vitistack.io/...), so its users' tooling reads
// a rollout here as it read it there: the versions the cluster runs, and for the rollout going on
// (Talos or Kubernetes) its status, done/total progress, message and failed nodes. Written from
// status.upgrade under the upgrade field manager, only when they change.
import type { ClusterUpgradeStatus } from '../../api/kubernetescluster.js';
import { StatusError } from '../../machinery/errors.js';
import { systemContext } from '../../machinery/registry/context.js';
import { controlPlanes, live, ordered, type Round } from './round.js';
import { progressOf, summary, UPGRADE_FIELD_MANAGER } from './rolloutrecord.js';
import { bare } from './versions.js';

const PREFIX = 'upgrade.vitistack.io/';

export type OperatorStatus = 'idle' | 'pending' | 'in-progress' | 'completed' | 'failed' | 'rolling-back';

export function operatorStatus(u: ClusterUpgradeStatus): OperatorStatus {
  if (u.supersededBy) return 'idle';
  if (progressOf(u).failed.length) return 'failed';
  if (u.finishedAt) return 'completed';
  return u.rollback ? 'rolling-back' : 'in-progress';
}

/** the annotations as they should be (null: removed) */
export function operatorAnnotations(
  u: ClusterUpgradeStatus | undefined,
  current: { talos?: string; kubernetes?: string },
  talosTarget?: string,
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (current.talos) out[`${PREFIX}talos-current`] = current.talos;
  if (current.kubernetes) out[`${PREFIX}kubernetes-current`] = bare(current.kubernetes);
  if (!u) {
    out[`${PREFIX}talos-status`] = talosTarget && current.talos && talosTarget !== current.talos ? 'pending' : 'idle';
    return out;
  }
  const k = u.kind === 'Talos' ? 'talos' : 'kubernetes';
  const { done, total, failed } = progressOf(u);
  out[`${PREFIX}${k}-status`] = operatorStatus(u);
  out[`${PREFIX}${k}-progress`] = `${done}/${total}`;
  out[`${PREFIX}${k}-message`] = summary(u).message;
  out[`${PREFIX}failed-nodes`] = failed.length ? failed.map((n) => n.machine).join(',') : null;
  return out;
}

export async function writeOperatorAnnotations(r: Round, u: ClusterUpgradeStatus | undefined, talosTarget?: string) {
  const first = ordered(controlPlanes(live(r)))[0]?.record;
  const wanted = operatorAnnotations(
    u,
    { talos: first?.talosVersion, kubernetes: first?.kubernetesVersion },
    talosTarget,
  );
  const has = r.cluster.metadata.annotations ?? {};
  const changes = Object.fromEntries(
    Object.entries(wanted).filter(([key, value]) => (value === null ? key in has : has[key] !== value)),
  );
  if (!Object.keys(changes).length) return;
  try {
    r.cluster = await r.deps.clusters.patch(
      r.namespace,
      r.name,
      'merge',
      { metadata: { annotations: changes } },
      { ...systemContext(), fieldManager: UPGRADE_FIELD_MANAGER },
    );
  } catch (e) {
    if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
  }
}
