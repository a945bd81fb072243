// Reading the protobuf form of /openapi/v2 back, independently of the encoder: gnostic's
// openapi.v2 messages written out here as a .proto (field numbers and shapes from
// https://github.com/google/gnostic/blob/main/openapiv2/OpenAPIv2.proto), decoded by protobufjs
// and turned back into the Swagger 2.0 JSON they stand for.
import protobuf from 'protobufjs';
import { parse as parseYAML } from 'yaml';

const PRIMITIVE_KEYWORDS = (first: number) =>
  [
    'string type',
    'string format',
    'PrimitivesItems items',
    'string collection_format',
    'Any default',
    'double maximum',
    'bool exclusive_maximum',
    'double minimum',
    'bool exclusive_minimum',
    'int64 max_length',
    'int64 min_length',
    'string pattern',
    'int64 max_items',
    'int64 min_items',
    'bool unique_items',
    'repeated Any enum',
    'double multiple_of',
  ]
    .map((f, i) => `${f} = ${first + i};`)
    .join(' ');

const named = (value: string) => `message Named${value} { string name = 1; ${value} value = 2; }`;

export const OPENAPI_V2_PROTO = `
syntax = "proto3";
package openapi.v2;
message GoogleProtobufAny { string type_url = 1; bytes value = 2; }
message Any { GoogleProtobufAny value = 1; string yaml = 2; }
message NamedAny { string name = 1; Any value = 2; }
message NamedString { string name = 1; string value = 2; }
${['PathItem', 'Schema', 'Parameter', 'Response', 'ResponseValue', 'Header', 'SecurityDefinitionsItem', 'StringArray'].map(named).join('\n')}
message Document {
  string swagger = 1; Info info = 2; string host = 3; string base_path = 4; repeated string schemes = 5;
  repeated string consumes = 6; repeated string produces = 7; Paths paths = 8; Definitions definitions = 9;
  ParameterDefinitions parameters = 10; ResponseDefinitions responses = 11;
  repeated SecurityRequirement security = 12; SecurityDefinitions security_definitions = 13;
  repeated Tag tags = 14; ExternalDocs external_docs = 15; repeated NamedAny vendor_extension = 16;
}
message Info {
  string title = 1; string version = 2; string description = 3; string terms_of_service = 4;
  Contact contact = 5; License license = 6; repeated NamedAny vendor_extension = 7;
}
message Contact { string name = 1; string url = 2; string email = 3; repeated NamedAny vendor_extension = 4; }
message License { string name = 1; string url = 2; repeated NamedAny vendor_extension = 3; }
message ExternalDocs { string description = 1; string url = 2; repeated NamedAny vendor_extension = 3; }
message Tag { string name = 1; string description = 2; ExternalDocs external_docs = 3; repeated NamedAny vendor_extension = 4; }
message Paths { repeated NamedAny vendor_extension = 1; repeated NamedPathItem path = 2; }
message PathItem {
  string _ref = 1; Operation get = 2; Operation put = 3; Operation post = 4; Operation delete = 5;
  Operation options = 6; Operation head = 7; Operation patch = 8; repeated ParametersItem parameters = 9;
  repeated NamedAny vendor_extension = 10;
}
message Operation {
  repeated string tags = 1; string summary = 2; string description = 3; ExternalDocs external_docs = 4;
  string operation_id = 5; repeated string produces = 6; repeated string consumes = 7;
  repeated ParametersItem parameters = 8; Responses responses = 9; repeated string schemes = 10;
  bool deprecated = 11; repeated SecurityRequirement security = 12; repeated NamedAny vendor_extension = 13;
}
message ParametersItem { oneof oneof { Parameter parameter = 1; JsonReference json_reference = 2; } }
message Parameter { oneof oneof { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; } }
message NonBodyParameter {
  oneof oneof {
    HeaderParameterSubSchema header_parameter_sub_schema = 1; FormDataParameterSubSchema form_data_parameter_sub_schema = 2;
    QueryParameterSubSchema query_parameter_sub_schema = 3; PathParameterSubSchema path_parameter_sub_schema = 4;
  }
}
message BodyParameter {
  string description = 1; string name = 2; string in = 3; bool required = 4; Schema schema = 5;
  repeated NamedAny vendor_extension = 6;
}
message HeaderParameterSubSchema {
  bool required = 1; string in = 2; string description = 3; string name = 4; ${PRIMITIVE_KEYWORDS(5)}
  repeated NamedAny vendor_extension = 22;
}
message PathParameterSubSchema {
  bool required = 1; string in = 2; string description = 3; string name = 4; ${PRIMITIVE_KEYWORDS(5)}
  repeated NamedAny vendor_extension = 22;
}
message QueryParameterSubSchema {
  bool required = 1; string in = 2; string description = 3; string name = 4; bool allow_empty_value = 5;
  ${PRIMITIVE_KEYWORDS(6)} repeated NamedAny vendor_extension = 23;
}
message FormDataParameterSubSchema {
  bool required = 1; string in = 2; string description = 3; string name = 4; bool allow_empty_value = 5;
  ${PRIMITIVE_KEYWORDS(6)} repeated NamedAny vendor_extension = 23;
}
message PrimitivesItems { ${PRIMITIVE_KEYWORDS(1)} repeated NamedAny vendor_extension = 18; }
message Header { ${PRIMITIVE_KEYWORDS(1)} string description = 18; repeated NamedAny vendor_extension = 19; }
message JsonReference { string _ref = 1; string description = 2; }
message Responses { repeated NamedResponseValue response_code = 1; repeated NamedAny vendor_extension = 2; }
message ResponseValue { oneof oneof { Response response = 1; JsonReference json_reference = 2; } }
message Response {
  string description = 1; SchemaItem schema = 2; Headers headers = 3; Examples examples = 4;
  repeated NamedAny vendor_extension = 5;
}
message SchemaItem { oneof oneof { Schema schema = 1; FileSchema file_schema = 2; } }
message Headers { repeated NamedHeader additional_properties = 1; }
message Examples { repeated NamedAny additional_properties = 1; }
message FileSchema {
  string format = 1; string title = 2; string description = 3; Any default = 4; repeated string required = 5;
  string type = 6; bool read_only = 7; ExternalDocs external_docs = 8; Any example = 9;
  repeated NamedAny vendor_extension = 10;
}
message Schema {
  string _ref = 1; string format = 2; string title = 3; string description = 4; Any default = 5;
  double multiple_of = 6; double maximum = 7; bool exclusive_maximum = 8; double minimum = 9;
  bool exclusive_minimum = 10; int64 max_length = 11; int64 min_length = 12; string pattern = 13;
  int64 max_items = 14; int64 min_items = 15; bool unique_items = 16; int64 max_properties = 17;
  int64 min_properties = 18; repeated string required = 19; repeated Any enum = 20;
  AdditionalPropertiesItem additional_properties = 21; TypeItem type = 22; ItemsItem items = 23;
  repeated Schema all_of = 24; Properties properties = 25; string discriminator = 26; bool read_only = 27;
  Xml xml = 28; ExternalDocs external_docs = 29; Any example = 30; repeated NamedAny vendor_extension = 31;
}
message AdditionalPropertiesItem { oneof oneof { Schema schema = 1; bool boolean = 2; } }
message TypeItem { repeated string value = 1; }
message ItemsItem { repeated Schema schema = 1; }
message Properties { repeated NamedSchema additional_properties = 1; }
message Xml {
  string name = 1; string namespace = 2; string prefix = 3; bool attribute = 4; bool wrapped = 5;
  repeated NamedAny vendor_extension = 6;
}
message Definitions { repeated NamedSchema additional_properties = 1; }
message ParameterDefinitions { repeated NamedParameter additional_properties = 1; }
message ResponseDefinitions { repeated NamedResponse additional_properties = 1; }
message SecurityDefinitions { repeated NamedSecurityDefinitionsItem additional_properties = 1; }
message SecurityDefinitionsItem {
  oneof oneof {
    BasicAuthenticationSecurity basic_authentication_security = 1; ApiKeySecurity api_key_security = 2;
    Oauth2ImplicitSecurity oauth2_implicit_security = 3; Oauth2PasswordSecurity oauth2_password_security = 4;
    Oauth2ApplicationSecurity oauth2_application_security = 5; Oauth2AccessCodeSecurity oauth2_access_code_security = 6;
  }
}
message BasicAuthenticationSecurity { string type = 1; string description = 2; repeated NamedAny vendor_extension = 3; }
message ApiKeySecurity {
  string type = 1; string name = 2; string in = 3; string description = 4; repeated NamedAny vendor_extension = 5;
}
message Oauth2ImplicitSecurity {
  string type = 1; string flow = 2; Oauth2Scopes scopes = 3; string authorization_url = 4; string description = 5;
  repeated NamedAny vendor_extension = 6;
}
message Oauth2PasswordSecurity {
  string type = 1; string flow = 2; Oauth2Scopes scopes = 3; string token_url = 4; string description = 5;
  repeated NamedAny vendor_extension = 6;
}
message Oauth2ApplicationSecurity {
  string type = 1; string flow = 2; Oauth2Scopes scopes = 3; string token_url = 4; string description = 5;
  repeated NamedAny vendor_extension = 6;
}
message Oauth2AccessCodeSecurity {
  string type = 1; string flow = 2; Oauth2Scopes scopes = 3; string authorization_url = 4; string token_url = 5;
  string description = 6; repeated NamedAny vendor_extension = 7;
}
message Oauth2Scopes { repeated NamedString additional_properties = 1; }
message SecurityRequirement { repeated NamedStringArray additional_properties = 1; }
message StringArray { repeated string value = 1; }
`;

