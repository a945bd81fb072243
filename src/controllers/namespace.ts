// The namespace controller of standalone mode, as kube-controller-manager's: deleting a namespace
// deletes its contents and then the namespace itself; `default` and `kube-system` exist from the
// start. Refusing writes into a missing or terminating namespace is admission's
// (src/admission/namespacelifecycle.ts).
import type { Logger } from 'pino';
import { namespaceKind } from '../api/core/namespace.js';
import { StatusError } from '../machinery/errors.js';
import type { KubeObject } from '../machinery/kind.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { systemContext } from '../machinery/registry/context.js';
import { listObjects } from '../machinery/registry/list.js';
import { parseSelection } from '../machinery/registry/selection.js';
import type { ResourceStore } from '../machinery/registry/store.js';
import type { ControllerSpec } from './runtime/controller.js';
import { registryListWatch } from './runtime/registrylistwatch.js';

export const INITIAL_NAMESPACES = ['default', 'kube-system'];

function namespaceStore(registry: APIRegistry): ResourceStore {
  const s = registry.storeOf(namespaceKind);
  if (!s) throw new Error('the namespaces kind is not registered');
  return s;
}

export async function ensureInitialNamespaces(registry: APIRegistry): Promise<void> {
  const store = namespaceStore(registry);
  for (const name of INITIAL_NAMESPACES) {
    try {
      await store.create(
        undefined,
        { value: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, duplicates: [] },
        systemContext(),
      );
    } catch (e) {
      if (!(e instanceof StatusError && e.reason === 'AlreadyExists')) throw e;
    }
  }
}

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
      await store
        .delete(name, obj.metadata.name!, { propagationPolicy: 'Background' }, systemContext())
        .catch(ignoreNotFound);
    }
  }
  if (remaining > 0) return false;
  await nsStore.patch(undefined, name, 'merge', { spec: { finalizers: [] } }, systemContext()).catch(ignoreNotFound);
  log.info({ namespace: name }, 'namespace deleted');
  return true;
}
