// Objects seen through their kind's schema the way server-side apply sees them: which values are
// leaves (owned whole) and which are granular (owned field by field, item by item).
//   - scalars, lists without x-kubernetes-list-type or with `atomic`, and objects with
//     x-kubernetes-map-type: atomic are leaves;
//   - objects are granular: declared fields by name, map keys (additionalProperties) by key;
//   - `set` lists are granular by item value, `map` lists by their x-kubernetes-list-map-keys.
//   - x-kubernetes-preserve-unknown-fields subtrees are "deduced" as structured-merge-diff does for
//     custom resources: objects inside them are granular by key, lists inside them atomic.
// ObjectMeta has its SSA semantics: labels/annotations granular maps, finalizers a set,
// ownerReferences a map keyed by uid (each reference owned whole).
import { fieldErr, type FieldError } from '../errors.js';
import type { JSONSchema, KindDefinition } from '../kind.js';
import { fullObjectSchema } from '../schema.js';
import { fieldPE, FieldSet, keyPE, valuePE, type PathElement } from './fieldset.js';

/** a schema node; undefined means "deduced from the value" (inside preserve-unknown-fields) */
export type Node = JSONSchema | undefined;

type Obj = Record<string, unknown>;

export type Shape =
  | { kind: 'leaf' }
  | { kind: 'object'; child(key: string): { node: Node; declared: boolean } }
  | { kind: 'listMap'; keys: string[]; item: Node }
  | { kind: 'set' };

const str: JSONSchema = { type: 'string' };
const OBJECT_META: JSONSchema = {
  type: 'object',
  properties: {
    name: str,
    generateName: str,
    namespace: str,
    selfLink: str,
    uid: str,
    resourceVersion: str,
    generation: { type: 'integer' },
    creationTimestamp: str,
    deletionTimestamp: str,
    deletionGracePeriodSeconds: { type: 'integer' },
    labels: { type: 'object', additionalProperties: str },
    annotations: { type: 'object', additionalProperties: str },
    finalizers: { type: 'array', items: str, 'x-kubernetes-list-type': 'set' },
    ownerReferences: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
      items: {
        type: 'object',
        'x-kubernetes-map-type': 'atomic',
        properties: {
          apiVersion: str,
          kind: str,
          name: str,
          uid: str,
          controller: { type: 'boolean' },
          blockOwnerDeletion: { type: 'boolean' },
        },
      },
    },
    managedFields: { type: 'array', items: { type: 'object' }, 'x-kubernetes-list-type': 'atomic' },
  },
};

const schemas = new WeakMap<KindDefinition, JSONSchema>();

