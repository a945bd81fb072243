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

/**
 * Stored bytes always begin `{"apiVersion":"..","kind":"..","metadata":{`, so the object's JSON as
 * served can be made from them by splicing the resourceVersion in (serialize once: lists and
 * watches reuse the stored bytes instead of parsing and re-encoding every object).
 */
export function encodeObject(obj: KubeObject): Buffer {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  const { apiVersion, kind, metadata: _m, ...rest } = obj;
  return Buffer.from(JSON.stringify({ apiVersion, kind, metadata: meta, ...rest }));
}

export function decodeObject(kv: KeyValue): KubeObject {
  const obj = JSON.parse(kv.value.toString('utf8')) as KubeObject;
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

const HEAD = /^\{"apiVersion":"[^"\\]*","kind":"[^"\\]*","metadata":\{/;

/** the object's JSON as a client sees it (with its resourceVersion), straight from the stored bytes */
export function objectJSON(kv: KeyValue): string {
  const text = kv.value.toString('utf8');
  const head = HEAD.exec(text.slice(0, 512));
  if (!head) return JSON.stringify(decodeObject(kv)); // written in another layout: re-encode
  const at = head[0].length;
  const rv = `"resourceVersion":"${kv.modRevision}"`;
  return text.slice(0, at) + rv + (text[at] === '}' ? '' : ',') + text.slice(at);
}

const METADATA_MARK = Buffer.from('"metadata":{');

/**
 * The same as objectJSON, as byte pieces cut from the stored value (no decoding to a string and
 * back): a large list is then a copy of the stored bytes with the resourceVersion spliced in.
 */
export function objectJSONParts(kv: KeyValue): Buffer[] {
  const v = kv.value;
  const mark = v.subarray(0, 512).indexOf(METADATA_MARK);
  const at = mark + METADATA_MARK.length;
  if (mark < 0 || !HEAD.test(v.toString('latin1', 0, at))) return [Buffer.from(objectJSON(kv))];
  const rv = `"resourceVersion":"${kv.modRevision}"` + (v[at] === 0x7d ? '' : ',');
  return [v.subarray(0, at), Buffer.from(rv, 'latin1'), v.subarray(at)];
}

/** recently decoded versions: an event fanned out to many watchers is decoded once */
const recent = new Map<KeyValue, KubeObject>();
const RECENT_MAX = 256;

/**
 * A decoded object shared by every reader of this stored version. Deeply frozen: readers copy
 * before they change anything. Only the last few versions are kept, so nothing here grows with
 * the number of cached objects.
 */
export function sharedObject(kv: KeyValue): KubeObject {
  let obj = recent.get(kv);
  if (!obj) {
    obj = deepFreeze(decodeObject(kv));
    recent.set(kv, obj);
    if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value!);
  }
  return obj;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v as object)) deepFreeze(child);
  }
  return v;
}

const jsonOf = new WeakMap<object, string>();

/** JSON of a shared (frozen) object, encoded once however many watchers send it */
export function sharedJSON(obj: object): string {
  if (!Object.isFrozen(obj)) return JSON.stringify(obj);
  let json = jsonOf.get(obj);
  if (json === undefined) {
    json = JSON.stringify(obj);
    jsonOf.set(obj, json);
  }
  return json;
}

const eventLinesOf = new WeakMap<object, Map<string, Buffer>>();

/**
 * A watch event line (`{"type":..,"object":..}` and a newline) of a shared object, as bytes made
 * once: a fan-out to a thousand watchers writes the same buffer a thousand times instead of
 * building and encoding a thousand strings.
 */
export function sharedEventLine(type: string, obj: object): Buffer {
  if (!Object.isFrozen(obj)) return Buffer.from(`{"type":"${type}","object":${JSON.stringify(obj)}}\n`);
  let lines = eventLinesOf.get(obj);
  if (!lines) eventLinesOf.set(obj, (lines = new Map()));
  let line = lines.get(type);
  if (!line) lines.set(type, (line = Buffer.from(`{"type":"${type}","object":${sharedJSON(obj)}}\n`)));
  return line;
}

/** a deep copy that callers may change freely */
export function cloneObject<T>(obj: T): T {
  return structuredClone(obj);
}
