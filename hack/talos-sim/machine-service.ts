// machine.MachineService as a simulated node answers it. Direct and one-to-one proxied replies
// carry a single message with empty metadata, as apid passes them through untouched.
import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { MachineServiceHandlers } from '../../src/talos/gen/machine/MachineService.js';
import type { ServiceInfo } from '../../src/talos/gen/machine/ServiceInfo.js';
import type { EtcdMember } from '../../src/talos/gen/machine/EtcdMember.js';
import { applyConfiguration } from './apply.js';
import { adminKubeconfig } from './kubeconfig.js';
import { isTalosVersion, versionAtLeast, type SimNode } from './node.js';
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

function controlPlaneOnly(node: SimNode, what: string): void {
  if (!node.isControlPlane)
    throw new RpcError(status.UNIMPLEMENTED, `${what} is only available on control plane nodes`);
}

function etcdRunning(node: SimNode): void {
  controlPlaneOnly(node, 'etcd');
  if (node.services.get('etcd')?.state !== 'Running')
    throw new RpcError(status.FAILED_PRECONDITION, 'etcd is not running on this node (is the cluster bootstrapped?)');
}

/** `ghcr.io/siderolabs/installer:v1.13.10` (optionally `@sha256:...`) -> `v1.13.10` */
export function versionOfImage(image: string): string {
  const ref = image.split('@')[0] ?? '';
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const tag = colon > lastSlash ? ref.slice(colon + 1) : '';
  if (!isTalosVersion(tag))
    throw new RpcError(
      status.INVALID_ARGUMENT,
      `installer image ${JSON.stringify(image)} has no Talos version tag (want e.g. ...installer:v1.13.10)`,
    );
  return tag;
}

function etcdMember(n: SimNode): EtcdMember {
  return {
    id: n.etcdMemberId,
    hostname: n.name,
    peerUrls: [`https://${n.ip}:2380`],
    clientUrls: [`https://${n.ip}:2379`],
    isLearner: false,
  };
}

export function machineService(env: HandlerEnv): MachineServiceHandlers {
  const { cluster, lifecycle } = env;
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
          features: { rbac: true },
        },
      ],
    })),

    ServiceList: unary(env, `${M}ServiceList`, (_req, { node }) => ({
      messages: [{ services: [...node.services.keys()].map((id) => serviceInfo(node, id)) }],
    })),

    Hostname: unary(env, `${M}Hostname`, (_req, { node }) => ({ messages: [{ hostname: node.name }] })),

    Kubeconfig: serverStream(env, `${M}Kubeconfig`, async (_req, { node }, send) => {
      controlPlaneOnly(node, 'kubeconfig');
      const text = await adminKubeconfig(cluster.k8sCA, cluster.name, cluster.controlPlaneEndpoint);
      send({ bytes: kubeconfigArchive(text) });
    }),

    ApplyConfiguration: unary(env, `${M}ApplyConfiguration`, (req, { node }) => ({
      messages: [applyConfiguration(req, node, lifecycle)],
    })),

    Bootstrap: unary(env, `${M}Bootstrap`, (_req, { node }) => {
      if (!node.isControlPlane) {
        if (versionAtLeast(node.version, 1, 14))
          throw new RpcError(status.INVALID_ARGUMENT, 'etcd is not configured on this node');
        if (versionAtLeast(node.version, 1, 13))
          throw new RpcError(status.UNIMPLEMENTED, 'bootstrap is only available on control plane nodes');
        throw new RpcError(status.FAILED_PRECONDITION, 'bootstrap is not available on a worker node');
      }
      if (cluster.bootstrapped) throw new RpcError(status.ALREADY_EXISTS, 'etcd data directory is not empty');
      cluster.bootstrap();
      return { messages: [{}] };
    }),

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
        const sick = cluster
          .controlPlanes()
          .filter((cp) => !cluster.reachable(cp) || cp.health('etcd').healthy !== true);
        if (sick.length > 0) {
          throw new RpcError(
            status.FAILED_PRECONDITION,
            `etcd is not healthy on ${sick.map((n) => n.name).join(', ')}; pass force to skip the check`,
          );
        }
      }
      lifecycle.upgrade(node, version);
      return { messages: [{ ack: 'Upgrade request received', actorId: randomUUID() }] };
    }),

    EtcdMemberList: unary(env, `${M}EtcdMemberList`, (req, { node }) => {
      etcdRunning(node);
      const members = req.queryLocal
        ? [node]
        : cluster.controlPlanes().filter((cp) => cp.services.get('etcd')?.state !== 'Preparing');
      return { messages: [{ legacyMembers: [], members: members.map(etcdMember) }] };
    }),

    EtcdStatus: unary(env, `${M}EtcdStatus`, (_req, { node }) => {
      etcdRunning(node);
      const seconds = Math.floor((Date.now() - node.bootedAt.getTime()) / 1000);
      const raftIndex = 1000 + seconds * 3;
      const dbSize = 8 * 1024 * 1024 + seconds * 4096;
      const sick = node.health('etcd').healthy === false;
      return {
        messages: [
          {
            memberStatus: {
              protocolVersion: '3.6.0',
              dbSize,
              dbSizeInUse: Math.floor(dbSize * 0.7),
              leader: cluster.etcdLeader()?.etcdMemberId ?? '0',
              raftIndex,
              raftTerm: 2,
              raftAppliedIndex: raftIndex,
              errors: sick ? ['etcdserver: simulated failure'] : [],
              isLearner: false,
              memberId: node.etcdMemberId,
              storageVersion: versionAtLeast(node.version, 1, 11) ? '3.6.0' : '',
            },
          },
        ],
      };
    }),
  };
}
