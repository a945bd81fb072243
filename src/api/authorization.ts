// authorization.k8s.io/v1 SelfSubjectAccessReview and SelfSubjectRulesReview, answered in
// standalone mode (`kubectl auth can-i`, `kubectl auth can-i --list`). Neither is stored: a
// review is created, answered from the server's own authorizer and returned (create is the only
// verb). In cluster mode kube-apiserver serves this group and these kinds are not served here.
import { fieldErr, type FieldError } from '../machinery/errors.js';
import type { KindDefinition, KubeObject } from '../machinery/kind.js';
import type { ProtoMessage } from '../machinery/protobuf.js';
import { Bool, List, Obj, Opt, Str, StringList, Type, atomicList, kindSchema, type Static } from './schema.js';
import { isRecord } from './validate.js';

const GROUP = 'authorization.k8s.io';

function SelectorRequirement(description: string) {
  return Obj(
    {
      key: Str('The label or field the requirement applies to.'),
      operator: Str('How key and values relate: In, NotIn, Exists or DoesNotExist (Gt and Lt for labels).'),
      values: Opt(StringList('The values the operator compares with; empty for Exists and DoesNotExist.')),
    },
    description,
  );
}

function SelectorAttributes(what: string) {
  return Obj(
    {
      rawSelector: Opt(Str(`The ${what} selector as a client would send it in a query; not with requirements.`)),
      requirements: Opt(
        List(
          SelectorRequirement(`One requirement of the ${what} selector.`),
          `The parsed ${what} selector; not with rawSelector.`,
          atomicList,
        ),
      ),
    },
    `The ${what} selector of a list, watch or deletecollection being asked about.`,
  );
}

const ResourceAttributes = Obj(
  {
    namespace: Opt(Str('Namespace of the request; empty for cluster-scoped resources and for all namespaces.')),
    verb: Opt(Str('The verb being asked about: get, list, watch, create, update, patch, delete, or "*".')),
    group: Opt(Str('API group of the resource; empty for the core group, "*" for every group.')),
    version: Opt(Str('API version of the resource; "*" for every version.')),
    resource: Opt(Str('Resource (plural name) being asked about; "*" for every resource.')),
    subresource: Opt(Str('Subresource being asked about, such as status; empty for the resource itself.')),
    name: Opt(Str('Name of the object being asked about; empty for every object (and for create).')),
    fieldSelector: Opt(SelectorAttributes('field')),
    labelSelector: Opt(SelectorAttributes('label')),
  },
  'The attributes of a resource request whose authorization is asked about.',
);

const NonResourceAttributes = Obj(
  {
    path: Opt(Str('URL path of the request, such as /version or /apis.')),
    verb: Opt(Str('HTTP verb in lower case, such as get.')),
  },
  'The attributes of a request for a path that is not a resource.',
);

export const SelfSubjectAccessReviewSchema = Type.Object(
  {
    spec: Opt(
      Obj(
        {
          resourceAttributes: Opt(ResourceAttributes),
          nonResourceAttributes: Opt(NonResourceAttributes),
        },
        'What is asked about: exactly one of resourceAttributes and nonResourceAttributes.',
      ),
    ),
    status: Opt(
      Obj(
        {
          allowed: Bool('Whether the requesting user may do what the spec describes.'),
          denied: Opt(Bool('Whether an authorizer refused outright (false when no authorizer had an opinion).')),
          reason: Opt(Str('Why the request is allowed or denied, when the authorizer says.')),
          evaluationError: Opt(Str('A failure while evaluating the review; the answer may be incomplete.')),
        },
        'The answer, set by the server.',
      ),
    ),
  },
  {
    description:
      'SelfSubjectAccessReview asks whether the requesting user may do something. The answer comes back in status; nothing is stored.',
  },
);
export type SelfSubjectAccessReview = Static<typeof SelfSubjectAccessReviewSchema> & KubeObject;

