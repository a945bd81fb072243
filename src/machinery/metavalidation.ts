// ObjectMeta validation for create/update bodies, as k8s.io/apimachinery/pkg/api/validation does it
// (ValidateObjectMetaAccessor), plus the JSON type checks that Go's decoder would have done for us.
import { randomInt } from 'node:crypto';
import { fieldErr, type FieldError } from './errors.js';
import { isDNS1123Label, isDNS1123Subdomain, validateLabelKey, validateLabelValue } from './labels.js';

/** apimachinery's TotalAnnotationSizeLimitB. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** (name, isPrefix) -> kube's detail messages; the prefix form is for generateName. */
export type NameValidator = (name: string, prefix: boolean) => string[];

/** generateName may end in '-'; kube masks it (quirk included: the last two characters become "a"). */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? name.slice(0, -2) + 'a' : name;
}

/** NameIsDNSSubdomain: the default rule for object names (CRDs, most kinds). */
export const nameIsDNSSubdomain: NameValidator = (name, prefix) =>
  isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);

/** NameIsDNSLabel: the rule for Namespace names. */
export const nameIsDNSLabel: NameValidator = (name, prefix) => isDNS1123Label(prefix ? maskTrailingDash(name) : name);

/** ValidateNamespaceName: for the Namespace kind and for namespaces taken from URLs. */
export function validateNamespaceName(name: string, prefix = false): string[] {
  return nameIsDNSLabel(name, prefix);
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The same text a CRD schema check prints for a wrongly typed value. */
function typeError(path: string, value: unknown, expected: string): FieldError {
  const t = jsonType(value);
  return fieldErr.invalid(path, t, `${path} in body must be of type ${expected}: ${JSON.stringify(t)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string field: null/absent reads as "" (Go's zero value). */
function stringField(meta: Record<string, unknown>, key: string, errs: FieldError[]): string {
  const v = meta[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') {
    errs.push(typeError(`metadata.${key}`, v, 'string'));
    return '';
  }
  return v;
}

function stringMap(meta: Record<string, unknown>, key: string, errs: FieldError[]): Record<string, string> {
  const v = meta[key];
  if (v === undefined || v === null) return {};
  if (!isObject(v)) {
    errs.push(typeError(`metadata.${key}`, v, 'object'));
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === 'string') out[k] = val;
    else errs.push(typeError(`metadata.${key}.${k}`, val, 'string'));
  }
  return out;
}

function validateLabels(labels: Record<string, string>, errs: FieldError[]): void {
  for (const [k, v] of Object.entries(labels)) {
    for (const m of validateLabelKey(k)) errs.push(fieldErr.invalid('metadata.labels', k, m));
    for (const m of validateLabelValue(v)) errs.push(fieldErr.invalid('metadata.labels', v, m));
  }
}

function validateAnnotations(annotations: Record<string, string>, errs: FieldError[]): void {
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    // annotation keys are qualified names, case-insensitively
    for (const m of validateLabelKey(k.toLowerCase())) errs.push(fieldErr.invalid('metadata.annotations', k, m));
    size += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) {
    errs.push({
      type: 'FieldValueTooLong',
      field: 'metadata.annotations',
      message: `metadata.annotations: Too long: must have at most ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`,
    });
  }
}

function validateFinalizers(v: unknown, errs: FieldError[]): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) {
    errs.push(typeError('metadata.finalizers', v, 'array'));
    return;
  }
  const seen = new Set<string>();
  v.forEach((f, i) => {
    if (typeof f !== 'string') {
      errs.push(typeError(`metadata.finalizers[${i}]`, f, 'string'));
      return;
    }
    for (const m of validateLabelKey(f)) errs.push(fieldErr.invalid('metadata.finalizers', f, m));
    if (seen.has(f)) errs.push(fieldErr.duplicate(`metadata.finalizers[${i}]`, f));
    seen.add(f);
  });
  if (seen.has('orphan') && seen.has('foregroundDeletion')) {
    errs.push(fieldErr.invalid('metadata.finalizers', v, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
}

/** schema.ParseGroupVersion's version part; '' when apiVersion is malformed. */
function versionOf(apiVersion: string): string {
  const parts = apiVersion.split('/');
  if (parts.length === 1) return parts[0];
  if (parts.length === 2) return parts[1];
  return '';
}

function validateOwnerReferences(v: unknown, errs: FieldError[]): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) {
    errs.push(typeError('metadata.ownerReferences', v, 'array'));
    return;
  }
  const base = 'metadata.ownerReferences';
  let firstController = '';
  v.forEach((ref, i) => {
    if (!isObject(ref)) {
      errs.push(typeError(`${base}[${i}]`, ref, 'object'));
      return;
    }
    const str = (key: string): string => {
      const x = ref[key];
      if (x === undefined || x === null) return '';
      if (typeof x === 'string') return x;
      errs.push(typeError(`${base}[${i}].${key}`, x, 'string'));
      return '';
    };
    const apiVersion = str('apiVersion');
    const kind = str('kind');
    const name = str('name');
    const uid = str('uid');
    for (const key of ['controller', 'blockOwnerDeletion']) {
      const x = ref[key];
      if (x !== undefined && x !== null && typeof x !== 'boolean')
        errs.push(typeError(`${base}[${i}].${key}`, x, 'boolean'));
    }
    // kube reports these without the list index
    if (versionOf(apiVersion) === '')
      errs.push(fieldErr.invalid(`${base}.apiVersion`, apiVersion, 'version must not be empty'));
    if (kind === '') errs.push(fieldErr.invalid(`${base}.kind`, kind, 'kind must not be empty'));
    if (name === '') errs.push(fieldErr.invalid(`${base}.name`, name, 'name must not be empty'));
    if (uid === '') errs.push(fieldErr.invalid(`${base}.uid`, uid, 'uid must not be empty'));
    if (apiVersion === 'v1' && kind === 'Event')
      errs.push(fieldErr.invalid(base, ref, '/v1, Kind=Event is disallowed from being an owner'));
    if (ref.controller === true) {
      const cur = `${kind}/${name}`;
      if (firstController) {
        errs.push(
          fieldErr.invalid(
            base,
            v,
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`,
          ),
        );
      } else {
        firstController = cur;
      }
    }
  });
}

