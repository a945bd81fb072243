// Namespace lifecycle for standalone mode, as kube-apiserver and the namespace controller do it:
// objects need an existing, non-terminating namespace; deleting a namespace deletes its contents
// and then the namespace itself; `default` and `kube-system` exist from the start.
import type { Logger } from 'pino';
import { namespaceKind } from '../api/core/namespace.js';
import { forbidden, notFound, StatusError } from '../machinery/errors.js';
import type { KubeObject } from '../machinery/kind.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { systemContext } from '../machinery/registry/context.js';
import { listObjects } from '../machinery/registry/list.js';
import { parseSelection } from '../machinery/registry/selection.js';
import type { AdmissionHooks, ResourceStore } from '../machinery/registry/store.js';
import { startWatch, type ActiveWatch } from '../machinery/registry/watch.js';

export const INITIAL_NAMESPACES = ['default', 'kube-system'];
const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const RESYNC_MS = 1000;

function namespaceStore(registry: APIRegistry): ResourceStore {
  const s = registry.storeOf(namespaceKind);
  if (!s) throw new Error('the namespaces kind is not registered');
  return s;
}

export async function ensureInitialNamespaces(registry: APIRegistry): Promise<void> {
  const store = namespaceStore(registry);
  for (const name of INITIAL_NAMESPACES) {
    try {
      await store.create(undefined, { value: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, duplicates: [] }, systemContext());
    } catch (e) {
      if (!(e instanceof StatusError && e.reason === 'AlreadyExists')) throw e;
    }
  }
}

/** the checks a create in namespace `ns` must pass */
export async function namespaceChecker(registry: APIRegistry, ns: string): Promise<void> {
  const store = namespaceStore(registry);
  const absent = (e: unknown) => {
    if (e instanceof StatusError && e.code === 404) return undefined;
    throw e;
  };
  // like kube's NamespaceLifecycle admission: the cache first, the store itself only when the
  // cache has not seen the namespace yet (created a moment ago)
  const obj = (await store.getNotOlderThan(undefined, ns, 0).catch(absent)) ?? (await store.get(undefined, ns).catch(absent));
  if (!obj) throw notFound({ group: '', resource: 'namespaces' }, ns);
  if (obj.metadata.deletionTimestamp) {
    throw forbidden(`unable to create new content in namespace ${ns} because it is being terminated`, {
      causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }],
    });
  }
}

/** refuses deleting the namespaces the system relies on */
export const namespaceAdmission: AdmissionHooks = {
  async validate(op, obj) {
    if (op === 'DELETE' && obj.kind === 'Namespace' && obj.apiVersion === 'v1' && PROTECTED_NAMESPACES.has(obj.metadata.name ?? '')) {
      throw forbidden(`namespaces "${obj.metadata.name}" is forbidden: this namespace may not be deleted`, {
        name: obj.metadata.name,
        kind: 'namespaces',
      });
    }
  },
};

export class NamespaceController {
  private watch?: ActiveWatch;
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = false;

  constructor(
    private readonly registry: APIRegistry,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const store = namespaceStore(this.registry);
    this.watch = await startWatch(
      store,
      undefined,
      { selection: parseSelection(store.kind), allowWatchBookmarks: false },
      {
        send: (ev) => {
          if (ev.type !== 'ERROR' && (ev.object as KubeObject).metadata.deletionTimestamp) this.kick();
        },
        end: () => {
          if (!this.stopped) void this.restart();
        },
      },
    );
    this.timer = setInterval(() => this.kick(), RESYNC_MS);
    this.timer.unref();
  }

  private async restart(): Promise<void> {
    this.watch = undefined;
    if (this.timer) clearInterval(this.timer);
    if (!this.stopped) await this.start().catch((err: unknown) => this.log.error({ err }, 'namespace watch restart failed'));
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    if (this.timer) clearInterval(this.timer);
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.reconcileAll()
      .catch((err: unknown) => this.log.error({ err }, 'namespace reconcile failed'))
      .finally(() => {
        this.running = false;
      });
  }

  private async reconcileAll(): Promise<void> {
    const store = namespaceStore(this.registry);
    const all = await listObjects(store, undefined, { selection: parseSelection(store.kind) });
    for (const ns of all.items) {
      if (ns.metadata.deletionTimestamp) await this.finalize(store, ns);
    }
  }

  /** deletes everything in the namespace; once nothing is left, removes the namespace finalizer */
  private async finalize(nsStore: ResourceStore, ns: KubeObject): Promise<void> {
    const name = ns.metadata.name!;
    let remaining = 0;
    for (const store of this.registry.stores) {
      if (!store.kind.namespaced) continue;
      const contents = await listObjects(store, name, { selection: parseSelection(store.kind) });
      for (const obj of contents.items) {
        remaining++;
        if (obj.metadata.deletionTimestamp) continue; // waiting for its own finalizers
        await store.delete(name, obj.metadata.name!, { propagationPolicy: 'Background' }, systemContext()).catch((e: unknown) => {
          if (!(e instanceof StatusError && e.code === 404)) throw e;
        });
      }
    }
    if (remaining > 0) return;
    await nsStore.patch(undefined, name, 'merge', { spec: { finalizers: [] } }, systemContext()).catch((e: unknown) => {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
    });
    this.log.info({ namespace: name }, 'namespace deleted');
  }
}
