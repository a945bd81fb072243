// The KubernetesCluster controller (as the Viti Talos operator's cluster reconciler): it
// turns spec.topology into Machines the cluster controls, scales them up and down when the spec's
// replicas change (e.g. a JSON patch of a worker pool's replicas), keeps the fields it owns on
// them, has their machine configs regenerated when the cluster's spec changes, and reports
// progress in the cluster's status and Events. Machines left by a `--cascade=orphan` delete
// that carry the cluster's identity are adopted by a re-created cluster (plan.ts). Deleting the cluster deletes its Machines through
// their ownerReferences (the garbage collector). It runs on the controller runtime under the
// server's leadership, with informers on clusters, Machines and the clusters' secrets bundles
// (a new cluster's bundle is written by its create's admission a moment after the cluster).
import { kubernetesClusterKind, machineKind } from '../../api/index.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext, type RequestContext } from '../../machinery/registry/context.js';
import { listObjects } from '../../machinery/registry/list.js';
import { parseSelection } from '../../machinery/registry/selection.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { CLUSTER_LABEL, clusterSpec } from '../../machineconfig/fromcluster.js';
import {
  SECRETS_KEY,
  SECRET_ROLE_LABEL,
  machineconfigSecretName,
  secretsSecretName,
} from '../../secrets/clustersecrets.js';
import type { SecretStore } from '../../secrets/secretstore.js';
import { ownsStatusField, type Condition } from '../conditions.js';
import { LIFECYCLE_FIELD_MANAGER } from '../clusterlifecycle/write.js';
import type { EventRecorder } from '../../events/recorder.js';
import type { ControllerSpec, ReconcileResult } from '../runtime/controller.js';
import { metadataOnly, splitKey, type ListWatch } from '../runtime/listwatch.js';
import { registryListWatch } from '../runtime/registrylistwatch.js';
import { adoptable, adoptionPatch, clusterNamedIn, machineManifest, planCluster, SKIP_ANNOTATION } from './plan.js';
import { ManifestFiles } from './manifests.js';
import { clusterStatus, statusDiffers, type ClusterStatus } from './status.js';

export interface KubernetesClusterControllerOptions {
  registry: APIRegistry;
  secrets: SecretStore;
  /** the clusters' secrets bundles (BUNDLE_SELECTOR): the server's own Secrets, or kube-apiserver's */
  bundles: ListWatch;
  events: EventRecorder;
  /** the cluster lifecycle controller runs too: it has the say on the phase once the Machines are made */
  lifecycle?: boolean;
  /** --machine-manifests-dir: where each generated Machine is written as YAML */
  manifestsDir?: string;
}

/** the Secrets that hold a cluster's secrets bundle, as its admission labels them */
export const BUNDLE_SELECTOR = `${SECRET_ROLE_LABEL}=secrets`;

const keyOf = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
const ignore =
  (...codes: number[]) =>
  (e: unknown) => {
    if (e instanceof StatusError && codes.includes(e.code)) return undefined;
    throw e;
  };

/** what calls for a look at a cluster: its spec, deletion and the skip switch; not our status writes */
const stampOf = (c: KubeObject) =>
  `${c.metadata.uid}|${c.metadata.generation}|${c.metadata.deletionTimestamp ?? ''}|${c.metadata.annotations?.[SKIP_ANNOTATION] ?? ''}`;

export function kubernetesClusterController(o: KubernetesClusterControllerOptions): ControllerSpec {
  const c = new ClusterReconciler(o);
  return {
    name: 'kubernetescluster',
    workers: 1,
    setup(ctx) {
      const enqueue = (ns: string | undefined, name: string) => ctx.queue.add(keyOf(ns, name));
      ctx.inform(registryListWatch(c.clusters)).addEventHandler({
        add: (cl) => enqueue(cl.metadata.namespace, cl.metadata.name!),
        // old === cur: the resync, a look at every cluster
        update: (old, cur) => {
          if (old === cur || stampOf(old) !== stampOf(cur)) enqueue(cur.metadata.namespace, cur.metadata.name!);
        },
        delete: (cl) => {
          c.forget(cl);
          enqueue(cl.metadata.namespace, cl.metadata.name!);
        },
      });
      const machineChanged = (m: KubeObject) => {
        for (const r of m.metadata.ownerReferences ?? []) {
          if (r.controller && r.kind === 'KubernetesCluster') enqueue(m.metadata.namespace, r.name);
        }
        // a Machine in the way of a cluster's name for one (or one that went out of the way)
        const labelled = m.metadata.labels?.[CLUSTER_LABEL];
        if (labelled) enqueue(m.metadata.namespace, labelled);
        const named = clusterNamedIn(m.metadata.name!);
        if (named) enqueue(m.metadata.namespace, named);
      };
      ctx.inform(registryListWatch(c.machines), { transform: metadataOnly, resyncMs: 0 }).addEventHandler({
        add: machineChanged,
        update: (old, cur) => {
          if (old !== cur) machineChanged(cur);
        },
        delete: machineChanged,
      });
      // a cluster waiting for its bundle goes on once it is there
      const bundleWritten = (s: KubeObject) => {
        const cluster = s.metadata.labels?.[CLUSTER_LABEL];
        if (cluster) enqueue(s.metadata.namespace, cluster);
      };
      ctx.inform(o.bundles, { transform: metadataOnly, resyncMs: 0 }).addEventHandler({ add: bundleWritten });
    },
    reconcile: (key) => c.reconcile(key),
  };
}

