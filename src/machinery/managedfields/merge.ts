// Merging an applied configuration into a live object, and removing what an applier stopped
// applying, both by the kind's schema (see typed.ts for what is a leaf and what is granular).
import { badRequest } from '../errors.js';
import type { FieldSet, PathElement } from './fieldset.js';
import { fieldPE } from './fieldset.js';
import { indexItems, isObj, shapeOf, type Node, type Shape } from './typed.js';

type Obj = Record<string, unknown>;

function setOwn(obj: Obj, key: string, value: unknown): void {
  // an own property even for "__proto__": never let a configuration reach a prototype
  if (key === '__proto__') throw badRequest('apply: the key "__proto__" is not allowed');
  obj[key] = value;
}

/**
 * `config` merged into `live`: object fields and map keys recursively, list-map items by their
 * keys, set items by value, leaves (scalars, atomic lists and objects) replaced. `live` may be
 * changed and shared with the result; pass a copy. Existing keys keep their order, so applying
 * what is already there gives an identical document.
 */
export function mergeValues(live: unknown, config: unknown, node: Node): unknown {
  if (config === undefined) return live;
  if (live === undefined) return structuredClone(config);
  const sl = shapeOf(node, live);
  const sc = shapeOf(node, config);
  if (sc.kind === 'leaf' || sl.kind !== sc.kind) return structuredClone(config);
  if (sc.kind === 'object') {
    const out = live as Obj;
    for (const [key, v] of Object.entries(config as Obj)) {
      setOwn(out, key, mergeValues(Object.hasOwn(out, key) ? out[key] : undefined, v, sc.child(key).node));
    }
    return out;
  }
  return mergeLists(live as unknown[], config as unknown[], sc);
}

/**
 * Items only in `live` keep their place; the items both have are put in the configuration's order
 * (each fills the next slot of a shared item) with the configuration's new items just before the
 * shared item that follows them there; the remaining new items go last.
 */
function mergeLists(live: unknown[], config: unknown[], shape: Shape): unknown[] {
  const itemNode = shape.kind === 'listMap' ? shape.item : undefined;
  const liveItems = indexItems(live, shape);
  const configItems = indexItems(config, shape);
  const liveByKey = new Map<PathElement, unknown>();
  for (const e of liveItems) if (!liveByKey.has(e.pe)) liveByKey.set(e.pe, e.item);
  const inConfig = new Set(configItems.map((e) => e.pe));
  const used = new Set<PathElement>();
  const out: unknown[] = [];
  const emit = (pe: PathElement, item: unknown) => {
    used.add(pe);
    out.push(shape.kind === 'set' ? structuredClone(item) : mergeValues(liveByKey.get(pe), item, itemNode));
  };
  let ci = 0;
  for (const { pe, item } of liveItems) {
    if (!inConfig.has(pe)) {
      out.push(item);
      continue;
    }
    while (ci < configItems.length) {
      const next = configItems[ci++]!;
      if (used.has(next.pe)) continue;
      emit(next.pe, next.item);
      if (liveByKey.has(next.pe)) break;
    }
  }
  for (; ci < configItems.length; ci++) {
    const next = configItems[ci]!;
    if (!used.has(next.pe)) emit(next.pe, next.item);
  }
  return out;
}

/**
 * Removes, in place, what `last` (the applier's previous field set) holds that `owned` (every
 * manager's set now, the applier's new one included) does not, with everything below it. As in
 * structured-merge-diff, a declared object field counts as owned when anything below it is owned;
 * a list item or map key only when it is itself owned, so dropping a worker pool from an applied
 * file removes the pool even if another manager changed one of its fields. The object's own
 * metadata (its identity and server fields) is never removed whole, only what is disowned in it.
 */
export function removeDisowned(
  value: unknown,
  node: Node,
  last: FieldSet,
  owned: FieldSet | undefined,
  root = true,
): unknown {
  const shape = shapeOf(node, value);
  if (shape.kind === 'leaf') return value;
  if (shape.kind === 'object') {
    const obj = value as Obj;
    for (const key of Object.keys(obj)) {
      const pe = fieldPE(key);
      const { node: cn, declared } = shape.child(key);
      const identity = root && key === 'metadata';
      if (!identity && holds(last, pe, declared) && !(owned && holds(owned, pe, declared))) {
        delete obj[key];
        continue;
      }
      const below = last.under(pe);
      if (below) obj[key] = removeDisowned(obj[key], cn, below, owned?.under(pe), false);
    }
    return obj;
  }
  const itemNode = shape.kind === 'listMap' ? shape.item : undefined;
  const kept: unknown[] = [];
  for (const { pe, item } of indexItems(value as unknown[], shape)) {
    if (last.members.has(pe) && !owned?.members.has(pe)) continue;
    const below = last.under(pe);
    kept.push(below && isObj(item) ? removeDisowned(item, itemNode, below, owned?.under(pe), false) : item);
  }
  return kept;
}

function holds(set: FieldSet, pe: PathElement, declared: boolean): boolean {
  return set.members.has(pe) || (declared && !!set.under(pe));
}
