// The cluster lifecycle controller (`clusterlifecycle` in --controllers): what happens to a
// provider-talos KubernetesCluster's nodes once the KubernetesCluster controller has made its
// Machines and their configs. Each round looks at every Machine's node and takes the steps in
// order: nodes leaving (leave.ts), configs applied (apply.ts), etcd bootstrapped exactly once
// (bootstrap.ts), health (health.ts), the admin kubeconfig kept in a Secret (kubeconfig.ts); the
// status tells the story (status.ts, write.ts) and Events mark every step and failure. The
// cluster's finalizer lets deleting it reset its nodes first (teardown.ts). A cluster on its way
// is looked at every poll interval, a failed step again after the key's backoff, a Ready cluster
// every resync period.
import {
  kubernetesClusterFinalizer,
  kubernetesClusterKind,
  type KubernetesClusterStatus,
} from '../../api/kubernetescluster.js';
import { machineKind, machineLeaveFinalizer } from '../../api/machine.js';
import type { EventRecorder } from '../../events/recorder.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext } from '../../machinery/registry/context.js';
import { listObjects } from '../../machinery/registry/list.js';
import { parseSelection } from '../../machinery/registry/selection.js';
import { CLUSTER_LABEL, CONFIG_HASH_ANNOTATION, clusterSpec } from '../../machineconfig/fromcluster.js';
import { clusterCredentials, machineEndpoint, type MachineNodes } from '../../nodeaccess/machinenode.js';
import type { SecretStore } from '../../secrets/secretstore.js';
import { conditionOf, ownsStatusField, rfc3339, type Condition, type ConditionUpdate } from '../conditions.js';
import { controlledBy, SKIP_ANNOTATION } from '../kubernetescluster/plan.js';
import type { ControllerSpec, ReconcileResult } from '../runtime/controller.js';
import { splitKey } from '../runtime/listwatch.js';
import { registryListWatch } from '../runtime/registrylistwatch.js';
import { applyStep } from './apply.js';
import { bootstrapStep } from './bootstrap.js';
import { healthStep } from './health.js';
import { kubeconfigStep } from './kubeconfig.js';
import { dropLeaveFinalizer, leaveStep } from './leave.js';
import { forgetCluster, rolloutStep } from './rollout.js';
import { hasLeaveFinalizer, live, startRound, type LifecycleDeps, type Round } from './round.js';
import { LIFECYCLE_CONDITIONS, lifecycleStatus, machinesGenerated, type LifecycleCondition } from './status.js';
import { orphan, removeEverything, resetNodes, setFinalizers } from './teardown.js';
import { currentFields, LIFECYCLE_FIELD_MANAGER, writeLifecycleStatus, type LifecycleFields } from './write.js';

export interface ClusterLifecycleOptions {
  registry: APIRegistry;
  secrets: SecretStore;
  nodes: MachineNodes;
  events: EventRecorder;
  /** a cluster on its way to Ready is looked at again after this */
  pollMs: number;
  /** a Ready cluster after this (--resync-period) */
  resyncMs: number;
  healthTimeoutMs: number;
  unreachableTimeoutMs: number;
  /** how long one node of a rolling upgrade may take to come back at the target, healthy */
  upgradeNodeTimeoutMs: number;
}

const notFound = (e: unknown) => {
  if (e instanceof StatusError && e.code === 404) return undefined;
  throw e;
};

/** what calls for a look at a cluster: spec, deletion, finalizers, switches, the Machines made */
const clusterStamp = (c: KubeObject) => {
  const conds = ((c.status as KubernetesClusterStatus | undefined)?.conditions ?? []) as Condition[];
  return JSON.stringify([
    c.metadata.generation,
    c.metadata.deletionTimestamp,
    c.metadata.finalizers,
    c.metadata.annotations,
    ['Valid', 'MachinesReconciled', 'ConfigGenerated'].map((t) => conditionOf(conds, t)?.status),
  ]);
};
/** what of a Machine matters: its node, its config, its deletion */
const machineStamp = (m: KubeObject) => {
  const s = (m.status ?? {}) as { phase?: string; publicIPAddresses?: string[] };
  return JSON.stringify([
    m.metadata.deletionTimestamp,
    m.metadata.finalizers,
    m.metadata.annotations?.[CONFIG_HASH_ANNOTATION],
    s.phase,
    s.publicIPAddresses,
  ]);
};

