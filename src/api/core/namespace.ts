// core/v1 Namespace, served in standalone mode. Cluster-scoped. The `kubernetes` finalizer keeps a
// namespace (phase Terminating) until its contents are deleted; the machinery does that work.
import { fieldErr, type FieldError } from '../../machinery/errors.js';
import type { KindDefinition, KubeObject } from '../../machinery/kind.js';
import {
  DateTime,
  Enum,
  List,
  Obj,
  Opt,
  Str,
  StringList,
  Type,
  ageColumn,
  column,
  kindSchema,
  mapList,
  setList,
  type Static,
} from '../schema.js';
import { dns1123LabelProblem, isRecord } from '../validate.js';

export const namespaceFinalizer = 'kubernetes';
export const namespacePhases = ['Active', 'Terminating'] as const;

export const NamespaceSchema = Type.Object(
  {
    spec: Opt(
      Obj(
        {
          finalizers: Opt(
            StringList('Finalizers that must be empty before the namespace is removed from storage.', setList),
          ),
        },
        'Spec defines the behavior of the Namespace.',
      ),
    ),
    status: Opt(
      Obj(
        {
          phase: Opt(
            Enum(namespacePhases, 'Phase is the current lifecycle phase of the namespace: Active or Terminating.'),
          ),
          conditions: Opt(
            List(
              Obj(
                {
                  type: Str('Type of namespace controller condition.'),
                  status: Enum(
                    ['True', 'False', 'Unknown'] as const,
                    'Status of the condition: True, False or Unknown.',
                  ),
                  lastTransitionTime: Opt(DateTime('Last time the condition transitioned.')),
                  reason: Opt(Str('Unique, one-word, CamelCase reason for the condition.')),
                  message: Opt(Str('Human-readable message about the condition.')),
                },
                'NamespaceCondition contains details about the state of a namespace.',
              ),
              "Latest available observations of the namespace's state.",
              mapList('type'),
            ),
          ),
        },
        'Status describes the current status of a Namespace.',
      ),
    ),
  },
  { description: 'Namespace provides a scope for Names.' },
);
export type Namespace = Static<typeof NamespaceSchema> & KubeObject;

/** kube-apiserver keeps this label equal to the name, so namespaces can be selected by name */
export const namespaceNameLabel = 'kubernetes.io/metadata.name';

function setNameLabel(obj: KubeObject): void {
  if (obj.metadata.name)
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), [namespaceNameLabel]: obj.metadata.name };
}

function prepareForCreate(obj: KubeObject): void {
  setNameLabel(obj);
  const spec = isRecord(obj.spec) ? obj.spec : {};
  if (!Array.isArray(spec.finalizers)) spec.finalizers = [namespaceFinalizer];
  obj.spec = spec;
  // As kube-apiserver: a new namespace is always Active, whatever status was sent.
  obj.status = { phase: 'Active' };
}

// Status has no subresource here; a PUT of a manifest without status or finalizers must not drop them.
function prepareForUpdate(obj: KubeObject, old: KubeObject): void {
  setNameLabel(obj);
  if (obj.status === undefined && old.status !== undefined) obj.status = structuredClone(old.status);
  const oldSpec = isRecord(old.spec) ? old.spec : {};
  const spec = isRecord(obj.spec) ? obj.spec : {};
  if (spec.finalizers === undefined && oldSpec.finalizers !== undefined) {
    spec.finalizers = structuredClone(oldSpec.finalizers);
  }
  obj.spec = spec;
}

function validate(obj: KubeObject): FieldError[] {
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name === '') return [];
  const problem = dns1123LabelProblem(name);
  return problem ? [fieldErr.invalid('metadata.name', name, problem)] : [];
}

export const namespaceKind: KindDefinition = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  categories: [],
  description: NamespaceSchema.description!,
  schema: kindSchema(NamespaceSchema),
  columns: [column('Status', '.status.phase', 'string', 'The lifecycle phase of the namespace.'), ageColumn],
  selectableFields: ['status.phase'],
  statusSubresource: false,
  trackGeneration: false,
  // k8s.io/api/core/v1 generated.proto: kubectl create namespace sends this; status is server-owned
  protobuf: {
    2: { name: 'spec', type: 'message', message: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
  },
  strategy: {
    prepareForCreate,
    prepareForUpdate,
    validate,
    // a namespace is removed only after the namespace controller emptied it and cleared spec.finalizers
    pendingFinalization: (obj) =>
      isRecord(obj.spec) && Array.isArray(obj.spec.finalizers) && obj.spec.finalizers.length > 0,
    prepareForDeletion: (obj) => {
      obj.status = { ...(isRecord(obj.status) ? obj.status : {}), phase: 'Terminating' };
    },
  },
};
