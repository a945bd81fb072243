// What a kind declares (src/api/<kind>.ts) and all the generic machinery needs to serve it.
// Like sample-apiserver: names, scope, one schema, printer columns, selectable fields, a strategy.
import type { FieldError } from './errors.js';
import type { ProtoMessage } from './protobuf.js';

/** A structural OpenAPI v3 schema node (the subset CRDs allow, plus x-kubernetes-* extensions). */
export interface JSONSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  additionalProperties?: JSONSchema | boolean;
  items?: JSONSchema;
  enum?: unknown[];
  pattern?: string;
  /**
   * what a value matching `pattern` is, in words (`must be an RFC 1123 label`): a mismatch is
   * reported with it instead of the regex, which says little to a person
   */
  'x-pattern-rule'?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  [extension: `x-${string}`]: unknown;
}

export type ColumnType = 'string' | 'integer' | 'number' | 'boolean' | 'date';

export interface PrinterColumn {
  name: string;
  type: ColumnType;
  /** 'name' marks the name column; otherwise '' */
  format?: string;
  description: string;
  /** 0 = always shown; > 0 only with -o wide */
  priority: number;
  /** kubectl-style JSONPath, e.g. .spec.talos.nodeType or .status.conditions[?(@.type=="Ready")].status */
  jsonPath: string;
  /**
   * computes the cell instead of jsonPath, for built-in kinds whose kube-apiserver columns are not
   * a path (a Secret's DATA is the number of keys)
   */
  value?: (obj: KubeObject) => unknown;
}

/** A generic Kubernetes object as stored and served (JSON). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
  selfLink?: string;
}

/**
 * Kind-specific behaviour. Every hook is pure (no I/O): it sees objects and returns errors or
 * changes the object passed to it in place.
 */
export interface KindStrategy {
  /** after server-owned fields are reset, before defaulting (e.g. Secret stringData -> data) */
  prepareForCreate?(obj: KubeObject): void;
  /** before defaulting on update; `old` is frozen */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /** semantic rules beyond the schema; field paths without a leading dot */
  validate?(obj: KubeObject): FieldError[];
  /** rules comparing with the stored object (immutability) */
  validateUpdate?(obj: KubeObject, old: KubeObject): FieldError[];
  /**
   * Values of selectable fields that are not plain paths into the object (core events'
   * involvedObject.*, secrets' type). Keys are field labels as clients send them.
   */
  fieldValues?(obj: KubeObject): Record<string, string>;
  /**
   * Finalization beyond metadata.finalizers (a Namespace's spec.finalizers). While it returns
   * true, a delete only marks the object terminating, as metadata finalizers do.
   */
  pendingFinalization?(obj: KubeObject): boolean;
  /** changes the object when a delete marks it terminating (a Namespace's status.phase) */
  prepareForDeletion?(obj: KubeObject): void;
}

export interface KindDefinition {
  /** '' for the core group */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** plural resource name */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  description: string;
  /**
   * Schema of the object's own top-level fields (spec, status, data, ...). The machinery adds
   * apiVersion, kind and metadata (ObjectMeta) itself; do not declare them here.
   */
  schema: JSONSchema & { type: 'object'; properties: Record<string, JSONSchema> };
  /** printer columns; the machinery adds Name (first) itself; include Age where the kind has it */
  columns: PrinterColumn[];
  /**
   * field selector labels beyond metadata.name / metadata.namespace. A label that is a dotted
   * path into the object (spec.talos.nodeType) is read from the object; others come from
   * strategy.fieldValues.
   */
  selectableFields: string[];
  /** serve /status; the main endpoint then ignores status and /status only writes status */
  statusSubresource: boolean;
  /** metadata.generation is maintained (CRD-like kinds); core Secret/Event/Namespace do not */
  trackGeneration: boolean;
  strategy: KindStrategy;
  /**
   * protobuf message of the object's fields after metadata (field 1), for built-in kinds that
   * kubectl sends as application/vnd.kubernetes.protobuf (core Namespace, Secret)
   */
  protobuf?: ProtoMessage;
  /**
   * Only for a kind answered by code and never stored (a review, whose one verb is create):
   * discovery lists these verbs instead of every verb, and no storage version hash.
   */
  verbs?: string[];
}

export function groupVersion(k: Pick<KindDefinition, 'group' | 'version'>): string {
  return k.group ? `${k.group}/${k.version}` : k.version;
}
