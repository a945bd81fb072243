// metadata.managedFields <-> managers with field sets, as kube-apiserver keeps them: one Apply
// entry per (manager, subresource), one Update entry per (manager, apiVersion, subresource),
// entries sorted (Apply before Update, then oldest first), at most 10 Update entries.
import { fieldErr, type FieldError } from '../errors.js';
import type { ManagedFieldsEntry } from '../kind.js';
import { FieldSet, FieldsV1Error } from './fieldset.js';

export type Operation = 'Apply' | 'Update';

export interface Manager {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** managers by identity (managerId) */
export type Managers = Map<string, Manager>;

/** kube's manager "identifier": what tells two entries apart (an Apply entry's apiVersion does not) */
export function managerId(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify({
    manager: m.manager || undefined,
    operation: m.operation,
    apiVersion: m.operation === 'Apply' ? undefined : m.apiVersion,
    subresource: m.subresource || undefined,
  });
}

/** kube's cap on Update entries; the oldest are folded into one entry of this manager */
export const MAX_UPDATE_MANAGERS = 10;
export const ANCIENT_CHANGES = 'ancient-changes';
export const FIELD_MANAGER_MAX_LENGTH = 128;

/** managedFields as the API carries them -> managers; throws FieldsV1Error when they do not decode */
export function decodeManagedFields(entries: unknown): Managers {
  const out: Managers = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new FieldsV1Error('managedFields must be a list');
  entries.forEach((e: unknown, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e))
      throw new FieldsV1Error(`entry ${i} must be an object`);
    const entry = e as ManagedFieldsEntry;
    if (entry.operation !== 'Apply' && entry.operation !== 'Update')
      throw new FieldsV1Error('operation must be `Apply` or `Update`');
    if (typeof entry.apiVersion !== 'string' || entry.apiVersion === '')
      throw new FieldsV1Error('apiVersion must not be empty');
    if (entry.fieldsType !== 'FieldsV1') throw new FieldsV1Error(`invalid fieldsType in managed fields entry ${i}`);
    if (entry.manager !== undefined && typeof entry.manager !== 'string')
      throw new FieldsV1Error('manager must be a string');
    if (entry.subresource !== undefined && typeof entry.subresource !== 'string')
      throw new FieldsV1Error('subresource must be a string');
    const m: Manager = {
      manager: entry.manager ?? '',
      operation: entry.operation,
      apiVersion: entry.apiVersion,
      set:
        entry.fieldsV1 === undefined || entry.fieldsV1 === null
          ? new FieldSet()
          : FieldSet.fromFieldsV1(entry.fieldsV1),
    };
    if (entry.subresource) m.subresource = entry.subresource;
    if (typeof entry.time === 'string' && entry.time !== '') m.time = entry.time;
    out.set(managerId(m), m);
  });
  return out;
}

/** decodes what is stored; a stored value that does not decode counts as no managers */
export function decodeStored(entries: unknown): Managers {
  try {
    return decodeManagedFields(entries);
  } catch (e) {
    if (e instanceof FieldsV1Error) return new Map();
    throw e;
  }
}

function seconds(t: string | undefined): number {
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function entryOrder(p: Manager, q: Manager): number {
  return (
    cmp(p.operation, q.operation) ||
    seconds(p.time) - seconds(q.time) ||
    cmp(p.manager, q.manager) ||
    cmp(p.apiVersion, q.apiVersion) ||
    cmp(p.subresource ?? '', q.subresource ?? '')
  );
}

/** managers -> managedFields entries (undefined when there are none; empty sets are dropped) */
export function encodeManagedFields(managers: Managers): ManagedFieldsEntry[] | undefined {
  const list = [...managers.values()].filter((m) => !m.set.empty()).sort(entryOrder);
  if (list.length === 0) return undefined;
  return list.map((m) => {
    const e: ManagedFieldsEntry = {};
    if (m.manager) e.manager = m.manager;
    e.operation = m.operation;
    e.apiVersion = m.apiVersion;
    if (m.time) e.time = m.time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = m.set.toFieldsV1();
    if (m.subresource) e.subresource = m.subresource;
    return e;
  });
}

export function dropEmpty(managers: Managers): void {
  for (const [id, m] of managers) if (m.set.empty()) managers.delete(id);
}

/** folds the oldest Update entries into `ancient-changes` until at most `max` remain */
export function capUpdateManagers(managers: Managers, max = MAX_UPDATE_MANAGERS): void {
  const updaters = [...managers.entries()].filter(([, m]) => m.operation === 'Update');
  if (updaters.length <= max) return;
  updaters.sort(([ia, a], [ib, b]) => seconds(a.time) - seconds(b.time) || cmp(ia, ib));
  const fold = updaters.slice(0, updaters.length - max + 1);
  let set = new FieldSet();
  for (const [id, m] of fold) {
    set = set.union(m.set);
    managers.delete(id);
  }
  const newest = fold[fold.length - 1]![1];
  const bucket: Manager = { manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: newest.apiVersion, set };
  if (newest.time) bucket.time = newest.time;
  const id = managerId(bucket);
  const existing = managers.get(id);
  if (existing) bucket.set = bucket.set.union(existing.set);
  managers.set(id, bucket);
}

/** kube's ValidateManagedFields for the entries a client sends (only checked when they decode) */
export function validateManagedFields(entries: ManagedFieldsEntry[]): FieldError[] {
  const errs: FieldError[] = [];
  entries.forEach((e, i) => {
    const at = `metadata.managedFields[${i}]`;
    errs.push(...validateFieldManager(e.manager ?? '', `${at}.manager`));
    if ((e.subresource ?? '').length > 256) errs.push(fieldErr.tooLong(`${at}.subresource`, 256));
  });
  return errs;
}

export function validateFieldManager(name: string, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (name.length > FIELD_MANAGER_MAX_LENGTH) errs.push(fieldErr.tooLong(field, FIELD_MANAGER_MAX_LENGTH));
  const bad = [...name].findIndex((ch) => !/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch));
  if (bad >= 0) {
    const ch = [...name][bad]!;
    const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    errs.push(fieldErr.invalid(field, name, `invalid character ${code} (at position ${bad})`));
  }
  return errs;
}

/** `[{}]`: the documented way to clear managedFields */
export function isResetRequest(entries: unknown): boolean {
  return (
    Array.isArray(entries) &&
    entries.length === 1 &&
    typeof entries[0] === 'object' &&
    entries[0] !== null &&
    Object.keys(entries[0] as object).length === 0
  );
}
