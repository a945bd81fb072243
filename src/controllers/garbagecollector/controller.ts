// A garbage collector for standalone mode (kube-controller-manager's job in a real cluster):
// dependents whose owners are all gone are deleted; the `orphan` and `foregroundDeletion` finalizers
// that delete propagation policies add are honoured, so `kubectl delete --cascade=...` never hangs.
//
// Like kube's, it keeps an owner graph fed by one informer per resource (metadata only) and looks
// again only at what an event touched, keyed by uid (plus, every resync period, at every object
// collection can act on). Workers start once every resource has been listed: an owner in a resource
// not listed yet would look absent. Before deleting a dependent as orphaned it reads its owners
// from the store: the watches of two resources are not ordered with each other, so an owner created
// just before its dependent may not be in the graph yet.
import type { Logger } from 'pino';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject, OwnerReference } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext } from '../../machinery/registry/context.js';
import type { ControllerSpec } from '../runtime/controller.js';
import { metadataOnly } from '../runtime/listwatch.js';
import { registryListWatch } from '../runtime/registrylistwatch.js';
import { FOREGROUND, nodeOf, ORPHAN, OwnerGraph, type GraphNode } from './graph.js';

function isGone(e: unknown): boolean {
  return e instanceof StatusError && (e.code === 404 || e.code === 409);
}

export function garbageCollector(registry: APIRegistry): ControllerSpec {
  let collector: GarbageCollector;
  return {
    name: 'garbage-collector',
    workers: 1,
    setup(ctx) {
      collector = new GarbageCollector(registry, ctx.log);
      // only objects collection can act on are worth a look; the others are in the graph as owners
      const mark = (uids: string[]) => {
        for (const uid of uids) if (collector.graph.get(uid)) ctx.queue.add(uid);
      };
      for (const store of registry.stores) {
        const upsert = (obj: KubeObject) => {
          const node = nodeOf(store, obj);
          if (node) mark(collector.graph.upsert(node));
        };
        ctx.inform(registryListWatch(store), { transform: metadataOnly }).addEventHandler({
          add: upsert,
          // old === cur: the periodic look; the graph already holds this version
          update: (old, cur) => (old === cur ? mark(cur.metadata.uid ? [cur.metadata.uid] : []) : upsert(cur)),
          delete: (obj) => {
            if (obj.metadata.uid) mark(collector.graph.remove(obj.metadata.uid));
          },
        });
      }
    },
    async reconcile(uid) {
      const node = collector.graph.get(uid);
      if (!node || !mayNeedAction(node)) return;
      try {
        await collector.attend(node);
      } catch (err) {
        // changed under us: the event that changed it, or the backoff, brings it back
        if (isGone(err)) return { requeue: true };
        throw err;
      }
    },
  };
}

/** what collection does to one object, given the graph */
class GarbageCollector {
  readonly graph = new OwnerGraph();

  constructor(
    private readonly registry: APIRegistry,
    private readonly log: Logger,
  ) {}

  async attend(node: GraphNode): Promise<void> {
    const ctx = systemContext();
    if (node.deleting && node.gcFinalizers.includes(ORPHAN)) {
      for (const dep of this.graph.dependentsOf(node.uid)) await this.dropOwnerRef(dep, node.uid);
      await this.dropFinalizer(node, ORPHAN);
      return;
    }
    if (node.deleting && node.gcFinalizers.includes(FOREGROUND)) {
      const deps = this.graph.dependentsOf(node.uid);
      for (const dep of deps) {
        if (!dep.deleting)
          await dep.store
            .delete(dep.namespace, dep.name, { propagationPolicy: 'Foreground', preconditions: { uid: dep.uid } }, ctx)
            .catch(ignoreGone);
      }
      // as kube's: the owner waits only for dependents whose reference sets blockOwnerDeletion
      // (the others are deleted all the same, and would be as orphans anyway)
      if (!deps.some((d) => d.blocking.includes(node.uid))) await this.dropFinalizer(node, FOREGROUND);
      return;
    }
    if (node.owners.length === 0 || node.deleting) return;
    if (node.owners.some((o) => this.graph.has(o))) return;
    const current = await node.store
      .get(node.namespace, node.name)
      .catch((e: unknown) => (isGone(e) ? undefined : Promise.reject(e)));
    if (!current || current.metadata.uid !== node.uid || current.metadata.deletionTimestamp) return;
    for (const ref of current.metadata.ownerReferences ?? []) if (await this.ownerExists(ref, current)) return;
    this.log.info(
      { kind: current.kind, namespace: node.namespace, name: node.name },
      'deleting dependent whose owners are gone',
    );
    await node.store
      .delete(node.namespace, node.name, { propagationPolicy: 'Background', preconditions: { uid: node.uid } }, ctx)
      .catch(ignoreGone);
  }

  /** an owner counts as present only with the same uid (a re-created namesake is another object) */
  private async ownerExists(ref: OwnerReference, dependent: KubeObject): Promise<boolean> {
    if (this.graph.has(ref.uid)) return true;
    const slash = ref.apiVersion.indexOf('/');
    const store = this.registry.storeForKind(slash === -1 ? '' : ref.apiVersion.slice(0, slash), ref.kind);
    // a kind this server does not serve cannot be looked up, so its absence is never proven:
    // kube's collector leaves such dependents alone too
    if (!store) return true;
    const owner = await store
      .get(store.kind.namespaced ? dependent.metadata.namespace : undefined, ref.name)
      .catch((e: unknown) => (isGone(e) ? undefined : Promise.reject(e)));
    return owner?.metadata.uid === ref.uid;
  }

  private async dropOwnerRef(dep: GraphNode, ownerUid: string): Promise<void> {
    const current = await dep.store
      .get(dep.namespace, dep.name)
      .catch((e: unknown) => (isGone(e) ? undefined : Promise.reject(e)));
    if (!current || current.metadata.uid !== dep.uid) return;
    const refs = (current.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
    await dep.store.patch(
      dep.namespace,
      dep.name,
      'merge',
      { metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: current.metadata.resourceVersion } },
      systemContext(),
    );
  }

  private async dropFinalizer(node: GraphNode, finalizer: string): Promise<void> {
    const rest = node.finalizers.filter((f) => f !== finalizer);
    await node.store.patch(
      node.namespace,
      node.name,
      'merge',
      { metadata: { finalizers: rest.length ? rest : null, resourceVersion: node.resourceVersion } },
      systemContext(),
    );
  }
}

/** false for the common object with no owner and no collector finalizer: nothing to decide */
function mayNeedAction(node: GraphNode): boolean {
  return node.owners.length > 0 || (node.deleting && node.gcFinalizers.length > 0);
}

function ignoreGone(e: unknown): void {
  if (!isGone(e)) throw e;
}
