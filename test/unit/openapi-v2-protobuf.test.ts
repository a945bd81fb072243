// The protobuf form of /openapi/v2 (gnostic's openapi.v2.Document), decoded by protobufjs from a
// .proto written in test/helpers, must say everything the JSON document says.
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { allKinds, coreKinds, subresourcesOf } from '../../src/api/index.js';
import { ifNoneMatchHits } from '../../src/machinery/discovery.js';
import { StatusError } from '../../src/machinery/errors.js';
import { openapiV2 } from '../../src/machinery/openapi.js';
import { openapiV2Protobuf, pickOpenAPIV2Format } from '../../src/machinery/openapi-v2-protobuf.js';
import { compareDecoded } from '../helpers/openapi-v2-compare.js';
import { decodeOpenAPIV2 } from '../helpers/openapi-v2-proto.js';

const PB = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
const PB_AT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/** the document the server builds in standalone mode */
function servedDocument() {
  return openapiV2([...allKinds, ...coreKinds], allKinds.flatMap(subresourcesOf), {
    title: 'talos-fleet-apiserver',
    version: 'test',
  }) as unknown as Record<string, any>;
}

/** a document that uses every message of openapi.v2, in the forms JSON allows */
const everyShape = {
  swagger: '2.0',
  info: {
    title: 'every shape',
    version: 'v9',
    description: 'd'.repeat(20_000),
    termsOfService: 'https://example.com/tos',
    contact: { name: 'ops', url: 'https://example.com', email: 'ops@example.com', 'x-team': 'talos' },
    license: { name: 'MPL-2.0', url: 'https://mozilla.org/MPL/2.0/' },
    'x-info': { nested: [1, 'two', null, true] },
  },
  host: 'example.com:6443',
  basePath: '/base',
  schemes: ['https', 'wss'],
  consumes: ['application/json'],
  produces: ['application/json', ''],
  tags: [{ name: 'things', description: 'all of them', externalDocs: { url: 'https://example.com/t' }, 'x-t': 1 }],
  externalDocs: { description: 'more', url: 'https://example.com/docs', 'x-d': 'yes' },
  'x-document': { 'x-nested': 'no: problem', quote: 'it\'s "quoted"\n\ttab', unicode: 'héllo ✓ \u2028' },
  paths: {
    'x-paths': ['kept'],
    '/things/{name}': {
      parameters: [
        { name: 'name', in: 'path', required: true, type: 'string', pattern: '^[a-z]+$' },
        { $ref: '#/parameters/limit' },
      ],
      get: {
        tags: ['things'],
        summary: 's',
        operationId: 'readThing',
        produces: ['application/json'],
        schemes: ['https'],
        deprecated: true,
        security: [{ BearerToken: [] }, { OAuth: ['read', 'write'] }],
        parameters: [
          { name: 'X-Trace', in: 'header', type: 'string', 'x-hdr': true },
          {
            name: 'tags',
            in: 'query',
            required: false,
            allowEmptyValue: true,
            type: 'array',
            collectionFormat: 'csv',
            items: { type: 'array', items: { type: 'integer', format: 'int32', minimum: -5, enum: [1, 2] } },
            maxItems: 2 ** 40,
            minItems: 1,
            uniqueItems: true,
            default: ['a'],
          },
          { name: 'upload', in: 'formData', type: 'file' },
          { name: 'ratio', in: 'query', type: 'number', maximum: 1.5, exclusiveMaximum: true, multipleOf: 0.25 },
        ],
        responses: {
          '200': {
            description: 'OK',
            schema: { $ref: '#/definitions/Thing' },
            headers: { 'X-Rate': { type: 'integer', description: 'left', minimum: 0 } },
            examples: { 'application/json': { name: 'x' } },
          },
          default: { $ref: '#/responses/Failure' },
          '204': { description: 'file', schema: { type: 'file', format: 'binary', readOnly: true } },
          'x-responses': 3,
        },
        'x-kubernetes-action': 'get',
      },
      put: {
        parameters: [{ name: 'body', in: 'body', required: true, schema: { $ref: '#/definitions/Thing' }, 'x-b': 1 }],
        responses: { '200': { description: 'OK' } },
      },
      'x-path-item': 'p',
    },
    '/alias': { $ref: '#/paths/~1things~1{name}' },
  },
  definitions: {
    Thing: {
      type: 'object',
      title: 'Thing',
      description: 'a thing',
      required: ['name'],
      discriminator: 'kind',
      minProperties: 1,
      maxProperties: 40,
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 63, default: '' },
        default: { type: 'boolean', default: false, readOnly: true },
        enum: { type: ['string', 'null'], enum: ['a', 1, null, { b: [2] }] },
        tuple: { type: 'array', items: [{ type: 'string' }, { type: 'integer', minimum: 0 }] },
        open: { type: 'object', additionalProperties: true },
        closed: { type: 'object', additionalProperties: false, xml: { name: 'c', wrapped: true, 'x-x': 0 } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        both: { allOf: [{ $ref: '#/definitions/Thing' }, { type: 'object' }], example: { name: 'n' } },
        big: { type: 'integer', format: 'int64', maximum: 2 ** 53 - 1, minimum: -(2 ** 53), exclusiveMinimum: true },
      },
      externalDocs: { url: 'https://example.com/thing' },
      'x-kubernetes-group-version-kind': [{ group: 'example.com', kind: 'Thing', version: 'v1' }],
    },
    Empty: {},
  },
  parameters: {
    limit: { name: 'limit', in: 'query', type: 'integer', minimum: 1 },
    payload: { name: 'payload', in: 'body', schema: { type: 'object' } },
  },
  responses: { Failure: { description: 'failed', schema: { $ref: '#/definitions/Thing' } } },
  securityDefinitions: {
    BearerToken: { type: 'apiKey', name: 'authorization', in: 'header', description: 'token' },
    Basic: { type: 'basic', 'x-realm': 'r' },
    Implicit: { type: 'oauth2', flow: 'implicit', authorizationUrl: 'https://a', scopes: { read: 'reads' } },
    Password: { type: 'oauth2', flow: 'password', tokenUrl: 'https://t', scopes: { write: '' } },
    Application: { type: 'oauth2', flow: 'application', tokenUrl: 'https://t', scopes: {} },
    OAuth: {
      type: 'oauth2',
      flow: 'accessCode',
      authorizationUrl: 'https://a',
      tokenUrl: 'https://t',
      scopes: { read: 'r', write: 'w' },
    },
  },
  security: [{ BearerToken: [] }],
};

