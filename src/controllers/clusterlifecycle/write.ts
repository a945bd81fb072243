// Writing the lifecycle's part of a cluster's status: server-side apply on the status subresource
// under the field manager `clusterlifecycle-controller`, so the KubernetesCluster controller's
// conditions and fields stay its own. Every write carries all this controller owns (what an
// apply leaves out, its manager gives up), and a write that would change nothing is not made.
import type {
  ClusterBootstrapStatus,
  ClusterNodeStatus,
  KubernetesClusterStatus,
} from '../../api/kubernetescluster.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import { systemContext } from '../../machinery/registry/context.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import type { Condition } from '../conditions.js';
import { LIFECYCLE_CONDITIONS } from './status.js';

export const LIFECYCLE_FIELD_MANAGER = 'clusterlifecycle-controller';
const OWNED_CONDITIONS = new Set<string>([...LIFECYCLE_CONDITIONS, 'Ready']);

export interface LifecycleFields {
  conditions: Condition[];
  nodes: ClusterNodeStatus[];
  bootstrap?: ClusterBootstrapStatus;
  phase?: string;
  message?: string;
}

const comparable = (s: Partial<LifecycleFields>) =>
  JSON.stringify([
    s.phase ?? '',
    s.message ?? '',
    (s.conditions ?? [])
      .filter((c) => OWNED_CONDITIONS.has(c.type))
      .map((c) => [c.type, c.status, c.reason, c.message ?? ''])
      .sort(),
    [...(s.nodes ?? [])].sort((a, b) => a.machine.localeCompare(b.machine)),
    s.bootstrap ?? {},
  ]);

/** what the status says now of the fields this controller owns */
export function currentFields(cluster: KubeObject): LifecycleFields {
  const s = (cluster.status ?? {}) as KubernetesClusterStatus;
  return {
    conditions: ((s.conditions ?? []) as Condition[]).filter((c) => OWNED_CONDITIONS.has(c.type)),
    nodes: s.nodes ?? [],
    ...(s.bootstrap && Object.keys(s.bootstrap).length ? { bootstrap: s.bootstrap } : {}),
    ...(s.phase !== undefined ? { phase: s.phase } : {}),
    ...(s.message !== undefined ? { message: s.message } : {}),
  };
}

/** applies `next` unless the status already says it; resolves to the cluster as stored */
export async function writeLifecycleStatus(
  clusters: ResourceStore,
  cluster: KubeObject,
  next: LifecycleFields,
  ownsPhase: boolean,
): Promise<KubeObject> {
  const current = currentFields(cluster);
  const wanted: LifecycleFields = {
    conditions: next.conditions,
    nodes: [...next.nodes].sort((a, b) => a.machine.localeCompare(b.machine)),
    ...(next.bootstrap && Object.keys(next.bootstrap).length ? { bootstrap: next.bootstrap } : {}),
    ...(ownsPhase && next.phase ? { phase: next.phase } : {}),
    ...(ownsPhase && next.message ? { message: next.message } : {}),
  };
  const compareTo = ownsPhase ? current : { ...current, phase: undefined, message: undefined };
  if (comparable(compareTo) === comparable(wanted)) return cluster;
  const body = {
    apiVersion: cluster.apiVersion,
    kind: cluster.kind,
    metadata: { name: cluster.metadata.name, namespace: cluster.metadata.namespace },
    status: wanted,
  };
  try {
    const r = await clusters.apply(
      cluster.metadata.namespace,
      cluster.metadata.name!,
      { value: body, duplicates: [] },
      { ...systemContext(), fieldManager: LIFECYCLE_FIELD_MANAGER },
      true,
      'status',
    );
    return r.object;
  } catch (e) {
    if (e instanceof StatusError && e.code === 404) return cluster;
    throw e;
  }
}
