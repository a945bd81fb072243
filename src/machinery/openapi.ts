// OpenAPI documents built from kind definitions: one self-contained OpenAPI 3.0 document per
// group/version (/openapi/v3/apis/G/V), the v3 root that points at them by content hash, and one
// Swagger 2.0 document (/openapi/v2). Enough for `kubectl explain` and for kubectl to see that the
// server validates fields itself (an inline `fieldValidation` parameter on every patch operation).
import { createHash } from 'node:crypto';
import type { CustomSubresource } from './discovery.js';
import { groupVersion, type JSONSchema, type KindDefinition } from './kind.js';
import {
  API_RESOURCE_LIST,
  API_VERSION_DESCRIPTION,
  DELETE_OPTIONS,
  DELETECOLLECTION_PARAMS,
  DELETE_PARAMS,
  KIND_DESCRIPTION,
  LIST_META,
  LIST_PARAMS,
  OBJECT_META,
  P,
  PATCH,
  PATCH_PARAMS,
  STATUS,
  WRITE_PARAMS,
  metaSchemas,
  type Param,
  type Ref,
  type SchemaObject,
} from './openapi-meta.js';

export interface OpenAPIInfo {
  title: string;
  version: string;
}

const DEFAULT_INFO: OpenAPIInfo = { title: 'talos-fleet-apiserver', version: 'v0' };

export const PATCH_CONTENT_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
];

interface GVK {
  group: string;
  version: string;
  kind: string;
}

/** Reversed-group schema name: dev.sidero.metal.v1alpha2.AdoptedServer, io.k8s.api.core.v1.Secret. */
export function schemaName(group: string, version: string, kind: string): string {
  const prefix = group ? group.split('.').reverse().join('.') : 'io.k8s.api.core';
  return `${prefix}.${version}.${kind}`;
}

/** Key of a group/version in the v3 root: `apis/G/V`, or `api/v1` for the core group. */
export function openapiV3Key(gv: string): string {
  return gv.includes('/') ? `apis/${gv}` : `api/${gv}`;
}

/** Hex SHA-512 of the document as served (`JSON.stringify(document)`). */
export function openapiHash(document: unknown): string {
  return createHash('sha512').update(JSON.stringify(document)).digest('hex').toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// Operations, described once and rendered as v3 or v2

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  operationId: string;
  description: string;
  action: string;
  gvk?: GVK;
  params: Param[];
  body?: { schema: string; contentTypes: string[] };
  responses: Record<string, string | undefined>;
  produces: string[];
}
interface PathItem {
  path: string;
  params: Param[];
  ops: Operation[];
  tag: string;
}

function camel(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}

function groupId(group: string): string {
  return group ? group.split(/[.-]/).map(camel).join('') : 'Core';
}

function tagOf(k: Pick<KindDefinition, 'group' | 'version'>): string {
  const g = groupId(k.group);
  return `${g[0]!.toLowerCase()}${g.slice(1)}_${k.version}`;
}

function prefixOf(k: Pick<KindDefinition, 'group' | 'version'>): string {
  return k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
}

const VERB_METHOD: Record<string, { method: Operation['method']; action: string; idVerb: string; code: string[] }> = {
  get: { method: 'get', action: 'get', idVerb: 'read', code: ['200'] },
  create: { method: 'post', action: 'post', idVerb: 'create', code: ['200', '201', '202'] },
  update: { method: 'put', action: 'put', idVerb: 'replace', code: ['200', '201'] },
  patch: { method: 'patch', action: 'patch', idVerb: 'patch', code: ['200', '201'] },
  delete: { method: 'delete', action: 'delete', idVerb: 'delete', code: ['200', '202'] },
};

function responses(codes: string[], schema: string | undefined): Record<string, string | undefined> {
  return Object.fromEntries([...codes.map((c) => [c, schema]), ['401', undefined]]);
}

/** get/put/patch(/post/delete) on one object-like path, for the main resource, status or a custom subresource. */
function objectOps(verbs: string[], id: string, gvk: GVK, schema: string, what: string): Operation[] {
  return verbs.flatMap((verb): Operation[] => {
    const m = VERB_METHOD[verb];
    if (!m) return [];
    const op: Operation = {
      method: m.method,
      operationId: `${m.idVerb}${id}`,
      description: `${m.idVerb} ${what}`,
      action: m.action,
      gvk,
      params: [],
      responses: responses(m.code, verb === 'delete' ? STATUS : schema),
      produces: ['application/json'],
    };
    if (verb === 'update' || verb === 'create') {
      op.params = [...WRITE_PARAMS];
      op.body = { schema, contentTypes: ['*/*'] };
    } else if (verb === 'patch') {
      op.params = [...PATCH_PARAMS];
      op.body = { schema: PATCH, contentTypes: PATCH_CONTENT_TYPES };
    } else if (verb === 'delete') {
      op.params = [...DELETE_PARAMS];
      op.body = { schema: DELETE_OPTIONS, contentTypes: ['*/*'] };
    }
    return [op];
  });
}

