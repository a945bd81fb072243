// cluster.ClusterService/HealthCheck as a control-plane node runs it (`talosctl health`): the
// checks in order, each retried until it passes or wait_timeout runs out; one progress line when a
// check starts, one per new reason it is not yet true, one when it passes. Ends OK or with an
// error. Without node lists it checks the nodes of its own cluster that are powered on (as the
// discovery service lists them); etcd's members must be exactly its control planes.
import { status } from '@grpc/grpc-js';
import type { ClusterServiceHandlers } from '../../src/talos/gen/cluster/ClusterService.js';
import type { HealthCheckRequest__Output } from '../../src/talos/gen/cluster/HealthCheckRequest.js';
import { clusterOf } from './etcd-service.js';
import type { SimFleet } from './fleet.js';
import type { TalosCluster } from './talos-cluster.js';
import type { SimNode } from './node.js';
import { RpcError } from './rpc-error.js';
import { serverStream, type HandlerEnv } from './rpc.js';

const RETRY_MS = 100;

interface Members {
  all: SimNode[];
  controlPlanes: SimNode[];
  /** addresses the request named that no node has */
  unknown: string[];
  cluster: TalosCluster;
}

/** A check returns why it does not hold yet, or undefined when it holds. */
type Check = [title: string, failing: (m: Members, c: SimFleet) => string | undefined];

function first(nodes: SimNode[], bad: (n: SimNode) => string | undefined): string | undefined {
  for (const n of nodes) {
    const why = bad(n);
    if (why) return `${n.name}: ${why}`;
  }
  return undefined;
}

const unreachable = (c: SimFleet) => (n: SimNode) => (c.reachable(n) ? undefined : 'node is not reachable');
const serviceSick = (c: SimFleet, id: string) => (n: SimNode) => {
  if (!c.reachable(n)) return 'node is not reachable';
  const h = n.health(id);
  return h.healthy === true ? undefined : `service "${id}" is not healthy${h.lastMessage ? `: ${h.lastMessage}` : ''}`;
};

const CHECKS: Check[] = [
  ['etcd to be healthy', (m, c) => first(m.controlPlanes, serviceSick(c, 'etcd'))],
  ['etcd members to be consistent across nodes', (m, c) => first(m.controlPlanes, unreachable(c))],
  ['etcd members to be control plane nodes', (m) => membershipProblem(m)],
  [
    'apid to be ready',
    (m, c) => (m.unknown.length > 0 ? `no such node: ${m.unknown.join(', ')}` : first(m.all, unreachable(c))),
  ],
  ['all nodes memory sizes', (m, c) => first(m.all, unreachable(c))],
  ['all nodes disk sizes', (m, c) => first(m.all, unreachable(c))],
  ['no diagnostics', () => undefined],
  ['kubelet to be healthy', (m, c) => first(m.controlPlanes, serviceSick(c, 'kubelet'))],
  [
    'all nodes to finish boot sequence',
    (m, c) =>
      first(m.all, (n) => {
        if (!c.reachable(n) || n.phase !== 'running') return 'node is still booting';
        const sick = [...n.services.keys()].find((id) => n.health(id).healthy === false);
        return sick ? `service "${sick}" is not healthy` : undefined;
      }),
  ],
  ['all k8s nodes to report', (m, c) => first(m.all, serviceSick(c, 'kubelet'))],
  ['all control plane static pods to be running', (m, c) => first(m.controlPlanes, unreachable(c))],
  ['all control plane components to be ready', (m, c) => first(m.controlPlanes, unreachable(c))],
  ['all k8s nodes to report ready', (m, c) => first(m.all, serviceSick(c, 'kubelet'))],
  ['kube-proxy to report ready', () => undefined],
  ['coredns to report ready', () => undefined],
  ['all k8s nodes to report schedulable', () => undefined],
];

/** Why etcd's members are not exactly the control planes: a member of no control plane, or a control plane that is not one. */
function membershipProblem(m: Members): string | undefined {
  for (const entry of m.cluster.members) {
    const holder = m.cluster.nodeOf(entry);
    if (!holder || !m.controlPlanes.includes(holder))
      return `etcd member ${entry.hostname} (${entry.id}) is not a control plane node of the cluster`;
  }
  return first(m.controlPlanes, (n) => (m.cluster.isMember(n) ? undefined : 'not an etcd member'));
}

function members(
  req: HealthCheckRequest__Output,
  fleet: SimFleet,
  cluster: TalosCluster,
): Members & { discovered: boolean } {
  const cps = req.clusterInfo?.controlPlaneNodes ?? [];
  const workers = req.clusterInfo?.workerNodes ?? [];
  if (cps.length === 0 && workers.length === 0) {
    return { all: cluster.present(), controlPlanes: cluster.controlPlanes(), unknown: [], cluster, discovered: true };
  }
  const resolve = (names: string[]) => names.map((a) => fleet.find(a)).filter((n): n is SimNode => n !== undefined);
  const unknown = [...cps, ...workers].filter((a) => !fleet.find(a));
  const controlPlanes = resolve(cps);
  return { all: [...controlPlanes, ...resolve(workers)], controlPlanes, unknown, cluster, discovered: false };
}

function waitMs(req: HealthCheckRequest__Output): number {
  const d = req.waitTimeout;
  return d ? Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6) : 0;
}

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, RETRY_MS));

export function clusterService(env: HandlerEnv): ClusterServiceHandlers {
  const { fleet } = env;
  return {
    HealthCheck: serverStream(env, '/cluster.ClusterService/HealthCheck', async (req, info, send) => {
      if (!info.node.isControlPlane)
        throw new RpcError(status.UNIMPLEMENTED, 'the cluster health check runs on control plane nodes only');
      const deadline = Date.now() + waitMs(req);
      const cluster = clusterOf(info.node);
      const m = members(req, fleet, cluster);
      const say = (message: string) => send({ message });
      if (m.discovered)
        say(
          `discovered nodes: ${JSON.stringify({ control_plane: m.controlPlanes.map((n) => n.ip), worker: cluster.workers().map((n) => n.ip) })}`,
        );
      for (const [title, failing] of CHECKS) {
        say(`waiting for ${title}`);
        let last: string | undefined;
        for (;;) {
          if (info.cancelled()) return;
          const why = failing(m, fleet);
          if (why === undefined) break;
          if (why !== last) say(`waiting for ${title}: ${why}`);
          last = why;
          if (Date.now() >= deadline)
            throw new RpcError(status.DEADLINE_EXCEEDED, `health check timed out waiting for ${title}: ${why}`);
          await pause();
        }
        say(`waiting for ${title}: OK`);
      }
    }),
  };
}
