// The bootstrap step: etcd is bootstrapped exactly once, on the first control plane whose config
// is applied, once it is up with etcd waiting. The intent (which machine, when) is written to the
// status before the call and the completion after it, so a restart (kill -9 at any moment), a
// second replica or a replaced first control plane never bootstraps a second etcd: with an intent
// and no completion, Bootstrap is called again only while no control plane has etcd members and
// that node's etcd still waits; AlreadyExists counts as done.
import { TalosError } from '../../talos/errors.js';
import type { ConditionUpdate } from '../conditions.js';
import { using } from '../../nodeaccess/machinenode.js';
import { controlPlanes, event, live, now, ordered, type NodeView, type Round } from './round.js';

/** writes the status now (the intent must be stored before the call, the completion right after) */
export type Flush = () => Promise<void>;

const no = (reason: string, message: string, severity: 'Info' | 'Warning' = 'Info'): ConditionUpdate => ({
  type: 'Bootstrapped',
  status: 'False',
  severity,
  reason,
  message,
});

async function complete(r: Round, flush: Flush, how: string): Promise<void> {
  r.bootstrap.completedAt = now();
  delete r.bootstrap.lastError;
  await flush();
  await event(r, 'Normal', 'Bootstrapped', how);
}

/** the control plane to bootstrap: the one the intent names while it lives, else the first one applied */
function target(r: Round): NodeView | undefined {
  const cps = ordered(controlPlanes(live(r)));
  const intended = cps.find((v) => v.name === r.bootstrap.machine);
  return intended ?? cps.find((v) => v.record.configHash);
}

export async function bootstrapStep(r: Round, flush: Flush): Promise<void> {
  const done: ConditionUpdate = {
    type: 'Bootstrapped',
    status: 'True',
    reason: 'Done',
    message: `etcd was bootstrapped on ${r.bootstrap.machine ?? 'a control plane'}`,
  };
  if (r.bootstrap.completedAt) {
    r.conditions.Bootstrapped = done;
    return;
  }
  // etcd already has members (bootstrapped by us before a restart, or by someone else): done
  if (r.members?.length) {
    await complete(
      r,
      flush,
      `etcd already has members (${r.members.map((m) => m.hostname).join(', ')}): the cluster is bootstrapped`,
    );
    r.conditions.Bootstrapped = { ...done, message: `etcd runs with ${r.members.length} member(s)` };
    return;
  }
  const v = target(r);
  if (!v) {
    r.conditions.Bootstrapped = no(
      'WaitingForControlPlane',
      'waiting for the first control plane to get its configuration',
    );
    return;
  }
  if (v.sighting?.mode !== 'configured' || v.sighting.etcd !== 'waiting') {
    const where =
      v.sighting?.mode === 'configured' ? `its etcd is ${v.sighting.etcd}` : `it is ${v.record.state ?? 'not up'}`;
    const waiting = `waiting for control plane ${v.name} to come up with etcd waiting for the bootstrap (${where})`;
    // a failed call stays the story until one succeeds
    r.conditions.Bootstrapped = r.bootstrap.lastError
      ? no('BootstrapFailed', `${r.bootstrap.lastError}; ${waiting}`, 'Warning')
      : no('WaitingForControlPlane', waiting);
    return;
  }
  if (r.bootstrap.machine !== v.name || !r.bootstrap.requestedAt) {
    r.bootstrap = { machine: v.name, requestedAt: now() };
    await flush();
    await event(r, 'Normal', 'Bootstrapping', `bootstrapping etcd on control plane ${v.name} (${v.endpoint})`);
  }
  try {
    await using(r.deps.nodes.configured(v.endpoint!, r.creds), (c) => c.bootstrap());
    await complete(r, flush, `etcd bootstrapped on control plane ${v.name}`);
    r.conditions.Bootstrapped = done;
  } catch (e) {
    if (!(e instanceof TalosError)) throw e;
    if (e.failure === 'AlreadyExists') {
      await complete(r, flush, `control plane ${v.name} says etcd is already bootstrapped`);
      r.conditions.Bootstrapped = done;
      return;
    }
    v.record.lastError = e.message;
    r.bootstrap.lastError = `Bootstrap on ${v.name} failed: ${e.message}`;
    r.failed = true;
    r.conditions.Bootstrapped = no('BootstrapFailed', r.bootstrap.lastError, 'Warning');
    await event(r, 'Warning', 'BootstrapFailed', `Bootstrap on control plane ${v.name} failed: ${e.message}`);
  }
}