function kindPaths(k: KindDefinition, subresources: readonly CustomSubresource[]): PathItem[] {
  const gvk: GVK = { group: k.group, version: k.version, kind: k.kind };
  const tag = tagOf(k);
  const prefix = prefixOf(k);
  const ns = k.namespaced ? 'Namespaced' : '';
  const id = `${groupId(k.group)}${camel(k.version)}${ns}${k.kind}`;
  const schema = schemaName(k.group, k.version, k.kind);
  const listSchema = schemaName(k.group, k.version, k.listKind);
  const nsParam: Param[] = k.namespaced
    ? [
        {
          name: 'namespace',
          in: 'path',
          type: 'string',
          description: 'object name and auth scope, such as for teams and projects',
        },
      ]
    : [];
  const nameParam: Param = { name: 'name', in: 'path', type: 'string', description: `name of the ${k.kind}` };
  const collection = k.namespaced ? `${prefix}/namespaces/{namespace}/${k.plural}` : `${prefix}/${k.plural}`;
  const list = (operationId: string, description: string): Operation => ({
    method: 'get',
    operationId,
    description,
    action: 'list',
    gvk,
    params: [...LIST_PARAMS],
    responses: responses(['200'], listSchema),
    produces: ['application/json', 'application/json;stream=watch'],
  });

  const items: PathItem[] = [
    {
      path: collection,
      tag,
      params: [...nsParam, P.pretty],
      ops: [
        list(`list${id}`, `list or watch objects of kind ${k.kind}`),
        ...objectOps(['create'], id, gvk, schema, `a ${k.kind}`),
        {
          method: 'delete',
          operationId: `deletecollection${id}`,
          description: `delete collection of ${k.kind}`,
          action: 'deletecollection',
          gvk,
          params: [...DELETECOLLECTION_PARAMS],
          body: { schema: DELETE_OPTIONS, contentTypes: ['*/*'] },
          responses: responses(['200'], STATUS),
          produces: ['application/json'],
        },
      ],
    },
    {
      path: `${collection}/{name}`,
      tag,
      params: [nameParam, ...nsParam, P.pretty],
      ops: objectOps(['get', 'update', 'patch', 'delete'], id, gvk, schema, `the specified ${k.kind}`),
    },
  ];
  if (k.namespaced) {
    items.push({
      path: `${prefix}/${k.plural}`,
      tag,
      params: [P.pretty],
      ops: [
        list(
          `list${groupId(k.group)}${camel(k.version)}${k.kind}ForAllNamespaces`,
          `list or watch objects of kind ${k.kind}`,
        ),
      ],
    });
  }
  if (k.statusSubresource) {
    items.push({
      path: `${collection}/{name}/status`,
      tag,
      params: [nameParam, ...nsParam, P.pretty],
      ops: objectOps(['get', 'update', 'patch'], `${id}Status`, gvk, schema, `status of the specified ${k.kind}`),
    });
  }
  for (const s of subresources) {
    if (s.resource !== k.plural) continue;
    const sgvk: GVK = { group: s.group ?? k.group, version: s.version ?? k.version, kind: s.kind };
    const what = s.description ?? `${s.name} of the specified ${k.kind}`;
    items.push({
      path: `${collection}/{name}/${s.name}`,
      tag,
      params: [nameParam, ...nsParam, P.pretty],
      ops: objectOps(s.verbs, `${id}${camel(s.name)}`, sgvk, schemaName(sgvk.group, sgvk.version, sgvk.kind), what),
    });
  }
  return items;
}

