// The standard apimachinery schemas and request-option parameters every per-GV OpenAPI document
// must carry so that it is self-contained. Schemas are written as OpenAPI v3 schema objects; `ref`
// renders a reference for v3 (`#/components/schemas/N`) or v2 (`#/definitions/N`).

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const RUNTIME = 'io.k8s.apimachinery.pkg.runtime';

export const OBJECT_META = `${META}.ObjectMeta`;
export const LIST_META = `${META}.ListMeta`;
export const TIME = `${META}.Time`;
export const MANAGED_FIELDS_ENTRY = `${META}.ManagedFieldsEntry`;
export const FIELDS_V1 = `${META}.FieldsV1`;
export const OWNER_REFERENCE = `${META}.OwnerReference`;
export const STATUS = `${META}.Status`;
export const STATUS_DETAILS = `${META}.StatusDetails`;
export const STATUS_CAUSE = `${META}.StatusCause`;
export const DELETE_OPTIONS = `${META}.DeleteOptions`;
export const PRECONDITIONS = `${META}.Preconditions`;
export const PATCH = `${META}.Patch`;
export const WATCH_EVENT = `${META}.WatchEvent`;
export const API_RESOURCE_LIST = `${META}.APIResourceList`;
export const API_RESOURCE = `${META}.APIResource`;
export const RAW_EXTENSION = `${RUNTIME}.RawExtension`;

export type Ref = (name: string) => string;
export type SchemaObject = Record<string, unknown>;

const str = (description: string): SchemaObject => ({ type: 'string', description });
const int64 = (description: string): SchemaObject => ({ type: 'integer', format: 'int64', description });
const bool = (description: string): SchemaObject => ({ type: 'boolean', description });
const strList = (description: string, listType: 'atomic' | 'set' = 'atomic'): SchemaObject => ({
  type: 'array',
  description,
  items: { type: 'string', default: '' },
  'x-kubernetes-list-type': listType,
});

export const API_VERSION_DESCRIPTION =
  'APIVersion names the versioned schema of this representation of an object (group/version, or ' +
  'just the version for the core group). Servers convert recognized schemas to the latest internal ' +
  'value and may reject unrecognized values.';
export const KIND_DESCRIPTION =
  'Kind is a string value naming the REST resource this object represents. Servers may infer it ' +
  'from the endpoint the client submits requests to. It cannot be updated. In CamelCase.';

/** A property that points at a named schema, with a description beside it. */
function refProp(ref: Ref, name: string, description: string, v3: boolean): SchemaObject {
  return v3 ? { allOf: [{ $ref: ref(name) }], description } : { $ref: ref(name), description };
}

