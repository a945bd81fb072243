// Asking one Talos node how it is, now: reachability and version, hostname, every service, and on
// a control plane its etcd membership and status. The first call failing means the node cannot be
// asked at all: that is thrown (503/504 for a subresource, Connected=False for the controller);
// anything after it becomes a check in the report.
import type { HealthReportCheck, HealthStatus } from '../api/live.js';
import type { CallOptions, ServiceInfo, TalosClient } from '../talos/client.js';

export interface NodeFacts {
  talosVersion: string;
  hostname: string;
  architecture: string;
  platform: string;
  /** what the node is, by whether it runs etcd; absent when its services could not be listed */
  nodeType?: 'controlplane' | 'worker';
}

export interface NodeProbe {
  facts: NodeFacts;
  status: HealthStatus;
  checks: HealthReportCheck[];
}

/** a whole probe stays well inside the 60 s kube-apiserver allows a proxied request */
export const PROBE_BUDGET_MS = 40_000;

/** services a node cannot work without: unhealthy means the node is, not just degraded */
const ESSENTIAL = new Set(['apid', 'machined', 'containerd', 'cri', 'etcd', 'kubelet']);

function serviceCheck(s: ServiceInfo): Omit<HealthReportCheck, 'durationMs'> {
  const name = `service/${s.id}`;
  const h = s.health;
  const said = h?.lastMessage ? `: ${h.lastMessage}` : '';
  switch (s.state) {
    case 'Running':
      if (!h || h.unknown) return { name, status: 'Healthy', message: 'running (no health check)' };
      if (h.healthy) return { name, status: 'Healthy', message: 'running, healthy' };
      return { name, status: ESSENTIAL.has(s.id) ? 'Unhealthy' : 'Degraded', message: `running, unhealthy${said}` };
    case 'Finished':
    case 'Skipped':
      return { name, status: 'Healthy', message: s.state.toLowerCase() };
    case 'Failed':
      return { name, status: 'Unhealthy', message: `failed${said}` };
    default:
      return { name, status: 'Degraded', message: `${s.state.toLowerCase() || 'unknown state'}${said}` };
  }
}

export function overall(checks: readonly HealthReportCheck[]): HealthStatus {
  if (checks.some((c) => c.status === 'Unhealthy')) return 'Unhealthy';
  if (checks.some((c) => c.status === 'Degraded')) return 'Degraded';
  return 'Healthy';
}

export interface ProbeOptions {
  /**
   * run the etcd checks; undefined: when the node runs etcd (a control plane), so a node declared
   * as the wrong type is checked as what it is
   */
  controlPlane?: boolean;
  /** deadline of each call */
  callTimeoutMs: number;
  signal?: AbortSignal;
  /** deadline of the whole probe */
  budgetMs?: number;
}

export async function probeNode(client: TalosClient, opts: ProbeOptions): Promise<NodeProbe> {
  const deadline = Date.now() + (opts.budgetMs ?? PROBE_BUDGET_MS);
  // each call gets what is left of the budget, so several slow calls cannot add up past it
  const call = (): CallOptions => ({
    timeoutMs: Math.max(1, Math.min(opts.callTimeoutMs, deadline - Date.now())),
    signal: opts.signal,
  });
  const checks: HealthReportCheck[] = [];
  const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const start = Date.now();
    const value = await fn();
    return [value, Date.now() - start];
  };
  /** runs one check; a failure of its call is the check's verdict, not the probe's */
  const check = async (name: string, fn: () => Promise<Omit<HealthReportCheck, 'durationMs' | 'name'>>) => {
    const start = Date.now();
    try {
      checks.push({ name, ...(await fn()), durationMs: Date.now() - start });
    } catch (e) {
      checks.push({ name, status: 'Unhealthy', message: (e as Error).message, durationMs: Date.now() - start });
    }
  };

  const [v, versionMs] = await timed(() => client.version(call()));
  const facts: NodeFacts = {
    talosVersion: v.version.tag,
    hostname: '',
    architecture: v.version.arch,
    platform: v.platform.mode || v.platform.name,
  };
  checks.push({
    name: 'reachable',
    status: 'Healthy',
    message: `Talos ${v.version.tag} (${facts.platform || 'unknown platform'})`,
    durationMs: versionMs,
  });

  await check('hostname', async () => {
    facts.hostname = await client.hostname(call());
    return { status: 'Healthy', message: facts.hostname };
  });

  const servicesStart = Date.now();
  try {
    const services = await client.serviceList(call());
    const ms = Date.now() - servicesStart;
    facts.nodeType = services.some((s) => s.id === 'etcd') ? 'controlplane' : 'worker';
    for (const s of [...services].sort((a, b) => a.id.localeCompare(b.id)))
      checks.push({ ...serviceCheck(s), durationMs: ms });
  } catch (e) {
    checks.push({
      name: 'services',
      status: 'Unhealthy',
      message: (e as Error).message,
      durationMs: Date.now() - servicesStart,
    });
  }

  if (opts.controlPlane ?? facts.nodeType === 'controlplane') {
    await check('etcd-members', async () => {
      const members = await client.etcdMemberList({}, call());
      const names = members.map((m) => m.hostname).sort();
      const self = members.find((m) => m.hostname === facts.hostname);
      if (!self)
        return {
          status: 'Unhealthy',
          message: `this node is not an etcd member (members: ${names.join(', ') || 'none'})`,
        };
      if (self.isLearner)
        return { status: 'Degraded', message: `this node is still an etcd learner (members: ${names.join(', ')})` };
      return { status: 'Healthy', message: `${members.length} member(s): ${names.join(', ')}` };
    });
    await check('etcd-status', async () => {
      const s = await client.etcdStatus(call());
      if (s.errors.length > 0) return { status: 'Unhealthy', message: s.errors.join('; ') };
      if (s.leader === '0' || s.leader === '') return { status: 'Unhealthy', message: 'etcd has no leader' };
      return { status: 'Healthy', message: `leader ${s.leader}, raft index ${s.raftIndex}, db ${s.dbSize} bytes` };
    });
  }
  return { facts, status: overall(checks), checks };
}
