// Encodes a Swagger 2.0 document (the JSON value /openapi/v2 serves) as gnostic's
// openapi.v2.Document message, the protobuf form kubectl 1.27 and 1.28 ask for. Field order is
// field-number order, as protobuf runtimes write it, so the bytes are deterministic.
//
// Nothing is dropped silently: a key the message has no field for (say `oneOf`, which Swagger
// 2.0 does not know) is an error naming its place in the document. What proto3 itself cannot
// carry is the one loss: a scalar field at its zero value (`minimum: 0`, `required: false`,
// `description: ""`) and an empty list (`parameters: []`) read back as absent, exactly as in
// kube-apiserver's own protobuf form.
//
// Values of `default`, `enum`, `example` and of every `x-*` vendor extension are an
// openapi.v2.Any whose `yaml` field holds the value as JSON text: JSON is the part of YAML that
// YAML 1.1 readers (client-go reads these with yaml.v2) and YAML 1.2 readers read alike, since
// every string in it is quoted.
import { internalError } from './errors.js';
import { parseMediaTypes } from './negotiate.js';
import { MESSAGES, type FieldType, type MessageSpec } from './openapi-v2-messages.js';
import { ProtoWriter } from './protowire.js';

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
/** the older spelling, which client-go's discovery client sends; answered as OPENAPI_V2_PROTOBUF, as kube does */
const OPENAPI_V2_PROTOBUF_AT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/** what /openapi/v2 can answer, in the order kube-openapi tries them against each Accept alternative */
const OPENAPI_V2_FORMATS: [string, 'json' | 'protobuf'][] = [
  ['application/json', 'json'],
  [OPENAPI_V2_PROTOBUF_AT, 'protobuf'],
  [OPENAPI_V2_PROTOBUF, 'protobuf'],
];

/**
 * kube-openapi's choice for /openapi/v2: no Accept means JSON; otherwise the best alternative
 * (highest q, then the more specific) that names one of the formats, trying JSON first, so
 * `*\/*` and `application/*` get JSON. Media type parameters do not matter. Unlike kube, q=0
 * refuses a type. Undefined: nothing acceptable (406).
 */
export function pickOpenAPIV2Format(accept: string | undefined): 'json' | 'protobuf' | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  const wildcards = (c: { type: string; subtype: string }) => (c.type === '*' ? 2 : c.subtype === '*' ? 1 : 0);
  const clauses = parseMediaTypes(accept)
    .filter((c) => c.q > 0)
    .sort((a, b) => b.q - a.q || wildcards(a) - wildcards(b));
  for (const c of clauses) {
    for (const [mediaType, format] of OPENAPI_V2_FORMATS) {
      const [type, subtype] = mediaType.split('/');
      if ((c.type === '*' || c.type === type) && (c.subtype === '*' || c.subtype === subtype)) return format;
    }
  }
  return undefined;
}

const ANY_YAML_FIELD = 2;
const NAMED_NAME_FIELD = 1;
const NAMED_VALUE_FIELD = 2;

type JSONObject = Record<string, unknown>;

function isObject(v: unknown): v is JSONObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unencodable(path: string, why: string): never {
  throw internalError(`the OpenAPI v2 document cannot be encoded as protobuf: ${path}: ${why}`);
}

