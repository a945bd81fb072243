// The etcd calls of machine.MachineService as a simulated control plane answers them: Bootstrap,
// the member list and status, leaving and removing members. Workers answer Unimplemented, as
// Talos does (and Bootstrap as each version answers it on a worker).
import { status } from '@grpc/grpc-js';
import type { MachineServiceHandlers } from '../../src/talos/gen/machine/MachineService.js';
import type { EtcdMember } from '../../src/talos/gen/machine/EtcdMember.js';
import { bootstrapEtcd, leaveEtcd, memberList, removeMemberById } from './etcd.js';
import { versionAtLeast, type SimNode } from './node.js';
import { RpcError } from './rpc-error.js';
import { unary, type HandlerEnv } from './rpc.js';
import type { EtcdMemberEntry, TalosCluster } from './talos-cluster.js';

const M = '/machine.MachineService/';

type EtcdHandlers = Pick<
  MachineServiceHandlers,
  'Bootstrap' | 'EtcdMemberList' | 'EtcdStatus' | 'EtcdLeaveCluster' | 'EtcdRemoveMemberByID'
>;

/** The cluster of a configured node (maintenance-mode nodes never reach these handlers). */
export function clusterOf(node: SimNode): TalosCluster {
  const cluster = node.cluster;
  if (!cluster) throw new RpcError(status.UNIMPLEMENTED, 'not available in maintenance mode');
  return cluster;
}

export function controlPlaneOnly(node: SimNode, what: string): TalosCluster {
  if (!node.isControlPlane)
    throw new RpcError(status.UNIMPLEMENTED, `${what} is only available on control plane nodes`);
  return clusterOf(node);
}

function etcdRunning(node: SimNode, what: string): TalosCluster {
  const cluster = controlPlaneOnly(node, what);
  if (!node.etcdRunning)
    throw new RpcError(status.FAILED_PRECONDITION, 'etcd is not running on this node (is the cluster bootstrapped?)');
  return cluster;
}

function etcdMember(m: EtcdMemberEntry): EtcdMember {
  return {
    id: m.id,
    hostname: m.hostname,
    peerUrls: [`https://${m.ip}:2380`],
    clientUrls: [`https://${m.ip}:2379`],
    isLearner: false,
  };
}

export function etcdHandlers(env: HandlerEnv): EtcdHandlers {
  return {
    Bootstrap: unary(env, `${M}Bootstrap`, (_req, { node }) => {
      node.bootstrapCalls++;
      node.changed();
      if (!node.isControlPlane) {
        if (versionAtLeast(node.version, 1, 14))
          throw new RpcError(status.INVALID_ARGUMENT, 'etcd is not configured on this node');
        if (versionAtLeast(node.version, 1, 13))
          throw new RpcError(status.UNIMPLEMENTED, 'bootstrap is only available on control plane nodes');
        throw new RpcError(status.FAILED_PRECONDITION, 'bootstrap is not available on a worker node');
      }
      const cluster = clusterOf(node);
      if (node.faults.stopDuringBootstrap) {
        // the node dies before etcd starts; the caller's connection drops with it
        node.faults.stopDuringBootstrap = false;
        node.faults.down = true;
        node.changed();
        throw new RpcError(status.UNAVAILABLE, 'connection error: the node went down');
      }
      if (node.etcdMemberId === undefined && node.services.get('etcd')?.state !== 'Preparing')
        throw new RpcError(status.FAILED_PRECONDITION, 'bootstrap is not available yet');
      bootstrapEtcd(cluster, node);
      return { messages: [{}] };
    }),

    EtcdMemberList: unary(env, `${M}EtcdMemberList`, (req, { node }) => {
      const cluster = etcdRunning(node, 'member list');
      return { messages: [{ legacyMembers: [], members: memberList(cluster, node, req.queryLocal).map(etcdMember) }] };
    }),

    EtcdStatus: unary(env, `${M}EtcdStatus`, (_req, { node }) => {
      const cluster = etcdRunning(node, 'etcd status');
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
              leader: cluster.leader()?.id ?? '0',
              raftIndex,
              raftTerm: 2,
              raftAppliedIndex: raftIndex,
              errors: sick ? ['etcdserver: simulated failure'] : [],
              isLearner: false,
              memberId: node.etcdMemberId ?? '0',
              storageVersion: versionAtLeast(node.version, 1, 11) ? '3.6.0' : '',
            },
          },
        ],
      };
    }),

    EtcdLeaveCluster: unary(env, `${M}EtcdLeaveCluster`, (_req, { node }) => {
      leaveEtcd(controlPlaneOnly(node, 'etcd leave'), node);
      return { messages: [{}] };
    }),

    EtcdRemoveMemberByID: unary(env, `${M}EtcdRemoveMemberByID`, (req, { node }) => {
      removeMemberById(controlPlaneOnly(node, 'etcd remove member'), node, req.memberId);
      return { messages: [{}] };
    }),
  };
}
