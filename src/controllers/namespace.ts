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
import type { ControllerSpec } from './runtime/controller.js';
import { registryListWatch } from './runtime/registrylistwatch.js';

export const INITIAL_NAMESPACES = ['default', 'kube-system'];
const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

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

export interface NamespaceControllerOptions {
  registry: APIRegistry;
  /** how soon a terminating namespace whose contents are still going is looked at again */
  contentRecheckMs: number;
}

/**
 * Deletes the contents of terminating namespaces, then the namespaces themselves. Contents whose
 * own finalizers hold them announce nothing here when they finally go, so a namespace with such
 * contents is looked at again after contentRecheckMs, as kube's namespace controller re-queues.
 */
export function namespaceController(o: NamespaceControllerOptions): ControllerSpec {
  const nsStore = namespaceStore(o.registry);
  let log: Logger;
  const terminating = (obj: KubeObject) => obj.metadata.deletionTimestamp !== undefined;
  return {
    name: 'namespace',
    workers: 1,
    setup(ctx) {
      log = ctx.log;
      const namespaces = ctx.inform(registryListWatch(nsStore));
      const enqueue = (obj: KubeObject) => {
        if (terminating(obj)) ctx.queue.add(obj.metadata.name!);
      };
      namespaces.addEventHandler({ add: enqueue, update: (_old, cur) => enqueue(cur) });
    },
    async reconcile(name) {
      const ns = await nsStore.get(undefined, name).catch(ignoreNotFound);
      if (!ns || !terminating(ns)) return;
      if (await finalize(o.registry, nsStore, ns, log)) return;
      return { requeueAfterMs: o.contentRecheckMs };
    },
  };
}

function ignoreNotFound(e: unknown): undefined {
  if (e instanceof StatusError && e.code === 404) return undefined;
  throw e;
}

/** deletes everything in the namespace; once nothing is left, removes the namespace finalizer (resolves true) */
async function finalize(registry: APIRegistry, nsStore: ResourceStore, ns: KubeObject, log: Logger): Promise<boolean> {
  const name = ns.metadata.name!;
  let remaining = 0;
  for (const store of registry.stores) {
    if (!store.kind.namespaced) continue;
    const contents = await listObjects(store, name, { selection: parseSelection(store.kind) });
    for (const obj of contents.items) {
      remaining++;
      if (obj.metadata.deletionTimestamp) continue; // waiting for its own finalizers
      await store.delete(name, obj.metadata.name!, { propagationPolicy: 'Background' }, systemContext()).catch(ignoreNotFound);
    }
  }
  if (remaining > 0) return false;
  await nsStore.patch(undefined, name, 'merge', { spec: { finalizers: [] } }, systemContext()).catch(ignoreNotFound);
  log.info({ namespace: name }, 'namespace deleted');
  return true;
}
