// Deleting a cluster: the finalizer kubernetescluster.vitistack.io/finalizer holds it until every
// reachable node is reset (not gracefully: the whole cluster is going; each reboots into
// maintenance mode), its Machines and Secrets are deleted, and then the finalizer goes. A node
// that cannot be reached holds the deletion up to the unreachable-node timeout (from the
// cluster's deletion), or not at all with the annotation
// kubernetescluster.vitistack.io/skip-unreachable-nodes; an Event names each node not reset.
// With `kubectl delete --cascade=orphan` (the `orphan` finalizer) only the finalizers go:
// Machines and nodes stay as they are.
import { kubernetesClusterFinalizer, SKIP_UNREACHABLE_ANNOTATION } from '../../api/kubernetescluster.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import { systemContext } from '../../machinery/registry/context.js';
import {
  kubeconfigSecretName,
  machineconfigSecretName,
  secretsSecretName,
  talosconfigSecretName,
} from '../../secrets/clustersecrets.js';
import { using } from '../../nodeaccess/machinenode.js';
import { TalosError } from '../../talos/errors.js';
import { dropLeaveFinalizer } from './leave.js';
import { event, now, type LifecycleDeps, type Round } from './round.js';
import { LIFECYCLE_FIELD_MANAGER } from './write.js';

const ignore404 = (e: unknown) => {
  if (!(e instanceof StatusError && e.code === 404)) throw e;
};

/** sets the cluster's finalizers to `finalizers` (pinned to the version read) */
export async function setFinalizers(
  deps: LifecycleDeps,
  cluster: KubeObject,
  finalizers: string[],
): Promise<KubeObject> {
  const patch = { metadata: { finalizers, resourceVersion: cluster.metadata.resourceVersion } };
  return deps.clusters.patch(cluster.metadata.namespace, cluster.metadata.name!, 'merge', patch, {
    ...systemContext(),
    fieldManager: LIFECYCLE_FIELD_MANAGER,
  });
}

export async function dropClusterFinalizer(deps: LifecycleDeps, cluster: KubeObject): Promise<void> {
  const rest = (cluster.metadata.finalizers ?? []).filter((f) => f !== kubernetesClusterFinalizer);
  await setFinalizers(deps, cluster, rest).catch(ignore404);
}

/** `--cascade=orphan`: the cluster goes, everything it made stays */
export async function orphan(deps: LifecycleDeps, cluster: KubeObject, machines: readonly KubeObject[]): Promise<void> {
  for (const m of machines) await dropLeaveFinalizer(deps.machines, m);
  await deps.events.record(
    cluster,
    'Normal',
    'Orphaned',
    `deleted with orphan propagation: ${machines.length} Machines and their nodes stay`,
  );
  await dropClusterFinalizer(deps, cluster);
}

/**
 * Resets the nodes; undefined when the deletion may go on, else why it waits. A reset node is
 * waited for until it is back in maintenance mode: deleting its Machine earlier lets the provider
 * destroy the machine in the middle of the reset. Which nodes were reset is each node's `resetAt`
 * in the status, saved as soon as the node acknowledged, so a restart neither forgets a reset
 * under way (and reports it skipped) nor resets a node again.
 */
export async function resetNodes(r: Round | undefined, save: () => Promise<void>): Promise<string | undefined> {
  if (!r) return undefined;
  const pending: { name: string; why: string; reset: boolean }[] = [];
  for (const v of r.views) {
    const wasReset = !!v.record.resetAt;
    if (!v.endpoint || !v.sighting) continue;
    if (v.sighting.mode === 'configured') {
      try {
        await using(r.deps.nodes.configured(v.endpoint, r.creds), (c) => c.reset({ graceful: false, reboot: true }));
      } catch (e) {
        if (!(e instanceof TalosError)) throw e;
        // a reset under way answers FailedPrecondition
        if (!(wasReset && e.failure === 'FailedPrecondition')) {
          pending.push({ name: v.name, why: e.message, reset: wasReset });
          continue;
        }
      }
      if (!wasReset) {
        v.record.resetAt = now();
        await save();
        await event(
          r,
          'Normal',
          'NodeReset',
          `reset the node of machine ${v.name} (${v.endpoint}): the cluster is being deleted`,
        );
      }
      pending.push({ name: v.name, why: 'being reset', reset: true });
    } else if (v.sighting.mode === 'unreachable') {
      pending.push({
        name: v.name,
        why: wasReset ? 'being reset' : (v.sighting.error ?? 'unreachable'),
        reset: wasReset,
      });
    }
  }
  if (!pending.length) return undefined;
  const since = Date.parse(r.cluster.metadata.deletionTimestamp!);
  const skip = r.cluster.metadata.annotations?.[SKIP_UNREACHABLE_ANNOTATION] !== undefined;
  const unreached = pending.filter((p) => !p.reset);
  // the skip annotation spares the wait for nodes never reached, not for resets under way
  const waitFor = skip ? pending.filter((p) => p.reset) : pending;
  if (waitFor.length && Date.now() - since < r.deps.unreachableTimeoutMs)
    return `waiting for nodes to be reset: ${waitFor.map((p) => `${p.name} (${p.why})`).join(', ')}`;
  for (const p of unreached)
    await event(
      r,
      'Warning',
      'ResetSkipped',
      `the node of machine ${p.name} was not reset: it cannot be reached (${p.why})`,
    );
  return undefined;
}

/** deletes what the cluster made, then lets it go */
export async function removeEverything(
  deps: LifecycleDeps,
  cluster: KubeObject,
  machines: readonly KubeObject[],
): Promise<void> {
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name!;
  for (const m of machines) {
    await dropLeaveFinalizer(deps.machines, m);
    await deps.machines
      .delete(
        ns,
        m.metadata.name!,
        { preconditions: { uid: m.metadata.uid } },
        { ...systemContext(), fieldManager: LIFECYCLE_FIELD_MANAGER },
      )
      .catch((e: unknown) => {
        if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
      });
    await deps.secrets.delete(ns, machineconfigSecretName(m.metadata.name!));
  }
  for (const secret of [kubeconfigSecretName(name), talosconfigSecretName(name), secretsSecretName(name)])
    await deps.secrets.delete(ns, secret);
  await deps.events.record(
    cluster,
    'Normal',
    'Deleted',
    `deleted ${machines.length} Machines and the cluster's Secrets`,
  );
  await dropClusterFinalizer(deps, cluster);
}
