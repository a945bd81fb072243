// Namespace lifecycle admission, as kube-apiserver's NamespaceLifecycle plugin: objects are created
// only in a namespace that exists and is not terminating, and the namespaces the system relies on
// cannot be deleted. In standalone mode the namespaces are our own; in cluster mode kube-apiserver's
// (which also guards its own namespaces, so only the existence check is ours there).
import { forbidden, notFound, serviceUnavailable, StatusError } from '../machinery/errors.js';
import type { KubeObject } from '../machinery/kind.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { statusOf, type KubeAPI } from '../kubeapi/client.js';
import type { AdmissionPlugin } from './plugin.js';

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

function terminating(ns: string): StatusError {
  return forbidden(`unable to create new content in namespace ${ns} because it is being terminated`, {
    causes: [
      { reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' },
    ],
  });
}

/** refuses deleting the namespaces the system relies on (standalone mode) */
export const namespaceLifecycleAdmission: AdmissionPlugin = {
  name: 'NamespaceLifecycle',
  async validate(op, obj) {
    if (
      op === 'DELETE' &&
      obj.kind === 'Namespace' &&
      obj.apiVersion === 'v1' &&
      PROTECTED_NAMESPACES.has(obj.metadata.name ?? '')
    ) {
      throw forbidden(`namespaces "${obj.metadata.name}" is forbidden: this namespace may not be deleted`, {
        name: obj.metadata.name,
        kind: 'namespaces',
      });
    }
  },
};

/** the checks a create in namespace `ns` must pass (standalone mode: our own namespaces) */
export async function namespaceChecker(registry: APIRegistry, ns: string): Promise<void> {
  const store = registry.store('', 'v1', 'namespaces');
  if (!store) throw new Error('the namespaces kind is not registered');
  const absent = (e: unknown) => {
    if (e instanceof StatusError && e.code === 404) return undefined;
    throw e;
  };
  // like kube's NamespaceLifecycle admission: the cache first, the store itself only when the
  // cache has not seen the namespace yet (created a moment ago)
  const obj: KubeObject | undefined =
    (await store.getNotOlderThan(undefined, ns, 0).catch(absent)) ?? (await store.get(undefined, ns).catch(absent));
  if (!obj) throw notFound({ group: '', resource: 'namespaces' }, ns);
  if (obj.metadata.deletionTimestamp) throw terminating(ns);
}

/** cluster mode: the namespace must exist in kube-apiserver and not be terminating; a positive answer is reused for `ttlMs` */
export function kubeNamespaceChecker(api: KubeAPI, ttlMs = 2_000): (ns: string) => Promise<void> {
  const seg = encodeURIComponent;
  const fresh = new Map<string, number>();
  return async (ns) => {
    const at = fresh.get(ns);
    if (at !== undefined && Date.now() - at < ttlMs) return;
    const reply = await api.call('GET', `/api/v1/namespaces/${seg(ns)}`).catch((e: unknown) => {
      throw serviceUnavailable(`kube-apiserver could not be asked about namespace ${ns}: ${(e as Error).message}`);
    });
    if (reply.code === 404) throw notFound({ group: '', resource: 'namespaces' }, ns);
    if (reply.code !== 200)
      throw serviceUnavailable(`reading namespace ${ns} from kube-apiserver: ${statusOf(reply).message}`);
    const obj = JSON.parse(reply.body) as { metadata?: { deletionTimestamp?: string } };
    if (obj.metadata?.deletionTimestamp) throw terminating(ns);
    if (fresh.size > 10_000) fresh.clear();
    fresh.set(ns, Date.now());
  };
}
