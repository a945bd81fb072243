// Structural schema processing for one kind: pruning, defaulting and validation, the way
// kube-apiserver treats custom resources. The kind's schema is the single source; the machinery
// adds apiVersion, kind and metadata (ObjectMeta is checked elsewhere, here it only has to be an object).
import { isIP } from 'node:net';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { fieldErr, type FieldError } from './errors.js';
import type { JSONSchema, KindDefinition } from './kind.js';

export interface KindSchema {
  /** the full object schema: apiVersion, kind, metadata plus the kind's own fields */
  readonly schema: JSONSchema;
  /** removes undeclared fields in place; returns their paths (`spec.foo`, `spec.workers[0].bar`) */
  prune(obj: unknown): string[];
  /** kube structural defaulting, in place */
  applyDefaults(obj: unknown): void;
  /** schema validation errors, kube message formats, deduplicated */
  validate(obj: unknown): FieldError[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** The kind's schema wrapped with the machinery's top-level fields. */
export function fullObjectSchema(kind: Pick<KindDefinition, 'schema'>): JSONSchema {
  return {
    ...kind.schema,
    type: 'object',
    properties: {
      ...kind.schema.properties,
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      // ObjectMeta has its own rules (meta validation); the schema only insists on an object.
      metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pruning

const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);
const OWNER_REFERENCE_FIELDS = new Set(['apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion']);
const MANAGED_FIELDS_ENTRY_FIELDS = new Set([
  'manager',
  'operation',
  'apiVersion',
  'time',
  'fieldsType',
  'fieldsV1',
  'subresource',
]);

function pruneKnown(obj: Obj, known: Set<string>, path: string, removed: string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) {
      delete obj[key];
      removed.push(child(path, key));
    }
  }
}

function pruneEntries(list: unknown, known: Set<string>, path: string, removed: string[]): void {
  if (!Array.isArray(list)) return;
  list.forEach((entry, i) => {
    if (isObj(entry)) pruneKnown(entry, known, `${path}[${i}]`, removed);
  });
}

/**
 * Removes fields ObjectMeta does not have (also inside ownerReferences and managedFields
 * entries; fieldsV1 is opaque). Returns `metadata.xyz` paths.
 */
export function pruneObjectMeta(meta: unknown, path = 'metadata'): string[] {
  const removed: string[] = [];
  if (!isObj(meta)) return removed;
  pruneKnown(meta, OBJECT_META_FIELDS, path, removed);
  pruneEntries(meta.ownerReferences, OWNER_REFERENCE_FIELDS, `${path}.ownerReferences`, removed);
  pruneEntries(meta.managedFields, MANAGED_FIELDS_ENTRY_FIELDS, `${path}.managedFields`, removed);
  // Go's omitempty: kube never stores or returns empty metadata maps and lists (`kubectl annotate k-`)
  for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields']) {
    const v = meta[key];
    if (v === null || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0))
      delete meta[key];
  }
  return removed;
}

