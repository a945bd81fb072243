// A Secret's data as stored (base64 values), read where the Secret lives: the server's own core v1
// secrets in standalone mode, kube-apiserver's in cluster mode. AdoptedServer credentials are read
// this way (src/nodeaccess decodes the talosconfig itself).
import { secretKind } from '../api/core/secret.js';
import { serviceUnavailable, StatusError } from '../machinery/errors.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { statusOf, type KubeAPI } from '../kubeapi/client.js';

/** reads a Secret's data (base64 values, as stored) or undefined when there is no such Secret */
export interface SecretReader {
  read(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

/** the server's own core v1 secrets (standalone mode) */
export function registrySecretReader(registry: APIRegistry): SecretReader {
  return {
    async read(namespace, name) {
      const store = registry.storeOf(secretKind);
      if (!store) return undefined;
      try {
        const secret = await store.get(namespace, name);
        return (secret.data ?? {}) as Record<string, string>;
      } catch (e) {
        if (e instanceof StatusError && e.code === 404) return undefined;
        throw e;
      }
    },
  };
}

/** kube-apiserver's Secrets (cluster mode) */
export function kubeSecretReader(api: KubeAPI): SecretReader {
  const seg = encodeURIComponent;
  return {
    async read(namespace, name) {
      const reply = await api.call('GET', `/api/v1/namespaces/${seg(namespace)}/secrets/${seg(name)}`);
      if (reply.code === 404) return undefined;
      if (reply.code !== 200)
        throw serviceUnavailable(`reading secret ${namespace}/${name} from kube-apiserver: ${statusOf(reply).message}`);
      return (JSON.parse(reply.body) as { data?: Record<string, string> }).data ?? {};
    },
  };
}