function resourcesPath(gv: Pick<KindDefinition, 'group' | 'version'>): PathItem {
  return {
    path: `${prefixOf(gv)}/`,
    tag: tagOf(gv),
    params: [],
    ops: [
      {
        method: 'get',
        operationId: `get${groupId(gv.group)}${camel(gv.version)}APIResources`,
        description: 'get available resources',
        action: '',
        params: [],
        responses: responses(['200'], API_RESOURCE_LIST),
        produces: ['application/json'],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Schemas

/** The kind's authored schema in the target dialect: v2 has no `nullable`. */
function dialect(node: JSONSchema, v3: boolean): SchemaObject {
  const out: SchemaObject = {};
  for (const [key, v] of Object.entries(node)) {
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(v as Record<string, JSONSchema>).map(([n, s]) => [n, dialect(s, v3)]),
      );
    } else if (key === 'items') {
      out.items = dialect(v as JSONSchema, v3);
    } else if (key === 'additionalProperties' && typeof v === 'object') {
      out.additionalProperties = dialect(v as JSONSchema, v3);
    } else if (!v3 && key === 'nullable') {
      continue;
    } else {
      out[key] = structuredClone(v);
    }
  }
  // v2 cannot say "or null"; without a type clients do not reject the null.
  if (!v3 && (node.nullable === true || node['x-kubernetes-int-or-string'] === true)) delete out.type;
  return out;
}

function metadataProp(ref: Ref, name: string, description: string, v3: boolean): SchemaObject {
  return v3 ? { allOf: [{ $ref: ref(name) }], default: {}, description } : { $ref: ref(name), description };
}

function kindSchemas(k: KindDefinition, ref: Ref, v3: boolean): Record<string, SchemaObject> {
  const { properties, ...rest } = dialect(k.schema, v3) as SchemaObject & { properties: Record<string, SchemaObject> };
  const head = {
    apiVersion: { type: 'string', description: API_VERSION_DESCRIPTION },
    kind: { type: 'string', description: KIND_DESCRIPTION },
  };
  const name = schemaName(k.group, k.version, k.kind);
  return {
    [name]: {
      ...rest,
      type: 'object',
      description: k.description,
      properties: { ...head, metadata: metadataProp(ref, OBJECT_META, 'Standard object metadata.', v3), ...properties },
      'x-kubernetes-group-version-kind': [{ group: k.group, kind: k.kind, version: k.version }],
    },
    [schemaName(k.group, k.version, k.listKind)]: {
      type: 'object',
      description: `${k.listKind} is a list of ${k.kind}.`,
      required: ['items'],
      properties: {
        ...head,
        items: { type: 'array', description: `List of ${k.plural}.`, items: { $ref: ref(name) } },
        metadata: metadataProp(ref, LIST_META, 'Standard list metadata.', v3),
      },
      'x-kubernetes-group-version-kind': [{ group: k.group, kind: k.listKind, version: k.version }],
    },
  };
}

/** Response kinds of custom subresources that are not one of `kinds` themselves. */
function subresourceSchemas(
  kinds: readonly KindDefinition[],
  subresources: readonly CustomSubresource[],
  v3: boolean,
): Record<string, SchemaObject> {
  const out: Record<string, SchemaObject> = {};
  for (const s of subresources) {
    const parent = kinds.find((k) => k.plural === s.resource);
    if (!parent) continue;
    const group = s.group ?? parent.group;
    const version = s.version ?? parent.version;
    if (!s.schema && kinds.some((k) => k.group === group && k.version === version && k.kind === s.kind)) continue;
    out[schemaName(group, version, s.kind)] = s.schema
      ? { ...dialect(s.schema, v3), 'x-kubernetes-group-version-kind': [{ group, kind: s.kind, version }] }
      : {
          type: 'object',
          description: `${s.kind} is what the ${s.name} subresource of ${parent.plural} returns.`,
          'x-kubernetes-preserve-unknown-fields': true,
        };
  }
  return out;
}

function allSchemas(
  kinds: readonly KindDefinition[],
  subresources: readonly CustomSubresource[],
  ref: Ref,
  v3: boolean,
): Record<string, SchemaObject> {
  const out: Record<string, SchemaObject> = { ...metaSchemas(ref, v3) };
  for (const k of kinds) Object.assign(out, kindSchemas(k, ref, v3));
  Object.assign(out, subresourceSchemas(kinds, subresources, v3));
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// ---------------------------------------------------------------------------------------------
// Rendering

const refV3: Ref = (n) => `#/components/schemas/${n}`;
const refV2: Ref = (n) => `#/definitions/${n}`;

function opCommon(op: Operation, tag: string): SchemaObject {
  return {
    tags: [tag],
    description: op.description,
    operationId: op.operationId,
    ...(op.action ? { 'x-kubernetes-action': op.action } : {}),
    ...(op.gvk ? { 'x-kubernetes-group-version-kind': { ...op.gvk } } : {}),
  };
}

function renderV3(items: PathItem[]): Record<string, SchemaObject> {
  const param = (p: Param) => ({
    name: p.name,
    in: p.in,
    description: p.description,
    ...(p.in === 'path' ? { required: true } : {}),
    schema: { type: p.type, ...(p.in === 'query' ? { uniqueItems: true } : {}) },
  });
  const paths: Record<string, SchemaObject> = {};
  for (const item of items) {
    const entry: SchemaObject = { parameters: item.params.map(param) };
    for (const op of item.ops) {
      const responses = Object.fromEntries(
        Object.entries(op.responses).map(([code, schema]) => [
          code,
          schema
            ? {
                description: code === '201' ? 'Created' : code === '202' ? 'Accepted' : 'OK',
                content: Object.fromEntries(op.produces.map((ct) => [ct, { schema: { $ref: refV3(schema) } }])),
              }
            : { description: 'Unauthorized' },
        ]),
      );
      entry[op.method] = {
        ...opCommon(op, item.tag),
        ...(op.params.length ? { parameters: op.params.map(param) } : {}),
        ...(op.body
          ? {
              requestBody: {
                required: true,
                content: Object.fromEntries(
                  op.body.contentTypes.map((ct) => [ct, { schema: { $ref: refV3(op.body!.schema) } }]),
                ),
              },
            }
          : {}),
        responses,
      };
    }
    paths[item.path] = entry;
  }
  return paths;
}

function renderV2(items: PathItem[]): Record<string, SchemaObject> {
  const param = (p: Param) => ({
    name: p.name,
    in: p.in,
    description: p.description,
    type: p.type,
    ...(p.in === 'path' ? { required: true } : { uniqueItems: true }),
  });
  const paths: Record<string, SchemaObject> = {};
  for (const item of items) {
    const entry: SchemaObject = { parameters: item.params.map(param) };
    for (const op of item.ops) {
      const params: SchemaObject[] = [];
      if (op.body) params.push({ name: 'body', in: 'body', required: true, schema: { $ref: refV2(op.body.schema) } });
      params.push(...op.params.map(param));
      entry[op.method] = {
        ...opCommon(op, item.tag),
        ...(op.body ? { consumes: [...op.body.contentTypes] } : {}),
        produces: [...op.produces],
        schemes: ['https'],
        ...(params.length ? { parameters: params } : {}),
        responses: Object.fromEntries(
          Object.entries(op.responses).map(([code, schema]) => [
            code,
            schema
              ? {
                  description: code === '201' ? 'Created' : code === '202' ? 'Accepted' : 'OK',
                  schema: { $ref: refV2(schema) },
                }
              : { description: 'Unauthorized' },
          ]),
        ),
      };
    }
    paths[item.path] = entry;
  }
  return paths;
}

function pathsFor(kinds: readonly KindDefinition[], subresources: readonly CustomSubresource[]): PathItem[] {
  const items: PathItem[] = [];
  const seen = new Set<string>();
  for (const k of kinds) {
    const gv = groupVersion(k);
    if (!seen.has(gv)) {
      seen.add(gv);
      items.push(resourcesPath(k));
    }
    items.push(...kindPaths(k, subresources));
  }
  return items;
}

/** The OpenAPI 3.0 document for `/openapi/v3/apis/G/V` (or `/openapi/v3/api/v1`). */
export function openapiV3ForGroupVersion(
  gv: string,
  kinds: readonly KindDefinition[],
  subresources: readonly CustomSubresource[] = [],
  info: OpenAPIInfo = DEFAULT_INFO,
) {
  const own = kinds.filter((k) => groupVersion(k) === gv);
  const subs = subresources.filter((s) => own.some((k) => k.plural === s.resource));
  return {
    openapi: '3.0.0',
    info: { ...info },
    paths: renderV3(pathsFor(own, subs)),
    components: {
      schemas: allSchemas(own, subs, refV3, true),
      securitySchemes: {
        BearerToken: {
          type: 'apiKey',
          description: 'Bearer token authentication',
          name: 'authorization',
          in: 'header',
        },
      },
    },
    security: [{ BearerToken: [] }],
  };
}

/** `/openapi/v3`: each group/version with a URL carrying the hash of its current document. */
export function openapiV3Root(gvs: readonly { groupVersion: string; document: unknown }[]) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { groupVersion: gv, document } of gvs) {
    const key = openapiV3Key(gv);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${openapiHash(document)}` };
  }
  return { paths };
}

/** `/openapi/v2`: one Swagger 2.0 document for every kind. */
export function openapiV2(
  kinds: readonly KindDefinition[],
  subresources: readonly CustomSubresource[] = [],
  info: OpenAPIInfo = DEFAULT_INFO,
) {
  return {
    swagger: '2.0',
    info: { ...info },
    paths: renderV2(pathsFor(kinds, subresources)),
    definitions: allSchemas(kinds, subresources, refV2, false),
    securityDefinitions: {
      BearerToken: { type: 'apiKey', description: 'Bearer token authentication', name: 'authorization', in: 'header' },
    },
    security: [{ BearerToken: [] }],
  };
}
