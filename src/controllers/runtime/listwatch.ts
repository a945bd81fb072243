// Where an informer's objects come from: a consistent list, then a watch from the list's
// resourceVersion. The server's own registry (our kinds, and in standalone mode the core ones)
// and kube-apiserver (cluster mode) both provide one.
import type { KubeObject } from '../../machinery/kind.js';

export interface Listed {
  items: KubeObject[];
  resourceVersion: string;
}

/** why a watch ended; none: the server closed it cleanly (watch again from the last version) */
export interface WatchEnd {
  /** 410 Gone: the version is too old, only a new list can go on */
  gone: boolean;
  message: string;
  error?: unknown;
}

export interface WatchSink {
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void;
  /** nothing happened up to this version */
  bookmark(resourceVersion: string): void;
  /** called once, unless the watch was stopped by its owner */
  end(why?: WatchEnd): void;
}

export interface WatchHandle {
  stop(): void;
}

export interface ListWatch {
  /** what is listed, for logs: `secrets`, `kubernetesclusters.vitistack.io` */
  readonly resource: string;
  list(): Promise<Listed>;
  watch(resourceVersion: string, sink: WatchSink): Promise<WatchHandle>;
  /** failures of this source that are expected while its server is away (logged without a stack) */
  isExpectedFailure?(err: unknown): boolean;
}

/** the informer key of an object: namespace/name, or the name of a cluster-scoped one (client-go's) */
export function objectKey(obj: KubeObject): string {
  const m = obj.metadata;
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

/** splits an informer key back into namespace (undefined: cluster-scoped) and name */
export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * The object with only what controllers match on (client-go's metadata-only informers): no spec,
 * status or data, and no annotations or managedFields, which can be large. Informers of many
 * objects (or of Secrets, whose data must not linger in memory) keep this instead.
 */
export function metadataOnly(obj: KubeObject): KubeObject {
  const { annotations: _a, managedFields: _m, ...metadata } = obj.metadata;
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata };
}
