// etcd as a simulated Talos cluster runs it: Bootstrap starts a one-member etcd on a control plane
// that holds no etcd data (a second Bootstrap on a still-waiting control plane would start a second,
// split etcd, which is why it must happen once); a waiting control plane joins once its cluster's
// etcd runs with quorum; members leave or are removed with etcd's own refusals, which Talos passes
// on as plain (Unknown) errors.
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { SimNode } from './node.js';
import { RpcError } from './rpc-error.js';
import type { EtcdMemberEntry, TalosCluster } from './talos-cluster.js';

/** A fresh member id, as etcd assigns one per join: a non-zero uint64, decimal. */
function newMemberId(): string {
  const id = randomBytes(8).readBigUInt64BE() & ((1n << 63n) - 1n);
  return (id === 0n ? 1n : id).toString();
}

function addMember(cluster: TalosCluster, node: SimNode): void {
  const id = newMemberId();
  cluster.members.push({ id, nodeId: node.id, hostname: node.name, ip: node.ip });
  node.startEtcd(id);
}

/** A cluster that was running before the simulator started: every control plane is a member. */
export function seedMembers(cluster: TalosCluster): void {
  for (const node of cluster.nodes()) {
    if (!node.isControlPlane) continue;
    const id = newMemberId();
    cluster.members.push({ id, nodeId: node.id, hostname: node.name, ip: node.ip });
    node.etcdMemberId = id;
  }
}

/** Whether the node's etcd waits (for Bootstrap or to join): configured control plane, no etcd data. */
export function etcdWaiting(node: SimNode): boolean {
  return node.isControlPlane && node.up && node.services.get('etcd')?.state === 'Preparing';
}

/**
 * Bootstrap on a control plane: AlreadyExists when its etcd data directory holds a member; otherwise
 * it starts a new one-member etcd and counts as a bootstrap that took effect.
 */
export function bootstrapEtcd(cluster: TalosCluster, node: SimNode): void {
  if (node.etcdMemberId !== undefined || !etcdWaiting(node))
    throw new RpcError(status.ALREADY_EXISTS, 'etcd data directory is not empty');
  node.bootstrapsEffective++;
  cluster.bootstrapsEffective++;
  addMember(cluster, node);
}

/** Every waiting control plane that is up joins while its cluster's etcd has quorum. */
export function joinWaitingControlPlanes(cluster: TalosCluster): void {
  if (!cluster.hasQuorum()) return;
  for (const node of cluster.controlPlanes()) if (etcdWaiting(node)) addMember(cluster, node);
}

/** The members as EtcdMemberList reports them on `node` (only its own with queryLocal). */
export function memberList(cluster: TalosCluster, node: SimNode, queryLocal: boolean): EtcdMemberEntry[] {
  if (queryLocal) return cluster.members.filter((m) => m.id === node.etcdMemberId);
  if (!cluster.hasQuorum()) throw unknown('etcdserver: request timed out (no leader)');
  return cluster.members;
}

function unknown(message: string): RpcError {
  return new RpcError(status.UNKNOWN, message);
}

/**
 * etcd's checks before a member goes (strict reconfiguration): the request needs a leader; the last
 * member cannot go; and while the member to remove runs (or asks itself), the members that run
 * must stay a quorum without it. A member that is down can always be removed.
 */
function checkRemovable(cluster: TalosCluster, entry: EtcdMemberEntry, self: boolean): string | undefined {
  if (!cluster.hasQuorum()) return 'etcdserver: no leader';
  if (cluster.members.length === 1) return 'etcdserver: re-configuration failed due to not enough started members';
  const running = cluster.runningMembers();
  if (!self && !running.includes(entry)) return undefined;
  const votingAfter = cluster.members.length - 1;
  if (running.length - 1 < 1 + Math.floor(votingAfter / 2)) return 'etcdserver: unhealthy cluster';
  return undefined;
}

function remove(cluster: TalosCluster, entry: EtcdMemberEntry, why: 'Finished' | 'Failed', message: string): void {
  cluster.members.splice(cluster.members.indexOf(entry), 1);
  const holder = cluster.nodeOf(entry);
  holder?.stopEtcd(why, message);
}

/** EtcdLeaveCluster on `node`: it removes its own member and stops etcd. */
export function leaveEtcd(cluster: TalosCluster, node: SimNode): void {
  const own = cluster.member(node.etcdMemberId);
  if (!own || !node.etcdRunning)
    throw new RpcError(status.FAILED_PRECONDITION, 'etcd is not running on this node (is it a member?)');
  const refused = checkRemovable(cluster, own, true);
  if (refused) throw unknown(`failed to leave cluster: ${refused}`);
  remove(cluster, own, 'Finished', 'left the etcd cluster');
}

/** EtcdRemoveMemberByID through `via`: NotFound for an unknown id. */
export function removeMemberById(cluster: TalosCluster, via: SimNode, memberId: string): void {
  if (!via.etcdRunning) throw unknown('failed to create etcd client: etcd is not running on this node');
  const entry = cluster.member(memberId);
  if (!entry) throw new RpcError(status.NOT_FOUND, 'etcdserver: member not found');
  const refused = checkRemovable(cluster, entry, entry.id === via.etcdMemberId);
  if (refused) throw unknown(`failed to remove member: ${refused}`);
  remove(cluster, entry, 'Failed', 'the member has been permanently removed from the cluster');
}
