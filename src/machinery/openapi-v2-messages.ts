// The protobuf form of a Swagger 2.0 document: gnostic's `openapi.v2` messages (the package
// kube-apiserver and client-go use for `/openapi/v2` as protobuf), as a table from the JSON
// document's keys to field numbers. Upstream definition:
// https://github.com/google/gnostic/blob/main/openapiv2/OpenAPIv2.proto
//
// The table is data for the encoder in openapi-v2-protobuf.ts. A message is one of four shapes:
// - object: JSON keys to fields; `x-*` keys go to the message's vendor_extension field, if any;
// - map: a JSON object whose every key becomes a Named<Value>{name = 1, value = 2} entry;
// - oneof: a wrapper message with one field set, chosen by what the JSON value looks like;
// - list: a wrapper with one repeated field that JSON writes as one value or as an array.

export type Scalar = 'string' | 'bool' | 'double' | 'int64';

export type FieldType =
  | Scalar
  /** repeated string, from a JSON array */
  | 'strings'
  /** openapi.v2.Any: any JSON value, carried as YAML text in its `yaml` field (2) */
  | 'any'
  /** repeated Any, from a JSON array */
  | 'anys'
  | { message: string }
  /** repeated message, from a JSON array */
  | { repeated: string };

export type MessageSpec =
  | { kind: 'object'; fields: Record<string, [number, FieldType]>; extensions?: number }
  | { kind: 'map'; entries: number; value: FieldType; extensions?: number }
  /** `value` is the JSON value itself; undefined: no member fits it */
  | { kind: 'oneof'; choose(value: unknown): [number, FieldType] | undefined }
  | { kind: 'list'; field: number; item: FieldType; acceptsSingle: boolean };

/** a key of a JSON object, undefined for anything else */
const key = (v: unknown, k: string): unknown =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
const has = (v: unknown, k: string): boolean =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, k);

const msg = (message: string): FieldType => ({ message });
const repeated = (message: string): FieldType => ({ repeated: message });

/**
 * The validation keywords every non-body parameter, header and items object shares, numbered
 * consecutively from `first` in each of those messages.
 */
function primitiveFields(first: number): Record<string, [number, FieldType]> {
  const order: [string, FieldType][] = [
    ['type', 'string'],
    ['format', 'string'],
    ['items', msg('PrimitivesItems')],
    ['collectionFormat', 'string'],
    ['default', 'any'],
    ['maximum', 'double'],
    ['exclusiveMaximum', 'bool'],
    ['minimum', 'double'],
    ['exclusiveMinimum', 'bool'],
    ['maxLength', 'int64'],
    ['minLength', 'int64'],
    ['pattern', 'string'],
    ['maxItems', 'int64'],
    ['minItems', 'int64'],
    ['uniqueItems', 'bool'],
    ['enum', 'anys'],
    ['multipleOf', 'double'],
  ];
  return Object.fromEntries(order.map(([key, type], i) => [key, [first + i, type]]));
}

/** header and path parameters: no allowEmptyValue, so their keywords start at 5 */
const headerOrPathParameter: MessageSpec = {
  kind: 'object',
  fields: {
    required: [1, 'bool'],
    in: [2, 'string'],
    description: [3, 'string'],
    name: [4, 'string'],
    ...primitiveFields(5),
  },
  extensions: 22,
};
/** query and formData parameters: allowEmptyValue at 5, keywords from 6 */
const queryOrFormDataParameter: MessageSpec = {
  kind: 'object',
  fields: {
    required: [1, 'bool'],
    in: [2, 'string'],
    description: [3, 'string'],
    name: [4, 'string'],
    allowEmptyValue: [5, 'bool'],
    ...primitiveFields(6),
  },
  extensions: 23,
};

const oauth2 = (fields: Record<string, [number, FieldType]>, extensions: number): MessageSpec => ({
  kind: 'object',
  fields: { type: [1, 'string'], flow: [2, 'string'], scopes: [3, msg('Oauth2Scopes')], ...fields },
  extensions,
});

const OAUTH2_FLOWS: Record<string, number> = { implicit: 3, password: 4, application: 5, accessCode: 6 };
const NON_BODY_LOCATIONS: Record<string, [number, string]> = {
  header: [1, 'HeaderParameterSubSchema'],
  formData: [2, 'FormDataParameterSubSchema'],
  query: [3, 'QueryParameterSubSchema'],
  path: [4, 'PathParameterSubSchema'],
};

