// The KubernetesCluster status this controller writes (pure): phase, message, worker count and
// three conditions. Phases are talos-operator's names for the steps this server takes so far:
// ValidationError, Pending (machines or their configs on the way), ConfigGenerated (every
// Machine exists with its generated machine config).
import type { KubernetesClusterStatus } from '../../api/kubernetescluster.js';
import { setCondition, type Condition, type ConditionUpdate } from '../conditions.js';
import type { ClusterPlan } from './plan.js';
import { withoutConfig } from './plan.js';

export interface Progress {
  plan: ClusterPlan;
  /** the cluster's secrets bundle is not there yet, so no Machine was created */
  waitingForSecrets: boolean;
  /** creates the API refused, with its message */
  failedCreates: string[];
  removing?: string;
  hasEndpoint: boolean;
  generation: number;
}

/** the part of the kind's status this controller writes; everything but message is always set */
export type ClusterStatus = Required<Pick<KubernetesClusterStatus, 'observedGeneration' | 'phase' | 'workers'>> &
  Pick<KubernetesClusterStatus, 'message'> & { conditions: Condition[] };

/** the conditions this controller writes; the lifecycle controller writes its own beside them */
const OWNED_CONDITIONS = new Set(['Valid', 'MachinesReconciled', 'ConfigGenerated']);

const names = (xs: readonly { name: string }[]) => xs.map((x) => x.name).join(', ');

function machinesCondition(p: Progress): ConditionUpdate {
  const { plan } = p;
  const c = (status: 'True' | 'False', reason: string, message: string): ConditionUpdate => ({
    type: 'MachinesReconciled',
    status,
    reason,
    message,
  });
  if (plan.problems.length)
    return c('False', 'ValidationFailed', 'no machine is created or removed until the cluster is valid');
  if (p.failedCreates.length) return c('False', 'CreateFailed', p.failedCreates.join('; '));
  if (p.waitingForSecrets)
    return c(
      'False',
      'WaitingForSecrets',
      `waiting for the cluster's secrets bundle before creating ${names(plan.create)}`,
    );
  if (plan.create.length) return c('False', 'Creating', `creating machines: ${names(plan.create)}`);
  if (p.removing) return c('False', 'ScalingDown', `scaling down: deleting machine ${p.removing}`);
  if (plan.terminating.length)
    return c('False', 'WaitingForDeletion', `waiting for machine ${plan.terminating.join(', ')} to be deleted`);
  return c('True', 'InSync', `${plan.desired.length} of ${plan.desired.length} machines exist`);
}

function configCondition(p: Progress): ConditionUpdate {
  const c = (status: 'True' | 'False', reason: string, message: string): ConditionUpdate => ({
    type: 'ConfigGenerated',
    status,
    reason,
    message,
  });
  if (!p.hasEndpoint)
    return c('False', 'NoEndpoint', 'spec.talos.endpoint is not set: machine configs are generated once it is');
  const missing = withoutConfig(p.plan);
  const total = p.plan.desired.length;
  if (missing.length || p.plan.existing.length < total) {
    return c(
      'False',
      'Generating',
      `${p.plan.existing.length - missing.length} of ${total} machines have a generated machine config`,
    );
  }
  return c('True', 'Generated', `machine configs generated for all ${total} machines`);
}

export function clusterStatus(previous: readonly Condition[], p: Progress): ClusterStatus {
  let conditions = [...previous];
  const updates: ConditionUpdate[] = [
    p.plan.problems.length
      ? { type: 'Valid', status: 'False', reason: 'ValidationFailed', message: p.plan.problems.join('; ') }
      : { type: 'Valid', status: 'True', reason: 'ValidationPassed', message: '' },
    machinesCondition(p),
    configCondition(p),
  ];
  for (const u of updates) conditions = setCondition(conditions, u).conditions;
  conditions = conditions.filter((c) => OWNED_CONDITIONS.has(c.type));
  const machines = updates[1]!;
  const config = updates[2]!;
  const phase = p.plan.problems.length
    ? 'ValidationError'
    : machines.status === 'True' && config.status === 'True'
      ? 'ConfigGenerated'
      : 'Pending';
  const message = p.plan.problems.length
    ? updates[0]!.message
    : machines.status === 'False'
      ? machines.message
      : config.status === 'False'
        ? config.message
        : undefined;
  return {
    observedGeneration: p.generation,
    phase,
    ...(message ? { message } : {}),
    workers: p.plan.workers,
    conditions,
  };
}

const comparable = (s: Partial<ClusterStatus>, withPhase: boolean) =>
  JSON.stringify([
    s.observedGeneration,
    withPhase ? s.phase : '',
    withPhase ? s.message : '',
    s.workers,
    (s.conditions ?? [])
      .filter((c) => OWNED_CONDITIONS.has(c.type))
      .map((c) => [c.type, c.status, c.reason, c.message ?? '']),
  ]);

/** whether writing `next` would change what the object says (its phase and message only when they are ours) */
export const statusDiffers = (old: Partial<ClusterStatus> | undefined, next: ClusterStatus, withPhase = true) =>
  comparable(old ?? {}, withPhase) !== comparable(next, withPhase);
