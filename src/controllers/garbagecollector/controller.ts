// A garbage collector for standalone mode (kube-controller-manager's job in a real cluster):
// dependents whose owners are all gone are deleted; the `orphan` and `foregroundDeletion` finalizers
// that delete propagation policies add are honoured, so `kubectl delete --cascade=...` never hangs.
//
// Like kube's, it keeps an owner graph fed by one watch per resource and only looks again at what
// an event touched (plus a periodic pass over the graph, in memory). Before deleting a dependent
// as orphaned it reads its owners from the store: the watches of two resources are not ordered
// with each other, so an owner created just before its dependent may not be in the graph yet.
import type { Logger } from 'pino';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject, OwnerReference } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext } from '../../machinery/registry/context.js';
import { parseSelection } from '../../machinery/registry/selection.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { INITIAL_EVENTS_END, startWatch, type ActiveWatch, type WatchEvent } from '../../machinery/registry/watch.js';
import { FOREGROUND, nodeOf, ORPHAN, OwnerGraph, type GraphNode } from './graph.js';

const DEBOUNCE_MS = 100;
const RESYNC_MS = 30_000;
const RETRY_MS = 1_000;
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;

/** one resource's watch: listed (initial events) and then followed */
interface ResourceFeed {
  store: ResourceStore;
  watch?: ActiveWatch;
  synced: boolean;
  /** uids seen since the watch (re)started, to drop nodes deleted while it was down */
  seen?: Set<string>;
  restartMs: number;
  restartTimer?: NodeJS.Timeout;
}

function isGone(e: unknown): boolean {
  return e instanceof StatusError && (e.code === 404 || e.code === 409);
}

export class GarbageCollector {
  private readonly graph = new OwnerGraph();
  private readonly feeds: ResourceFeed[];
  private dirty = new Set<string>();
  private timer?: NodeJS.Timeout;
  private resync?: NodeJS.Timeout;
  private running = false;
  private stopped = false;

  constructor(
    private readonly registry: APIRegistry,
    private readonly log: Logger,
  ) {
    this.feeds = registry.stores.map((store) => ({ store, synced: false, restartMs: RESTART_MIN_MS }));
  }

  async start(): Promise<void> {
    await Promise.all(this.feeds.map((f) => this.follow(f)));
    this.resync = setInterval(() => this.markAll(), RESYNC_MS);
    this.resync.unref();
    this.markAll();
  }

  stop(): void {
    this.stopped = true;
    for (const f of this.feeds) {
      f.watch?.stop();
      if (f.restartTimer) clearTimeout(f.restartTimer);
    }
    if (this.timer) clearTimeout(this.timer);
    if (this.resync) clearInterval(this.resync);
  }

  /** every object the graph holds (tests and metrics) */
  get objects(): number {
    return this.graph.size;
  }

