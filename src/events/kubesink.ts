// Cluster mode writes its Events to kube-apiserver (standalone mode to its own registry).
import { statusOf, type KubeAPI } from '../kubeapi/client.js';
import type { EventSink } from './recorder.js';

export function kubeEventSink(api: KubeAPI): EventSink {
  const seg = encodeURIComponent;
  return {
    async create(namespace, event) {
      const reply = await api.call('POST', `/api/v1/namespaces/${seg(namespace)}/events`, { body: event });
      if (reply.code >= 300) throw new Error(`creating an event: ${statusOf(reply).message}`);
    },
    async patch(namespace, name, patch) {
      const reply = await api.call('PATCH', `/api/v1/namespaces/${seg(namespace)}/events/${seg(name)}`, {
        body: patch,
        contentType: 'application/merge-patch+json',
      });
      if (reply.code === 404) return false;
      if (reply.code >= 300) throw new Error(`updating an event: ${statusOf(reply).message}`);
      return true;
    },
  };
}
