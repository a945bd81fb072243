import { describe, it, expect } from 'vitest';
import {
  generateNameSuffix,
  nameFromGenerateName,
  nameIsDNSLabel,
  validateNamespaceName,
  validateObjectMeta,
} from '../../src/machinery/metavalidation.js';

const SUBDOMAIN_DETAIL =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const cluster = { namespaced: false };
const namespaced = { namespaced: true };
const messages = (meta: unknown, opts = cluster) => validateObjectMeta(meta, opts).map((e) => e.message);

describe('validateObjectMeta', () => {
  it('accepts a well-formed metadata', () => {
    expect(
      validateObjectMeta(
        {
          name: 'srv-1.example',
          namespace: 'default',
          labels: { app: 'web', 'cluster.x-k8s.io/cluster-name': 'prod', empty: '' },
          annotations: { 'Example.com/Note': 'anything at all: {"json": true}' },
          finalizers: ['metal.sidero.dev/cleanup'],
          ownerReferences: [
            { apiVersion: 'vitistack.io/v1alpha1', kind: 'KubernetesCluster', name: 'c', uid: 'u', controller: true },
          ],
          generation: 1,
          resourceVersion: '5',
        },
        namespaced,
      ),
    ).toEqual([]);
  });

  it('requires name or generateName', () => {
    expect(validateObjectMeta({}, cluster)).toEqual([
      {
        type: 'FieldValueRequired',
        field: 'metadata.name',
        message: 'metadata.name: Required value: name or generateName is required',
      },
    ]);
    expect(messages(undefined)).toEqual(['metadata.name: Required value: name or generateName is required']);
    expect(messages({ name: null })).toEqual(['metadata.name: Required value: name or generateName is required']);
    expect(messages({ generateName: 'srv-' })).toEqual([]);
  });

  it('validates the name as a DNS-1123 subdomain', () => {
    expect(messages({ name: 'Foo' })).toEqual([`metadata.name: Invalid value: "Foo": ${SUBDOMAIN_DETAIL}`]);
    expect(messages({ name: 'a'.repeat(253) })).toEqual([]);
    expect(messages({ name: 'a'.repeat(254) })).toEqual([
      'metadata.name: Invalid value: "' + 'a'.repeat(254) + '": must be no more than 253 characters',
    ]);
    expect(messages({ name: 'a_b' })).toHaveLength(1);
  });

  it('validates generateName as a prefix (a trailing dash is fine)', () => {
    expect(messages({ generateName: 'web-' })).toEqual([]);
    expect(messages({ generateName: 'Web-' })).toEqual([
      `metadata.generateName: Invalid value: "Web-": ${SUBDOMAIN_DETAIL}`,
    ]);
    expect(messages({ generateName: '-' })).toHaveLength(1);
  });

  it('can validate names as DNS labels', () => {
    expect(messages({ name: 'a.b' })).toEqual([]);
    expect(
      validateObjectMeta({ name: 'a.b' }, { namespaced: false, nameValidator: nameIsDNSLabel }).map((e) => e.message),
    ).toEqual(['metadata.name: Invalid value: "a.b": must not contain dots']);
  });

  it('checks the namespace against the scope', () => {
    expect(messages({ name: 'a' }, namespaced)).toEqual(['metadata.namespace: Required value']);
    expect(messages({ name: 'a', namespace: 'Bad' }, namespaced)[0]).toMatch(
      /^metadata.namespace: Invalid value: "Bad": a lowercase RFC 1123 label/,
    );
    expect(messages({ name: 'a', namespace: 'x' }, cluster)).toEqual([
      'metadata.namespace: Forbidden: not allowed on this type',
    ]);
  });

  it('validates label keys and values on metadata.labels', () => {
    const errs = validateObjectMeta(
      { name: 'a', labels: { 'bad key': 'v', ok: 'bad value', k: 'x'.repeat(64) } },
      cluster,
    );
    expect(errs.map((e) => e.field)).toEqual(['metadata.labels', 'metadata.labels', 'metadata.labels']);
    expect(errs[0].message).toMatch(/^metadata.labels: Invalid value: "bad key": name part must consist of/);
    expect(errs[1].message).toMatch(
      /^metadata.labels: Invalid value: "bad value": a valid label must be an empty string/,
    );
    expect(errs[2].message).toBe(
      `metadata.labels: Invalid value: "${'x'.repeat(64)}": must be no more than 63 characters`,
    );
  });

  it('type-checks maps and lists', () => {
    expect(messages({ name: 'a', labels: { a: 1 } })).toEqual([
      'metadata.labels.a: Invalid value: "integer": metadata.labels.a in body must be of type string: "integer"',
    ]);
    expect(messages({ name: 'a', labels: ['x'] })).toEqual([
      'metadata.labels: Invalid value: "array": metadata.labels in body must be of type object: "array"',
    ]);
    expect(messages({ name: 'a', annotations: 'x' })).toEqual([
      'metadata.annotations: Invalid value: "string": metadata.annotations in body must be of type object: "string"',
    ]);
    expect(messages({ name: 7 })).toEqual([
      'metadata.name: Invalid value: "integer": metadata.name in body must be of type string: "integer"',
      'metadata.name: Required value: name or generateName is required',
    ]);
    expect(messages({ name: 'a', finalizers: 'x' })).toEqual([
      'metadata.finalizers: Invalid value: "string": metadata.finalizers in body must be of type array: "string"',
    ]);
    expect(messages({ name: 'a', finalizers: [1] })).toEqual([
      'metadata.finalizers[0]: Invalid value: "integer": metadata.finalizers[0] in body must be of type string: "integer"',
    ]);
    expect(messages({ name: 'a', generation: 1.5 })).toEqual([
      'metadata.generation: Invalid value: "number": metadata.generation in body must be of type integer: "number"',
    ]);
    expect(messages({ name: 'a', managedFields: {} })).toHaveLength(1);
    expect(messages('x')).toEqual([
      'metadata: Invalid value: "string": metadata in body must be of type object: "string"',
    ]);
    expect(messages([])).toEqual([
      'metadata: Invalid value: "array": metadata in body must be of type object: "array"',
    ]);
  });

  it('rejects a negative generation', () => {
    expect(messages({ name: 'a', generation: -1 })).toEqual([
      'metadata.generation: Invalid value: -1: must be greater than or equal to 0',
    ]);
  });

  it('validates annotation keys case-insensitively and limits their total size', () => {
    expect(messages({ name: 'a', annotations: { 'UPPER/Case': 'x' } })).toEqual([]);
    expect(messages({ name: 'a', annotations: { 'a b': 'x' } })[0]).toMatch(
      /^metadata.annotations: Invalid value: "a b": name part/,
    );
    expect(validateObjectMeta({ name: 'a', annotations: { k: 'x'.repeat(256 * 1024 - 1) } }, cluster)).toEqual([]);
    expect(validateObjectMeta({ name: 'a', annotations: { k: 'x'.repeat(256 * 1024) } }, cluster)).toEqual([
      {
        type: 'FieldValueTooLong',
        field: 'metadata.annotations',
        message: 'metadata.annotations: Too long: must have at most 262144 bytes',
      },
    ]);
    // bytes, not UTF-16 units
    expect(messages({ name: 'a', annotations: { k: 'é'.repeat(128 * 1024) } })).toEqual([
      'metadata.annotations: Too long: must have at most 262144 bytes',
    ]);
  });

  it('validates finalizers: qualified names, no duplicates, not orphan with foregroundDeletion', () => {
    expect(messages({ name: 'a', finalizers: ['a/b', 'kubernetes'] })).toEqual([]);
    expect(messages({ name: 'a', finalizers: ['bad finalizer'] })[0]).toMatch(
      /^metadata.finalizers: Invalid value: "bad finalizer": name part/,
    );
    expect(validateObjectMeta({ name: 'a', finalizers: ['x/y', 'x/y'] }, cluster)).toEqual([
      {
        type: 'FieldValueDuplicate',
        field: 'metadata.finalizers[1]',
        message: 'metadata.finalizers[1]: Duplicate value: "x/y"',
      },
    ]);
    expect(messages({ name: 'a', finalizers: ['orphan', 'foregroundDeletion'] })).toEqual([
      'metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: finalizer orphan and foregroundDeletion cannot be both set',
    ]);
  });

  it('validates ownerReferences', () => {
    expect(messages({ name: 'a', ownerReferences: [{}] })).toEqual([
      'metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
      'metadata.ownerReferences.kind: Invalid value: "": kind must not be empty',
      'metadata.ownerReferences.name: Invalid value: "": name must not be empty',
      'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty',
    ]);
    expect(messages({ name: 'a', ownerReferences: [{ apiVersion: 'a/b/c', kind: 'K', name: 'n', uid: 'u' }] })).toEqual(
      ['metadata.ownerReferences.apiVersion: Invalid value: "a/b/c": version must not be empty'],
    );
    const two = [
      { apiVersion: 'v1', kind: 'A', name: 'x', uid: '1', controller: true },
      { apiVersion: 'v1', kind: 'B', name: 'y', uid: '2', controller: true },
    ];
    const errs = validateObjectMeta({ name: 'a', ownerReferences: two }, cluster);
    expect(errs).toHaveLength(1);
    expect(errs[0].field).toBe('metadata.ownerReferences');
    expect(errs[0].message).toMatch(
      /Only one reference can have Controller set to true. Found "true" in references for A\/x and B\/y$/,
    );
    expect(
      messages({ name: 'a', ownerReferences: [{ apiVersion: 'v1', kind: 'Event', name: 'e', uid: 'u' }] })[0],
    ).toMatch(/\/v1, Kind=Event is disallowed from being an owner$/);
    expect(
      messages({
        name: 'a',
        ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 'n', uid: 'u', controller: 'yes' }],
      }),
    ).toEqual([
      'metadata.ownerReferences[0].controller: Invalid value: "string": metadata.ownerReferences[0].controller in body must be of type boolean: "string"',
    ]);
    expect(messages({ name: 'a', ownerReferences: ['x'] })).toHaveLength(1);
  });
});

describe('validateNamespaceName', () => {
  it('is a DNS-1123 label', () => {
    expect(validateNamespaceName('kube-system')).toEqual([]);
    expect(validateNamespaceName('a'.repeat(63))).toEqual([]);
    expect(validateNamespaceName('a'.repeat(64))).toEqual(['must be no more than 63 characters']);
    expect(validateNamespaceName('a.b')).toEqual(['must not contain dots']);
    expect(validateNamespaceName('Default')).toEqual([
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
    expect(validateNamespaceName('')).toHaveLength(1);
  });
});

describe('generated names', () => {
  it('suffixes are 5 characters from the kube alphabet', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = generateNameSuffix();
      expect(s).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      seen.add(s);
    }
    expect(seen.size).toBeGreaterThan(190);
  });

  it('cuts the prefix to 58 characters', () => {
    expect(nameFromGenerateName('web-')).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const long = nameFromGenerateName('p'.repeat(80));
    expect(long).toHaveLength(63);
    expect(long.startsWith('p'.repeat(58))).toBe(true);
    expect(validateNamespaceName(long)).toEqual([]);
  });
});
