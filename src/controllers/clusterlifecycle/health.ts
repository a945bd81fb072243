// The health step: once etcd is bootstrapped, the cluster is healthy when every node is
// configured with every service healthy, etcd has exactly the control planes as members with
// quorum, and a control plane's cluster health check passes (src/nodeaccess/clusterhealth.ts).
// Transitions are Events; the checks that fail are the condition's message.
import { conditionOf, type Condition } from '../conditions.js';
import { clusterHealth } from '../../nodeaccess/clusterhealth.js';
import { event, isMember, live, type Round } from './round.js';

export async function healthStep(r: Round): Promise<boolean> {
  if (!r.bootstrap.completedAt) {
    r.conditions.Healthy = {
      type: 'Healthy',
      status: 'Unknown',
      reason: 'NotBootstrapped',
      message: 'the cluster is looked at once etcd is bootstrapped',
    };
    return false;
  }
  const views = live(r);
  const report = await clusterHealth(
    r.deps.nodes,
    r.creds,
    views.map((v) => ({ machine: v.name, role: v.role, endpoint: v.endpoint, sighting: v.sighting })),
    { waitMs: r.deps.healthTimeoutMs, budgetMs: r.deps.healthTimeoutMs + 2 * r.deps.nodes.callTimeoutMs },
  );
  if (report.members) {
    r.members = report.members;
    for (const v of views) if (v.role === 'controlplane') v.record.etcdMember = isMember(r, v);
  }
  const failing = report.checks.filter((c) => c.status === 'Unhealthy');
  const healthy = failing.length === 0;
  const was = conditionOf((r.cluster.status as { conditions?: Condition[] } | undefined)?.conditions, 'Healthy');
  r.conditions.Healthy = healthy
    ? {
        type: 'Healthy',
        status: 'True',
        reason: 'Healthy',
        message:
          report.checks
            .filter((c) => c.status === 'Degraded')
            .map((c) => `${c.name}: ${c.message}`)
            .join('; ') || `${views.length} nodes and etcd healthy; the cluster health check passes`,
      }
    : {
        type: 'Healthy',
        status: 'False',
        severity: 'Warning',
        reason: 'Unhealthy',
        message: failing
          .map((c) => `${c.name}: ${c.message}`)
          .join('; ')
          .slice(0, 4000),
      };
  if (healthy && was?.status !== 'True') await event(r, 'Normal', 'Healthy', 'the cluster is healthy');
  if (!healthy && was?.status === 'True')
    await event(r, 'Warning', 'Unhealthy', `the cluster is not healthy: ${r.conditions.Healthy.message}`);
  return healthy;
}