const root = protobuf.parse(OPENAPI_V2_PROTO, { keepCase: true }).root;
export const DocumentType = root.lookupType('openapi.v2.Document');

type Plain = Record<string, any>;

function jsonKey(protoName: string): string {
  if (protoName === '_ref') return '$ref';
  return protoName.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** the YAML text of an openapi.v2.Any, read as client-go reads it (YAML 1.1) */
function anyValue(a: Plain): unknown {
  if (a.value !== undefined) throw new Error('Any.value (google.protobuf.Any) is set; only Any.yaml is expected');
  return parseYAML(a.yaml, { version: '1.1' });
}

function valueOf(field: protobuf.Field, v: unknown): unknown {
  field.resolve();
  if (!field.resolvedType || !(field.resolvedType instanceof protobuf.Type)) return v;
  const type = field.resolvedType;
  return field.repeated ? (v as Plain[]).map((x) => toJSON(type, x)) : toJSON(type, v as Plain);
}

/** is `type` a list of Named{name, value} pairs (plus, maybe, vendor extensions)? */
function mapField(type: protobuf.Type): protobuf.Field | undefined {
  const entries = type.fieldsArray.filter((f) => f.name !== 'vendor_extension');
  if (entries.length !== 1 || !entries[0]!.repeated) return undefined;
  const f = entries[0]!;
  f.resolve();
  return f.resolvedType?.name.startsWith('Named') ? f : undefined;
}

/** the JSON form of one decoded message (a plain object from toObject) */
export function toJSON(type: protobuf.Type, m: Plain): unknown {
  switch (type.name) {
    case 'Any':
      return anyValue(m);
    case 'TypeItem':
    case 'ItemsItem': {
      // JSON writes one type or one items schema as itself, several as an array
      const name = type.name === 'TypeItem' ? 'value' : 'schema';
      const list = m[name] === undefined ? [] : (valueOf(type.fields[name]!, m[name]) as unknown[]);
      return list.length === 1 ? list[0] : list;
    }
    case 'StringArray':
      return m.value ?? [];
  }
  if (type.oneofsArray.length === 1) {
    const set = Object.keys(m);
    if (set.length !== 1) throw new Error(`${type.name}: ${set.length} members of the oneof are set`);
    return valueOf(type.fields[set[0]!]!, m[set[0]!]);
  }
  const out: Plain = {};
  const entries = mapField(type);
  if (entries) {
    for (const e of (m[entries.name] ?? []) as Plain[]) {
      const valueField = (entries.resolvedType as protobuf.Type).fields.value!;
      out[e.name ?? ''] =
        e.value === undefined ? (valueField.type === 'string' ? '' : {}) : valueOf(valueField, e.value);
    }
  }
  for (const [name, v] of Object.entries(m)) {
    if (entries && name === entries.name) continue;
    if (name === 'vendor_extension') {
      for (const e of v as Plain[]) out[e.name] = anyValue(e.value);
      continue;
    }
    out[jsonKey(name)] = valueOf(type.fields[name]!, v);
  }
  return out;
}

/** the protobuf bytes of /openapi/v2 as the Swagger 2.0 JSON they carry */
export function decodeOpenAPIV2(bytes: Uint8Array): Plain {
  const message = DocumentType.decode(bytes);
  const plain = DocumentType.toObject(message, { longs: Number, defaults: false, arrays: false, oneofs: false });
  return toJSON(DocumentType, plain) as Plain;
}
