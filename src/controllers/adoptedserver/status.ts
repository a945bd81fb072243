// What an AdoptedServer's status should say after one look at its node (pure: no I/O). The
// controller gathers the facts (probe, Management API sync); this turns them into status fields,
// conditions and the events their transitions deserve.
import { isIP } from 'node:net';
import type { AdoptedServerSpec, AdoptedServerStatus } from '../../api/adoptedserver.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { NodeProbe } from '../../nodeaccess/health.js';
import { advanceUpgrade, type UpgradeProgress } from '../../nodeaccess/upgrade.js';
import { conditionOf, rfc3339, setCondition, type Condition, type ConditionUpdate } from '../conditions.js';

/** the connection attempt: a probe, or why there was none (condition reason + message) */
export type Contact =
  | { ok: true; probe: NodeProbe }
  | { ok: false; reason: string; message: string }
  | { ok: 'skipped' };

export type SyncOutcome =
  | { state: 'disabled' }
  | { state: 'synced' }
  | { state: 'failed'; reason: string; message: string };

export interface Observation {
  contact: Contact;
  sync: SyncOutcome;
  now: number;
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface PlannedStatus {
  status: AdoptedServerStatus;
  events: PlannedEvent[];
}

/** the kind's spec, read without trusting that every field the schema requires is there */
export const specOf = (obj: KubeObject): Partial<AdoptedServerSpec> => (obj.spec ?? {}) as Partial<AdoptedServerSpec>;
const statusOf = (obj: KubeObject): AdoptedServerStatus => (obj.status ?? {}) as AdoptedServerStatus;

function hostOf(endpoint: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(endpoint) ?? /^([^:]+):\d+$/.exec(endpoint);
  return m?.[1] ?? endpoint;
}

function addresses(endpoint: string, hostname: string): { type: string; address: string }[] {
  const host = hostOf(endpoint);
  const out = isIP(host) ? [{ type: 'InternalIP', address: host }] : [{ type: 'InternalDNS', address: host }];
  if (hostname) out.push({ type: 'Hostname', address: hostname });
  return out;
}

export function planStatus(obj: KubeObject, o: Observation): PlannedStatus {
  const spec = specOf(obj);
  const old = statusOf(obj);
  const nowText = rfc3339(o.now);
  const events: PlannedEvent[] = [];
  let conditions = (old.conditions ?? []) as Condition[];
  const set = (u: ConditionUpdate, event?: (previous?: Condition) => PlannedEvent | undefined) => {
    const r = setCondition(conditions, u, nowText);
    conditions = r.conditions;
    const e = r.changed ? event?.(r.previous) : undefined;
    if (e) events.push(e);
  };
  const status: AdoptedServerStatus = { ...old, observedGeneration: obj.metadata.generation };
  const endpoint = spec.talos?.endpoint ?? '';
  const c = o.contact;

  if (c.ok === 'skipped') {
    status.connected = false;
    set({
      type: 'Connected',
      status: 'Unknown',
      reason: 'NotAccepted',
      message: 'spec.accepted is false: the node is not contacted',
    });
    set({
      type: 'Adopted',
      status: 'False',
      severity: 'Info',
      reason: 'NotAccepted',
      message: 'the server is not accepted for management (spec.accepted is false)',
    });
    status.health = unknownHealth(old, 'spec.accepted is false: the node is not asked');
  } else if (c.ok) {
    const p = c.probe;
    status.connected = true;
    status.lastContactTime = nowText;
    status.health = { status: p.status, lastCheckTime: nowText, message: summary(p) };
    status.addresses = addresses(endpoint, p.facts.hostname);
    status.nodeInfo = {
      ...(old.nodeInfo ?? {}),
      hostname: p.facts.hostname,
      talosVersion: p.facts.talosVersion,
      ...(p.facts.nodeType ? { nodeType: p.facts.nodeType } : {}),
      architecture: p.facts.architecture,
    };
    if (p.facts.nodeType) {
      const typeCheck = nodeTypeCondition(spec.talos?.nodeType, p.facts.nodeType);
      set(typeCheck, () =>
        typeCheck.status === 'False'
          ? { type: 'Warning', reason: 'NodeTypeMismatch', message: typeCheck.message }
          : undefined,
      );
    }
    set(
      {
        type: 'Connected',
        status: 'True',
        reason: 'TalosAPIReachable',
        message: `Talos API at ${endpoint} answered: ${p.facts.talosVersion}`,
      },
      () => ({
        type: 'Normal',
        reason: 'Connected',
        message: `Talos API at ${endpoint} answered (${p.facts.talosVersion}, ${p.facts.hostname})`,
      }),
    );
    set({ type: 'Adopted', status: 'True', reason: 'Adopted', message: 'the node is managed' }, () => ({
      type: 'Normal',
      reason: 'Adopted',
      message: `adopted ${p.facts.hostname || endpoint} without reprovisioning`,
    }));
    // back from Unknown to Healthy is told by the Connected event
    const wasUnknown = old.health?.status === 'Unknown' && p.status === 'Healthy';
    if (old.health?.status && old.health.status !== p.status && !wasUnknown) {
      events.push({
        type: p.status === 'Healthy' ? 'Normal' : 'Warning',
        reason: 'HealthChanged',
        message: `health ${old.health.status} -> ${p.status}: ${summary(p)}`,
      });
    }
  } else {
    status.connected = false;
    status.health = unknownHealth(old, `the node cannot be asked now (${c.reason})`);
    set(
      { type: 'Connected', status: 'False', severity: 'Warning', reason: c.reason, message: c.message },
      (previous) => ({
        type: 'Warning',
        reason: previous?.status === 'True' ? 'ConnectionLost' : c.reason,
        message: c.message,
      }),
    );
    const adopted = conditionOf(conditions, 'Adopted');
    if (adopted?.status !== 'True') {
      set({
        type: 'Adopted',
        status: 'False',
        severity: 'Error',
        reason: 'AdoptionFailed',
        message: `cannot adopt the node yet: ${c.message}`,
      });
    }
  }

  if (spec.sideroLink?.enabled) {
    status.sideroLinkStatus = {
      connected: false,
      ...(spec.sideroLink.address ? { address: spec.sideroLink.address } : {}),
    };
    set({
      type: 'SideroLinkReady',
      status: 'False',
      severity: 'Info',
      reason: 'MonitoringOnly',
      message: `SideroLink is configured${spec.sideroLink.address ? ` (address ${spec.sideroLink.address})` : ''}; this server is monitoring-only and builds no tunnel`,
    });
  } else {
    delete status.sideroLinkStatus;
    set({
      type: 'SideroLinkReady',
      status: 'False',
      severity: 'Info',
      reason: 'Disabled',
      message: 'spec.sideroLink.enabled is false',
    });
  }

  const s = o.sync;
  if (s.state === 'disabled') {
    delete status.managementAPIStatus;
    set({
      type: 'ManagementAPISync',
      status: 'False',
      severity: 'Info',
      reason: 'Disabled',
      message: 'spec.managementAPI.enabled is false',
    });
  } else if (s.state === 'synced') {
    status.managementAPIStatus = {
      synced: true,
      lastSyncTime: nowText,
      message: `synced with ${spec.managementAPI?.endpoint}`,
    };
    set(
      {
        type: 'ManagementAPISync',
        status: 'True',
        reason: 'Synced',
        message: `synced with ${spec.managementAPI?.endpoint}`,
      },
      () => ({
        type: 'Normal',
        reason: 'ManagementAPISynced',
        message: `synced with the Management API at ${spec.managementAPI?.endpoint}`,
      }),
    );
  } else {
    status.managementAPIStatus = { synced: false, lastSyncTime: nowText, message: s.message };
    set(
      { type: 'ManagementAPISync', status: 'False', severity: 'Warning', reason: s.reason, message: s.message },
      () => ({
        type: 'Warning',
        reason: 'ManagementAPISyncFailed',
        message: s.message,
      }),
    );
  }

  if (old.upgrade) {
    const seen =
      c.ok === true
        ? { reachable: true as const, version: c.probe.facts.talosVersion }
        : { reachable: false as const, why: c.ok === false ? c.message : 'not contacted' };
    const step = advanceUpgrade(old.upgrade as UpgradeProgress, seen, o.now, nowText);
    status.upgrade = step.progress;
    if (step.event) events.push(step.event);
  }

  const healthy = c.ok === true && c.probe.status === 'Healthy';
  status.ready = !!spec.accepted && status.connected === true && healthy;
  // the reason and message of what stands in the way: for a node not reached, the very failure
  // (missing credentials name the Secret and field, a refused address the network flag, a failed
  // call the endpoint and the cause), never a guess that the Talos API did not answer
  // (a look that skipped the node is one of a server not accepted)
  const why =
    c.ok === false
      ? [c.reason, c.message]
      : c.ok === true && spec.accepted
        ? [c.probe.status, summary(c.probe)]
        : ['NotAccepted', 'the server is not accepted (spec.accepted is false)'];
  set(
    status.ready
      ? { type: 'Ready', status: 'True', reason: 'Ready', message: 'accepted, connected and healthy' }
      : {
          type: 'Ready',
          status: 'False',
          severity: spec.accepted ? 'Warning' : 'Info',
          reason: why[0]!,
          message: why[1]!,
        },
  );
  status.conditions = conditions;
  return { status, events };
}

/**
 * The health of a node that could not be asked on this look. The last check's verdict would be a
 * claim about now that nobody made, so it becomes Unknown; lastCheckTime keeps when the node was
 * last asked. (A check older than the resync period cannot otherwise arise: every look either
 * asks the node or lands here. Only a controller that is not running leaves a status unrefreshed,
 * and no status can say that of itself; lastCheckTime and lastContactTime show it.)
 */
function unknownHealth(old: AdoptedServerStatus, why: string): NonNullable<AdoptedServerStatus['health']> {
  const last = old.health?.lastCheckTime;
  return {
    status: 'Unknown',
    ...(last ? { lastCheckTime: last } : {}),
    message: last ? `${why}; last checked at ${last}` : `${why}; never checked`,
  };
}

type NodeType = 'controlplane' | 'worker';
const typeName = (t: NodeType) => (t === 'controlplane' ? 'a control plane' : 'a worker');

/** NodeTypeMatches: what spec.talos.nodeType declares against what the node is (it runs etcd or not) */
function nodeTypeCondition(declared: string | undefined, observed: NodeType): ConditionUpdate {
  if (declared === observed)
    return {
      type: 'NodeTypeMatches',
      status: 'True',
      reason: 'NodeTypeMatches',
      message: `the node is ${typeName(observed)}, as spec.talos.nodeType declares`,
    };
  return {
    type: 'NodeTypeMatches',
    status: 'False',
    severity: 'Warning',
    reason: 'NodeTypeMismatch',
    message: `the node is ${typeName(observed)} (${observed === 'controlplane' ? 'it runs etcd' : 'it runs no etcd'}), but spec.talos.nodeType declares ${declared ?? 'nothing'}: set spec.talos.nodeType to ${observed}`,
  };
}

function summary(p: NodeProbe): string {
  const bad = p.checks.filter((ch) => ch.status !== 'Healthy');
  if (bad.length === 0) return `${p.checks.length} checks passed`;
  return bad
    .map((ch) => `${ch.name}: ${ch.message}`)
    .join('; ')
    .slice(0, 1000);
}

/** whether two statuses differ in more than the times of the last contact, check and sync */
export function statusChanged(a: AdoptedServerStatus, b: AdoptedServerStatus): boolean {
  const strip = (s: AdoptedServerStatus) => ({
    ...s,
    lastContactTime: undefined,
    health: s.health ? { ...s.health, lastCheckTime: undefined } : undefined,
    managementAPIStatus: s.managementAPIStatus ? { ...s.managementAPIStatus, lastSyncTime: undefined } : undefined,
  });
  return JSON.stringify(strip(a)) !== JSON.stringify(strip(b));
}
