// The health of a whole cluster of Machines, asked of its nodes: each node (configured for the
// cluster, every service healthy), etcd membership (exactly the control planes) and quorum, Talos
// versions consistent, and then the cluster health check of one control plane (Talos's
// ClusterService.HealthCheck). Nothing here dials the cluster's Kubernetes endpoint: what Talos
// checks of Kubernetes it checks from the node. The lifecycle controller passes the nodes it has
// just looked at; the health subresource looks at them here, within the probe budget.
import type { HealthReportCheck, HealthStatus } from '../api/live.js';
import type { EtcdMember } from '../talos/client.js';
import { TalosError } from '../talos/errors.js';
import { overall, PROBE_BUDGET_MS } from './health.js';
import { using, type ClusterCredentials, type MachineNodes } from './machinenode.js';
import { sightNode, unhealthyServices, type NodeSighting } from './sighting.js';

export interface ClusterMachine {
  machine: string;
  role: 'controlplane' | 'worker';
  endpoint?: string;
  /** a look taken a moment ago; undefined: taken here */
  sighting?: NodeSighting;
}

export interface ClusterHealth {
  status: HealthStatus;
  checks: HealthReportCheck[];
  /** the etcd members, when a control plane could tell */
  members?: EtcdMember[];
}

export interface ClusterHealthOptions {
  /** the wait given to the control plane's cluster health check */
  waitMs: number;
  /** the whole report's deadline */
  budgetMs?: number;
  signal?: AbortSignal;
}

function nodeCheck(m: ClusterMachine): Omit<HealthReportCheck, 'durationMs'> {
  const name = `node/${m.machine}`;
  const s = m.sighting;
  if (!m.endpoint || !s)
    return { name, status: 'Unhealthy', message: 'no node yet: the provider has not reported one' };
  switch (s.mode) {
    case 'maintenance':
      return { name, status: 'Unhealthy', message: `${s.endpoint} is in maintenance mode, without a configuration` };
    case 'configured': {
      const bad = unhealthyServices(s.services ?? []);
      if (bad.length) return { name, status: 'Unhealthy', message: `services not healthy: ${bad.join(', ')}` };
      return {
        name,
        status: 'Healthy',
        message: `${s.hostname} (${s.endpoint}) Talos ${s.talosVersion}: ${s.services?.length ?? 0} services healthy`,
      };
    }
    default:
      return { name, status: 'Unhealthy', message: s.error ?? `${s.endpoint} cannot be asked` };
  }
}

const quorumOf = (n: number) => Math.floor(n / 2) + 1;

export async function clusterHealth(
  nodes: MachineNodes,
  creds: ClusterCredentials,
  machines: readonly ClusterMachine[],
  o: ClusterHealthOptions,
): Promise<ClusterHealth> {
  const deadline = Date.now() + (o.budgetMs ?? PROBE_BUDGET_MS);
  const timed = async (name: string, fn: () => Promise<Omit<HealthReportCheck, 'durationMs' | 'name'>>) => {
    const start = Date.now();
    try {
      return { name, ...(await fn()), durationMs: Date.now() - start };
    } catch (e) {
      if (!(e instanceof TalosError)) throw e;
      return { name, status: 'Unhealthy' as const, message: e.message, durationMs: Date.now() - start };
    }
  };
  const started = Date.now();
  await Promise.all(
    machines
      .filter((m) => m.endpoint && !m.sighting)
      .map(async (m) => {
        m.sighting = await sightNode(nodes, m.endpoint!, creds);
      }),
  );
  const sightMs = Date.now() - started;
  const checks: HealthReportCheck[] = machines.map((m) => ({ ...nodeCheck(m), durationMs: sightMs }));
  const cps = machines.filter((m) => m.role === 'controlplane');
  const etcdHost = cps.find((m) => m.sighting?.mode === 'configured' && m.sighting.etcd === 'running');
  const call = () => ({
    timeoutMs: Math.max(1, Math.min(nodes.callTimeoutMs, deadline - Date.now())),
    signal: o.signal,
  });
  let members: EtcdMember[] | undefined;
  checks.push(
    await timed('etcd/members', async () => {
      if (!etcdHost) return { status: 'Unhealthy', message: 'no control plane runs etcd' };
      members = await using(nodes.configured(etcdHost.endpoint!, creds), (c) => c.etcdMemberList({}, call()));
      const want = cps.map((m) => m.sighting?.hostname).filter((h): h is string => !!h);
      const have = members.map((m) => m.hostname);
      const missing = want.filter((h) => !have.includes(h));
      const extra = have.filter((h) => !want.includes(h));
      if (missing.length || extra.length) {
        const parts = [
          ...(missing.length ? [`control planes not members: ${missing.join(', ')}`] : []),
          ...(extra.length ? [`members that are no control plane of the cluster: ${extra.join(', ')}`] : []),
        ];
        return { status: 'Unhealthy', message: parts.join('; ') };
      }
      const learners = members.filter((m) => m.isLearner).map((m) => m.hostname);
      if (learners.length) return { status: 'Degraded', message: `still learners: ${learners.join(', ')}` };
      return {
        status: 'Healthy',
        message: `${members.length} member(s), exactly the control planes: ${have.sort().join(', ')}`,
      };
    }),
  );
  checks.push(
    await timed('etcd/quorum', () => {
      if (!members) return Promise.resolve({ status: 'Unhealthy' as const, message: 'the etcd members are not known' });
      const up = members.filter((mem) =>
        cps.some(
          (m) =>
            m.sighting?.hostname === mem.hostname && m.sighting.mode === 'configured' && m.sighting.etcd === 'running',
        ),
      );
      const need = quorumOf(members.length);
      return Promise.resolve(
        up.length >= need
          ? { status: 'Healthy' as const, message: `${up.length} of ${members.length} members up (quorum ${need})` }
          : {
              status: 'Unhealthy' as const,
              message: `only ${up.length} of ${members.length} members up, quorum needs ${need}`,
            },
      );
    }),
  );
  const versions = [
    ...new Set(
      machines.map((m) => (m.sighting?.mode === 'configured' ? m.sighting.talosVersion : undefined)).filter(Boolean),
    ),
  ];
  checks.push({
    name: 'versions',
    status: versions.length > 1 ? 'Degraded' : 'Healthy',
    message:
      versions.length > 1
        ? `the nodes run different Talos versions: ${versions.join(', ')}`
        : `Talos ${versions[0] ?? 'unknown'} everywhere`,
    durationMs: 0,
  });
  // the node's own check waits for the cluster to pass: asked only when nothing above failed
  if (etcdHost && !checks.some((c) => c.status === 'Unhealthy')) {
    checks.push(
      await timed('cluster/health-check', async () => {
        const waitMs = Math.max(1, Math.min(o.waitMs, deadline - Date.now() - 1000));
        let last = '';
        const input = {
          waitTimeoutMs: waitMs,
          controlPlaneNodes: cps.map((m) => m.sighting!.endpoint.replace(/:\d+$/, '')),
          workerNodes: machines
            .filter((m) => m.role === 'worker')
            .map((m) => m.sighting!.endpoint.replace(/:\d+$/, '')),
        };
        const client = nodes.configured(etcdHost.endpoint!, creds);
        await using(client, async (c) => {
          for await (const line of c.healthCheck(input, { signal: o.signal })) last = line;
        });
        return { status: 'Healthy', message: `${etcdHost.machine} says the cluster passes${last ? ` (${last})` : ''}` };
      }),
    );
  }
  return { status: overall(checks), checks, ...(members ? { members } : {}) };
}
