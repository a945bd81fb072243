// The KubernetesCluster controller (seed 004, the Viti Talos operator's cluster reconciler): it
// turns spec.topology into Machines the cluster controls, scales them up and down when the spec's
// replicas change (e.g. seed 003's JSON patches on a worker pool), keeps the fields it owns on
// them, has their machine configs regenerated when the cluster's spec changes, and reports
// progress in the cluster's status and Events. Deleting the cluster deletes its Machines through
// their ownerReferences (the garbage collector). One active instance: it runs under leadership.
import type { Logger } from 'pino';
import { kubernetesClusterKind, machineKind } from '../../api/index.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext, type RequestContext } from '../../machinery/registry/context.js';
import { listObjects } from '../../machinery/registry/list.js';
import { parseSelection } from '../../machinery/registry/selection.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { startWatch, type ActiveWatch } from '../../machinery/registry/watch.js';
import { CLUSTER_LABEL, clusterSpec } from '../../machineconfig/fromcluster.js';
import { SECRETS_KEY, machineconfigSecretName, secretsSecretName } from '../../provisioning/admission.js';
import type { SecretStore } from '../../provisioning/secretstore.js';
import type { Condition } from '../conditions.js';
import type { EventRecorder } from '../events.js';
import { clusterNamedIn, machineManifest, planCluster, SKIP_ANNOTATION } from './plan.js';
import { clusterStatus, statusDiffers, type ClusterStatus } from './status.js';

export interface KubernetesClusterControllerOptions {
  registry: APIRegistry;
  secrets: SecretStore;
  events: EventRecorder;
  log: Logger;
  /** every cluster is looked at again this often */
  resyncMs: number;
}

const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 10_000;
/** a new cluster's secrets bundle is written by its create's admission a moment after the watch event */
const SECRETS_POLL_MS = 250;

const keyOf = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
const ignore = (...codes: number[]) => (e: unknown) => {
  if (e instanceof StatusError && codes.includes(e.code)) return undefined;
  throw e;
};

export class KubernetesClusterController {
  private readonly clusters: ResourceStore;
  private readonly machines: ResourceStore;
  private readonly queue = new Set<string>();
  private readonly retries = new Map<string, { timer: NodeJS.Timeout; delay: number }>();
  /** cluster uid -> the generation whose spec its Machines' configs were last regenerated from */
  private readonly refreshed = new Map<string, number>();
  private readonly seen = new Map<string, string>();
  private readonly watches: ActiveWatch[] = [];
  private resync?: NodeJS.Timeout;
  private working = false;
  private stopped = false;
  /** each write its own context (admission appends warnings to it), named in managedFields */
  private readonly ctx = (): RequestContext => ({ ...systemContext(), fieldManager: 'kubernetescluster-controller' });

  constructor(private readonly o: KubernetesClusterControllerOptions) {
    const clusters = o.registry.storeOf(kubernetesClusterKind);
    const machines = o.registry.storeOf(machineKind);
    if (!clusters || !machines) throw new Error('the vitistack.io kinds are not registered');
    this.clusters = clusters;
    this.machines = machines;
  }

