// kubectl's client-side apply annotation, as kube-apiserver treats it for server-side applies by
// the manager named exactly "kubectl": fields that still hold what the annotation last applied may
// be taken over without a conflict (moving from client-side to server-side apply), and the
// annotation is rewritten to the applied configuration (so moving back keeps working).
import type { KubeObject } from '../kind.js';
import type { FieldSet } from './fieldset.js';
import { compare, fieldSetOf, isObj, type Node } from './typed.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
export const KUBECTL_MANAGER = 'kubectl';

function lastApplied(obj: KubeObject | undefined): string | undefined {
  const v = obj?.metadata.annotations?.[LAST_APPLIED];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** the fields whose live value is what the annotation says was last applied */
export function allowedConflicts(live: KubeObject | undefined, node: Node): FieldSet | undefined {
  const text = lastApplied(live);
  if (!text || !live) return undefined;
  let applied: unknown;
  try {
    applied = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(applied)) return undefined;
  const c = compare(applied, live, node);
  return fieldSetOf(applied, node).difference(c.modified).difference(c.added).difference(c.removed);
}

/** rewrites the annotation on `obj` to `config` when `obj` carries a non-empty one */
export function syncLastApplied(obj: KubeObject, config: KubeObject): void {
  if (!lastApplied(obj)) return;
  const copy = structuredClone(config);
  if (copy.metadata?.annotations) delete copy.metadata.annotations[LAST_APPLIED];
  obj.metadata.annotations![LAST_APPLIED] = goJSON(copy) + '\n';
}

/** JSON as Go's encoding/json writes a map: keys sorted, HTML characters escaped */
export function goJSON(v: unknown): string {
  return JSON.stringify(sortKeys(v)).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObj(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort())
    Object.defineProperty(out, k, { value: sortKeys(v[k]), enumerable: true, writable: true, configurable: true });
  return out;
}
