// kube-apiserver's check of a CustomResourceDefinition's defaults, offline (no kube-apiserver runs
// on the test machine). When a CRD is created or updated, apiextensions-apiserver walks every
// schema node that carries a `default` and requires the default, exactly as written, to be
//   - pruned: pruning it with the node's schema removes nothing (unknown fields are refused unless
//     x-kubernetes-preserve-unknown-fields keeps them), and
//   - valid against the node: types (null only where nullable), required properties, enums,
//     formats, lengths, bounds, patterns, item and property counts, allOf/anyOf/oneOf/not.
// Nested defaults are NOT applied to a default before it is judged: `default: {}` on an object
// that requires a property fails even when that property has a default of its own. This is the
// rule that refused `servers.metal.sidero.dev` (`properties[spec].default.accepted: Required value`).

export type Schema = Record<string, any>;

export interface DefaultProblem {
  /** kube's field path of the refused value, e.g. `openAPIV3Schema.properties[spec].default.accepted` */
  field: string;
  /** as kube-apiserver words it: `Required value`, `Invalid value: ...` */
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** kube prints values in its messages as Go's %v of JSON would: strings quoted */
const shown = (v: unknown): string => JSON.stringify(v) ?? String(v);

/**
 * The fields pruning would drop from `value` under `schema`, as paths below `at`: properties the
 * schema does not declare, unless additionalProperties or x-kubernetes-preserve-unknown-fields
 * allows them (an embedded resource keeps apiVersion, kind and metadata).
 */
function unknownFields(value: unknown, schema: Schema | undefined, at: string): string[] {
  if (!schema) return [];
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownFields(item, schema.items, `${at}[${i}]`));
  if (!isObject(value)) return [];
  const out: string[] = [];
  const properties: Record<string, Schema> = schema.properties ?? {};
  const additional = schema.additionalProperties;
  for (const [key, child] of Object.entries(value)) {
    const path = `${at}.${key}`;
    if (key in properties) out.push(...unknownFields(child, properties[key], path));
    else if (isObject(additional)) out.push(...unknownFields(child, additional, path));
    else if (additional === true || schema['x-kubernetes-preserve-unknown-fields'] === true) continue;
    else if (schema['x-kubernetes-embedded-resource'] === true && ['apiVersion', 'kind', 'metadata'].includes(key))
      continue;
    else out.push(path);
  }
  return out;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** the formats kube-openapi's default registry checks; others are documentation only */
function formatProblem(format: string, value: unknown): boolean {
  if (typeof value === 'string') {
    if (format === 'date-time') return !RFC3339.test(value) || Number.isNaN(Date.parse(value));
    if (format === 'byte') return !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0;
    return false;
  }
  if (typeof value === 'number') {
    if (format === 'int32') return value < -(2 ** 31) || value > 2 ** 31 - 1;
    if (format === 'int64') return !Number.isSafeInteger(value);
  }
  return false;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    default:
      return false;
  }
}

