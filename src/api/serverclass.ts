// ServerClass (metal.sidero.dev/v1alpha2): a named pool of accepted servers chosen by hardware
// qualifiers and a label selector, as in Sidero Metal. Cluster-scoped.
import { fieldErr, type FieldError } from '../machinery/errors.js';
import type { KindDefinition, KubeObject } from '../machinery/kind.js';
import {
  ConfigPatches,
  Enum,
  List,
  Obj,
  ObjectReference,
  Opt,
  Str,
  StrategicPatches,
  StringList,
  StringMap,
  Type,
  ageColumn,
  atomicList,
  column,
  kindSchema,
  type Static,
} from './schema.js';
import { HardwareInformation, bootFromDiskMethods } from './server.js';
import { isRecord, valueAt } from './validate.js';

export const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

export const LabelSelector = Type.Object(
  {
    matchLabels: Opt(StringMap('Labels that must all be present with these values.')),
    matchExpressions: Opt(
      List(
        Obj(
          {
            key: Str('Label key the requirement applies to.'),
            operator: Enum(selectorOperators, 'In, NotIn, Exists or DoesNotExist.'),
            values: Opt(StringList('Values for In and NotIn; must be empty for Exists and DoesNotExist.')),
          },
          'A label requirement.',
        ),
        'Requirements that must all hold.',
        atomicList,
      ),
    ),
  },
  {
    description: 'Label selector; requirements are ANDed and an empty selector matches every server.',
    'x-kubernetes-map-type': 'atomic',
    default: {},
  },
);

const ServerClassSpec = Obj(
  {
    environmentRef: Opt(ObjectReference('Environment for servers allocated through this class.')),
    qualifiers: Opt(
      Obj(
        {
          hardware: Opt(
            List(
              HardwareInformation,
              'Hardware filters, ORed; each is a partial match where unset fields are ignored.',
              atomicList,
            ),
          ),
          labelSelectors: Opt(
            List(
              StringMap('Label key/value pairs.'),
              'Matches when any single key=value pair in any map equals a server label (OR semantics).',
              atomicList,
            ),
          ),
        },
        'Hardware and label filters; empty matches every server.',
        { default: {} },
      ),
    ),
    selector: Opt(LabelSelector),
    configPatches: Opt(ConfigPatches("RFC 6902 patches applied to the Talos config before the Server's own patches.")),
    strategicPatches: Opt(StrategicPatches('Talos strategic merge patches, applied after the class configPatches.')),
    bootFromDiskMethod: Opt(
      Enum(bootFromDiskMethods, "Default boot-from-disk method for the class; the Server's own value wins."),
    ),
  },
  'Which servers belong to the class and how they are configured.',
  { default: {} },
);

const ServerClassStatus = Obj(
  {
    serversAvailable: StringList('Names of matching servers that are not in use, sorted.'),
    serversInUse: StringList('Names of matching servers that are in use, sorted.'),
  },
  'Servers currently matching the class.',
);

export const ServerClassSchema = Type.Object(
  {
    spec: Opt(ServerClassSpec),
    status: Opt(ServerClassStatus),
  },
  { description: 'ServerClass groups servers by hardware qualifiers and labels.' },
);

export type ServerClassSpec = Static<typeof ServerClassSpec>;
export type ServerClassStatus = Static<typeof ServerClassStatus>;
export type ServerClass = Static<typeof ServerClassSchema> & KubeObject;

function validate(obj: KubeObject): FieldError[] {
  const exprs = valueAt(obj, 'spec.selector.matchExpressions');
  if (!Array.isArray(exprs)) return [];
  const errs: FieldError[] = [];
  exprs.forEach((e, i) => {
    if (!isRecord(e)) return;
    const values = Array.isArray(e.values) ? e.values : [];
    const path = `spec.selector.matchExpressions[${i}].values`;
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
      errs.push(fieldErr.required(path, "must be specified when `operator` is 'In' or 'NotIn'"));
    }
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
      errs.push(fieldErr.forbidden(path, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    }
  });
  return errs;
}

export const serverClassKind: KindDefinition = {
  group: 'metal.sidero.dev',
  version: 'v1alpha2',
  kind: 'ServerClass',
  listKind: 'ServerClassList',
  plural: 'serverclasses',
  singular: 'serverclass',
  namespaced: false,
  shortNames: [],
  categories: ['talos'],
  description: ServerClassSchema.description!,
  schema: kindSchema(ServerClassSchema),
  columns: [
    column('Available', '.status.serversAvailable', 'string', 'Matching servers not in use.'),
    column('In Use', '.status.serversInUse', 'string', 'Matching servers in use.'),
    ageColumn,
  ],
  selectableFields: [],
  statusSubresource: true,
  trackGeneration: true,
  strategy: { validate },
};
