// The leave step: a Machine of the cluster being deleted (a scale-down) keeps the finalizer
// kubernetescluster.vitistack.io/node-leave until its node has left properly. A control plane
// leaves etcd first: by itself when it answers, else its member is removed through another
// control plane; both are refused when they would remove the last control plane or leave etcd
// without quorum. Then the node is reset gracefully (the cluster lives on) and reboots into
// maintenance mode. A node that cannot be reached is skipped after the unreachable-node timeout
// (counted from the Machine's deletion), with an Event. A node that never ran our config has
// nothing to leave.
import { machineLeaveFinalizer } from '../../api/machine.js';
import { StatusError } from '../../machinery/errors.js';
import { systemContext } from '../../machinery/registry/context.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { using } from '../../nodeaccess/machinenode.js';
import type { EtcdMember } from '../../talos/client.js';
import { TalosError } from '../../talos/errors.js';
import { controlPlanes, event, hasLeaveFinalizer, live, now, type NodeView, type Round } from './round.js';

export const LEAVE_FIELD_MANAGER = 'clusterlifecycle-controller';
const quorumOf = (n: number) => Math.floor(n / 2) + 1;

/** takes the node-leave finalizer off a Machine (pinned to the version read; a conflict waits for the next round) */
export async function dropLeaveFinalizer(store: ResourceStore, m: KubeObject): Promise<void> {
  if (!hasLeaveFinalizer(m)) return;
  const finalizers = (m.metadata.finalizers ?? []).filter((f) => f !== machineLeaveFinalizer);
  const patch = { metadata: { finalizers, resourceVersion: m.metadata.resourceVersion } };
  await store
    .patch(m.metadata.namespace, m.metadata.name!, 'merge', patch, {
      ...systemContext(),
      fieldManager: LEAVE_FIELD_MANAGER,
    })
    .catch((e: unknown) => {
      if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
    });
}

const up = (v: NodeView) => v.sighting?.mode === 'configured' && v.sighting.etcd === 'running';

/** why the member of `v` may not go now; undefined: it may */
function quorumRefusal(r: Round, v: NodeView, member: EtcdMember): string | undefined {
  const others = controlPlanes(live(r));
  if (!others.length) return `${v.name} is the cluster's last control plane`;
  const n = r.members!.length;
  const upOthers = r.members!.filter(
    (m) => m !== member && others.some((o) => up(o) && o.sighting!.hostname === m.hostname),
  ).length;
  const need = quorumOf(n - 1);
  if (upOthers < need) return `etcd would lose quorum: ${upOthers} of the ${n - 1} members left are up, ${need} needed`;
  return undefined;
}

/** the etcd part of a control plane leaving; undefined when done, else why it waits */
async function leaveEtcd(r: Round, v: NodeView): Promise<string | undefined> {
  if (!r.members) return r.bootstrap.completedAt ? 'no control plane can tell the etcd members now' : undefined;
  const host = v.sighting?.hostname ?? v.record.hostname;
  const member = r.members.find((m) => m.hostname === host);
  if (!member) return undefined;
  const refusal = quorumRefusal(r, v, member);
  if (refusal) return refusal;
  try {
    if (v.sighting?.mode === 'configured') {
      await using(r.deps.nodes.configured(v.endpoint!, r.creds), (c) => c.etcdLeaveCluster());
      await event(r, 'Normal', 'EtcdLeft', `control plane ${v.name} left etcd`);
    } else {
      const via = controlPlanes(live(r)).find(up)!;
      await using(r.deps.nodes.configured(via.endpoint!, r.creds), (c) => c.etcdRemoveMemberByID(member.id));
      await event(
        r,
        'Normal',
        'EtcdMemberRemoved',
        `removed the etcd member of unreachable control plane ${v.name} (${host}) through ${via.name}`,
      );
    }
    r.members = r.members.filter((m) => m !== member);
    return undefined;
  } catch (e) {
    if (!(e instanceof TalosError)) throw e;
    return `leaving etcd failed: ${e.message}`;
  }
}

/** asks the node to reset: 'sent' (also when one is already under way), else why it failed */
async function sendReset(r: Round, v: NodeView): Promise<'sent' | string> {
  try {
    await using(r.deps.nodes.configured(v.endpoint!, r.creds), (c) => c.reset({ graceful: true, reboot: true }));
    return 'sent';
  } catch (e) {
    if (!(e instanceof TalosError)) throw e;
    // a reset already under way answers FailedPrecondition
    if (e.failure === 'FailedPrecondition' && v.record.resetAt) return 'sent';
    return `resetting the node failed: ${e.message}`;
  }
}

const BEING_RESET = 'is being reset';

async function leave(r: Round, v: NodeView, flush: () => Promise<void>): Promise<string | undefined> {
  const s = v.sighting;
  if (!v.endpoint || s?.mode === 'maintenance' || s?.mode === 'foreign') return undefined;
  if (!v.record.configHash && s?.mode !== 'configured' && !r.members?.some((m) => m.hostname === v.record.hostname))
    return undefined;
  if (v.role === 'controlplane') {
    const etcdWait = await leaveEtcd(r, v);
    if (etcdWait) return etcdWait;
  }
  if (s?.mode === 'configured') {
    // Talos acknowledges a reset at once and works in the background: the Machine goes once the
    // node is seen back in maintenance mode (a provider destroying it earlier would cut the reset short)
    const sent = await sendReset(r, v);
    if (sent !== 'sent') return sent;
    if (!v.record.resetAt) {
      // kept in the status at once: after a restart the reset under way is waited for, not sent again
      v.record.resetAt = now();
      await flush();
      await event(
        r,
        'Normal',
        'NodeReset',
        `reset the node of machine ${v.name} (${v.endpoint}); it reboots into maintenance mode`,
      );
    }
    return `its node ${v.endpoint} ${BEING_RESET}`;
  }
  // unreachable: rebooting after the reset, or away; either is waited for, up to the timeout
  const resetAt = v.record.resetAt ? Date.parse(v.record.resetAt) : undefined;
  const since = resetAt ?? Date.parse(v.machine.metadata.deletionTimestamp!);
  if (Date.now() - since < r.deps.unreachableTimeoutMs)
    return resetAt
      ? `its node ${v.endpoint} ${BEING_RESET}`
      : `its node ${v.endpoint} is unreachable: ${s?.error ?? ''}`;
  if (resetAt) return undefined;
  await event(
    r,
    'Warning',
    'ResetSkipped',
    `the node of machine ${v.name} (${v.endpoint}) was not reset: unreachable for longer than ${r.deps.unreachableTimeoutMs / 1000}s`,
  );
  return undefined;
}

/** the Machines leaving now, each with why it still waits (empty when every one could go) */
export async function leaveStep(r: Round, flush: () => Promise<void>): Promise<string[]> {
  const waiting: string[] = [];
  for (const v of r.views.filter((x) => x.deleting && hasLeaveFinalizer(x.machine))) {
    const why = await leave(r, v, flush);
    if (why === undefined) {
      await dropLeaveFinalizer(r.deps.machines, v.machine);
      r.views = r.views.filter((x) => x !== v);
      continue;
    }
    const resetting = why.endsWith(BEING_RESET);
    if (v.record.lastError !== why && !resetting)
      await event(r, 'Warning', 'LeaveWaiting', `machine ${v.name} cannot leave yet: ${why}`);
    if (resetting) delete v.record.lastError;
    else v.record.lastError = why;
    waiting.push(`${v.name}: ${why}`);
  }
  return waiting;
}

export { machineLeaveFinalizer };
