// Small builders over TypeBox so each kind's schema reads like its documentation and still gives
// a TS type through Static<>. Everything here produces structural OpenAPI v3 only: no anyOf/oneOf/
// allOf/not, no patternProperties, no $ref (TypeBox's Union and Record produce those, so they are
// never used), and every property carries a description for `kubectl explain`.
import { Type, type Static, type TSchema, type TObject, type TProperties, type TUnsafe } from '@sinclair/typebox';
import type { JSONSchema, KindDefinition, PrinterColumn } from '../machinery/kind.js';

export { Type, type Static };

type Opts = Omit<JSONSchema, 'type' | 'properties' | 'items' | 'required' | 'description'>;

export type ListType =
  | { 'x-kubernetes-list-type': 'atomic' }
  | { 'x-kubernetes-list-type': 'set' }
  | { 'x-kubernetes-list-type': 'map'; 'x-kubernetes-list-map-keys': string[] };

export const atomicList: ListType = { 'x-kubernetes-list-type': 'atomic' };
export const setList: ListType = { 'x-kubernetes-list-type': 'set' };
export function mapList(...keys: string[]): ListType {
  return { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys };
}

export function Str(description: string, opts: Opts = {}) {
  return Type.String({ ...opts, description });
}

/** RFC 3339 timestamp, as metav1.Time / MicroTime serialize. */
export function DateTime(description: string) {
  return Type.String({ description, format: 'date-time' });
}

export function Int(description: string, opts: Opts = {}) {
  return Type.Integer({ ...opts, description });
}

export function Bool(description: string, opts: Opts = {}) {
  return Type.Boolean({ ...opts, description });
}

/** A string restricted to `values`; a plain enum, because TypeBox unions become anyOf. */
export function Enum<const V extends string>(values: readonly V[], description: string, opts: Opts = {}): TUnsafe<V> {
  return Type.Unsafe<V>({ ...opts, type: 'string', enum: [...values], description });
}

export function Obj<P extends TProperties>(
  properties: P,
  description: string,
  opts: Omit<Opts, 'additionalProperties'> = {},
) {
  return Type.Object(properties, { ...opts, description });
}

/** A list; the list type (atomic, set, or map with keys) is mandatory so merges stay well defined. */
export function List<T extends TSchema>(items: T, description: string, listType: ListType, opts: Opts = {}) {
  return Type.Array(items, { ...opts, ...listType, description });
}

export function StringList(description: string, listType: ListType = atomicList) {
  return Type.Array(Type.String(), { ...listType, description });
}

/** map[string]string: additionalProperties, never Type.Record (its patternProperties are not structural). */
export function StringMap(description = 'Map of string keys and values.') {
  return Type.Unsafe<Record<string, string>>({
    type: 'object',
    additionalProperties: { type: 'string' },
    description,
  });
}

/** Any JSON value, kept as sent (no type, so scalars and lists are allowed too). */
export function FreeForm(description: string) {
  return Type.Unsafe<unknown>({ 'x-kubernetes-preserve-unknown-fields': true, description });
}

/** A JSON object whose fields are not declared and are kept as sent. */
export function FreeFormObject(description: string) {
  return Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    description,
  });
}

export const Opt = Type.Optional;

// ---- shared sub-types -------------------------------------------------------------------------

/** Cluster API style condition (sigs.k8s.io/cluster-api v1beta1 Condition). */
export const Condition = Type.Object(
  {
    type: Str('Type of condition in CamelCase, e.g. Ready.', { minLength: 1, maxLength: 256 }),
    status: Enum(['True', 'False', 'Unknown'] as const, 'Status of the condition: True, False or Unknown.'),
    severity: Opt(
      Str('How severe a False status is: Error, Warning or Info. Empty when status is True.', {
        maxLength: 32,
      }),
    ),
    lastTransitionTime: DateTime('Last time the condition changed status.'),
    reason: Opt(Str('One-word CamelCase reason for the last transition.', { minLength: 1, maxLength: 256 })),
    message: Opt(Str('Human-readable details about the last transition.', { minLength: 1, maxLength: 10240 })),
  },
  { description: 'Condition defines an observation of the object at one point in time.' },
);
export type Condition = Static<typeof Condition>;

export function Conditions(description = 'Current service state of the object, one entry per condition type.') {
  return List(Condition, description, mapList('type'));
}

/** corev1.ObjectReference; atomic, replaced as a whole by merges. */
export function ObjectReference(description: string) {
  return Type.Object(
    {
      apiVersion: Opt(Str('API version of the referent.')),
      kind: Opt(Str('Kind of the referent.')),
      name: Opt(Str('Name of the referent.')),
      namespace: Opt(Str('Namespace of the referent.')),
      uid: Opt(Str('UID of the referent.')),
      resourceVersion: Opt(Str('Specific resourceVersion of the referent this reference is made to.')),
      fieldPath: Opt(
        Str('A path within the referent, e.g. spec.containers{name}, when the reference is to part of an object.'),
      ),
    },
    { description, 'x-kubernetes-map-type': 'atomic' },
  );
}
export type ObjectReference = Static<ReturnType<typeof ObjectReference>>;

/** corev1.NodeAddress */
export const NodeAddress = Type.Object(
  {
    type: Str('Address type: InternalIP, ExternalIP, Hostname, InternalDNS or ExternalDNS.'),
    address: Str('The address value.'),
  },
  { description: 'An address of a node.' },
);
export type NodeAddress = Static<typeof NodeAddress>;

export function NodeAddresses(description: string) {
  return List(NodeAddress, description, mapList('type', 'address'));
}

export const jsonPatchOps = ['add', 'remove', 'replace', 'copy', 'move', 'test'] as const;

/** One RFC 6902 operation applied to a generated Talos machine config. */
export const ConfigPatch = Type.Object(
  {
    op: Enum(jsonPatchOps, 'RFC 6902 operation: add, remove, replace, copy, move or test.'),
    path: Str('JSON pointer (RFC 6901) to the target location in the machine config.'),
    value: Opt(FreeForm('Value for add, replace and test; any JSON value.')),
  },
  { description: 'An RFC 6902 JSON patch operation on the Talos machine config.' },
);
export type ConfigPatch = Static<typeof ConfigPatch>;

export function ConfigPatches(description: string) {
  return List(ConfigPatch, description, atomicList);
}

export function StrategicPatches(description: string) {
  return StringList(description, atomicList);
}

// ---- kind plumbing ----------------------------------------------------------------------------

export const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  jsonPath: '.metadata.creationTimestamp',
};

export function column(
  name: string,
  jsonPath: string,
  type: PrinterColumn['type'],
  description: string,
  priority = 0,
): PrinterColumn {
  return { name, type, description, priority, jsonPath };
}

/**
 * The plain-JSON form of a TypeBox object schema, as KindDefinition wants it. TypeBox keeps
 * bookkeeping under symbol keys; a JSON round trip drops them, so the machinery sees only
 * the structural schema.
 */
export function kindSchema(schema: TObject): KindDefinition['schema'] {
  return JSON.parse(JSON.stringify(schema)) as KindDefinition['schema'];
}