describe('openapi.v2.Document encoding', () => {
  it('carries the served document completely: decoded, it is the JSON document', () => {
    const doc = servedDocument();
    const decoded = decodeOpenAPIV2(openapiV2Protobuf(doc));
    const { diffs, zeros } = compareDecoded(doc, decoded);
    expect(diffs).toEqual([]);
    // proto3 leaves out zero scalars and empty lists; in this document: lower bounds of 0, and
    // the parameters of the APIResourceList paths, which have none
    for (const z of zeros) expect(z).toMatch(/\/(minimum|minLength|minItems)$|~1\/parameters$/);
    expect(zeros.length).toBeGreaterThan(0);
    // maps keep the document's order (kubectl explain lists fields in it)
    expect(Object.keys(decoded.definitions)).toEqual(Object.keys(doc.definitions));
    expect(Object.keys(decoded.paths)).toEqual(Object.keys(doc.paths));
    expect(
      Object.keys(decoded.definitions['io.vitistack.v1alpha1.KubernetesCluster'].properties.spec.properties),
    ).toEqual(Object.keys(doc.definitions['io.vitistack.v1alpha1.KubernetesCluster'].properties.spec.properties));
  });

  it('carries the vendor extensions kubectl resolves kinds and merges lists by', () => {
    const decoded = decodeOpenAPIV2(openapiV2Protobuf(servedDocument()));
    expect(decoded.definitions['io.vitistack.v1alpha1.KubernetesCluster']['x-kubernetes-group-version-kind']).toEqual([
      { group: 'vitistack.io', kind: 'KubernetesCluster', version: 'v1alpha1' },
    ]);
    const owners = decoded.definitions['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.ownerReferences;
    expect(owners).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
      'x-kubernetes-patch-merge-key': 'uid',
      'x-kubernetes-patch-strategy': 'merge',
    });
    const patch = decoded.paths['/apis/vitistack.io/v1alpha1/namespaces/{namespace}/kubernetesclusters/{name}'].patch;
    expect(patch['x-kubernetes-action']).toBe('patch');
    expect(patch['x-kubernetes-group-version-kind']).toEqual({
      group: 'vitistack.io',
      version: 'v1alpha1',
      kind: 'KubernetesCluster',
    });
    expect(patch.consumes).not.toContain('application/strategic-merge-patch+json');
  });

  it('carries every message shape of openapi.v2, losing only zero scalars', () => {
    const bytes = openapiV2Protobuf(everyShape);
    const { diffs, zeros } = compareDecoded(everyShape, decodeOpenAPIV2(bytes));
    expect(diffs).toEqual([]);
    expect(zeros.sort()).toEqual(
      [
        '#/paths/~1things~1{name}/get/parameters/1/required',
        '#/paths/~1things~1{name}/get/responses/200/headers/X-Rate/minimum',
        '#/definitions/Thing/properties/tuple/items/1/minimum',
      ].sort(),
    );
  });

  it('writes deterministic, canonical bytes: fields in field-number order, each length as short as it can be', () => {
    const doc = servedDocument();
    const bytes = openapiV2Protobuf(doc);
    expect(openapiV2Protobuf(doc).equals(bytes)).toBe(true);
    const reader = protobuf.Reader.create(bytes);
    const fields: number[] = [];
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      fields.push(tag >>> 3);
      const lengthStart = reader.pos;
      if ((tag & 7) === 2) {
        const length = reader.uint32();
        // canonical varint: no longer than the value needs
        expect(reader.pos - lengthStart).toBe(Math.max(1, Math.ceil(Math.log2(length + 1) / 7)));
        reader.skip(length);
      } else reader.skipType(tag & 7);
    }
    expect(fields).toEqual([...fields].sort((a, b) => a - b));
    expect(fields).toEqual([1, 2, 8, 9, 12, 13]);
  });

  it('refuses, naming the place, what openapi.v2 has no field for', () => {
    const withOneOf = structuredClone(everyShape) as any;
    withOneOf.definitions.Thing.properties.name.oneOf = [{ type: 'string' }];
    const refusals: [unknown, RegExp][] = [
      [withOneOf, /#\/definitions\/Thing\/properties\/name\/oneOf: Schema has no field for "oneOf"/],
      [{ swagger: 2 }, /#\/swagger: expected a string/],
      [{ definitions: { A: { maxLength: 1.5 } } }, /#\/definitions\/A\/maxLength: expected an integer/],
      [{ definitions: { A: { minimum: Number.POSITIVE_INFINITY } } }, /#\/definitions\/A\/minimum: expected a number/],
      [
        { paths: { '/p': { get: { parameters: [{ name: 'c', in: 'cookie' }] } } } },
        /#\/paths\/~1p\/get\/parameters\/0: no member of NonBodyParameter/,
      ],
      [{ securityDefinitions: { S: { type: 'oauth2', flow: 'magic' } } }, /no member of SecurityDefinitionsItem/],
      [{ security: [{ S: 'read' }] }, /#\/security\/0\/S: expected an array/],
      [{ info: [] }, /#\/info: Info must be an object/],
      [{ tags: {} }, /#\/tags: expected an array/],
    ];
    for (const [doc, message] of refusals) {
      let caught: unknown;
      try {
        openapiV2Protobuf(doc);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(StatusError);
      expect((caught as StatusError).code).toBe(500);
      expect((caught as StatusError).message).toMatch(message);
    }
  });
});

describe('/openapi/v2 content negotiation', () => {
  it('picks JSON or protobuf as kube-openapi does', () => {
    const cases: [string | undefined, 'json' | 'protobuf' | undefined][] = [
      [undefined, 'json'],
      ['', 'json'],
      ['*/*', 'json'],
      ['application/*', 'json'],
      ['application/json', 'json'],
      ['application/json;stream=watch', 'json'],
      [PB_AT, 'protobuf'],
      [PB, 'protobuf'],
      [PB.toUpperCase(), 'protobuf'],
      [`${PB_AT}, application/json`, 'protobuf'],
      [`application/json;q=0.5, ${PB_AT}`, 'protobuf'],
      [`${PB_AT};q=0.2, application/json;q=0.9`, 'json'],
      [`*/*, ${PB}`, 'protobuf'],
      [`text/html, ${PB}`, 'protobuf'],
      ['text/html', undefined],
      ['application/yaml', undefined],
      ['application/json;q=0', undefined],
      ['garbage', undefined],
      [`${PB};q=0, text/*`, undefined],
    ];
    for (const [accept, format] of cases) expect([accept, pickOpenAPIV2Format(accept)]).toEqual([accept, format]);
  });

  it('matches If-None-Match as HTTP does: lists, weak tags and *', () => {
    const etag = '"abc"';
    const cases: [string | undefined, boolean][] = [
      [undefined, false],
      ['"abc"', true],
      ['W/"abc"', true],
      ['"x", "abc"', true],
      ['"x",W/"abc"', true],
      ['*', true],
      ['"abcd"', false],
      ['abc', false],
      ['"x"', false],
      ['', false],
    ];
    for (const [header, hit] of cases) expect([header, ifNoneMatchHits(header, etag)]).toEqual([header, hit]);
  });
});