/** The standard schemas, keyed by name. `v3` selects how a described reference is written. */
export function metaSchemas(ref: Ref, v3: boolean): Record<string, SchemaObject> {
  const timeProp = (d: string) => refProp(ref, TIME, d, v3);
  return {
    [TIME]: {
      type: 'string',
      format: 'date-time',
      description: 'Time is a timestamp in RFC 3339 form, UTC, with second precision (2026-01-02T03:04:05Z).',
    },
    [FIELDS_V1]: {
      type: 'object',
      description:
        'FieldsV1 is the set of fields a manager owns, as a trie: keys are `f:<name>`, `k:<key json>`, ' +
        '`v:<value json>` or `i:<index>`, and `.` marks the node itself.',
    },
    [OWNER_REFERENCE]: {
      type: 'object',
      description:
        'OwnerReference identifies an object that owns this one. The owner must be in the same ' +
        'namespace as the dependent, or be cluster-scoped.',
      required: ['apiVersion', 'kind', 'name', 'uid'],
      properties: {
        apiVersion: { type: 'string', default: '', description: 'API version of the owner.' },
        kind: { type: 'string', default: '', description: 'Kind of the owner.' },
        name: { type: 'string', default: '', description: 'Name of the owner.' },
        uid: { type: 'string', default: '', description: 'UID of the owner.' },
        controller: bool(
          'If true, this owner is the managing controller of the object. At most one owner may be the controller.',
        ),
        blockOwnerDeletion: bool(
          'If true and the owner has the foregroundDeletion finalizer, the owner cannot be removed from ' +
            'storage until this reference is removed.',
        ),
      },
      'x-kubernetes-map-type': 'atomic',
    },
    [MANAGED_FIELDS_ENTRY]: {
      type: 'object',
      description:
        'ManagedFieldsEntry records which workflow (manager) set which fields of the object, through ' +
        'which operation and at which API version.',
      properties: {
        manager: str('Manager is the name of the workflow managing these fields.'),
        operation: str('Operation is the kind of operation that produced this entry: Apply or Update.'),
        apiVersion: str('APIVersion is the version of the resource these fields were set through.'),
        time: timeProp('Time is when the fields were last changed by this manager.'),
        fieldsType: str('FieldsType is the format of the fields description; the only value is "FieldsV1".'),
        fieldsV1: refProp(ref, FIELDS_V1, 'FieldsV1 holds the owned fields, in the FieldsV1 format.', v3),
        subresource: str('Subresource is the subresource the fields were set through; empty for the main resource.'),
      },
    },
    [OBJECT_META]: {
      type: 'object',
      description: 'ObjectMeta is the metadata every persisted object carries.',
      properties: {
        name: str(
          'Name is unique within a namespace (or the cluster, for cluster-scoped resources). It is required ' +
            'when creating, unless generateName is set, and cannot be changed.',
        ),
        generateName: str('GenerateName is a prefix the server uses to make up a unique name when name is not given.'),
        namespace: str(
          'Namespace is the scope within which the name must be unique. Empty for cluster-scoped objects.',
        ),
        selfLink: str('Deprecated: always empty.'),
        uid: str('UID is the unique identifier of this object in time and space, set by the server on creation.'),
        resourceVersion: str(
          'ResourceVersion is an opaque value that changes on every write; clients send it back for ' +
            'optimistic concurrency and watches, and compare it only for equality.',
        ),
        generation: int64('Generation is a sequence number of changes to the desired state, set by the server.'),
        creationTimestamp: timeProp('CreationTimestamp is when the server created this object. Read-only.'),
        deletionTimestamp: timeProp(
          'DeletionTimestamp is set by the server when deletion is requested; the object goes away once ' +
            'its finalizers are gone. Read-only.',
        ),
        deletionGracePeriodSeconds: int64(
          'Seconds allowed for the object to terminate gracefully once deletion was requested. Read-only.',
        ),
        labels: {
          type: 'object',
          description: 'Labels are string keys and values that organize and select objects.',
          additionalProperties: { type: 'string', default: '' },
        },
        annotations: {
          type: 'object',
          description: 'Annotations are string keys and values holding arbitrary, non-identifying data for tools.',
          additionalProperties: { type: 'string', default: '' },
        },
        ownerReferences: {
          type: 'array',
          description: 'OwnerReferences lists the objects this object depends on; garbage collection follows them.',
          items: { ...refProp(ref, OWNER_REFERENCE, 'An owner of this object.', v3), default: {} },
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['uid'],
          'x-kubernetes-patch-merge-key': 'uid',
          'x-kubernetes-patch-strategy': 'merge',
        },
        finalizers: {
          ...strList('Finalizers must all be removed before the object is deleted from storage.', 'set'),
          'x-kubernetes-patch-strategy': 'merge',
        },
        managedFields: {
          type: 'array',
          description: 'ManagedFields maps workflows to the fields they manage. Maintained by the server.',
          items: { ...refProp(ref, MANAGED_FIELDS_ENTRY, 'One manager and its fields.', v3), default: {} },
          'x-kubernetes-list-type': 'atomic',
        },
      },
    },
    [LIST_META]: {
      type: 'object',
      description: 'ListMeta is the metadata of a list response.',
      properties: {
        resourceVersion: str('ResourceVersion of the store the list was read at; use it to start a watch.'),
        continue: str('Continue is an opaque token for the next page; empty on the last page.'),
        remainingItemCount: int64('RemainingItemCount is how many items follow this page, when known.'),
        selfLink: str('Deprecated: always empty.'),
      },
    },
    [STATUS_CAUSE]: {
      type: 'object',
      description: 'StatusCause is one reason for a failure, often tied to a field.',
      properties: {
        reason: str('Reason is a machine-readable cause, e.g. FieldValueRequired.'),
        message: str('Message is a human-readable description of the cause.'),
        field: str('Field is the path of the field that caused the error, e.g. spec.talos.endpoint.'),
      },
    },
    [STATUS_DETAILS]: {
      type: 'object',
      description: 'StatusDetails identifies the object a Status is about and lists the causes.',
      properties: {
        name: str('Name of the object concerned.'),
        group: str('Group of the object concerned.'),
        kind: str('Kind (or resource) of the object concerned.'),
        uid: str('UID of the object concerned.'),
        causes: {
          type: 'array',
          description: 'Causes lists the individual problems.',
          items: { ...refProp(ref, STATUS_CAUSE, 'One cause.', v3), default: {} },
          'x-kubernetes-list-type': 'atomic',
        },
        retryAfterSeconds: {
          type: 'integer',
          format: 'int32',
          description: 'Seconds the client should wait before retrying.',
        },
      },
    },
    [STATUS]: {
      type: 'object',
      description: 'Status is the result of an operation that returns no object, and the form of every error.',
      properties: {
        apiVersion: str(API_VERSION_DESCRIPTION),
        kind: str(KIND_DESCRIPTION),
        metadata: { ...refProp(ref, LIST_META, 'Standard list metadata.', v3), default: {} },
        status: str('Status is "Success" or "Failure".'),
        message: str('Message is a human-readable description of the result.'),
        reason: str('Reason is a machine-readable summary, e.g. NotFound, Conflict, Invalid.'),
        details: refProp(ref, STATUS_DETAILS, 'Details carries reason-specific data.', v3),
        code: { type: 'integer', format: 'int32', description: 'Code is the HTTP status code.' },
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Status', version: 'v1' }],
    },
    [PRECONDITIONS]: {
      type: 'object',
      description: 'Preconditions must hold for a delete to go ahead.',
      properties: {
        resourceVersion: str('The object must still have this resourceVersion.'),
        uid: str('The object must still have this UID.'),
      },
    },
    [DELETE_OPTIONS]: {
      type: 'object',
      description: 'DeleteOptions may accompany a delete request.',
      properties: {
        apiVersion: str(API_VERSION_DESCRIPTION),
        kind: str(KIND_DESCRIPTION),
        dryRun: strList('When present, the deletion is checked but not persisted. The only valid value is All.'),
        gracePeriodSeconds: int64('Seconds before the object should be deleted; 0 means immediately.'),
        orphanDependents: bool('Deprecated: use propagationPolicy. Whether dependents are orphaned.'),
        propagationPolicy: str('How garbage collection treats dependents: Orphan, Background or Foreground.'),
        preconditions: refProp(ref, PRECONDITIONS, 'Conditions that must hold for the deletion to happen.', v3),
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'DeleteOptions', version: 'v1' }],
    },
    [PATCH]: {
      type: 'object',
      description:
        'Patch is the body of a PATCH request; its format is given by the Content-Type (JSON patch, ' +
        'JSON merge patch or server-side apply configuration).',
    },
    [RAW_EXTENSION]: {
      type: 'object',
      description: 'RawExtension is an embedded object of any kind, carried as-is.',
    },
    [WATCH_EVENT]: {
      type: 'object',
      description: 'WatchEvent is one event of a watch stream.',
      required: ['type', 'object'],
      properties: {
        type: str('Type is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.'),
        object: refProp(ref, RAW_EXTENSION, 'Object is the object after the event, or a Status for ERROR.', v3),
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'WatchEvent', version: 'v1' }],
    },
    [API_RESOURCE]: {
      type: 'object',
      description: 'APIResource describes one resource (or subresource) served in a group/version.',
      required: ['name', 'singularName', 'namespaced', 'kind', 'verbs'],
      properties: {
        name: str('Name is the plural resource name, or resource/subresource.'),
        singularName: str('SingularName is the singular resource name; empty for subresources.'),
        namespaced: bool('Namespaced tells whether the resource lives in namespaces.'),
        group: str('Group of the response kind, when it differs from the group/version served.'),
        version: str('Version of the response kind, when it differs from the group/version served.'),
        kind: str('Kind of the objects this resource returns.'),
        verbs: strList('Verbs the resource supports.'),
        shortNames: strList('Short names kubectl accepts for the resource.'),
        categories: strList('Categories the resource belongs to, e.g. all.'),
        storageVersionHash: str('An opaque value that changes when the storage version changes.'),
      },
    },
    [API_RESOURCE_LIST]: {
      type: 'object',
      description: 'APIResourceList lists the resources served in one group/version.',
      required: ['groupVersion', 'resources'],
      properties: {
        apiVersion: str(API_VERSION_DESCRIPTION),
        kind: str(KIND_DESCRIPTION),
        groupVersion: str('GroupVersion is the group/version these resources belong to.'),
        resources: {
          type: 'array',
          description: 'Resources served in this group/version.',
          items: { ...refProp(ref, API_RESOURCE, 'One resource.', v3), default: {} },
          'x-kubernetes-list-type': 'atomic',
        },
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'APIResourceList', version: 'v1' }],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The standard request options, as query parameters (ListOptions, CreateOptions, PatchOptions, DeleteOptions)

export type ParamType = 'string' | 'boolean' | 'integer';
export interface Param {
  name: string;
  in: 'path' | 'query';
  type: ParamType;
  description: string;
}

const q = (name: string, type: ParamType, description: string): Param => ({ name, in: 'query', type, description });
export const P = {
  pretty: q('pretty', 'string', "If 'true', the output is indented."),
  dryRun: q(
    'dryRun',
    'string',
    'When present, the request is fully processed but not persisted. The only valid value is All.',
  ),
  fieldManager: q('fieldManager', 'string', 'Name of the actor making the change; required for apply patches.'),
  fieldValidation: q(
    'fieldValidation',
    'string',
    'What to do with unknown or duplicate fields: Ignore drops them, Warn (the default) drops them and ' +
      'returns a warning for each, Strict fails the request.',
  ),
  force: q('force', 'boolean', 'Apply patches only: take ownership of conflicting fields from other managers.'),
  allowWatchBookmarks: q('allowWatchBookmarks', 'boolean', 'Watch only: ask for BOOKMARK events.'),
  continue: q('continue', 'string', 'Token from a previous page of the list, to read the next one.'),
  fieldSelector: q('fieldSelector', 'string', 'Selects objects by field values, e.g. metadata.name=x.'),
  labelSelector: q('labelSelector', 'string', 'Selects objects by labels.'),
  limit: q('limit', 'integer', 'Maximum number of items in one page.'),
  resourceVersion: q('resourceVersion', 'string', 'Which version of the store to read or to watch from.'),
  resourceVersionMatch: q(
    'resourceVersionMatch',
    'string',
    'How resourceVersion applies to a list: Exact or NotOlderThan.',
  ),
  sendInitialEvents: q(
    'sendInitialEvents',
    'boolean',
    'Watch only: start with ADDED events for the current state, then a bookmark.',
  ),
  timeoutSeconds: q('timeoutSeconds', 'integer', 'Time limit for the list or watch call.'),
  watch: q('watch', 'boolean', 'Watch for changes instead of listing.'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'integer', 'Seconds before the object is deleted; 0 means immediately.'),
  orphanDependents: q('orphanDependents', 'boolean', 'Deprecated, use propagationPolicy: orphan the dependents.'),
  propagationPolicy: q(
    'propagationPolicy',
    'string',
    'How dependents are garbage collected: Orphan, Background or Foreground.',
  ),
};
export const LIST_PARAMS = [
  P.allowWatchBookmarks,
  P.continue,
  P.fieldSelector,
  P.labelSelector,
  P.limit,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
  P.watch,
];
export const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
export const PATCH_PARAMS = [...WRITE_PARAMS, P.force];
export const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];
export const DELETECOLLECTION_PARAMS = [
  P.continue,
  P.dryRun,
  P.fieldSelector,
  P.gracePeriodSeconds,
  P.labelSelector,
  P.limit,
  P.orphanDependents,
  P.propagationPolicy,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
];
