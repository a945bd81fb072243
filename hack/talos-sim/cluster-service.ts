// cluster.ClusterService/HealthCheck as a control-plane node runs it (`talosctl health`): the
// checks in order, each retried until it passes or wait_timeout runs out; one progress line when a
// check starts, one per new reason it is not yet true, one when it passes. Ends OK or with an
// error.
import { status } from '@grpc/grpc-js';
import type { ClusterServiceHandlers } from '../../src/talos/gen/cluster/ClusterService.js';
import type { HealthCheckRequest__Output } from '../../src/talos/gen/cluster/HealthCheckRequest.js';
import type { SimCluster } from './cluster.js';
import type { SimNode } from './node.js';
import { RpcError } from './rpc-error.js';
import { serverStream, type HandlerEnv } from './rpc.js';

const RETRY_MS = 100;

interface Members {
  all: SimNode[];
  controlPlanes: SimNode[];
  /** addresses the request named that no node has */
  unknown: string[];
}

/** A check returns why it does not hold yet, or undefined when it holds. */
type Check = [title: string, failing: (m: Members, c: SimCluster) => string | undefined];

function first(nodes: SimNode[], bad: (n: SimNode) => string | undefined): string | undefined {
  for (const n of nodes) {
    const why = bad(n);
    if (why) return `${n.name}: ${why}`;
  }
  return undefined;
}

const unreachable = (c: SimCluster) => (n: SimNode) => (c.reachable(n) ? undefined : 'node is not reachable');
const serviceSick = (c: SimCluster, id: string) => (n: SimNode) => {
  if (!c.reachable(n)) return 'node is not reachable';
  const h = n.health(id);
  return h.healthy === true ? undefined : `service "${id}" is not healthy${h.lastMessage ? `: ${h.lastMessage}` : ''}`;
};

const CHECKS: Check[] = [
  ['etcd to be healthy', (m, c) => first(m.controlPlanes, serviceSick(c, 'etcd'))],
  ['etcd members to be consistent across nodes', (m, c) => first(m.controlPlanes, unreachable(c))],
  [
    'etcd members to be control plane nodes',
    (m) =>
      first(m.controlPlanes, (n) => (n.services.get('etcd')?.state === 'Running' ? undefined : 'not an etcd member')),
  ],
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

function members(req: HealthCheckRequest__Output, cluster: SimCluster): Members & { discovered: boolean } {
  const cps = req.clusterInfo?.controlPlaneNodes ?? [];
  const workers = req.clusterInfo?.workerNodes ?? [];
  if (cps.length === 0 && workers.length === 0) {
    return { all: cluster.nodes, controlPlanes: cluster.controlPlanes(), unknown: [], discovered: true };
  }
  const resolve = (names: string[]) => names.map((a) => cluster.find(a)).filter((n): n is SimNode => n !== undefined);
  const unknown = [...cps, ...workers].filter((a) => !cluster.find(a));
  const controlPlanes = resolve(cps);
  return { all: [...controlPlanes, ...resolve(workers)], controlPlanes, unknown, discovered: false };
}

function waitMs(req: HealthCheckRequest__Output): number {
  const d = req.waitTimeout;
  return d ? Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6) : 0;
}

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, RETRY_MS));

export function clusterService(env: HandlerEnv): ClusterServiceHandlers {
  const { cluster } = env;
  return {
    HealthCheck: serverStream(env, '/cluster.ClusterService/HealthCheck', async (req, info, send) => {
      if (!info.node.isControlPlane)
        throw new RpcError(status.UNIMPLEMENTED, 'the cluster health check runs on control plane nodes only');
      const deadline = Date.now() + waitMs(req);
      const m = members(req, cluster);
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
          const why = failing(m, cluster);
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