function pruneNode(value: unknown, node: JSONSchema, path: string, removed: string[]): void {
  if (Array.isArray(value)) {
    const items = node.items;
    if (items) value.forEach((v, i) => pruneNode(v, items, `${path}[${i}]`, removed));
    return;
  }
  if (!isObj(value)) return;
  const props = node.properties ?? {};
  const extra = node.additionalProperties;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = node['x-kubernetes-embedded-resource'] === true;
  for (const key of Object.keys(value)) {
    const p = child(path, key);
    if (Object.hasOwn(props, key)) {
      pruneNode(value[key], props[key]!, p, removed);
    } else if (embedded && (key === 'apiVersion' || key === 'kind')) {
      // kept: an embedded object always carries its type
    } else if (embedded && key === 'metadata') {
      removed.push(...pruneObjectMeta(value[key], p));
    } else if (typeof extra === 'object') {
      pruneNode(value[key], extra, p, removed);
    } else if (!(extra === true || preserve)) {
      delete value[key];
      removed.push(p);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Defaulting

function defaultField(obj: Obj, key: string, node: JSONSchema): void {
  const present = Object.hasOwn(obj, key);
  // kube drops nulls of non-nullable fields before defaulting; a default then fills them.
  if (present && obj[key] === null && node.nullable !== true) {
    if (node.default !== undefined) obj[key] = clone(node.default);
    else delete obj[key];
  } else if (!present && node.default !== undefined) {
    obj[key] = clone(node.default);
  }
  if (Object.hasOwn(obj, key)) defaultNode(obj[key], node);
}

function defaultNode(value: unknown, node: JSONSchema): void {
  if (Array.isArray(value)) {
    const items = node.items;
    if (items) for (const v of value) defaultNode(v, items);
    return;
  }
  if (!isObj(value)) return;
  const props = node.properties ?? {};
  for (const [key, prop] of Object.entries(props)) defaultField(value, key, prop);
  const extra = node.additionalProperties;
  if (typeof extra === 'object') {
    for (const key of Object.keys(value)) if (!Object.hasOwn(props, key)) defaultField(value, key, extra);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation

/** The schema as ajv should see it: no annotations, kube extensions turned into plain keywords. */
function toAjvSchema(node: JSONSchema): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) {
    // x-pattern-rule stays: ajv ignores it and hands it back with a pattern error (parentSchema)
    if ((k.startsWith('x-') && k !== 'x-pattern-rule') || k === 'description' || k === 'default') continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(v as Record<string, JSONSchema>).map(([name, s]) => [name, toAjvSchema(s)]),
      );
    } else if (k === 'items') {
      out.items = toAjvSchema(v as JSONSchema);
    } else if (k === 'additionalProperties') {
      out.additionalProperties = typeof v === 'object' ? toAjvSchema(v as JSONSchema) : v;
    } else {
      out[k] = v;
    }
  }
  if (node['x-kubernetes-int-or-string'] === true) out.type = ['integer', 'string'];
  if (node['x-kubernetes-embedded-resource'] === true) {
    out.properties = {
      ...(out.properties as Obj | undefined),
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
    };
    out.required = [...new Set([...((out.required as string[] | undefined) ?? []), 'apiVersion', 'kind'])];
  }
  if (out.nullable === true) {
    if (out.type === undefined)
      delete out.nullable; // no type: null is already allowed
    else if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;

function isCidr(s: string): boolean {
  const [ip, bits, more] = s.split('/');
  if (more !== undefined || ip === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(ip);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

function newAjv(): Ajv {
  // Formats kube checks that our kinds use; unknown formats are ignored like kube does.
  const ajv = new Ajv({ strict: false, allErrors: true, verbose: true, logger: false, unicodeRegExp: false });
  ajv.addFormat('date-time', RFC3339);
  ajv.addFormat('date', DATE);
  ajv.addFormat('byte', BASE64);
  ajv.addFormat('uuid', UUID);
  ajv.addFormat('hostname', HOSTNAME);
  ajv.addFormat('ipv4', (s: string) => isIP(s) === 4);
  ajv.addFormat('ipv6', (s: string) => isIP(s) === 6);
  ajv.addFormat('cidr', isCidr);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  return ajv;
}

/** JSON type name of a value, as kube prints it in type errors. */
function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** `/spec/workers/0/name` -> `spec.workers[0].name`, using the data to tell indices from keys. */
function fieldPath(root: unknown, pointer: string): string {
  if (!pointer) return '';
  let path = '';
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      path = `${path}[${seg}]`;
      cur = cur[Number(seg)];
    } else {
      path = child(path, seg);
      cur = isObj(cur) ? cur[seg] : undefined;
    }
  }
  return path;
}

function enumText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function toFieldError(e: ErrorObject, root: unknown): FieldError {
  const path = fieldPath(root, e.instancePath);
  const data: unknown = e.data;
  const p = e.params as Record<string, unknown>;
  const body = `${path} in body`;
  switch (e.keyword) {
    case 'required':
      return fieldErr.required(child(path, String(p.missingProperty)));
    case 'type': {
      const want = (Array.isArray(p.type) ? p.type : String(p.type).split(','))
        .filter((t: unknown) => t !== 'null')
        .join(',');
      const actual = typeName(data);
      return {
        ...fieldErr.invalid(path, actual, `${body} must be of type ${want}: ${JSON.stringify(actual)}`),
        type: 'FieldValueTypeInvalid',
      };
    }
    case 'enum':
      return fieldErr.notSupported(path, data, (p.allowedValues as unknown[]).filter((v) => v !== null).map(enumText));
    case 'pattern': {
      const rule = (e.parentSchema as JSONSchema | undefined)?.['x-pattern-rule'];
      return fieldErr.invalid(
        path,
        data,
        typeof rule === 'string' ? rule : `${body} should match '${String(p.pattern)}'`,
      );
    }
    case 'format':
      return fieldErr.invalid(
        path,
        data,
        `${body} must be of type ${String(p.format)}: ${JSON.stringify(enumText(data))}`,
      );
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum': {
      const words: Record<string, string> = {
        '>=': 'greater than or equal to',
        '>': 'greater than',
        '<=': 'less than or equal to',
        '<': 'less than',
      };
      return fieldErr.invalid(path, data, `${body} should be ${words[String(p.comparison)]} ${String(p.limit)}`);
    }
    case 'multipleOf':
      return fieldErr.invalid(path, data, `${body} should be a multiple of ${String(p.multipleOf)}`);
    case 'minLength':
      return fieldErr.invalid(path, data, `${body} should be at least ${String(p.limit)} chars long`);
    case 'maxLength':
      return fieldErr.tooLong(path, Number(p.limit));
    case 'minItems':
      return fieldErr.invalid(path, data, `${body} should have at least ${String(p.limit)} items`);
    case 'maxItems':
      return fieldErr.tooMany(path, Number(p.limit));
    case 'minProperties':
      return fieldErr.invalid(path, data, `${body} should have at least ${String(p.limit)} properties`);
    case 'maxProperties':
      return fieldErr.tooMany(path, Number(p.limit));
    case 'uniqueItems':
      return fieldErr.invalid(path, data, `${body} shouldn't contain duplicates`);
    default:
      return fieldErr.invalid(path, data, `${body} ${e.message ?? 'is invalid'}`);
  }
}

/** x-kubernetes-list-type set/map: items (or their keys) must be unique. */
function checkListTypes(value: unknown, node: JSONSchema, path: string, errs: FieldError[]): void {
  if (Array.isArray(value)) {
    const listType = node['x-kubernetes-list-type'];
    const keys = node['x-kubernetes-list-map-keys'];
    const seen = new Set<string>();
    value.forEach((item, i) => {
      let identity: unknown = item;
      if (listType === 'map' && keys && isObj(item)) {
        identity = Object.fromEntries(keys.filter((k) => Object.hasOwn(item, k)).map((k) => [k, item[k]]));
      }
      if (listType === 'set' || (listType === 'map' && keys)) {
        const id = JSON.stringify(identity);
        if (seen.has(id)) errs.push(fieldErr.duplicate(`${path}[${i}]`, identity));
        seen.add(id);
      }
      if (node.items) checkListTypes(item, node.items, `${path}[${i}]`, errs);
    });
    return;
  }
  if (!isObj(value)) return;
  const props = node.properties ?? {};
  const extra = node.additionalProperties;
  for (const [key, v] of Object.entries(value)) {
    if (Object.hasOwn(props, key)) checkListTypes(v, props[key]!, child(path, key), errs);
    else if (typeof extra === 'object') checkListTypes(v, extra, child(path, key), errs);
  }
}

function validateWith(check: ValidateFunction, schema: JSONSchema, obj: unknown): FieldError[] {
  const errs: FieldError[] = [];
  if (!check(obj)) {
    const all = check.errors ?? [];
    // A wrong type makes every other complaint about that value noise (kube reports only the type).
    const badType = new Set(all.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
    for (const e of all) {
      if (e.keyword !== 'type' && badType.has(e.instancePath)) continue;
      errs.push(toFieldError(e, obj));
    }
  }
  checkListTypes(obj, schema, '', errs);
  const seen = new Set<string>();
  return errs.filter((e) => {
    const id = `${e.type}\0${e.field}\0${e.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * Also serves request bodies that are objects but not stored kinds (a subresource's
 * UpgradeRequest): only `schema` is read.
 */
export function compileKindSchema(kind: Pick<KindDefinition, 'schema'>): KindSchema {
  const schema = fullObjectSchema(kind);
  const check = newAjv().compile(toAjvSchema(schema));
  return {
    schema,
    prune(obj) {
      const removed: string[] = [];
      pruneNode(obj, schema, '', removed);
      return removed;
    },
    applyDefaults(obj) {
      defaultNode(obj, schema);
    },
    validate(obj) {
      return validateWith(check, schema, obj);
    },
  };
}
