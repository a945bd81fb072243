// A small garbage collector for standalone mode (kube-controller-manager's job in a real cluster):
// dependents whose owners are all gone are deleted; the `orphan` and `foregroundDeletion` finalizers
// that delete propagation policies add are honoured, so `kubectl delete --cascade=...` never hangs.
import type { Logger } from 'pino';
import { StatusError } from '../machinery/errors.js';
import type { KubeObject } from '../machinery/kind.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { systemContext } from '../machinery/registry/context.js';
import { listObjects } from '../machinery/registry/list.js';
import { parseSelection } from '../machinery/registry/selection.js';
import type { ResourceStore } from '../machinery/registry/store.js';
import { startWatch, type ActiveWatch } from '../machinery/registry/watch.js';

const DEBOUNCE_MS = 100;
const RESYNC_MS = 30_000;

interface Entry {
  store: ResourceStore;
  obj: KubeObject;
}

function ignoreNotFound(e: unknown): void {
  if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
}

export class GarbageCollector {
  private watches: ActiveWatch[] = [];
  private timer?: NodeJS.Timeout;
  private resync?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly registry: APIRegistry,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (const store of this.registry.stores) {
      this.watches.push(
        await startWatch(
          store,
          undefined,
          { selection: parseSelection(store.kind), allowWatchBookmarks: false, sendInitialEvents: false, resourceVersionMatch: 'NotOlderThan', resourceVersion: '0' },
          { send: () => this.kick(), end: () => undefined },
        ),
      );
    }
    this.resync = setInterval(() => this.kick(), RESYNC_MS);
    this.resync.unref();
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches) w.stop();
    if (this.timer) clearTimeout(this.timer);
    if (this.resync) clearInterval(this.resync);
  }

  /** coalesces bursts of changes into one pass */
  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = true;
      this.collect()
        .catch((err: unknown) => this.log.error({ err }, 'garbage collection pass failed'))
        .finally(() => {
          this.running = false;
          if (this.again) {
            this.again = false;
            this.kick();
          }
        });
    }, DEBOUNCE_MS);
    this.timer.unref();
  }

  private async collect(): Promise<void> {
    const all: Entry[] = [];
    for (const store of this.registry.stores) {
      const list = await listObjects(store, undefined, { selection: parseSelection(store.kind) });
      for (const obj of list.items) all.push({ store, obj });
    }
    const byUid = new Map(all.map((e) => [e.obj.metadata.uid!, e]));
    const dependentsOf = (uid: string) => all.filter((e) => e.obj.metadata.ownerReferences?.some((r) => r.uid === uid));
    const ctx = systemContext();

    for (const { store, obj } of all) {
      const m = obj.metadata;
      const fins = m.finalizers ?? [];
      if (m.deletionTimestamp && fins.includes('orphan')) {
        for (const dep of dependentsOf(m.uid!)) {
          const refs = (dep.obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== m.uid);
          await dep.store
            .patch(dep.obj.metadata.namespace, dep.obj.metadata.name!, 'merge', { metadata: { ownerReferences: refs.length ? refs : null } }, ctx)
            .catch(ignoreNotFound);
        }
        await this.dropFinalizer(store, obj, 'orphan');
        continue;
      }
      if (m.deletionTimestamp && fins.includes('foregroundDeletion')) {
        const deps = dependentsOf(m.uid!);
        for (const dep of deps) {
          if (!dep.obj.metadata.deletionTimestamp) {
            await dep.store.delete(dep.obj.metadata.namespace, dep.obj.metadata.name!, { propagationPolicy: 'Foreground' }, ctx).catch(ignoreNotFound);
          }
        }
        if (deps.length === 0) await this.dropFinalizer(store, obj, 'foregroundDeletion');
        continue;
      }
      const owners = m.ownerReferences ?? [];
      if (owners.length === 0 || m.deletionTimestamp) continue;
      // an owner counts as present only with the same uid (a re-created namesake is another object)
      const anyOwnerLeft = owners.some((r) => byUid.has(r.uid));
      if (!anyOwnerLeft) {
        this.log.info({ kind: obj.kind, namespace: m.namespace, name: m.name }, 'deleting dependent whose owners are gone');
        await store.delete(m.namespace, m.name!, { propagationPolicy: 'Background', preconditions: { uid: m.uid } }, ctx).catch(ignoreNotFound);
      }
    }
  }

  private async dropFinalizer(store: ResourceStore, obj: KubeObject, finalizer: string): Promise<void> {
    const rest = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await store
      .patch(
        obj.metadata.namespace,
        obj.metadata.name!,
        'merge',
        { metadata: { finalizers: rest.length ? rest : null, resourceVersion: obj.metadata.resourceVersion } },
        systemContext(),
      )
      .catch(ignoreNotFound);
  }
}