/** every way `value` fails `schema`'s value validations, in kube's words, paths below `at` */
export function valueProblems(value: unknown, schema: Schema, at: string): DefaultProblem[] {
  const problems: DefaultProblem[] = [];
  const invalid = (why: string, path = at) =>
    problems.push({ field: path, message: `Invalid value: ${shown(value)}: ${why}` });

  if (value === null) {
    if (schema.nullable !== true && schema.type !== undefined) invalid(`must be of type ${schema.type}`);
    return problems;
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))))
      invalid('must be an integer or a string');
  } else if (typeof schema.type === 'string' && !typeMatches(schema.type, value)) {
    invalid(`must be of type ${schema.type}`);
    return problems;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => deepEqual(e, value))) {
    problems.push({
      field: at,
      message: `Unsupported value: ${shown(value)}: supported values: ${schema.enum.map(shown).join(', ')}`,
    });
  }
  if (typeof schema.format === 'string' && formatProblem(schema.format, value))
    invalid(`must be of format ${schema.format}`);

  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema.maxLength === 'number' && length > schema.maxLength)
      invalid(`must have at most ${schema.maxLength} characters`);
    if (typeof schema.minLength === 'number' && length < schema.minLength)
      invalid(`must have at least ${schema.minLength} characters`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
      invalid(`must match '${schema.pattern}'`);
  }
  if (typeof value === 'number') {
    const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = schema;
    if (typeof minimum === 'number' && (exclusiveMinimum === true ? value <= minimum : value < minimum))
      invalid(`must be greater than ${exclusiveMinimum === true ? '' : 'or equal to '}${minimum}`);
    if (typeof maximum === 'number' && (exclusiveMaximum === true ? value >= maximum : value > maximum))
      invalid(`must be less than ${exclusiveMaximum === true ? '' : 'or equal to '}${maximum}`);
    if (typeof multipleOf === 'number' && multipleOf > 0 && !Number.isInteger(value / multipleOf))
      invalid(`must be a multiple of ${multipleOf}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
      invalid(`must have at most ${schema.maxItems} items`);
    if (typeof schema.minItems === 'number' && value.length < schema.minItems)
      invalid(`must have at least ${schema.minItems} items`);
    if (schema.uniqueItems === true && value.some((v, i) => value.findIndex((w) => deepEqual(v, w)) !== i))
      invalid('must not hold duplicate items');
    if (isObject(schema.items))
      value.forEach((item, i) => problems.push(...valueProblems(item, schema.items, `${at}[${i}]`)));
  }
  if (isObject(value)) {
    const count = Object.keys(value).length;
    if (typeof schema.maxProperties === 'number' && count > schema.maxProperties)
      invalid(`must have at most ${schema.maxProperties} properties`);
    if (typeof schema.minProperties === 'number' && count < schema.minProperties)
      invalid(`must have at least ${schema.minProperties} properties`);
    for (const name of (schema.required ?? []) as string[])
      if (!(name in value)) problems.push({ field: `${at}.${name}`, message: 'Required value' });
    const properties: Record<string, Schema> = schema.properties ?? {};
    for (const [key, child] of Object.entries(value)) {
      if (key in properties) problems.push(...valueProblems(child, properties[key]!, `${at}.${key}`));
      else if (isObject(schema.additionalProperties))
        problems.push(...valueProblems(child, schema.additionalProperties, `${at}.${key}`));
    }
  }
  // the value validations a structural schema may add beside its structure
  for (const sub of (schema.allOf ?? []) as Schema[]) problems.push(...valueProblems(value, sub, at));
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s: Schema) => valueProblems(value, s, at).length === 0))
    invalid('must validate against at least one schema of anyOf');
  if (
    Array.isArray(schema.oneOf) &&
    schema.oneOf.filter((s: Schema) => valueProblems(value, s, at).length === 0).length !== 1
  )
    invalid('must validate against exactly one schema of oneOf');
  if (isObject(schema.not) && valueProblems(value, schema.not, at).length === 0)
    invalid('must not validate against not');
  return problems;
}

/** the problems of the default on one node (none when it has no default) */
function defaultProblems(schema: Schema, at: string): DefaultProblem[] {
  if (!('default' in schema)) return [];
  const value: unknown = schema.default;
  const path = `${at}.default`;
  const problems: DefaultProblem[] = [];
  if (unknownFields(value, schema, path).length > 0)
    problems.push({ field: path, message: `Invalid value: ${shown(value)}: must not have unknown fields` });
  problems.push(...valueProblems(value, schema, path));
  return problems;
}

/**
 * Every default in an `openAPIV3Schema` that kube-apiserver would refuse, named by kube's field
 * path (`openAPIV3Schema.properties[spec].default.accepted`). Walks properties and items as kube
 * does, and additionalProperties too: kube skips defaults there, but such a default is applied to
 * every value of the map, so it must be valid as well.
 */
export function crdDefaultProblems(schema: Schema, at = 'openAPIV3Schema'): DefaultProblem[] {
  const problems = defaultProblems(schema, at);
  if (isObject(schema.items)) problems.push(...crdDefaultProblems(schema.items, `${at}.items`));
  if (isObject(schema.additionalProperties))
    problems.push(...crdDefaultProblems(schema.additionalProperties, `${at}.additionalProperties`));
  for (const [key, child] of Object.entries((schema.properties ?? {}) as Record<string, Schema>))
    problems.push(...crdDefaultProblems(child, `${at}.properties[${key}]`));
  return problems;
}

/** how many schema nodes carry a default: a check that walked nothing would pass vacuously */
export function countDefaults(schema: Schema): number {
  let n = 'default' in schema ? 1 : 0;
  if (isObject(schema.items)) n += countDefaults(schema.items);
  if (isObject(schema.additionalProperties)) n += countDefaults(schema.additionalProperties);
  for (const child of Object.values((schema.properties ?? {}) as Record<string, Schema>)) n += countDefaults(child);
  return n;
}