function machinesReady(r: Round, leaving: string[]): ConditionUpdate {
  const views = live(r);
  const no = (reason: string, message: string): ConditionUpdate => ({
    type: 'MachinesReady',
    status: 'False',
    severity: 'Info',
    reason,
    message,
  });
  if (leaving.length) return no('NodesLeaving', `nodes leaving the cluster: ${leaving.join('; ')}`);
  if (!views.length) return no('NoMachines', 'the cluster has no Machines yet');
  const without = views.filter((v) => !v.endpoint).map((v) => v.name);
  if (without.length)
    return no(
      'WaitingForNodes',
      `no node yet for ${without.join(', ')}: the machine provider has not reported it Running with an IPv4 address`,
    );
  return {
    type: 'MachinesReady',
    status: 'True',
    reason: 'NodesKnown',
    message: `${views.length} Machines have a node`,
  };
}

/** status.nodes: one record per Machine with a node (or a config applied) */
const nodeRecords = (r: Round) => r.views.filter((v) => v.endpoint || v.record.configHash).map((v) => v.record);

class ClusterLifecycle {
  readonly deps: LifecycleDeps;

  constructor(private readonly o: ClusterLifecycleOptions) {
    const clusters = o.registry.storeOf(kubernetesClusterKind);
    const machines = o.registry.storeOf(machineKind);
    if (!clusters || !machines) throw new Error('the vitistack.io kinds are not registered');
    this.deps = {
      clusters,
      machines,
      secrets: o.secrets,
      nodes: o.nodes,
      events: o.events,
      healthTimeoutMs: o.healthTimeoutMs,
      unreachableTimeoutMs: o.unreachableTimeoutMs,
    };
  }

  private async labelledMachines(ns: string, cluster: string): Promise<KubeObject[]> {
    const selection = parseSelection(machineKind, `${CLUSTER_LABEL}=${cluster}`);
    return (await listObjects(this.deps.machines, ns, { selection })).items;
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const ns = namespace!;
    let cluster = await this.deps.clusters.get(ns, name).catch(notFound);
    const labelled = await this.labelledMachines(ns, name);
    if (!cluster) {
      forgetCluster(ns, name);
      // a Machine left holding our finalizer by a cluster that is gone
      for (const m of labelled) await dropLeaveFinalizer(this.deps.machines, m);
      return;
    }
    const ours = labelled.filter((m) => controlledBy(m, cluster!));
    const talos = clusterSpec(cluster).data?.provider === 'talos';
    // a cluster whose provider changed since it got our finalizer still lets go of it
    if (cluster.metadata.deletionTimestamp) {
      forgetCluster(ns, name);
      return this.teardown(cluster, labelled, talos ? ours : []);
    }
    if (!talos) return;
    const finalizers = cluster.metadata.finalizers ?? [];
    if (!finalizers.includes(kubernetesClusterFinalizer))
      cluster = await setFinalizers(this.deps, cluster, [...finalizers, kubernetesClusterFinalizer]);
    if (cluster.metadata.annotations?.[SKIP_ANNOTATION]) return;
    for (const m of ours) {
      if (m.metadata.deletionTimestamp || hasLeaveFinalizer(m)) continue;
      const patch = {
        metadata: {
          finalizers: [...(m.metadata.finalizers ?? []), machineLeaveFinalizer],
          resourceVersion: m.metadata.resourceVersion,
        },
      };
      await this.deps.machines
        .patch(ns, m.metadata.name!, 'merge', patch, { ...systemContext(), fieldManager: LIFECYCLE_FIELD_MANAGER })
        .catch((e: unknown) => {
          // changed or gone meanwhile: its event brings the cluster back
          if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
        });
    }
    const creds = await clusterCredentials(this.deps.secrets, ns, name);
    if (!creds) return { requeueAfterMs: this.o.pollMs };
    const r = await startRound(this.deps, cluster, ours, creds);
    const flush = async () => {
      r.cluster = await this.write(r);
    };
    const leaving = await leaveStep(r, flush);
    r.conditions.MachinesReady = machinesReady(r, leaving);
    await applyStep(r, flush);
    const rolling = await rolloutStep(r, { nodeTimeoutMs: this.o.upgradeNodeTimeoutMs });
    await bootstrapStep(r, flush);
    const healthy = await healthStep(r);
    await kubeconfigStep(r, healthy);
    await flush();
    if (r.failed) return { requeue: true };
    const ready = conditionOf((r.cluster.status as KubernetesClusterStatus).conditions as Condition[], 'Ready');
    return { requeueAfterMs: ready?.status === 'True' && !rolling ? this.o.resyncMs : this.o.pollMs };
  }