class ClusterReconciler {
  readonly clusters: ResourceStore;
  readonly machines: ResourceStore;
  /** cluster uid -> the generation whose spec its Machines' configs were last regenerated from */
  private readonly refreshed = new Map<string, number>();
  private readonly files: ManifestFiles | undefined;
  /** each write its own context (admission appends warnings to it), named in managedFields */
  private readonly ctx = (): RequestContext => ({ ...systemContext(), fieldManager: 'kubernetescluster-controller' });

  constructor(private readonly o: KubernetesClusterControllerOptions) {
    const clusters = o.registry.storeOf(kubernetesClusterKind);
    const machines = o.registry.storeOf(machineKind);
    if (!clusters || !machines) throw new Error('the vitistack.io kinds are not registered');
    this.clusters = clusters;
    this.machines = machines;
    this.files = o.manifestsDir ? new ManifestFiles(o.manifestsDir) : undefined;
  }

  /**
   * Server-side apply under this controller's field manager: its conditions and fields only, so
   * the lifecycle controller's conditions (and its phase, once it has the say) stay as they are.
   */
  private async writeStatus(cluster: KubeObject, next: ClusterStatus, ownsPhase: boolean): Promise<void> {
    const { phase, message, ...rest } = next;
    const status = ownsPhase ? { ...rest, phase, ...(message ? { message } : {}) } : rest;
    const body = {
      apiVersion: cluster.apiVersion,
      kind: cluster.kind,
      metadata: { name: cluster.metadata.name, namespace: cluster.metadata.namespace },
      status,
    };
    await this.clusters
      .apply(
        cluster.metadata.namespace,
        cluster.metadata.name!,
        { value: body, duplicates: [] },
        this.ctx(),
        true,
        'status',
      )
      .catch(ignore(404, 409));
  }

  /**
   * makes the cluster the controller of each of `orphans`: 'done', 'changed' when one changed
   * meanwhile, 'deleting' when the cluster is going (or gone) since it was read
   */
  private async adopt(cluster: KubeObject, orphans: readonly KubeObject[]): Promise<'done' | 'changed' | 'deleting'> {
    let all = true;
    for (const m of orphans) {
      const ns = m.metadata.namespace;
      // as kube's controllers recheck before adopting: a cluster deleted with --cascade=orphan since
      // it was read has just had its Machines let go, and adopting one now would hand it to the
      // garbage collector along with the cluster
      const fresh = await this.clusters.get(ns!, cluster.metadata.name!).catch(ignore(404));
      if (!fresh || fresh.metadata.deletionTimestamp || fresh.metadata.uid !== cluster.metadata.uid) return 'deleting';
      const adopted = await this.machines
        .patch(ns, m.metadata.name!, 'merge', adoptionPatch(cluster, m), this.ctx())
        .then(() => true, ignore(404, 409));
      if (adopted) await this.o.events.record(cluster, 'Normal', 'Adopted', `Adopted machine: ${m.metadata.name}`);
      else all = false;
    }
    return all ? 'done' : 'changed';
  }

  forget(cluster: KubeObject): void {
    this.refreshed.delete(cluster.metadata.uid!);
  }

