// What the cluster's status says after one round of the lifecycle (pure): the conditions of each
// step, Ready summarising them with the KubernetesCluster controller's (Valid, MachinesReconciled,
// ConfigGenerated), and a phase and message naming the first step that is not done. The phase is
// this controller's only once the Machines and their configs exist; before that it is the
// KubernetesCluster controller's (ValidationError, Pending).
import { conditionOf, setCondition, type Condition, type ConditionUpdate } from '../conditions.js';

/** the conditions this controller writes, in the order the steps run */
export const LIFECYCLE_CONDITIONS = [
  'MachinesReady',
  'ConfigApplied',
  'Bootstrapped',
  'Healthy',
  'KubeconfigAvailable',
] as const;
export type LifecycleCondition = (typeof LIFECYCLE_CONDITIONS)[number];

/** the KubernetesCluster controller's conditions: all True once every Machine exists with its config */
const GENERATOR_CONDITIONS = ['Valid', 'MachinesReconciled', 'ConfigGenerated'];

/** the phase while a condition is the first one not True */
const PHASE_OF: Record<LifecycleCondition, string> = {
  MachinesReady: 'WaitingForNodes',
  Bootstrapped: 'Bootstrapping',
  ConfigApplied: 'Configuring',
  Healthy: 'Unhealthy',
  KubeconfigAvailable: 'Bootstrapped',
};
/** the order phases are judged in: bootstrap before the other nodes' configs */
const PHASE_ORDER: LifecycleCondition[] = [
  'MachinesReady',
  'Bootstrapped',
  'ConfigApplied',
  'Healthy',
  'KubeconfigAvailable',
];

export interface LifecycleStatus {
  conditions: Condition[];
  /** undefined: the phase is the KubernetesCluster controller's now */
  phase?: string;
  message?: string;
  ready: boolean;
}

/** whether the KubernetesCluster controller reports every Machine made with its config */
export const machinesGenerated = (conditions: readonly Condition[]) =>
  GENERATOR_CONDITIONS.every((t) => conditionOf(conditions, t)?.status === 'True');

export function lifecycleStatus(
  previous: readonly Condition[],
  updates: Record<LifecycleCondition, ConditionUpdate>,
  now: string,
): LifecycleStatus {
  let conditions = [...previous];
  for (const t of LIFECYCLE_CONDITIONS) conditions = setCondition(conditions, updates[t], now).conditions;
  const generated = machinesGenerated(previous);
  const pending = PHASE_ORDER.find((t) => updates[t].status !== 'True');
  const ready = generated && !pending;
  const readyUpdate: ConditionUpdate = ready
    ? { type: 'Ready', status: 'True', reason: 'Ready', message: 'the cluster is bootstrapped, configured and healthy' }
    : !generated
      ? {
          type: 'Ready',
          status: 'False',
          severity: 'Info',
          reason: 'MachinesNotGenerated',
          message: 'the Machines or their configs are not all there yet',
        }
      : {
          type: 'Ready',
          status: 'False',
          severity: updates[pending!].severity ?? 'Info',
          reason: updates[pending!].reason,
          message: `${pending}: ${updates[pending!].message}`,
        };
  conditions = setCondition(conditions, readyUpdate, now).conditions;
  const owned = new Set<string>([...LIFECYCLE_CONDITIONS, 'Ready']);
  return {
    conditions: conditions.filter((c) => owned.has(c.type)),
    ...(generated ? { phase: pending ? PHASE_OF[pending] : 'Ready' } : {}),
    ...(generated && pending ? { message: updates[pending].message } : {}),
    ready,
  };
}