/** the kind's full object schema with ObjectMeta spelled out for SSA */
export function applySchema(kind: KindDefinition): JSONSchema {
  let s = schemas.get(kind);
  if (!s) {
    const full = fullObjectSchema(kind);
    s = { ...full, properties: { ...full.properties, metadata: OBJECT_META } };
    schemas.set(kind, s);
  }
  return s;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const LEAF: Shape = { kind: 'leaf' };
const DEDUCED_OBJECT: Shape = { kind: 'object', child: () => ({ node: undefined, declared: false }) };

export function shapeOf(node: Node, value: unknown): Shape {
  if (Array.isArray(value)) {
    if (!node || node.type !== 'array') return LEAF;
    const lt = node['x-kubernetes-list-type'];
    if (lt === 'set') return { kind: 'set' };
    const keys = node['x-kubernetes-list-map-keys'];
    if (lt === 'map' && keys && keys.length > 0) return { kind: 'listMap', keys, item: node.items };
    return LEAF;
  }
  if (!isObj(value)) return LEAF;
  if (!node) return DEDUCED_OBJECT;
  if (node['x-kubernetes-map-type'] === 'atomic') return LEAF;
  const props = node.properties;
  const extra = node.additionalProperties;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node.type !== 'object' && !(node.type === undefined && preserve)) return LEAF;
  return {
    kind: 'object',
    child(key) {
      if (props && Object.hasOwn(props, key)) return { node: props[key], declared: true };
      return { node: typeof extra === 'object' ? extra : undefined, declared: false };
    },
  };
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** the identity of a list-map item, or a description of what is missing */
export function itemKey(item: unknown, keys: string[]): PathElement | { missing: string } {
  if (!isObj(item)) return { missing: keys[0]! };
  const fields: Obj = {};
  for (const k of keys) {
    if (item[k] === undefined || item[k] === null) return { missing: k };
    fields[k] = item[k];
  }
  return keyPE(fields);
}

/** items of a granular list by identity; the first of duplicates wins (validation rejects them) */
export function indexItems(list: unknown[], shape: Shape): { pe: PathElement; item: unknown }[] {
  const out: { pe: PathElement; item: unknown }[] = [];
  list.forEach((item, i) => {
    let pe: PathElement;
    if (shape.kind === 'set') pe = valuePE(item);
    else if (shape.kind === 'listMap') {
      const k = itemKey(item, shape.keys);
      pe = typeof k === 'string' ? k : `i:${i}`;
    } else pe = `i:${i}`;
    out.push({ pe, item });
  });
  return out;
}

/**
 * The fields an object sets (structured-merge-diff's ToFieldSet). With `errors`, list items
 * without their key fields and duplicate items are reported there (an applied configuration must
 * identify every item); otherwise they are tolerated.
 */
export function fieldSetOf(value: unknown, node: Node, errors?: FieldError[]): FieldSet {
  const out = new FieldSet();
  collect(value, node, [], '', out, errors);
  return out;
}

function collect(
  value: unknown,
  node: Node,
  path: PathElement[],
  where: string,
  out: FieldSet,
  errors?: FieldError[],
): void {
  const shape = shapeOf(node, value);
  switch (shape.kind) {
    case 'leaf':
      out.insert(path);
      return;
    case 'object':
      for (const [key, v] of Object.entries(value as Obj)) {
        const { node: cn, declared } = shape.child(key);
        const p = [...path, fieldPE(key)];
        collect(v, cn, p, where ? `${where}.${key}` : key, out, errors);
        if (v === null || (isObj(v) && Object.keys(v).length === 0) || !declared) out.insert(p);
      }
      return;
    case 'listMap':
    case 'set': {
      const seen = new Set<PathElement>();
      (value as unknown[]).forEach((item, i) => {
        const at = `${where}[${i}]`;
        let pe: PathElement;
        if (shape.kind === 'set') pe = valuePE(item);
        else {
          const k = itemKey(item, shape.keys);
          if (typeof k !== 'string') {
            errors?.push(
              fieldErr.required(`${at}.${k.missing}`, 'key field of a list keyed by ' + shape.keys.join(', ')),
            );
            return;
          }
          pe = k;
        }
        if (seen.has(pe)) {
          errors?.push(fieldErr.duplicate(at, shape.kind === 'set' ? item : JSON.parse(pe.slice(2))));
          return;
        }
        seen.add(pe);
        const p = [...path, pe];
        if (shape.kind === 'listMap') collect(item, shape.item, p, at, out, errors);
        out.insert(p);
      });
      return;
    }
  }
}

export interface Comparison {
  added: FieldSet;
  removed: FieldSet;
  modified: FieldSet;
}

/** what changed from `lhs` to `rhs`: added and removed paths (nodes and leaves), modified leaves */
export function compare(lhs: unknown, rhs: unknown, node: Node): Comparison {
  const c: Comparison = { added: new FieldSet(), removed: new FieldSet(), modified: new FieldSet() };
  walkCompare(lhs, rhs, node, [], c);
  return c;
}

function walkCompare(l: unknown, r: unknown, node: Node, path: PathElement[], c: Comparison): void {
  const sl = l === undefined ? undefined : shapeOf(node, l);
  const sr = r === undefined ? undefined : shapeOf(node, r);
  const shape = (sr ?? sl)!;
  if (shape.kind === 'leaf' || (sl && sr && sl.kind !== sr.kind)) {
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
    else if (!jsonEqual(l, r)) c.modified.insert(path);
    return;
  }
  if (l === undefined) c.added.insert(path);
  else if (r === undefined) c.removed.insert(path);
  if (shape.kind === 'object') {
    const lo = (l ?? {}) as Obj;
    const ro = (r ?? {}) as Obj;
    const keys = new Set([...Object.keys(lo), ...Object.keys(ro)]);
    for (const key of keys) {
      const lv = Object.hasOwn(lo, key) ? lo[key] : undefined;
      const rv = Object.hasOwn(ro, key) ? ro[key] : undefined;
      walkCompare(lv, rv, shape.child(key).node, [...path, fieldPE(key)], c);
    }
    return;
  }
  const left = new Map(
    indexItems((l ?? []) as unknown[], shape)
      .reverse()
      .map((e) => [e.pe, e.item]),
  );
  const right = new Map(
    indexItems((r ?? []) as unknown[], shape)
      .reverse()
      .map((e) => [e.pe, e.item]),
  );
  const item = shape.kind === 'listMap' ? shape.item : undefined;
  for (const pe of new Set([...left.keys(), ...right.keys()])) {
    const p = [...path, pe];
    if (shape.kind === 'set') {
      if (!left.has(pe)) c.added.insert(p);
      else if (!right.has(pe)) c.removed.insert(p);
    } else {
      walkCompare(left.get(pe), right.get(pe), item, p, c);
    }
  }
}
