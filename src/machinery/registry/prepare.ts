// The steps every write shares, in kube-apiserver's order: decode checks, field validation
// (prune + Strict/Warn/Ignore), defaulting, validation. Pure: no storage here.
import { badRequest, fieldErr, invalid, StatusError, type FieldError } from '../errors.js';
import { groupVersion, type KindDefinition, type KubeObject } from '../kind.js';
import { validateObjectMeta } from '../metavalidation.js';
import { compileKindSchema, pruneObjectMeta, type KindSchema } from '../schema.js';
import type { RequestContext } from './context.js';

/** A request body after parsing: the value plus duplicate keys the parser saw. */
export interface DecodedBody {
  value: unknown;
  duplicates: string[];
}

const schemas = new WeakMap<KindDefinition, KindSchema>();

export function kindSchema(kind: KindDefinition): KindSchema {
  let s = schemas.get(kind);
  if (!s) {
    s = compileKindSchema(kind);
    schemas.set(kind, s);
  }
  return s;
}

export function resourceRef(kind: KindDefinition) {
  return { group: kind.group, resource: kind.plural, kind: kind.kind };
}

/**
 * Checks the body is an object of this kind and applies fieldValidation: unknown fields are
 * pruned and, with duplicates, rejected (Strict), reported as warnings (Warn) or dropped (Ignore).
 */
export function decodeBody(kind: KindDefinition, body: DecodedBody, ctx: RequestContext): KubeObject {
  const v = body.value;
  const gv = groupVersion(kind);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw badRequest(`the body of the request must be a JSON or YAML object of kind ${kind.kind}`);
  }
  const obj = v as Record<string, unknown>;
  if (obj.apiVersion === undefined || obj.apiVersion === '') {
    throw badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(obj).slice(0, 200)}'`);
  }
  if (obj.kind === undefined || obj.kind === '') {
    throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(obj).slice(0, 200)}'`);
  }
  if (obj.apiVersion !== gv) {
    throw badRequest(
      `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${gv})`,
    );
  }
  if (obj.kind !== kind.kind) {
    throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${kind.kind})`);
  }
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
    throw cannotHandle(kind, 'metadata: expected an object');
  }
  const unknown = [...pruneObjectMeta(obj.metadata as Record<string, unknown>), ...kindSchema(kind).prune(obj)];
  const problems = [
    ...unknown.map((p) => `unknown field "${p}"`),
    ...body.duplicates.map((p) => `duplicate field "${p}"`),
  ];
  if (problems.length > 0) {
    if (ctx.fieldValidation === 'Strict') {
      throw cannotHandle(kind, `strict decoding error: ${problems.join(', ')}`);
    }
    if (ctx.fieldValidation === 'Warn') ctx.warnings.push(...problems);
  }
  return obj as KubeObject;
}

function cannotHandle(kind: KindDefinition, detail: string): StatusError {
  return badRequest(`${kind.kind} in version "${kind.version}" cannot be handled as a ${kind.kind}: ${detail}`);
}

/** defaulting then validation of metadata, schema and the kind's semantic rules */
export function defaultAndValidate(kind: KindDefinition, obj: KubeObject, old?: KubeObject): void {
  const schema = kindSchema(kind);
  schema.applyDefaults(obj);
  const errors: FieldError[] = [
    ...validateObjectMeta(obj.metadata, { namespaced: kind.namespaced }),
    ...schema.validate(obj),
  ];
  if (errors.length === 0) {
    errors.push(...(kind.strategy.validate?.(obj) ?? []));
    if (old) errors.push(...(kind.strategy.validateUpdate?.(obj, old) ?? []));
  }
  if (old) errors.push(...validateMetaUpdate(obj, old));
  if (errors.length > 0) throw invalid(resourceRef(kind), obj.metadata.name ?? obj.metadata.generateName ?? '', errors);
}

function validateMetaUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (old.metadata.deletionTimestamp) {
    const before = new Set(old.metadata.finalizers ?? []);
    // finalizers that are not a list are reported by the metadata validation; here they add nothing
    const now: unknown = obj.metadata.finalizers;
    const added = (Array.isArray(now) ? now : []).filter((f) => !before.has(f));
    if (added.length > 0) {
      errs.push(
        fieldErr.forbidden(
          'metadata.finalizers',
          `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
        ),
      );
    }
  }
  return errs;
}

/** the parts of an object whose change moves metadata.generation */
export function specOf(kind: KindDefinition, obj: KubeObject): string {
  const { metadata: _m, status, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(kind.statusSubresource ? rest : { ...rest, status });
}