  private async follow(feed: ResourceFeed): Promise<void> {
    if (this.stopped) return;
    feed.synced = false;
    feed.seen = new Set();
    let ended = false;
    const restart = () => {
      if (ended || this.stopped) return;
      ended = true;
      feed.watch?.stop();
      feed.watch = undefined;
      feed.synced = false;
      feed.restartTimer = setTimeout(() => {
        feed.restartTimer = undefined;
        void this.follow(feed);
      }, feed.restartMs);
      feed.restartTimer.unref();
      feed.restartMs = Math.min(feed.restartMs * 2, RESTART_MAX_MS);
    };
    try {
      feed.watch = await startWatch(
        feed.store,
        undefined,
        { selection: parseSelection(feed.store.kind), allowWatchBookmarks: true, sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', resourceVersion: '0' },
        {
          send: (ev) => (ev.type === 'ERROR' ? restart() : this.onEvent(feed, ev)),
          end: restart,
        },
      );
      if (ended) feed.watch.stop();
    } catch (err) {
      this.log.warn({ err, resource: feed.store.kind.plural }, 'garbage collector cannot watch; retrying');
      restart();
    }
  }

  private onEvent(feed: ResourceFeed, ev: WatchEvent): void {
    const obj = ev.object as KubeObject;
    if (ev.type === 'BOOKMARK') {
      if (!feed.synced && obj.metadata.annotations?.[INITIAL_EVENTS_END] === 'true') this.synced(feed);
      return;
    }
    const uid = obj.metadata.uid;
    if (!uid) return;
    if (ev.type === 'DELETED') {
      this.mark(this.graph.remove(uid));
      return;
    }
    feed.seen?.add(uid);
    const node = nodeOf(feed.store, obj);
    if (node) this.mark(this.graph.upsert(node));
  }

  private synced(feed: ResourceFeed): void {
    // objects deleted while the watch was down never sent a DELETED event
    for (const uid of this.graph.uidsOf(feed.store)) if (!feed.seen?.has(uid)) this.mark(this.graph.remove(uid));
    feed.seen = undefined;
    feed.synced = true;
    feed.restartMs = RESTART_MIN_MS;
    this.kick();
  }

  /** the periodic pass: only objects with owners or a collector finalizer can need anything */
  private markAll(): void {
    this.mark(this.graph.actionable());
  }

  private mark(uids: string[]): void {
    for (const uid of uids) this.dirty.add(uid);
    if (uids.length > 0) this.kick();
  }

  /** coalesces bursts of changes into one pass; waits until every resource has been listed */
  private kick(delayMs = DEBOUNCE_MS): void {
    if (this.stopped || this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // an owner in a resource not listed yet would look absent: no decision before then
      if (!this.feeds.every((f) => f.synced)) return;
      this.running = true;
      this.pass()
        .catch((err: unknown) => this.log.error({ err }, 'garbage collection pass failed'))
        .finally(() => {
          this.running = false;
          if (this.dirty.size > 0) this.kick();
        });
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    const batch = this.dirty;
    this.dirty = new Set();
    const retry: string[] = [];
    for (const uid of batch) {
      if (this.stopped) return;
      const node = this.graph.get(uid);
      if (!node || !mayNeedAction(node)) continue;
      try {
        await this.attend(node);
      } catch (err) {
        if (isGone(err)) {
          retry.push(uid); // changed under us: look again with the next event or retry
          continue;
        }
        this.log.warn({ err, resource: node.store.kind.plural, namespace: node.namespace, name: node.name }, 'garbage collection of an object failed; retrying');
        retry.push(uid);
      }
    }
    if (retry.length > 0) {
      const again = setTimeout(() => this.mark(retry), RETRY_MS);
      again.unref();
    }
  }

  private async attend(node: GraphNode): Promise<void> {
    const ctx = systemContext();
    if (node.deleting && node.gcFinalizers.includes(ORPHAN)) {
      for (const dep of this.graph.dependentsOf(node.uid)) await this.dropOwnerRef(dep, node.uid);
      await this.dropFinalizer(node, ORPHAN);
      return;
    }
    if (node.deleting && node.gcFinalizers.includes(FOREGROUND)) {
      const deps = this.graph.dependentsOf(node.uid);
      for (const dep of deps) {
        if (!dep.deleting) await dep.store.delete(dep.namespace, dep.name, { propagationPolicy: 'Foreground', preconditions: { uid: dep.uid } }, ctx).catch(ignoreGone);
      }
      // as kube's: the owner waits only for dependents whose reference sets blockOwnerDeletion
      // (the others are deleted all the same, and would be as orphans anyway)
      if (!deps.some((d) => d.blocking.includes(node.uid))) await this.dropFinalizer(node, FOREGROUND);
      return;
    }
    if (node.owners.length === 0 || node.deleting) return;
    if (node.owners.some((o) => this.graph.has(o))) return;
    const current = await node.store.get(node.namespace, node.name).catch((e: unknown) => (isGone(e) ? undefined : Promise.reject(e)));
    if (!current || current.metadata.uid !== node.uid || current.metadata.deletionTimestamp) return;
    for (const ref of current.metadata.ownerReferences ?? []) if (await this.ownerExists(ref, current)) return;
    this.log.info({ kind: current.kind, namespace: node.namespace, name: node.name }, 'deleting dependent whose owners are gone');
    await node.store.delete(node.namespace, node.name, { propagationPolicy: 'Background', preconditions: { uid: node.uid } }, ctx).catch(ignoreGone);
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
    const current = await dep.store.get(dep.namespace, dep.name).catch((e: unknown) => (isGone(e) ? undefined : Promise.reject(e)));
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
