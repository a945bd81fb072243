// Field management for one kind (kube-apiserver's FieldManager): the Update bookkeeping every
// create/update/patch gets, and server-side apply. Pure: objects in, objects and managedFields out.
//
// Choices where kube-apiserver leaves room:
//   - Update bookkeeping runs on the object as it will be stored (after admission and defaulting),
//     so defaults and admission changes belong to the writer, as request-time defaults do upstream.
//   - An apply is merged before defaulting; defaults it causes belong to nobody, as upstream.
//   - x-kubernetes-preserve-unknown-fields subtrees are granular by key with atomic lists (typed.ts).
import { badRequest, invalid, type FieldError } from '../errors.js';
import {
  groupVersion,
  type JSONSchema,
  type KindDefinition,
  type KubeObject,
  type ManagedFieldsEntry,
} from '../kind.js';
import { conflictError, type ManagerConflict } from './conflicts.js';
import { FieldSet, FieldsV1Error } from './fieldset.js';
import { allowedConflicts, KUBECTL_MANAGER, syncLastApplied } from './lastapplied.js';
import {
  capUpdateManagers,
  decodeManagedFields,
  decodeStored,
  dropEmpty,
  encodeManagedFields,
  isResetRequest,
  managerId,
  validateManagedFields,
  type Manager,
  type Managers,
} from './managers.js';
import { mergeValues, removeDisowned } from './merge.js';
import { applySchema, compare, fieldSetOf, jsonEqual } from './typed.js';

export interface WriteInfo {
  /** the field manager: the fieldManager parameter, else the user agent's first segment */
  manager: string;
  subresource?: 'status';
  /** RFC 3339, seconds */
  now: string;
}

/** fields kube-apiserver never tracks (structured-merge-diff's stripped set; not recursive) */
const IGNORED = FieldSet.of([
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...[
    'name',
    'namespace',
    'uid',
    'creationTimestamp',
    'selfLink',
    'generation',
    'managedFields',
    'resourceVersion',
    'clusterName',
  ].map((f) => ['f:metadata', `f:${f}`]),
]);
const STATUS = FieldSet.of([['f:status']]);

const managers = new WeakMap<KindDefinition, FieldManager>();

export function fieldManagerFor(kind: KindDefinition): FieldManager {
  let fm = managers.get(kind);
  if (!fm) {
    fm = new FieldManager(kind);
    managers.set(kind, fm);
  }
  return fm;
}

function withoutManagedFields(obj: KubeObject | undefined): KubeObject | Record<string, never> {
  if (!obj) return {};
  const { managedFields: _mf, ...meta } = obj.metadata;
  return { ...obj, metadata: meta };
}

export class FieldManager {
  readonly schema: JSONSchema;
  readonly apiVersion: string;

  constructor(readonly kind: KindDefinition) {
    this.schema = applySchema(kind);
    this.apiVersion = groupVersion(kind);
  }

  /** the part of `set` a write through `subresource` manages */
  scope(set: FieldSet, subresource?: 'status'): FieldSet {
    const s = set.difference(IGNORED);
    if (subresource === 'status') return s.intersection(STATUS).union(onlyStatus(s));
    return this.kind.statusSubresource ? s.recursiveDifference(STATUS) : s;
  }

  /**
   * managedFields after a create (old undefined), update or patch that turned `old` into `obj`.
   * `obj.metadata.managedFields` is what the client sent: absent or [] keeps the stored ones,
   * [{}] clears them, a list that decodes replaces them (ignored on subresources, as upstream).
   */
  update(old: KubeObject | undefined, obj: KubeObject, info: WriteInfo): ManagedFieldsEntry[] | undefined {
    const ms = this.baseManagers(old, obj.metadata.managedFields, info.subresource);
    const c = compare(withoutManagedFields(old), withoutManagedFields(obj), this.schema);
    const changed = this.scope(c.modified.union(c.added), info.subresource);
    const removed = this.scope(c.removed, info.subresource);
    for (const m of ms.values()) m.set = m.set.difference(changed).difference(removed);
    if (!changed.empty()) {
      const me: Manager = {
        manager: info.manager,
        operation: 'Update',
        apiVersion: this.apiVersion,
        set: changed,
        time: info.now,
      };
      if (info.subresource) me.subresource = info.subresource;
      const id = managerId(me);
      const previous = ms.get(id);
      if (previous) me.set = previous.set.union(changed);
      ms.set(id, me);
    }
    dropEmpty(ms);
    capUpdateManagers(ms);
    return encodeManagedFields(ms);
  }

  private baseManagers(old: KubeObject | undefined, supplied: unknown, subresource?: string): Managers {
    const stored = decodeStored(old?.metadata.managedFields);
    if (subresource || supplied === undefined || supplied === null) return stored;
    if (Array.isArray(supplied) && supplied.length === 0) return stored;
    if (isResetRequest(supplied)) return new Map();
    let decoded: Managers;
    try {
      decoded = decodeManagedFields(supplied);
    } catch (e) {
      // upstream: managedFields that do not decode are ignored in favour of the stored ones
      if (e instanceof FieldsV1Error) return stored;
      throw e;
    }
    const errs = validateManagedFields(supplied as ManagedFieldsEntry[]);
    if (errs.length > 0) throw this.invalid(errs, old);
    return decoded.size > 0 ? decoded : stored;
  }

