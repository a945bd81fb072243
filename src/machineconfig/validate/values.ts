// Typed reads of decoded values. Rules read through these and skip values of the wrong type:
// the schema check has already reported the type, and one mistake should give one problem.
import { isPlainMap } from './decode.js';
import type { Plain, PlainMap } from './yamltree.js';

export { isPlainMap };

export function mapAt(m: PlainMap | undefined, key: string): PlainMap | undefined {
  const v = m?.[key];
  return isPlainMap(v) ? v : undefined;
}

/** A string, or a number/boolean written where a string belongs (Go decodes any scalar into a string field). */
export function strAt(m: PlainMap | undefined, key: string): string | undefined {
  const v = m?.[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function boolAt(m: PlainMap | undefined, key: string): boolean | undefined {
  const v = m?.[key];
  return typeof v === 'boolean' ? v : undefined;
}

export function numAt(m: PlainMap | undefined, key: string): number | undefined {
  const v = m?.[key];
  return typeof v === 'number' ? v : undefined;
}

export function listAt(m: PlainMap | undefined, key: string): Plain[] | undefined {
  const v = m?.[key];
  return Array.isArray(v) ? v : undefined;
}

/** The list's string items with their indices (other items are the schema check's to report). */
export function stringItems(m: PlainMap | undefined, key: string): [number, string][] {
  const out: [number, string][] = [];
  (listAt(m, key) ?? []).forEach((item, i) => {
    if (typeof item === 'string') out.push([i, item]);
    else if (typeof item === 'number') out.push([i, String(item)]);
  });
  return out;
}

export function mapItems(m: PlainMap | undefined, key: string): [number, PlainMap][] {
  const out: [number, PlainMap][] = [];
  (listAt(m, key) ?? []).forEach((item, i) => {
    if (isPlainMap(item)) out.push([i, item]);
  });
  return out;
}

/** Present and not null: Go leaves a field with a null value at its zero value, as if absent. */
export function isSet(m: PlainMap | undefined, key: string): boolean {
  const v = m?.[key];
  return v !== undefined && v !== null;
}

/** Set to something that is not the zero value: non-empty string/list/map, true, non-zero number. */
export function isNonEmpty(m: PlainMap | undefined, key: string): boolean {
  const v = m?.[key];
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainMap(v)) return Object.keys(v).length > 0;
  return true;
}