function integerField(meta: Record<string, unknown>, key: string, errs: FieldError[]): number | undefined {
  const v = meta[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    errs.push(typeError(`metadata.${key}`, v, 'integer'));
    return undefined;
  }
  return v;
}

export interface ObjectMetaValidationOptions {
  namespaced: boolean;
  /** defaults to nameIsDNSSubdomain */
  nameValidator?: NameValidator;
}

/**
 * Validates `metadata` of a create/update body. Call it after the namespace from the URL has been
 * filled in (namespaced) or cleared (cluster-scoped), as kube-apiserver does.
 */
export function validateObjectMeta(meta: unknown, opts: ObjectMetaValidationOptions): FieldError[] {
  if (meta === undefined || meta === null) meta = {};
  if (!isObject(meta)) return [typeError('metadata', meta, 'object')];
  const errs: FieldError[] = [];
  const nameFn = opts.nameValidator ?? nameIsDNSSubdomain;

  const name = stringField(meta, 'name', errs);
  const generateName = stringField(meta, 'generateName', errs);
  const namespace = stringField(meta, 'namespace', errs);
  for (const key of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'selfLink'])
    stringField(meta, key, errs);

  if (generateName)
    for (const m of nameFn(generateName, true)) errs.push(fieldErr.invalid('metadata.generateName', generateName, m));
  if (!name) {
    if (!generateName) errs.push(fieldErr.required('metadata.name', 'name or generateName is required'));
  } else {
    for (const m of nameFn(name, false)) errs.push(fieldErr.invalid('metadata.name', name, m));
  }

  if (opts.namespaced) {
    if (!namespace) errs.push(fieldErr.required('metadata.namespace'));
    else
      for (const m of validateNamespaceName(namespace)) errs.push(fieldErr.invalid('metadata.namespace', namespace, m));
  } else if (namespace) {
    errs.push(fieldErr.forbidden('metadata.namespace', 'not allowed on this type'));
  }

  const generation = integerField(meta, 'generation', errs);
  if (generation !== undefined && generation < 0)
    errs.push(fieldErr.invalid('metadata.generation', generation, 'must be greater than or equal to 0'));
  integerField(meta, 'deletionGracePeriodSeconds', errs);

  validateLabels(stringMap(meta, 'labels', errs), errs);
  validateAnnotations(stringMap(meta, 'annotations', errs), errs);
  validateOwnerReferences(meta.ownerReferences, errs);
  validateFinalizers(meta.finalizers, errs);
  if (meta.managedFields !== undefined && meta.managedFields !== null && !Array.isArray(meta.managedFields)) {
    errs.push(typeError('metadata.managedFields', meta.managedFields, 'array'));
  }
  return errs;
}

const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** 5 random characters as kube's SimpleNameGenerator makes them (no vowels, no confusable digits). */
export function generateNameSuffix(): string {
  let s = '';
  for (let k = 0; k < 5; k++) s += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return s;
}

/** metadata.generateName -> a concrete name: prefix cut to 58 characters, then the random suffix. */
export function nameFromGenerateName(prefix: string): string {
  return prefix.slice(0, 58) + generateNameSuffix();
}