/** JSON Pointer escaping (RFC 6901), so that paths with `/` in keys stay readable */
function child(path: string, key: string | number): string {
  return `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function spec(name: string): MessageSpec {
  const s = MESSAGES[name];
  if (!s) throw internalError(`openapi.v2 message ${name} is not described`);
  return s;
}

/** An object message's fields in field-number order; the vendor extensions as key `null`. */
const fieldOrder = new WeakMap<MessageSpec, [string | null, number, FieldType | null][]>();
function orderOf(s: Extract<MessageSpec, { kind: 'object' }>): [string | null, number, FieldType | null][] {
  let order = fieldOrder.get(s);
  if (!order) {
    order = Object.entries(s.fields).map(([k, [n, t]]): [string | null, number, FieldType | null] => [k, n, t]);
    if (s.extensions !== undefined) order.push([null, s.extensions, null]);
    order.sort((a, b) => a[1] - b[1]);
    fieldOrder.set(s, order);
  }
  return order;
}

function writeAny(w: ProtoWriter, field: number, value: unknown): void {
  // undefined (a hole in a TypeScript-built array) is what JSON.stringify writes as null
  w.message(field, () => w.string(ANY_YAML_FIELD, JSON.stringify(value ?? null)));
}

function writeNamed(w: ProtoWriter, field: number, name: string, type: FieldType, value: unknown, path: string) {
  w.message(field, () => {
    if (name !== '') w.string(NAMED_NAME_FIELD, name);
    writeField(w, NAMED_VALUE_FIELD, type, value, path, false);
  });
}

function arrayAt(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) unencodable(path, 'expected an array');
  return value;
}

/** proto3: a scalar at its zero value is not written, unless it is the member a oneof holds */
function writeField(w: ProtoWriter, field: number, type: FieldType, value: unknown, path: string, always: boolean) {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') unencodable(path, 'expected a string');
      if (value !== '' || always) w.string(field, value);
      return;
    case 'bool':
      if (typeof value !== 'boolean') unencodable(path, 'expected a boolean');
      if (value || always) w.bool(field, value);
      return;
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value)) unencodable(path, 'expected a number');
      if (!Object.is(value, 0) || always) w.double(field, value);
      return;
    case 'int64':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) unencodable(path, 'expected an integer');
      if (value !== 0 || always) w.int64(field, value);
      return;
    case 'strings':
      arrayAt(value, path).forEach((v, i) => writeField(w, field, 'string', v, child(path, i), true));
      return;
    case 'any':
      writeAny(w, field, value);
      return;
    case 'anys':
      for (const v of arrayAt(value, path)) writeAny(w, field, v);
      return;
  }
  if ('repeated' in type) {
    const name = type.repeated;
    arrayAt(value, path).forEach((v, i) => w.message(field, () => writeMessage(w, name, v, child(path, i))));
    return;
  }
  w.message(field, () => writeMessage(w, type.message, value, path));
}

/** the fields of message `name` for `value`, into the message `w` is writing */
function writeMessage(w: ProtoWriter, name: string, value: unknown, path: string): void {
  const s = spec(name);
  switch (s.kind) {
    case 'object':
      return writeObject(w, name, s, value, path);
    case 'map':
      return writeMap(w, name, s, value, path);
    case 'oneof': {
      const member = s.choose(value);
      if (!member) unencodable(path, `no member of ${name} fits this value`);
      return writeField(w, member[0], member[1], value, path, true);
    }
    case 'list': {
      if (!Array.isArray(value) && !s.acceptsSingle) unencodable(path, 'expected an array');
      const items = Array.isArray(value) ? value : [value];
      items.forEach((v, i) => writeField(w, s.field, s.item, v, Array.isArray(value) ? child(path, i) : path, true));
      return;
    }
  }
}

function writeObject(
  w: ProtoWriter,
  name: string,
  s: Extract<MessageSpec, { kind: 'object' }>,
  value: unknown,
  path: string,
): void {
  if (!isObject(value)) unencodable(path, `${name} must be an object`);
  for (const k of Object.keys(value)) {
    if (Object.hasOwn(s.fields, k)) continue;
    if (s.extensions !== undefined && k.startsWith('x-')) continue;
    unencodable(child(path, k), `${name} has no field for "${k}"`);
  }
  for (const [k, field, type] of orderOf(s)) {
    if (k === null) {
      for (const [ext, v] of Object.entries(value)) {
        if (ext.startsWith('x-') && v !== undefined) writeNamed(w, field, ext, 'any', v, child(path, ext));
      }
    } else if (type && Object.hasOwn(value, k) && value[k] !== undefined) {
      writeField(w, field, type, value[k], child(path, k), false);
    }
  }
}

function writeMap(
  w: ProtoWriter,
  name: string,
  s: Extract<MessageSpec, { kind: 'map' }>,
  value: unknown,
  path: string,
): void {
  if (!isObject(value)) unencodable(path, `${name} must be an object`);
  const isExtension = (k: string) => s.extensions !== undefined && k.startsWith('x-');
  const write = (extensions: boolean) => {
    for (const [k, v] of Object.entries(value)) {
      if (isExtension(k) !== extensions || v === undefined) continue;
      if (extensions) writeNamed(w, s.extensions!, k, 'any', v, child(path, k));
      else writeNamed(w, s.entries, k, s.value, v, child(path, k));
    }
  };
  // field-number order: the vendor extensions come first where their field number is lower
  const extensionsFirst = s.extensions !== undefined && s.extensions < s.entries;
  write(extensionsFirst);
  write(!extensionsFirst);
}

/** The protobuf bytes of a Swagger 2.0 document. Throws an internal error for what it cannot carry. */
export function openapiV2Protobuf(document: unknown): Buffer {
  const w = new ProtoWriter();
  writeMessage(w, 'Document', document, '#');
  return w.finish();
}
