// Where a cluster's secret material lives: core v1 Secrets in the cluster's namespace (the
// server's own in standalone mode, encrypted at rest; kube-apiserver's in cluster mode), labelled
// with the cluster and owned by the KubernetesCluster, so deleting it (or its namespace) removes them.
import { secretKind } from '../api/core/secret.js';
import { StatusError } from '../machinery/errors.js';
import type { OwnerReference } from '../machinery/kind.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { systemContext } from '../machinery/registry/context.js';
import { statusOf, type KubeAPI } from '../kubeapi/client.js';

export interface StoredSecret {
  name: string;
  labels: Record<string, string>;
  ownerReferences: OwnerReference[];
  /** values as plain text; stored base64 as Secret data is */
  data: Record<string, string>;
}

export interface SecretStore {
  /** the decoded data, or undefined when there is no such Secret */
  get(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** creates the Secret, or replaces its data, labels and owners */
  put(namespace: string, secret: StoredSecret): Promise<void>;
  /** creates the Secret unless one of that name exists; resolves whether it did */
  create(namespace: string, secret: StoredSecret): Promise<boolean>;
  /** deletes the Secret if it exists */
  delete(namespace: string, name: string): Promise<void>;
}

const b64 = (data: Record<string, string>) =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
const unb64 = (data: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

function manifest(namespace: string, s: StoredSecret): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: s.name, namespace, labels: s.labels, ownerReferences: s.ownerReferences },
    type: 'Opaque',
    data: b64(s.data),
  };
}

/** `registry` is a getter: the store may be made before the registry exists */
export function registrySecretStore(registry: () => APIRegistry): SecretStore {
  const store = () => registry().storeOf(secretKind)!;
  return {
    async get(namespace, name) {
      try {
        return unb64((await store().get(namespace, name)).data as Record<string, string> | undefined);
      } catch (e) {
        if (e instanceof StatusError && e.code === 404) return undefined;
        throw e;
      }
    },
    async put(namespace, s) {
      if (await this.create(namespace, s)) return;
      // a fresh manifest: the create decoded (and stamped) the one it was given
      const body = manifest(namespace, s);
      await store().patch(namespace, s.name, 'merge', { metadata: body.metadata, data: body.data }, systemContext());
    },
    async delete(namespace, name) {
      await store()
        .delete(namespace, name, {}, systemContext())
        .catch((e: unknown) => {
          if (!(e instanceof StatusError && e.code === 404)) throw e;
        });
    },
    async create(namespace, s) {
      try {
        await store().create(namespace, { value: manifest(namespace, s), duplicates: [] }, systemContext());
        return true;
      } catch (e) {
        if (e instanceof StatusError && e.reason === 'AlreadyExists') return false;
        throw e;
      }
    },
  };
}

export function kubeSecretStore(api: KubeAPI): SecretStore {
  const path = (ns: string, name?: string) =>
    `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets${name ? `/${encodeURIComponent(name)}` : ''}`;
  return {
    async get(namespace, name) {
      const r = await api.call('GET', path(namespace, name));
      if (r.code === 404) return undefined;
      if (r.code !== 200) throw new Error(`reading secret ${namespace}/${name}: ${statusOf(r).message}`);
      return unb64((JSON.parse(r.body) as { data?: Record<string, string> }).data);
    },
    async put(namespace, s) {
      if (await this.create(namespace, s)) return;
      const body = manifest(namespace, s);
      const patched = await api.call('PATCH', path(namespace, s.name), {
        body: { metadata: body.metadata, data: body.data },
        contentType: 'application/merge-patch+json',
      });
      if (patched.code !== 200) throw new Error(`updating secret ${namespace}/${s.name}: ${statusOf(patched).message}`);
    },
    async delete(namespace, name) {
      const r = await api.call('DELETE', path(namespace, name));
      if (r.code !== 200 && r.code !== 202 && r.code !== 404)
        throw new Error(`deleting secret ${namespace}/${name}: ${statusOf(r).message}`);
    },
    async create(namespace, s) {
      const created = await api.call('POST', path(namespace), { body: manifest(namespace, s) });
      if (created.code === 201 || created.code === 200) return true;
      if (created.code === 409) return false;
      throw new Error(`creating secret ${namespace}/${s.name}: ${statusOf(created).message}`);
    },
  };
}
