// core/v1 Event, served in standalone mode. Events about cluster-scoped objects live in `default`.
// kubectl describe finds an object's events with involvedObject.* field selectors.
import { fieldErr, type FieldError } from '../../machinery/errors.js';
import type { KindDefinition, KubeObject } from '../../machinery/kind.js';
import {
  DateTime,
  Enum,
  Int,
  Obj,
  ObjectReference,
  Opt,
  Str,
  Type,
  column,
  kindSchema,
  type Static,
} from '../schema.js';
import { isRecord } from '../validate.js';

export const eventTypes = ['Normal', 'Warning'] as const;

export const EventSchema = Type.Object(
  {
    involvedObject: ObjectReference('The object that this event is about.'),
    reason: Opt(
      Str(
        "Short, machine understandable string that gives the reason for the transition into the object's current status.",
      ),
    ),
    message: Opt(Str('A human-readable description of the status of this operation.')),
    source: Opt(
      Obj(
        {
          component: Opt(Str('Component from which the event is generated.')),
          host: Opt(Str('Node name on which the event is generated.')),
        },
        'The component reporting this event.',
      ),
    ),
    firstTimestamp: Opt(DateTime('The time at which the event was first recorded.')),
    lastTimestamp: Opt(DateTime('The time at which the most recent occurrence of this event was recorded.')),
    count: Opt(Int('The number of times this event has occurred.')),
    type: Opt(Enum(eventTypes, 'Type of this event: Normal or Warning.')),
    eventTime: Opt(DateTime('Time when this Event was first observed (MicroTime).')),
    series: Opt(
      Obj(
        {
          count: Opt(Int('Number of occurrences in this series up to the last heartbeat time.')),
          lastObservedTime: Opt(DateTime('Time of the last occurrence observed.')),
        },
        'Data about the Event series this event represents, or nil if it is a singleton Event.',
      ),
    ),
    action: Opt(Str('What action was taken/failed regarding the involved object.')),
    related: Opt(ObjectReference('Optional secondary object for more complex actions.')),
    reportingComponent: Opt(Str('Name of the controller that emitted this Event, e.g. kubernetes.io/kubelet.')),
    reportingInstance: Opt(Str('ID of the controller instance, e.g. kubelet-xyzf.')),
  },
  { description: 'Event is a report of an event somewhere in the cluster.' },
);
export type Event = Static<typeof EventSchema> & KubeObject;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function fieldValues(obj: KubeObject): Record<string, string> {
  const io = isRecord(obj.involvedObject) ? obj.involvedObject : {};
  const source = isRecord(obj.source) ? obj.source : {};
  return {
    'involvedObject.kind': str(io.kind),
    'involvedObject.namespace': str(io.namespace),
    'involvedObject.name': str(io.name),
    'involvedObject.uid': str(io.uid),
    'involvedObject.apiVersion': str(io.apiVersion),
    'involvedObject.resourceVersion': str(io.resourceVersion),
    'involvedObject.fieldPath': str(io.fieldPath),
    reason: str(obj.reason),
    reportingComponent: str(obj.reportingComponent),
    source: str(source.component),
    type: str(obj.type),
  };
}

// As kube-apiserver: the event lives in its object's namespace; events about cluster-scoped
// objects (no involvedObject.namespace) live in `default`.
function validate(obj: KubeObject): FieldError[] {
  const io = isRecord(obj.involvedObject) ? obj.involvedObject : {};
  const ns = obj.metadata?.namespace ?? '';
  const ioNs = str(io.namespace);
  const ok = ioNs === '' ? ns === '' || ns === 'default' : ns === ioNs;
  return ok ? [] : [fieldErr.invalid('involvedObject.namespace', ioNs, 'does not match event.namespace')];
}

export const eventKind: KindDefinition = {
  group: '',
  version: 'v1',
  kind: 'Event',
  listKind: 'EventList',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  categories: [],
  description: EventSchema.description!,
  schema: kindSchema(EventSchema),
  columns: [
    column(
      'Last Seen',
      '.lastTimestamp',
      'date',
      'The time at which the most recent occurrence of this event was recorded.',
    ),
    column('Type', '.type', 'string', 'Type of this event.'),
    column('Reason', '.reason', 'string', "Reason for the transition into the object's current status."),
    {
      ...column('Object', '.involvedObject.name', 'string', 'The object this event is about, as kind/name.'),
      value: (obj) => {
        const io = isRecord(obj.involvedObject) ? obj.involvedObject : {};
        return `${String(io.kind ?? '').toLowerCase()}/${String(io.name ?? '')}`;
      },
    },
    column('Message', '.message', 'string', 'Description of the event.'),
    column('Source', '.source.component', 'string', 'Component reporting this event.', 1),
    column('First Seen', '.firstTimestamp', 'date', 'The time at which the event was first recorded.', 1),
    column('Count', '.count', 'integer', 'Number of occurrences.', 1),
  ],
  selectableFields: Object.keys(fieldValues({ apiVersion: 'v1', kind: 'Event', metadata: {} })),
  statusSubresource: false,
  trackGeneration: false,
  strategy: { validate, fieldValues },
};
