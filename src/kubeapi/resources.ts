// What cluster mode takes from kube-apiserver instead of serving itself: namespaces (objects need
// theirs to exist), Secrets (Talos credentials) and Events.
import { forbidden, notFound, serviceUnavailable } from '../machinery/errors.js';
import type { EventSink } from '../events/recorder.js';
import type { SecretReader } from '../nodeaccess/credentials.js';
import { statusOf, type KubeAPI } from './client.js';

const seg = encodeURIComponent;

/** a namespace must exist and not be terminating; a positive answer is reused for `ttlMs` */
export function kubeNamespaceChecker(api: KubeAPI, ttlMs = 2_000): (ns: string) => Promise<void> {
  const fresh = new Map<string, number>();
  return async (ns) => {
    const at = fresh.get(ns);
    if (at !== undefined && Date.now() - at < ttlMs) return;
    const reply = await api.call('GET', `/api/v1/namespaces/${seg(ns)}`).catch((e: unknown) => {
      throw serviceUnavailable(`kube-apiserver could not be asked about namespace ${ns}: ${(e as Error).message}`);
    });
    if (reply.code === 404) throw notFound({ group: '', resource: 'namespaces' }, ns);
    if (reply.code !== 200) throw serviceUnavailable(`reading namespace ${ns} from kube-apiserver: ${statusOf(reply).message}`);
    const obj = JSON.parse(reply.body) as { metadata?: { deletionTimestamp?: string } };
    if (obj.metadata?.deletionTimestamp) {
      throw forbidden(`unable to create new content in namespace ${ns} because it is being terminated`, {
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }],
      });
    }
    if (fresh.size > 10_000) fresh.clear();
    fresh.set(ns, Date.now());
  };
}

export function kubeSecretReader(api: KubeAPI): SecretReader {
  return {
    async read(namespace, name) {
      const reply = await api.call('GET', `/api/v1/namespaces/${seg(namespace)}/secrets/${seg(name)}`);
      if (reply.code === 404) return undefined;
      if (reply.code !== 200) throw serviceUnavailable(`reading secret ${namespace}/${name} from kube-apiserver: ${statusOf(reply).message}`);
      return ((JSON.parse(reply.body) as { data?: Record<string, string> }).data ?? {});
    },
  };
}

export function kubeEventSink(api: KubeAPI): EventSink {
  return {
    async create(namespace, event) {
      const reply = await api.call('POST', `/api/v1/namespaces/${seg(namespace)}/events`, { body: event });
      if (reply.code >= 300) throw new Error(`creating an event: ${statusOf(reply).message}`);
    },
    async patch(namespace, name, patch) {
      const reply = await api.call('PATCH', `/api/v1/namespaces/${seg(namespace)}/events/${seg(name)}`, { body: patch, contentType: 'application/merge-patch+json' });
      if (reply.code === 404) return false;
      if (reply.code >= 300) throw new Error(`updating an event: ${statusOf(reply).message}`);
      return true;
    },
  };
}
