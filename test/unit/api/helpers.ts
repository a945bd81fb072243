// Shared by the api unit tests: validate objects against a kind's schema with ajv the way the
// machinery does (strict:false, allErrors, useDefaults), and walk schemas.
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import type { JSONSchema, KindDefinition, KubeObject } from '../../../src/machinery/kind.js';
import type { FieldError } from '../../../src/machinery/errors.js';

function newAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true });
  // Formats the schemas use; ajv without ajv-formats would only warn and skip them.
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  return ajv;
}

const compiled = new Map<KindDefinition, ValidateFunction>();

export interface Checked {
  valid: boolean;
  /** ajv errors as `instancePath keyword` strings, e.g. `/spec/talos required` */
  errors: string[];
  /** the object after defaulting */
  obj: KubeObject;
}

/** Schema validation (with defaulting, on a copy) of `obj` against `kind`. */
export function check(kind: KindDefinition, obj: unknown): Checked {
  let validate = compiled.get(kind);
  if (!validate) {
    validate = newAjv().compile(kind.schema);
    compiled.set(kind, validate);
  }
  const copy = structuredClone(obj) as KubeObject;
  const valid = validate(copy);
  const errors = (validate.errors ?? []).map(
    (e) => `${e.instancePath} ${e.keyword}${e.keyword === 'required' ? ` ${String(e.params.missingProperty)}` : ''}`,
  );
  return { valid, errors, obj: copy };
}

/** Schema validation plus the kind's strategy.validate; what a create would reject. */
export function createErrors(kind: KindDefinition, obj: unknown): { schema: string[]; strategy: FieldError[] } {
  const c = check(kind, obj);
  return { schema: c.errors, strategy: kind.strategy.validate?.(c.obj) ?? [] };
}

export function yamlDoc(text: string): KubeObject {
  return parse(text) as KubeObject;
}

export interface Visit {
  node: JSONSchema;
  path: string;
  /** the node is a named property of an object (as opposed to the root or list items) */
  isProperty: boolean;
}

export function walk(schema: JSONSchema, visit: (v: Visit) => void, path = '', isProperty = false): void {
  visit({ node: schema, path, isProperty });
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    walk(child, visit, `${path}.${name}`, true);
  }
  if (schema.items) walk(schema.items, visit, `${path}[]`);
  if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, visit, `${path}{}`);
}