const ResourceRule = Obj(
  {
    verbs: StringList('Verbs allowed; "*" for every verb.'),
    apiGroups: Opt(StringList('API groups the rule applies to; "*" for every group.')),
    resources: Opt(StringList('Resources the rule applies to; "*" for every resource, "x/y" for subresource y of x.')),
    resourceNames: Opt(StringList('Names of the objects the rule is limited to; empty for every object.')),
  },
  'Verbs the user may use on some resources.',
);

const NonResourceRule = Obj(
  {
    verbs: StringList('Verbs allowed; "*" for every verb.'),
    nonResourceURLs: Opt(StringList('Paths the rule applies to; a trailing "*" matches every path below.')),
  },
  'Verbs the user may use on some paths that are not resources.',
);

export const SelfSubjectRulesReviewSchema = Type.Object(
  {
    spec: Opt(
      Obj(
        { namespace: Opt(Str('The namespace whose rules are asked about.')) },
        'Which namespace the rules are asked for.',
      ),
    ),
    status: Opt(
      Obj(
        {
          resourceRules: List(ResourceRule, 'What the user may do with resources.', atomicList),
          nonResourceRules: List(NonResourceRule, 'What the user may do with other paths.', atomicList),
          incomplete: Bool('Whether the rules may be missing some (an authorizer could not list its rules).'),
          evaluationError: Opt(Str('A failure while listing the rules.')),
        },
        'The answer, set by the server.',
      ),
    ),
  },
  {
    description:
      'SelfSubjectRulesReview lists what the requesting user may do in a namespace. The answer comes back in status; nothing is stored.',
  },
);
export type SelfSubjectRulesReview = Static<typeof SelfSubjectRulesReviewSchema> & KubeObject;

// ---- validation (as kube-apiserver's authorization validation) ---------------------------------

/** a review's metadata carries nothing (zero values and managedFields aside) */
function metadataErrors(obj: KubeObject): FieldError[] {
  const meta: Record<string, unknown> = isRecord(obj.metadata) ? obj.metadata : {};
  const zero = (v: unknown) =>
    v === undefined ||
    v === null ||
    v === '' ||
    v === 0 ||
    v === false ||
    (Array.isArray(v) && v.length === 0) ||
    (isRecord(v) && Object.keys(v).length === 0);
  const set = Object.entries(meta).filter(([k, v]) => k !== 'managedFields' && !zero(v));
  return set.length === 0 ? [] : [fieldErr.invalid('metadata', Object.fromEntries(set), 'must be empty')];
}