export const MESSAGES: Record<string, MessageSpec> = {
  Document: {
    kind: 'object',
    fields: {
      swagger: [1, 'string'],
      info: [2, msg('Info')],
      host: [3, 'string'],
      basePath: [4, 'string'],
      schemes: [5, 'strings'],
      consumes: [6, 'strings'],
      produces: [7, 'strings'],
      paths: [8, msg('Paths')],
      definitions: [9, msg('Definitions')],
      parameters: [10, msg('ParameterDefinitions')],
      responses: [11, msg('ResponseDefinitions')],
      security: [12, repeated('SecurityRequirement')],
      securityDefinitions: [13, msg('SecurityDefinitions')],
      tags: [14, repeated('Tag')],
      externalDocs: [15, msg('ExternalDocs')],
    },
    extensions: 16,
  },
  Info: {
    kind: 'object',
    fields: {
      title: [1, 'string'],
      version: [2, 'string'],
      description: [3, 'string'],
      termsOfService: [4, 'string'],
      contact: [5, msg('Contact')],
      license: [6, msg('License')],
    },
    extensions: 7,
  },
  Contact: { kind: 'object', fields: { name: [1, 'string'], url: [2, 'string'], email: [3, 'string'] }, extensions: 4 },
  License: { kind: 'object', fields: { name: [1, 'string'], url: [2, 'string'] }, extensions: 3 },
  ExternalDocs: { kind: 'object', fields: { description: [1, 'string'], url: [2, 'string'] }, extensions: 3 },
  Tag: {
    kind: 'object',
    fields: { name: [1, 'string'], description: [2, 'string'], externalDocs: [3, msg('ExternalDocs')] },
    extensions: 4,
  },
  Paths: { kind: 'map', extensions: 1, entries: 2, value: msg('PathItem') },
  PathItem: {
    kind: 'object',
    fields: {
      $ref: [1, 'string'],
      get: [2, msg('Operation')],
      put: [3, msg('Operation')],
      post: [4, msg('Operation')],
      delete: [5, msg('Operation')],
      options: [6, msg('Operation')],
      head: [7, msg('Operation')],
      patch: [8, msg('Operation')],
      parameters: [9, repeated('ParametersItem')],
    },
    extensions: 10,
  },
  Operation: {
    kind: 'object',
    fields: {
      tags: [1, 'strings'],
      summary: [2, 'string'],
      description: [3, 'string'],
      externalDocs: [4, msg('ExternalDocs')],
      operationId: [5, 'string'],
      produces: [6, 'strings'],
      consumes: [7, 'strings'],
      parameters: [8, repeated('ParametersItem')],
      responses: [9, msg('Responses')],
      schemes: [10, 'strings'],
      deprecated: [11, 'bool'],
      security: [12, repeated('SecurityRequirement')],
    },
    extensions: 13,
  },
  ParametersItem: {
    kind: 'oneof',
    choose: (v) => (has(v, '$ref') ? [2, msg('JsonReference')] : [1, msg('Parameter')]),
  },
  Parameter: {
    kind: 'oneof',
    choose: (v) => (key(v, 'in') === 'body' ? [1, msg('BodyParameter')] : [2, msg('NonBodyParameter')]),
  },
  NonBodyParameter: {
    kind: 'oneof',
    choose: (v) => {
      const location = key(v, 'in');
      const at =
        typeof location === 'string' && Object.hasOwn(NON_BODY_LOCATIONS, location)
          ? NON_BODY_LOCATIONS[location]
          : undefined;
      return at && [at[0], msg(at[1])];
    },
  },
  BodyParameter: {
    kind: 'object',
    fields: {
      description: [1, 'string'],
      name: [2, 'string'],
      in: [3, 'string'],
      required: [4, 'bool'],
      schema: [5, msg('Schema')],
    },
    extensions: 6,
  },
  HeaderParameterSubSchema: headerOrPathParameter,
  PathParameterSubSchema: headerOrPathParameter,
  FormDataParameterSubSchema: queryOrFormDataParameter,
  QueryParameterSubSchema: queryOrFormDataParameter,
  PrimitivesItems: { kind: 'object', fields: primitiveFields(1), extensions: 18 },
  Header: { kind: 'object', fields: { ...primitiveFields(1), description: [18, 'string'] }, extensions: 19 },
  JsonReference: { kind: 'object', fields: { $ref: [1, 'string'], description: [2, 'string'] } },
  Responses: { kind: 'map', entries: 1, value: msg('ResponseValue'), extensions: 2 },
  ResponseValue: {
    kind: 'oneof',
    choose: (v) => (has(v, '$ref') ? [2, msg('JsonReference')] : [1, msg('Response')]),
  },
  Response: {
    kind: 'object',
    fields: {
      description: [1, 'string'],
      schema: [2, msg('SchemaItem')],
      headers: [3, msg('Headers')],
      examples: [4, msg('Examples')],
    },
    extensions: 5,
  },
  SchemaItem: {
    kind: 'oneof',
    choose: (v) => (key(v, 'type') === 'file' ? [2, msg('FileSchema')] : [1, msg('Schema')]),
  },
  Headers: { kind: 'map', entries: 1, value: msg('Header') },
  Examples: { kind: 'map', entries: 1, value: 'any' },
  FileSchema: {
    kind: 'object',
    fields: {
      format: [1, 'string'],
      title: [2, 'string'],
      description: [3, 'string'],
      default: [4, 'any'],
      required: [5, 'strings'],
      type: [6, 'string'],
      readOnly: [7, 'bool'],
      externalDocs: [8, msg('ExternalDocs')],
      example: [9, 'any'],
    },
    extensions: 10,
  },
  Schema: {
    kind: 'object',
    fields: {
      $ref: [1, 'string'],
      format: [2, 'string'],
      title: [3, 'string'],
      description: [4, 'string'],
      default: [5, 'any'],
      multipleOf: [6, 'double'],
      maximum: [7, 'double'],
      exclusiveMaximum: [8, 'bool'],
      minimum: [9, 'double'],
      exclusiveMinimum: [10, 'bool'],
      maxLength: [11, 'int64'],
      minLength: [12, 'int64'],
      pattern: [13, 'string'],
      maxItems: [14, 'int64'],
      minItems: [15, 'int64'],
      uniqueItems: [16, 'bool'],
      maxProperties: [17, 'int64'],
      minProperties: [18, 'int64'],
      required: [19, 'strings'],
      enum: [20, 'anys'],
      additionalProperties: [21, msg('AdditionalPropertiesItem')],
      type: [22, msg('TypeItem')],
      items: [23, msg('ItemsItem')],
      allOf: [24, repeated('Schema')],
      properties: [25, msg('Properties')],
      discriminator: [26, 'string'],
      readOnly: [27, 'bool'],
      xml: [28, msg('Xml')],
      externalDocs: [29, msg('ExternalDocs')],
      example: [30, 'any'],
    },
    extensions: 31,
  },
  AdditionalPropertiesItem: {
    kind: 'oneof',
    choose: (v) => (typeof v === 'boolean' ? [2, 'bool'] : [1, msg('Schema')]),
  },
  TypeItem: { kind: 'list', field: 1, item: 'string', acceptsSingle: true },
  ItemsItem: { kind: 'list', field: 1, item: msg('Schema'), acceptsSingle: true },
  Properties: { kind: 'map', entries: 1, value: msg('Schema') },
  Xml: {
    kind: 'object',
    fields: {
      name: [1, 'string'],
      namespace: [2, 'string'],
      prefix: [3, 'string'],
      attribute: [4, 'bool'],
      wrapped: [5, 'bool'],
    },
    extensions: 6,
  },
  Definitions: { kind: 'map', entries: 1, value: msg('Schema') },
  ParameterDefinitions: { kind: 'map', entries: 1, value: msg('Parameter') },
  ResponseDefinitions: { kind: 'map', entries: 1, value: msg('Response') },
  SecurityDefinitions: { kind: 'map', entries: 1, value: msg('SecurityDefinitionsItem') },
  SecurityDefinitionsItem: {
    kind: 'oneof',
    choose: (v) => {
      const type = key(v, 'type');
      const flowName = key(v, 'flow');
      if (type === 'basic') return [1, msg('BasicAuthenticationSecurity')];
      if (type === 'apiKey') return [2, msg('ApiKeySecurity')];
      const flow =
        type === 'oauth2' && typeof flowName === 'string' && Object.hasOwn(OAUTH2_FLOWS, flowName)
          ? OAUTH2_FLOWS[flowName]
          : undefined;
      if (flow === 3) return [3, msg('Oauth2ImplicitSecurity')];
      if (flow === 4) return [4, msg('Oauth2PasswordSecurity')];
      if (flow === 5) return [5, msg('Oauth2ApplicationSecurity')];
      if (flow === 6) return [6, msg('Oauth2AccessCodeSecurity')];
      return undefined;
    },
  },
  BasicAuthenticationSecurity: {
    kind: 'object',
    fields: { type: [1, 'string'], description: [2, 'string'] },
    extensions: 3,
  },
  ApiKeySecurity: {
    kind: 'object',
    fields: { type: [1, 'string'], name: [2, 'string'], in: [3, 'string'], description: [4, 'string'] },
    extensions: 5,
  },
  Oauth2ImplicitSecurity: oauth2({ authorizationUrl: [4, 'string'], description: [5, 'string'] }, 6),
  Oauth2PasswordSecurity: oauth2({ tokenUrl: [4, 'string'], description: [5, 'string'] }, 6),
  Oauth2ApplicationSecurity: oauth2({ tokenUrl: [4, 'string'], description: [5, 'string'] }, 6),
  Oauth2AccessCodeSecurity: oauth2(
    { authorizationUrl: [4, 'string'], tokenUrl: [5, 'string'], description: [6, 'string'] },
    7,
  ),
  Oauth2Scopes: { kind: 'map', entries: 1, value: 'string' },
  SecurityRequirement: { kind: 'map', entries: 1, value: msg('StringArray') },
  StringArray: { kind: 'list', field: 1, item: 'string', acceptsSingle: false },
};
