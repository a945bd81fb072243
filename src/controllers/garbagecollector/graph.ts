// The owner graph the garbage collector keeps in memory (kube-controller-manager's GC keeps one
// too): per object only what collection needs (identity, owner uids, the two GC finalizers, whether
// it is being deleted), with dependents indexed by owner uid. It is fed by watch events, so a pass
// never lists or decodes the store again: with thousands of objects a change costs a few map
// operations, not a read of everything.
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
    gcFinalizers: finalizers.filter((f) => f === ORPHAN || f === FOREGROUND),
    finalizers,
    deleting: m.deletionTimestamp !== undefined,
  };
}

export class OwnerGraph {
  private readonly byUid = new Map<string, GraphNode>();
  /** owner uid -> uids of the objects naming it (the owner need not exist) */
  private readonly dependents = new Map<string, Set<string>>();

  get size(): number {
    return this.byUid.size;
  }

  get(uid: string): GraphNode | undefined {
    return this.byUid.get(uid);
  }

  has(uid: string): boolean {
    return this.byUid.has(uid);
  }

  /** adds or replaces a node; the uids whose collection decision may have changed */
  upsert(node: GraphNode): string[] {
    const before = this.byUid.get(node.uid);
    if (before) this.unlink(before);
    this.byUid.set(node.uid, node);
    for (const owner of node.owners) {
      let set = this.dependents.get(owner);
      if (!set) this.dependents.set(owner, (set = new Set()));
      set.add(node.uid);
    }
    // owners it left may be waiting (foreground) for their dependents to go
    return [node.uid, ...(before?.owners.filter((o) => !node.owners.includes(o)) ?? [])];
  }

  /** removes a node; the uids whose collection decision may have changed */
  remove(uid: string): string[] {
    const node = this.byUid.get(uid);
    if (!node) return [];
    this.unlink(node);
    this.byUid.delete(uid);
    // its dependents may be orphans now; its owners may be waiting for it (foreground)
    return [...this.dependentsOf(uid).map((d) => d.uid), ...node.owners];
  }

  dependentsOf(uid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const d of this.dependents.get(uid) ?? []) {
      const node = this.byUid.get(d);
      if (node) out.push(node);
    }
    return out;
  }

  /** every node of a store (to reconcile a store's nodes after it was listed again) */
  nodesOf(store: ResourceStore): GraphNode[] {
    return [...this.byUid.values()].filter((n) => n.store === store);
  }

  uids(): string[] {
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
