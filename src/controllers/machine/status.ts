// What a Machine's status says about its node after one look (pure). Only what the node tells
// is written here: hostname, operating system and version, architecture, and the conditions
// BootstrapReady (the node runs the cluster's configuration) and Ready. The provider's fields
// (phase, addresses, disks, interfaces) are never part of it.
import type { MachineStatus } from '../../api/machine.js';
import { unhealthyServices, type NodeSighting } from '../../nodeaccess/sighting.js';
import { setCondition, type Condition, type ConditionUpdate } from '../conditions.js';

/** the fields the Machine controller owns in a Machine's status */
export interface NodeFacts {
  hostname?: string;
  operatingSystem?: string;
  operatingSystemVersion?: string;
  architecture?: string;
  conditions: Condition[];
}

const OWNED = ['hostname', 'operatingSystem', 'operatingSystemVersion', 'architecture'] as const;

function readiness(s: NodeSighting | undefined): { ready: ConditionUpdate; bootstrap: ConditionUpdate } {
  const no = (type: string, reason: string, message: string, severity: 'Info' | 'Warning' = 'Warning') => ({
    type,
    status: 'False' as const,
    severity,
    reason,
    message,
  });
  if (!s) {
    const message = 'the machine provider has not reported the node running with an IPv4 address yet';
    return {
      ready: no('Ready', 'WaitingForNode', message, 'Info'),
      bootstrap: no('BootstrapReady', 'WaitingForNode', message, 'Info'),
    };
  }
  switch (s.mode) {
    case 'maintenance': {
      const message = `the node at ${s.endpoint} runs Talos ${s.talosVersion} in maintenance mode: it waits for its configuration`;
      return {
        ready: no('Ready', 'Maintenance', message, 'Info'),
        bootstrap: no('BootstrapReady', 'Maintenance', message, 'Info'),
      };
    }
    case 'foreign':
      return {
        ready: no('Ready', 'ConfiguredElsewhere', s.error!),
        bootstrap: no('BootstrapReady', 'ConfiguredElsewhere', s.error!),
      };
    case 'unreachable':
      return {
        ready: no('Ready', 'Unreachable', s.error!),
        // what it last ran is not known now: keep the previous verdict
        bootstrap: { type: 'BootstrapReady', status: 'Unknown', reason: 'Unreachable', message: s.error! },
      };
    case 'configured': {
      const bootstrap: ConditionUpdate = {
        type: 'BootstrapReady',
        status: 'True',
        reason: 'Configured',
        message: `the node runs the cluster's configuration (Talos ${s.talosVersion})`,
      };
      const bad = unhealthyServices(s.services ?? []);
      if (bad.length)
        return { ready: no('Ready', 'ServicesNotHealthy', `services not healthy: ${bad.join(', ')}`), bootstrap };
      return {
        ready: { type: 'Ready', status: 'True', reason: 'Ready', message: `${s.hostname} is up and healthy` },
        bootstrap,
      };
    }
  }
}

/** the owned fields after a look (undefined: no node known yet); unknown facts keep their last value */
export function nodeFacts(current: MachineStatus | undefined, s: NodeSighting | undefined, now: string): NodeFacts {
  let conditions = (current?.conditions ?? []) as Condition[];
  const { ready, bootstrap } = readiness(s);
  const previous = conditions.find((c) => c.type === 'BootstrapReady');
  conditions = setCondition(conditions, ready, now).conditions;
  if (!(bootstrap.status === 'Unknown' && previous)) conditions = setCondition(conditions, bootstrap, now).conditions;
  const facts: NodeFacts = {
    conditions: conditions.filter((c) => c.type === 'Ready' || c.type === 'BootstrapReady'),
  };
  for (const k of OWNED) if (current?.[k] !== undefined) facts[k] = current[k];
  if (s?.talosVersion) {
    facts.operatingSystem = 'Talos';
    facts.operatingSystemVersion = s.talosVersion;
  }
  if (s?.architecture) facts.architecture = s.architecture;
  if (s?.hostname) facts.hostname = s.hostname;
  return facts;
}

/** whether writing `next` changes what the Machine says (lastTransitionTime moves only with status) */
export function factsDiffer(current: MachineStatus | undefined, next: NodeFacts): boolean {
  const conds = (cs: readonly Condition[] | undefined) =>
    (cs ?? [])
      .filter((c) => c.type === 'Ready' || c.type === 'BootstrapReady')
      .map((c) => [c.type, c.status, c.reason, c.message ?? ''])
      .sort();
  const pick = (s: Partial<NodeFacts> | undefined) => [
    ...OWNED.map((k) => s?.[k] ?? ''),
    conds(s?.conditions as Condition[] | undefined),
  ];
  return JSON.stringify(pick(current as Partial<NodeFacts>)) !== JSON.stringify(pick(next));
}