  async start(): Promise<void> {
    const watchAll = (store: ResourceStore, send: (type: string, obj: KubeObject) => void) =>
      startWatch(store, undefined, { selection: parseSelection(store.kind), allowWatchBookmarks: false }, {
        send: (ev) => {
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') send(ev.type, ev.object as KubeObject);
        },
        end: () => {
          if (!this.stopped) void this.restart();
        },
      });
    this.watches.push(
      await watchAll(this.clusters, (type, c) => {
        const key = keyOf(c.metadata.namespace, c.metadata.name!);
        if (type === 'DELETED') {
          this.seen.delete(key);
          this.refreshed.delete(c.metadata.uid!);
          return;
        }
        // our own status writes call for no look; spec, deletion and the skip switch do
        const stamp = `${c.metadata.uid}|${c.metadata.generation}|${c.metadata.deletionTimestamp ?? ''}|${c.metadata.annotations?.[SKIP_ANNOTATION] ?? ''}`;
        if (this.seen.get(key) === stamp) return;
        this.seen.set(key, stamp);
        this.enqueue(key);
      }),
    );
    this.watches.push(
      await watchAll(this.machines, (_type, m) => {
        for (const r of m.metadata.ownerReferences ?? []) {
          if (r.controller && r.kind === kubernetesClusterKind.kind) this.enqueue(keyOf(m.metadata.namespace, r.name));
        }
        // a Machine in the way of a cluster's name for one (or one that went out of the way)
        const labelled = m.metadata.labels?.[CLUSTER_LABEL];
        if (labelled) this.enqueue(keyOf(m.metadata.namespace, labelled));
        const named = clusterNamedIn(m.metadata.name!);
        if (named) this.enqueue(keyOf(m.metadata.namespace, named));
      }),
    );
    this.resync = setInterval(() => {
      for (const key of this.seen.keys()) this.enqueue(key);
    }, this.o.resyncMs);
    this.resync.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches.splice(0)) w.stop();
    if (this.resync) clearInterval(this.resync);
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  private async restart(): Promise<void> {
    for (const w of this.watches.splice(0)) w.stop();
    if (this.resync) clearInterval(this.resync);
    this.seen.clear();
    for (let delay = RETRY_FIRST_MS; !this.stopped; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        return await this.start();
      } catch (err) {
        this.o.log.warn({ err }, 'kubernetescluster watch restart failed');
        for (const w of this.watches.splice(0)) w.stop();
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  private enqueue(key: string): void {
    if (this.stopped) return;
    this.queue.add(key);
    if (!this.working) void this.work();
  }

  /** one cluster at a time; a key queued again while it is worked on is worked on again after */
  private async work(): Promise<void> {
    this.working = true;
    try {
      while (!this.stopped && this.queue.size) {
        const key = this.queue.values().next().value!;
        this.queue.delete(key);
        let again: 'no' | 'poll' | 'backoff';
        try {
          again = await this.reconcile(key);
        } catch (err) {
          this.o.log.warn({ err, kubernetescluster: key }, 'reconcile failed; retrying');
          again = 'backoff';
        }
        this.schedule(key, again);
      }
    } finally {
      this.working = false;
    }
  }

  /** another look later, for what no watched change announces: a bundle being written, or a failure */
  private schedule(key: string, again: 'no' | 'poll' | 'backoff'): void {
    const previous = this.retries.get(key);
    if (previous) clearTimeout(previous.timer);
    if (again === 'no' || this.stopped) {
      this.retries.delete(key);
      return;
    }
    const delay = again === 'poll' ? SECRETS_POLL_MS : previous ? Math.min(previous.delay * 2, RETRY_MAX_MS) : RETRY_FIRST_MS;
    const timer = setTimeout(() => this.enqueue(key), delay);
    timer.unref();
    this.retries.set(key, { timer, delay });
  }

  /** one look at one cluster; resolves whether, and how soon, it must be looked at again */
  private async reconcile(key: string): Promise<'no' | 'poll' | 'backoff'> {
    const [ns, name] = key.split('/') as [string, string];
    const cluster = await this.clusters.get(ns, name).catch(ignore(404));
    if (!cluster || cluster.metadata.deletionTimestamp || cluster.metadata.annotations?.[SKIP_ANNOTATION]) return 'no';
    // talos-operator's rule: another provider's clusters are someone else's to build
    const spec = clusterSpec(cluster);
    if (spec.data?.provider !== 'talos') return 'no';
    const { items } = await listObjects(this.machines, ns, { selection: parseSelection(this.machines.kind) });
    const plan = planCluster(cluster, items);
    let waitingForSecrets = false;
    const failedCreates: string[] = [];
    let removing: string | undefined;

    if (!plan.problems.length) {
      if (plan.create.length) waitingForSecrets = !(await this.o.secrets.get(ns, secretsSecretName(name)))?.[SECRETS_KEY];
      if (!waitingForSecrets) {
        for (const d of plan.create) {
          const created = await this.machines.create(ns, { value: machineManifest(cluster, d), duplicates: [] }, this.ctx()).catch((e: unknown) => {
            if (e instanceof StatusError && e.code === 409) return undefined; // made a moment ago; its event brings us back
            if (e instanceof StatusError && e.code < 500) {
              failedCreates.push(`${d.name}: ${e.message}`);
              return undefined;
            }
            throw e;
          });
          if (created) await this.o.events.record(cluster, 'Normal', 'SuccessfulCreate', `Created machine: ${d.name}`);
        }
        for (const f of failedCreates) await this.o.events.record(cluster, 'Warning', 'FailedCreate', `Error creating machine ${f}`);
      }
      for (const u of plan.update) {
        await this.machines.patch(ns, u.name, 'merge', u.patch, this.ctx()).catch(ignore(404, 409));
      }
      // a changed cluster spec changes its machines' configs: an empty patch has the machine-config
      // admission generate each again (a no-op write when nothing differs)
      if (this.refreshed.get(cluster.metadata.uid!) !== cluster.metadata.generation) {
        for (const m of plan.existing) {
          await this.machines.patch(ns, m.metadata.name!, 'merge', {}, this.ctx()).catch(ignore(404, 409));
        }
        this.refreshed.set(cluster.metadata.uid!, cluster.metadata.generation ?? 0);
      }
      if (plan.remove) {
        const victim = plan.remove.metadata.name!;
        const gone = await this.machines
          .delete(ns, victim, { propagationPolicy: 'Background', preconditions: { uid: plan.remove.metadata.uid } }, this.ctx())
          .then(() => true, ignore(404, 409));
        if (gone) {
          removing = victim;
          // its config is secret material owned by the cluster (so it outlives a Machine): it goes now
          await this.o.secrets.delete(ns, machineconfigSecretName(victim));
          await this.o.events.record(cluster, 'Normal', 'SuccessfulDelete', `Deleted machine: ${victim}`);
        }
      }
    }

    const previous = (cluster.status ?? {}) as Partial<ClusterStatus>;
    const next = clusterStatus((previous.conditions ?? []) as Condition[], {
      plan, waitingForSecrets, failedCreates, removing, hasEndpoint: !!spec.talos?.endpoint, generation: cluster.metadata.generation ?? 0,
    });
    if (statusDiffers(previous, next)) {
      const status = { ...next, message: next.message ?? null };
      await this.clusters.patch(ns, name, 'merge', { status }, this.ctx(), 'status').catch(ignore(404, 409));
    }
    return failedCreates.length ? 'backoff' : waitingForSecrets ? 'poll' : 'no';
  }
}
