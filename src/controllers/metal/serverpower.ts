// What the Server controller wants of a server's power, by Sidero's state machine (accepted,
// allocated, clean), as a plan of power actions and a status; pure, so the decisions are tested
// without a BMC. The controller reads the power state, asks for the plan, records its intent,
// runs the actions and writes what came of them.
import type { Server, ServerStatus } from '../../api/server.js';
import type { PowerState } from '../../power/power.js';
import { conditionOf, rfc3339, setCondition, type Condition } from '../conditions.js';
import { isAllocated } from './qualifiers.js';

export type PowerAction = 'powerOn' | 'powerOff' | 'powerCycle' | 'pxeBootOnce';

export interface ServerPlan {
  /** the status to write before any action runs (the PowerCycle intent), when there is one */
  intent?: Condition[];
  actions: PowerAction[];
  inUse: boolean;
  isClean: boolean;
  /** ready once the actions succeeded */
  readyAfterActions: boolean;
  /** look again after this (undefined: only on a change) */
  requeueAfterMs?: number;
  conditions: Condition[];
}

export interface PlanInput {
  /** the power state now; undefined when the server has no power control */
  power: PowerState | undefined;
  now: number;
  rebootTimeoutMs: number;
  powerPollMs: number;
}

export function planServer(server: Server, i: PlanInput): ServerPlan {
  const status = (server.status ?? {}) as ServerStatus;
  let conditions = [...((status.conditions ?? []) as Condition[])];
  const inUse = isAllocated(server);
  // Sidero forgets that Talos was installed once the server is free again
  if (!inUse) conditions = conditions.filter((c) => c.type !== 'PXEBooted');
  const accepted = server.spec?.accepted === true;
  const isClean = accepted && !inUse && status.isClean === true;
  const base = { inUse, isClean, conditions };
  if (!accepted) return { ...base, actions: [], readyAfterActions: false };
  if (!inUse && isClean) {
    // clean and free: waits powered off for an allocation (looked at every poll: someone may power it on)
    return {
      ...base,
      actions: i.power === 'off' || i.power === undefined ? [] : ['powerOff'],
      readyAfterActions: true,
      ...(i.power === undefined ? {} : { requeueAfterMs: i.powerPollMs }),
    };
  }
  if (inUse) {
    // allocated: it must run (and boot from the network once, to install); looked at every poll
    const actions: PowerAction[] = i.power === 'off' ? ['pxeBootOnce', 'powerOn'] : [];
    return { ...base, actions, readyAfterActions: true, requeueAfterMs: i.powerPollMs };
  }
  // free but not clean: it netboots the agent, which wipes the disks and reports back
  const pc = conditionOf(conditions, 'PowerCycle');
  const inProgress = pc?.status === 'False' && pc.reason === 'InProgress';
  const since = inProgress ? Date.parse(pc.lastTransitionTime) : NaN;
  const due = !inProgress || !(i.now - since <= i.rebootTimeoutMs);
  if (!due) {
    const left = i.rebootTimeoutMs - (i.now - since);
    return {
      ...base,
      actions: [],
      readyAfterActions: false,
      requeueAfterMs: Math.max(1, Math.min(i.rebootTimeoutMs / 3, left + 1)),
    };
  }
  const at = rfc3339(i.now);
  const message =
    i.power === undefined
      ? `waiting since ${at} for the agent to wipe the disks; the server has no power control, so boot it from the network by hand`
      : `booting from the network to wipe the disks (power sequence sent ${at}${inProgress ? ', again after the reboot timeout' : ''})`;
  // a new attempt starts a new wait: its time is now, also when the status stays False
  const rest = conditions.filter((c) => c.type !== 'PowerCycle');
  const intent = setCondition(
    rest,
    {
      type: 'PowerCycle',
      status: 'False',
      reason: 'InProgress',
      severity: 'Info',
      message,
    },
    at,
  ).conditions;
  const actions: PowerAction[] =
    i.power === undefined ? [] : ['pxeBootOnce', i.power === 'off' ? 'powerOn' : 'powerCycle'];
  return {
    ...base,
    conditions: intent,
    intent,
    actions,
    readyAfterActions: false,
    requeueAfterMs: Math.max(1, i.rebootTimeoutMs / 3),
  };
}