  /**
   * One look at one cluster. Waiting for its secrets bundle, or after creates the API refused, it
   * is looked at again after its backoff (the bundle's informer usually brings it back sooner).
   */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const ns = namespace!;
    const cluster = await this.clusters.get(ns, name).catch(ignore(404));
    if (!cluster || cluster.metadata.deletionTimestamp) {
      const failed = await this.files?.remove(name);
      if (failed && cluster) await this.o.events.record(cluster, 'Warning', 'ManifestWriteFailed', failed);
      return;
    }
    if (cluster.metadata.annotations?.[SKIP_ANNOTATION]) return;
    // talos-operator's rule: another provider's clusters are someone else's to build
    const spec = clusterSpec(cluster);
    if (spec.data?.provider !== 'talos') return;
    const list = async () =>
      (await listObjects(this.machines, ns, { selection: parseSelection(this.machines.kind) })).items;
    let items = await list();
    const orphans = adoptable(cluster, items);
    if (orphans.length) {
      // a Machine changed since it was read is looked at again: its event brings the cluster back;
      // a cluster being deleted is left to its deletion, which brings it back too
      const adopted = await this.adopt(cluster, orphans);
      if (adopted === 'deleting') return;
      if (adopted === 'changed') return { requeue: true };
      items = await list();
    }
    const plan = planCluster(cluster, items);
    let waitingForSecrets = false;
    const failedCreates: string[] = [];
    let removing: string | undefined;
    let refreshFailed = false;

    if (!plan.problems.length) {
      if (plan.create.length)
        waitingForSecrets = !(await this.o.secrets.get(ns, secretsSecretName(name)))?.[SECRETS_KEY];
      if (!waitingForSecrets) {
        for (const d of plan.create) {
          const created = await this.machines
            .create(ns, { value: machineManifest(cluster, d), duplicates: [] }, this.ctx())
            .catch((e: unknown) => {
              if (e instanceof StatusError && e.code === 409) return undefined; // made a moment ago; its event brings us back
              if (e instanceof StatusError && e.code < 500) {
                failedCreates.push(`${d.name}: ${e.message}`);
                return undefined;
              }
              throw e;
            });
          if (created) await this.o.events.record(cluster, 'Normal', 'SuccessfulCreate', `Created machine: ${d.name}`);
        }
        for (const f of failedCreates)
          await this.o.events.record(cluster, 'Warning', 'FailedCreate', `Error creating machine ${f}`);
      }
      for (const u of plan.update) {
        await this.machines.patch(ns, u.name, 'merge', u.patch, this.ctx()).catch(ignore(404, 409));
      }
      // a changed cluster spec changes its machines' configs: an empty patch has the machine-config
      // admission generate each again (a no-op write when nothing differs)
      if (this.refreshed.get(cluster.metadata.uid!) !== cluster.metadata.generation) {
        let all = true;
        for (const m of plan.existing) {
          await this.machines.patch(ns, m.metadata.name!, 'merge', {}, this.ctx()).catch((e: unknown) => {
            // a Machine changed meanwhile was not regenerated: this generation is not refreshed yet
            if (e instanceof StatusError && e.code === 409) all = false;
            else return ignore(404)(e);
          });
        }
        if (all) this.refreshed.set(cluster.metadata.uid!, cluster.metadata.generation ?? 0);
        else refreshFailed = true;
      }
      if (plan.remove) {
        const victim = plan.remove.metadata.name!;
        const gone = await this.machines
          .delete(
            ns,
            victim,
            { propagationPolicy: 'Background', preconditions: { uid: plan.remove.metadata.uid } },
            this.ctx(),
          )
          .then(() => true, ignore(404, 409));
        if (gone) {
          removing = victim;
          // its config is secret material owned by the cluster (so it outlives a Machine): it goes now
          await this.o.secrets.delete(ns, machineconfigSecretName(victim));
          await this.o.events.record(cluster, 'Normal', 'SuccessfulDelete', `Deleted machine: ${victim}`);
        }
      }
    }

    if (this.files && !plan.problems.length) {
      const failures = await this.files.sync(
        name,
        plan.desired.map((d) => machineManifest(cluster, d)),
      );
      for (const f of failures) await this.o.events.record(cluster, 'Warning', 'ManifestWriteFailed', f);
    }
    const previous = (cluster.status ?? {}) as Partial<ClusterStatus>;
    const next = clusterStatus((previous.conditions ?? []) as Condition[], {
      plan,
      waitingForSecrets,
      failedCreates,
      removing,
      hasEndpoint: !!spec.talos?.endpoint,
      // configs not all regenerated yet: the status does not claim this generation
      generation: refreshFailed ? (previous.observedGeneration ?? 0) : (cluster.metadata.generation ?? 0),
    });
    // once every Machine exists with its config, the lifecycle controller tells where the cluster
    // is; the phase stays ours until it has written one (what an apply leaves out, its owner drops)
    const ownsPhase =
      !this.o.lifecycle ||
      next.phase !== 'ConfigGenerated' ||
      !ownsStatusField(cluster, LIFECYCLE_FIELD_MANAGER, 'phase');
    if (statusDiffers(previous, next, ownsPhase)) await this.writeStatus(cluster, next, ownsPhase);
    return failedCreates.length || waitingForSecrets || refreshFailed ? { requeue: true } : undefined;
  }
}
