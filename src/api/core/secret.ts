// core/v1 Secret, served in standalone mode. `data` values are base64; `stringData` is a
// write-only convenience merged into `data` (it wins on conflicts) and never stored.
import { fieldErr, type FieldError } from '../../machinery/errors.js';
import type { KindDefinition, KubeObject } from '../../machinery/kind.js';
import { Bool, Str, StringMap, Opt, Type, ageColumn, column, kindSchema, type Static } from '../schema.js';
import { isBase64, isRecord } from '../validate.js';

export const maxSecretSize = 1024 * 1024;
const redacted = '<secret contents redacted>';
const immutableDetail = 'field is immutable when `immutable` is set';

export const SecretSchema = Type.Object(
  {
    // No `format: byte` on the values: a schema format error would echo the value, and secret
    // material must never appear in an error; validate() checks base64 with a redacted message.
    data: Opt(
      StringMap(
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values are base64-encoded.",
      ),
    ),
    stringData: Opt(
      StringMap(
        'stringData allows specifying non-binary secret data in string form. It is a write-only input field merged into data on write, overwriting existing values; it is never output when reading.',
      ),
    ),
    type: Opt(
      Str('Used to facilitate programmatic handling of secret data, e.g. Opaque or kubernetes.io/tls. Immutable.', {
        default: 'Opaque',
      }),
    ),
    immutable: Opt(
      Bool(
        'If set to true, the data of the Secret cannot be updated (only object metadata can be modified). It cannot be unset.',
      ),
    ),
  },
  {
    description:
      'Secret holds secret data of a certain type. The total bytes of the values in the Data field must be less than 1 MiB.',
  },
);
export type Secret = Static<typeof SecretSchema> & KubeObject;

function mergeStringData(obj: KubeObject): void {
  if (isRecord(obj.stringData)) {
    const data: Record<string, unknown> = isRecord(obj.data) ? { ...obj.data } : {};
    for (const [k, v] of Object.entries(obj.stringData)) {
      if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
    }
    obj.data = data;
  }
  delete obj.stringData;
  if (obj.type === undefined || obj.type === '') obj.type = 'Opaque';
}

const configKeyRe = /^[-._a-zA-Z0-9]+$/;

function configKeyProblem(key: string): string | undefined {
  if (key.length > 253) return 'must be no more than 253 characters';
  if (!configKeyRe.test(key)) {
    return "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
  }
  if (key === '.') return "must not be '.'";
  if (key === '..') return "must not be '..'";
  if (key.startsWith('..')) return "must not start with '..'";
  return undefined;
}

// Keys a typed secret must carry, as kube-apiserver checks them.
const requiredKeys: Record<string, string[]> = {
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
};

function validate(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const data = isRecord(obj.data) ? obj.data : {};
  let size = 0;
  for (const [key, value] of Object.entries(data)) {
    const problem = configKeyProblem(key);
    if (problem) errs.push(fieldErr.invalid(`data[${key}]`, key, problem));
    if (typeof value !== 'string') continue;
    if (!isBase64(value)) errs.push(fieldErr.invalid(`data[${key}]`, redacted, 'must be base64-encoded'));
    else size += Buffer.byteLength(value.replace(/[\r\n]/g, ''), 'base64');
  }
  if (size > maxSecretSize) errs.push(fieldErr.tooLong('data', maxSecretSize));
  const type = typeof obj.type === 'string' ? obj.type : 'Opaque';
  for (const key of requiredKeys[type] ?? []) {
    if (!(key in data)) errs.push(fieldErr.required(`data[${key}]`));
  }
  if (type === 'kubernetes.io/basic-auth' && !('username' in data) && !('password' in data)) {
    errs.push(fieldErr.required('data[username]'), fieldErr.required('data[password]'));
  }
  if (type === 'kubernetes.io/service-account-token') {
    const annotations = obj.metadata?.annotations ?? {};
    if (!annotations['kubernetes.io/service-account.name']) {
      errs.push(fieldErr.required('metadata.annotations[kubernetes.io/service-account.name]'));
    }
  }
  return errs;
}

function sameData(a: unknown, b: unknown): boolean {
  const x = isRecord(a) ? a : {};
  const y = isRecord(b) ? b : {};
  const kx = Object.keys(x);
  return kx.length === Object.keys(y).length && kx.every((k) => k in y && x[k] === y[k]);
}

function validateUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const oldType = old.type ?? 'Opaque';
  if ((obj.type ?? 'Opaque') !== oldType) errs.push(fieldErr.invalid('type', obj.type, 'field is immutable'));
  if (old.immutable === true) {
    if (obj.immutable !== true) errs.push(fieldErr.forbidden('immutable', immutableDetail));
    if (!sameData(obj.data, old.data)) errs.push(fieldErr.forbidden('data', immutableDetail));
  }
  return errs;
}

export const secretKind: KindDefinition = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  listKind: 'SecretList',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  shortNames: [],
  categories: [],
  description: SecretSchema.description!,
  schema: kindSchema(SecretSchema),
  columns: [
    column('Type', '.type', 'string', 'The type of the secret.'),
    {
      ...column('Data', '.data', 'integer', 'The number of keys in the secret.'),
      value: (obj) => (isRecord(obj.data) ? Object.keys(obj.data).length : 0),
    },
    ageColumn,
  ],
  selectableFields: ['type'],
  statusSubresource: false,
  trackGeneration: false,
  // k8s.io/api/core/v1 generated.proto: kubectl create secret sends this
  protobuf: {
    2: { name: 'data', type: 'map', value: 'bytes' },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: 'map', value: 'string' },
    5: { name: 'immutable', type: 'bool' },
  },
  strategy: {
    prepareForCreate: mergeStringData,
    prepareForUpdate: (obj) => mergeStringData(obj),
    validate,
    validateUpdate,
    fieldValues: (obj) => ({ type: typeof obj.type === 'string' ? obj.type : '' }),
  },
};