  /** the round's status: each step's condition (a step not reached keeps what it said last) */
  private write(r: Round): Promise<KubeObject> {
    const previous = ((r.cluster.status as KubernetesClusterStatus | undefined)?.conditions ?? []) as Condition[];
    const updates = Object.fromEntries(
      LIFECYCLE_CONDITIONS.map((t) => {
        const was = conditionOf(previous, t);
        const fallback: ConditionUpdate = was
          ? { type: t, status: was.status, reason: was.reason ?? '', message: was.message ?? '' }
          : { type: t, status: 'Unknown', reason: 'NotYetChecked', message: 'this step has not run yet' };
        return [t, r.conditions[t] ?? fallback];
      }),
    ) as Record<LifecycleCondition, ConditionUpdate>;
    const s = lifecycleStatus(previous, updates, rfc3339());
    const nodes = nodeRecords(r);
    // the phase is the KubernetesCluster controller's while Machines or configs are missing; ours
    // is kept as it is until that controller has written its own (an apply that leaves it out drops it)
    const generated = machinesGenerated(previous);
    const status = r.cluster.status as KubernetesClusterStatus | undefined;
    const keep = !generated && ownsStatusField(r.cluster, LIFECYCLE_FIELD_MANAGER, 'phase');
    return writeLifecycleStatus(
      this.deps.clusters,
      r.cluster,
      {
        conditions: s.conditions,
        nodes,
        bootstrap: r.bootstrap,
        phase: keep ? status?.phase : s.phase,
        message: keep ? status?.message : s.message,
      },
      generated || keep,
    );
  }

  private async teardown(
    cluster: KubeObject,
    labelled: KubeObject[],
    ours: KubeObject[],
  ): Promise<ReconcileResult | void> {
    const finalizers = cluster.metadata.finalizers ?? [];
    if (!finalizers.includes(kubernetesClusterFinalizer)) return;
    if (finalizers.includes('orphan')) return orphan(this.deps, cluster, labelled);
    const creds = await clusterCredentials(this.deps.secrets, cluster.metadata.namespace!, cluster.metadata.name!);
    const r = creds ? await startRound(this.deps, cluster, ours, creds) : undefined;
    const known = ours.filter((m) => machineEndpoint(m, this.o.nodes.talosApiPort)).map((m) => m.metadata.name);
    if (!creds && known.length)
      await this.o.events.record(
        cluster,
        'Warning',
        'ResetSkipped',
        `the cluster's talosconfig is gone: the nodes of ${known.join(', ')} could not be reset`,
      );
    let current = cluster;
    /** the nodes' records (which were reset, when) go into the status as soon as they change */
    const save = async (fields: Partial<LifecycleFields> = {}) => {
      const nodes = r ? nodeRecords(r) : currentFields(current).nodes;
      current = await writeLifecycleStatus(
        this.deps.clusters,
        current,
        { ...currentFields(current), phase: 'Deleting', nodes, ...fields },
        true,
      );
      if (r) r.cluster = current;
    };
    const waiting = await resetNodes(r, save);
    if (waiting) {
      await save({ message: waiting });
      return { requeueAfterMs: this.o.pollMs };
    }
    await removeEverything(this.deps, current, ours);
  }
}

export function clusterLifecycleController(o: ClusterLifecycleOptions): ControllerSpec {
  const c = new ClusterLifecycle(o);
  return {
    name: 'clusterlifecycle',
    workers: 4,
    setup(ctx) {
      const enqueue = (ns: string | undefined, name: string) => ctx.queue.add(`${ns ?? ''}/${name}`);
      ctx.inform(registryListWatch(c.deps.clusters), { resyncMs: 0 }).addEventHandler({
        add: (cl) => enqueue(cl.metadata.namespace, cl.metadata.name!),
        update: (old, cur) => {
          if (clusterStamp(old) !== clusterStamp(cur)) enqueue(cur.metadata.namespace, cur.metadata.name!);
        },
      });
      const machineChanged = (m: KubeObject) => {
        const cluster = m.metadata.labels?.[CLUSTER_LABEL];
        if (cluster) enqueue(m.metadata.namespace, cluster);
      };
      ctx.inform(registryListWatch(c.deps.machines), { resyncMs: 0 }).addEventHandler({
        add: machineChanged,
        update: (old, cur) => {
          if (machineStamp(old) !== machineStamp(cur)) machineChanged(cur);
        },
        delete: machineChanged,
      });
    },
    reconcile: (key) => c.reconcile(key),
  };
}
