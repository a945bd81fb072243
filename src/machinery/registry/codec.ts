// How objects become stored bytes and back. resourceVersion is not stored: it *is* the key's mod
// revision, so it is stamped on every decoded object (as kube-apiserver does with etcd).
import type { KeyValue } from '../../storage/storage.js';
import type { KindDefinition, KubeObject } from '../kind.js';

export function resourceKeyPrefix(root: string, kind: KindDefinition): string {
  // kube-apiserver's layout: /registry/<group>/<resource>/ ; the core group has no group segment.
  return kind.group ? `${root}/${kind.group}/${kind.plural}/` : `${root}/${kind.plural}/`;
}

export function objectKey(prefix: string, namespace: string | undefined, name: string): string {
  return namespace ? `${prefix}${namespace}/${name}` : `${prefix}${name}`;
}

/** prefix for a namespace's objects of a namespaced kind, or the whole kind when ns is empty */
export function listPrefix(prefix: string, namespace: string | undefined): string {
  return namespace ? `${prefix}${namespace}/` : prefix;
}

export function encodeObject(obj: KubeObject): Buffer {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  return Buffer.from(JSON.stringify({ ...obj, metadata: meta }));
}

export function decodeObject(kv: KeyValue): KubeObject {
  const obj = JSON.parse(kv.value.toString('utf8')) as KubeObject;
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

/** a deep copy that callers may change freely */
export function cloneObject<T>(obj: T): T {
  return structuredClone(obj);
}
