// machine.MachineService as a simulated node answers it (the etcd calls are in etcd-service.ts).
// Direct and one-to-one proxied replies carry a single message with empty metadata, as apid passes
// them through untouched.
import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { MachineServiceHandlers } from '../../src/talos/gen/machine/MachineService.js';
import type { ServiceInfo } from '../../src/talos/gen/machine/ServiceInfo.js';
import { applyConfiguration } from './apply.js';
import { imageTag } from './config-facts.js';
import { adminKubeconfig } from './kubeconfig.js';
import { versionAtLeast, type SimNode } from './node.js';
import { clusterOf, controlPlaneOnly, etcdHandlers } from './etcd-service.js';
import { maintenanceApply } from './maintenance.js';
import { leaveEtcd } from './etcd.js';
import { RpcError } from './rpc-error.js';
import { serverStream, unary, type HandlerEnv } from './rpc.js';
import { kubeconfigArchive } from './tar.js';

const M = '/machine.MachineService/';

export function timestamp(d: Date): { seconds: number; nanos: number } {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function serviceInfo(node: SimNode, id: string): ServiceInfo {
  const s = node.services.get(id);
  if (!s) return { id };
  const h = node.health(id);
  return {
    id,
    state: s.state,
    events: { events: s.events.map((e) => ({ msg: e.msg, state: e.state, ts: timestamp(e.ts) })) },
    health: {
      unknown: h.healthy === undefined,
      healthy: h.healthy ?? false,
      lastMessage: h.lastMessage,
      lastChange: timestamp(s.lastChange),
    },
  };
}

/** The Talos version an installer image installs; InvalidArgument when the tag says none. */
export function versionOfImage(image: string): string {
  const tag = imageTag(image);
  if (!tag)
    throw new RpcError(
      status.INVALID_ARGUMENT,
      `installer image ${JSON.stringify(image)} has no Talos version tag (want e.g. ...installer:v1.13.10)`,
    );
  return tag;
}

export function machineService(env: HandlerEnv): MachineServiceHandlers {
  const { fleet, lifecycle } = env;
  return {
    Version: unary(env, `${M}Version`, (_req, { node }) => ({
      messages: [
        {
          version: {
            tag: node.version,
            sha: node.sha,
            built: '2026-08-01T00:00:00Z',
            goVersion: 'go1.25.3',
            os: 'linux',
            arch: 'amd64',
          },
          platform: { name: 'metal', mode: 'metal' },
          // a maintenance-mode node has no config, so no features to report
          ...(node.configured ? { features: { rbac: true } } : {}),
        },
      ],
    })),

    ServiceList: unary(env, `${M}ServiceList`, (_req, { node }) => ({
      messages: [{ services: [...node.services.keys()].map((id) => serviceInfo(node, id)) }],
    })),

    Hostname: unary(env, `${M}Hostname`, (_req, { node }) => ({ messages: [{ hostname: node.name }] })),

    Kubeconfig: serverStream(env, `${M}Kubeconfig`, async (_req, { node }, send) => {
      const cluster = controlPlaneOnly(node, 'kubeconfig');
      if (!cluster.k8sCA)
        throw new RpcError(status.FAILED_PRECONDITION, "the Kubernetes CA key is not in this node's config");
      send({ bytes: kubeconfigArchive(await adminKubeconfig(cluster.k8sCA, cluster.name, cluster.endpoint)) });
    }),

    ApplyConfiguration: unary(env, `${M}ApplyConfiguration`, async (req, { node }) => ({
      messages: [
        node.configured
          ? applyConfiguration(req, node, lifecycle)
          : await maintenanceApply(req, node, fleet, lifecycle),
      ],
    })),

    Reboot: unary(env, `${M}Reboot`, (req, { node }) => {
      if (req.mode === 'FORCE' && !versionAtLeast(node.version, 1, 12))
        throw new RpcError(status.INVALID_ARGUMENT, 'reboot mode FORCE needs Talos 1.12+');
      if (lifecycle.busy(node))
        throw new RpcError(status.FAILED_PRECONDITION, 'a reboot or upgrade is already in progress');
      lifecycle.reboot(node);
      return { messages: [{ actorId: randomUUID() }] };
    }),

    Upgrade: unary(env, `${M}Upgrade`, (req, { node }) => {
      const version = versionOfImage(req.image);
      if (lifecycle.busy(node))
        throw new RpcError(status.FAILED_PRECONDITION, 'a reboot or upgrade is already in progress');
      if (node.isControlPlane && !req.force) {
        const sick = clusterOf(node)
          .controlPlanes()
          .filter((cp) => !fleet.reachable(cp) || cp.health('etcd').healthy !== true);
        if (sick.length > 0) {
          throw new RpcError(
            status.FAILED_PRECONDITION,
            `etcd is not healthy on ${sick.map((n) => n.name).join(', ')}; pass force to skip the check`,
          );
        }
      }
      node.lastUpgrade = {
        image: req.image ?? '',
        stage: !!req.stage,
        force: !!req.force,
        preserve: !!req.preserve,
        rebootMode: String(req.rebootMode ?? 'DEFAULT'),
      };
      lifecycle.upgrade(node, version);
      return { messages: [{ ack: 'Upgrade request received', actorId: randomUUID() }] };
    }),

    // Acknowledged at once; a graceful reset of an etcd member leaves etcd first, and when etcd
    // refuses that the reset fails on the node (as Talos's reset sequence does) and it runs on.
    Reset: unary(env, `${M}Reset`, (req, { node }) => {
      if (lifecycle.busy(node))
        throw new RpcError(status.FAILED_PRECONDITION, 'a reboot, upgrade or reset is already in progress');
      const cluster = clusterOf(node);
      node.resetError = undefined;
      if (req.graceful && cluster.isMember(node)) {
        try {
          leaveEtcd(cluster, node);
        } catch (e) {
          node.resetError = `reset failed: ${e instanceof Error ? e.message : String(e)}`;
          node.changed();
          return { messages: [{ actorId: randomUUID() }] };
        }
      }
      lifecycle.reset(node, req.reboot);
      return { messages: [{ actorId: randomUUID() }] };
    }),

    ...etcdHandlers(env),
  };
}