  /**
   * Server-side apply of `config` (already decoded and pruned) by info.manager onto `live`
   * (undefined: the object does not exist). Returns the merged object, not yet defaulted or
   * validated, and its managedFields; throws 409 Conflict listing other managers' fields the
   * configuration would change, unless `force`.
   */
  apply(
    live: KubeObject | undefined,
    config: KubeObject,
    info: WriteInfo & { force: boolean },
  ): { object: KubeObject; managedFields: ManagedFieldsEntry[] | undefined } {
    if (config.metadata.managedFields !== undefined && config.metadata.managedFields !== null) {
      throw badRequest('metadata.managedFields must be nil');
    }
    const applied = this.restrictConfig(config, info.subresource);
    const errors: FieldError[] = [];
    const configSet = this.scope(fieldSetOf(applied, this.schema, errors), info.subresource);
    if (errors.length > 0) throw this.invalid(errors, live, config);

    const liveBody = structuredClone(withoutManagedFields(live));
    const ms = decodeStored(live?.metadata.managedFields);
    const me: Manager = {
      manager: info.manager,
      operation: 'Apply',
      apiVersion: this.apiVersion,
      set: configSet,
      time: info.now,
    };
    if (info.subresource) me.subresource = info.subresource;
    const myId = managerId(me);
    const last = ms.get(myId)?.set;
    ms.set(myId, me);

    let merged = mergeValues(structuredClone(liveBody), applied, this.schema) as KubeObject;
    if (last) {
      let owned = new FieldSet();
      for (const m of ms.values()) owned = owned.union(m.set);
      merged = removeDisowned(merged, this.schema, last, owned) as KubeObject;
    }

    const c = compare(liveBody, merged, this.schema);
    const changed = this.scope(c.modified.union(c.added), info.subresource);
    const removed = this.scope(c.removed, info.subresource);
    const conflicts: ManagerConflict[] = [];
    for (const [id, m] of ms) {
      if (id === myId) continue;
      const fields = m.set.intersection(changed);
      if (!fields.empty()) conflicts.push({ id, manager: m, fields });
    }
    if (conflicts.length > 0 && !info.force) this.checkConflicts(conflicts, live, info.manager);
    for (const [id, m] of ms) {
      if (id === myId) continue;
      m.set = m.set.difference(changed).difference(removed);
    }
    dropEmpty(ms);
    capUpdateManagers(ms);
    if (info.manager === KUBECTL_MANAGER) syncLastApplied(merged, config);
    return { object: merged, managedFields: encodeManagedFields(ms) };
  }

  /** the applied configuration without what this endpoint does not write */
  private restrictConfig(config: KubeObject, subresource?: 'status'): KubeObject {
    if (subresource === 'status') {
      const { apiVersion, kind, metadata, status } = config;
      return status === undefined ? { apiVersion, kind, metadata } : { apiVersion, kind, metadata, status };
    }
    if (!this.kind.statusSubresource || config.status === undefined) return config;
    const { status: _s, ...rest } = config;
    return rest as KubeObject;
  }

  private checkConflicts(conflicts: ManagerConflict[], live: KubeObject | undefined, manager: string): void {
    const allowed = manager === KUBECTL_MANAGER ? allowedConflicts(live, this.schema) : undefined;
    const remaining = conflicts
      .map((c) => ({ ...c, fields: allowed ? c.fields.difference(allowed) : c.fields }))
      .filter((c) => !c.fields.empty());
    if (remaining.length > 0) throw conflictError(remaining);
  }

  private invalid(errors: FieldError[], ...objs: (KubeObject | undefined)[]) {
    const name = objs.find((o) => o?.metadata.name)?.metadata.name ?? '';
    return invalid({ group: this.kind.group, kind: this.kind.kind }, name, errors);
  }
}

function onlyStatus(s: FieldSet): FieldSet {
  const out = new FieldSet();
  const below = s.under('f:status');
  if (below) out.children.set('f:status', below.copy());
  return out;
}

/**
 * After admission and defaulting: when a write changes nothing but managedFields timestamps,
 * the stored managedFields are kept, so the write is a no-op (upstream's
 * IgnoreManagedFieldsTimestampsTransformer).
 */
export function keepTimestampsIfUnchanged(old: KubeObject, obj: KubeObject): void {
  const before = old.metadata.managedFields;
  const after = obj.metadata.managedFields;
  if (!before || !after || before.length !== after.length) return;
  const untimed = (l: ManagedFieldsEntry[]) => l.map(({ time: _t, ...e }) => e);
  if (!jsonEqual(untimed(before), untimed(after))) return;
  if (!jsonEqual(withoutManagedFields(old), withoutManagedFields(obj))) return;
  obj.metadata.managedFields = structuredClone(before);
}