function requirementErrors(kind: 'field' | 'label', req: Record<string, unknown>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const values = Array.isArray(req.values) ? req.values : [];
  if (!req.key) errs.push(fieldErr.required(`${path}.key`, 'must be specified'));
  const op = req.operator;
  if (op === 'In' || op === 'NotIn') {
    if (kind === 'field' && values.length !== 1)
      errs.push(fieldErr.required(`${path}.values`, 'must have one element'));
    if (kind === 'label' && values.length === 0)
      errs.push(fieldErr.required(`${path}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
  } else if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
    errs.push(
      fieldErr.forbidden(
        `${path}.values`,
        kind === 'field'
          ? 'must not have values'
          : "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      ),
    );
  }
  // other operators are let through, as kube does for newer clients that know more of them
  return errs;
}

function selectorErrors(kind: 'field' | 'label', sel: unknown, path: string): FieldError[] {
  if (!isRecord(sel)) return [];
  const raw = typeof sel.rawSelector === 'string' ? sel.rawSelector : '';
  const reqs = Array.isArray(sel.requirements) ? sel.requirements : [];
  const errs: FieldError[] = [];
  if (raw !== '' && reqs.length > 0)
    errs.push(fieldErr.invalid(`${path}.rawSelector`, raw, 'may not specified at the same time as requirements'));
  if (raw === '' && reqs.length === 0)
    errs.push(
      fieldErr.required(`${path}.requirements`, `when ${path} is specified, requirements or rawSelector is required`),
    );
  reqs.forEach((r, i) => {
    if (isRecord(r)) errs.push(...requirementErrors(kind, r, `${path}.requirements[${i}]`));
  });
  return errs;
}

function validateAccessReview(obj: KubeObject): FieldError[] {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const res = spec.resourceAttributes;
  const nonRes = spec.nonResourceAttributes;
  const errs: FieldError[] = [];
  if (isRecord(res) && isRecord(nonRes))
    errs.push(
      fieldErr.invalid(
        'spec.nonResourceAttributes',
        nonRes,
        'cannot be specified in combination with resourceAttributes',
      ),
    );
  if (!isRecord(res) && !isRecord(nonRes))
    errs.push(
      fieldErr.invalid(
        'spec.resourceAttributes',
        'null', // kube names the absent value so
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ),
    );
  if (isRecord(res)) {
    errs.push(...selectorErrors('field', res.fieldSelector, 'spec.resourceAttributes.fieldSelector'));
    errs.push(...selectorErrors('label', res.labelSelector, 'spec.resourceAttributes.labelSelector'));
  }
  return [...errs, ...metadataErrors(obj)];
}

// ---- protobuf (k8s.io/api/authorization/v1 generated.proto), as kubectl sends reviews ---------

const selectorRequirementProto: ProtoMessage = {
  1: { name: 'key', type: 'string' },
  2: { name: 'operator', type: 'string' },
  3: { name: 'values', type: 'string', repeated: true },
};
const selectorProto: ProtoMessage = {
  1: { name: 'rawSelector', type: 'string' },
  2: { name: 'requirements', type: 'message', message: selectorRequirementProto, repeated: true },
};
const resourceAttributesProto: ProtoMessage = {
  1: { name: 'namespace', type: 'string' },
  2: { name: 'verb', type: 'string' },
  3: { name: 'group', type: 'string' },
  4: { name: 'version', type: 'string' },
  5: { name: 'resource', type: 'string' },
  6: { name: 'subresource', type: 'string' },
  7: { name: 'name', type: 'string' },
  8: { name: 'fieldSelector', type: 'message', message: selectorProto },
  9: { name: 'labelSelector', type: 'message', message: selectorProto },
};
const nonResourceAttributesProto: ProtoMessage = {
  1: { name: 'path', type: 'string' },
  2: { name: 'verb', type: 'string' },
};

const reviewKind = (
  kind: string,
  plural: string,
  schema: KindDefinition['schema'],
  description: string,
  rest: Pick<KindDefinition, 'protobuf' | 'strategy'>,
): KindDefinition => ({
  group: GROUP,
  version: 'v1',
  kind,
  listKind: `${kind}List`,
  plural,
  singular: kind.toLowerCase(),
  namespaced: false,
  shortNames: [],
  categories: [],
  description,
  schema,
  columns: [],
  selectableFields: [],
  statusSubresource: false,
  trackGeneration: false,
  verbs: ['create'],
  ...rest,
});

export const selfSubjectAccessReviewKind = reviewKind(
  'SelfSubjectAccessReview',
  'selfsubjectaccessreviews',
  kindSchema(SelfSubjectAccessReviewSchema),
  SelfSubjectAccessReviewSchema.description!,
  {
    // status (field 3) is the server's to fill: what a client sends there is not read
    protobuf: {
      2: {
        name: 'spec',
        type: 'message',
        message: {
          1: { name: 'resourceAttributes', type: 'message', message: resourceAttributesProto },
          2: { name: 'nonResourceAttributes', type: 'message', message: nonResourceAttributesProto },
        },
      },
    },
    strategy: { validate: validateAccessReview },
  },
);

export const selfSubjectRulesReviewKind = reviewKind(
  'SelfSubjectRulesReview',
  'selfsubjectrulesreviews',
  kindSchema(SelfSubjectRulesReviewSchema),
  SelfSubjectRulesReviewSchema.description!,
  {
    protobuf: { 2: { name: 'spec', type: 'message', message: { 1: { name: 'namespace', type: 'string' } } } },
    strategy: { validate: metadataErrors },
  },
);
