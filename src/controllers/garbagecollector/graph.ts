// The owner graph the garbage collector keeps in memory (kube-controller-manager's GC keeps one
// too), fed by watch events, so a pass never lists or decodes the store again: with thousands of
// objects a change costs a few map operations, not a read of everything. Every object is known by
// uid (any object may be an owner); only objects with owners or a collector finalizer, the ones
// collection can act on, keep a record of what collection needs, with dependents indexed by owner
// uid. A plain object costs one map entry.
import type { KubeObject } from '../../machinery/kind.js';
import type { ResourceStore } from '../../machinery/registry/store.js';

export const ORPHAN = 'orphan';
export const FOREGROUND = 'foregroundDeletion';

export interface GraphNode {
  store: ResourceStore;
  namespace?: string;
  name: string;
  uid: string;
  resourceVersion?: string;
  /** uids of the owners named in ownerReferences */
  owners: string[];
  /** those of them whose reference sets blockOwnerDeletion: a foreground deletion waits for this object */
  blocking: string[];
  /** the finalizers this controller acts on (orphan, foregroundDeletion) present on the object */
  gcFinalizers: string[];
  finalizers: string[];
  deleting: boolean;
}

export function nodeOf(store: ResourceStore, obj: KubeObject): GraphNode | undefined {
  const m = obj.metadata;
  if (!m.uid || !m.name) return undefined;
  const finalizers = m.finalizers ?? [];
  return {
    store,
    namespace: m.namespace,
    name: m.name,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    owners: (m.ownerReferences ?? []).map((r) => r.uid),
    blocking: (m.ownerReferences ?? []).filter((r) => r.blockOwnerDeletion).map((r) => r.uid),
    gcFinalizers: finalizers.filter((f) => f === ORPHAN || f === FOREGROUND),
    finalizers,
    deleting: m.deletionTimestamp !== undefined,
  };
}

export class OwnerGraph {
  /** every object seen, by uid, with the resource it is in */
  private readonly present = new Map<string, ResourceStore>();
  /** the objects collection can act on */
  private readonly byUid = new Map<string, GraphNode>();
  /** owner uid -> uids of the objects naming it (the owner need not exist) */
  private readonly dependents = new Map<string, Set<string>>();

  /** objects known */
  get size(): number {
    return this.present.size;
  }

  /** the record of an object collection can act on */
  get(uid: string): GraphNode | undefined {
    return this.byUid.get(uid);
  }

  has(uid: string): boolean {
    return this.present.has(uid);
  }

  /** adds or replaces an object; the uids whose collection decision may have changed */
  upsert(node: GraphNode): string[] {
    this.present.set(node.uid, node.store);
    const before = this.byUid.get(node.uid);
    if (before) {
      this.unlink(before);
      this.byUid.delete(node.uid);
    }
    if (node.owners.length > 0 || node.gcFinalizers.length > 0) {
      this.byUid.set(node.uid, node);
      for (const owner of node.owners) {
        let set = this.dependents.get(owner);
        if (!set) this.dependents.set(owner, (set = new Set()));
        set.add(node.uid);
      }
    }
    // owners it left, or stopped blocking, may be waiting (foreground) for their dependents to go
    return [node.uid, ...(before?.blocking.filter((o) => !node.blocking.includes(o)) ?? [])];
  }

  /** removes an object; the uids whose collection decision may have changed */
  remove(uid: string): string[] {
    if (!this.present.delete(uid)) return [];
    const node = this.byUid.get(uid);
    if (node) {
      this.unlink(node);
      this.byUid.delete(uid);
    }
    // its dependents may be orphans now; its owners may be waiting for it (foreground)
    return [...this.dependentsOf(uid).map((d) => d.uid), ...(node?.owners ?? [])];
  }

  dependentsOf(uid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const d of this.dependents.get(uid) ?? []) {
      const node = this.byUid.get(d);
      if (node) out.push(node);
    }
    return out;
  }

  /** uids of every object of a resource (to reconcile them after the resource was listed again) */
  uidsOf(store: ResourceStore): string[] {
    const out: string[] = [];
    for (const [uid, s] of this.present) if (s === store) out.push(uid);
    return out;
  }

  /** uids of the objects collection can act on */
  actionable(): string[] {
    return [...this.byUid.keys()];
  }

  private unlink(node: GraphNode): void {
    for (const owner of node.owners) {
      const set = this.dependents.get(owner);
      if (!set) continue;
      set.delete(node.uid);
      if (set.size === 0) this.dependents.delete(owner);
    }
  }
}
