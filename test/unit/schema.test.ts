import { describe, it, expect } from 'vitest';
import { compileKindSchema, pruneObjectMeta } from '../../src/machinery/schema.js';
import type { KindDefinition, JSONSchema } from '../../src/machinery/kind.js';

const spec: JSONSchema = {
  type: 'object',
  description: 'desired state',
  required: ['talos'],
  properties: {
    replicas: { type: 'integer', minimum: 1, maximum: 10, default: 1 },
    mode: { type: 'string', enum: ['Fast', 'Slow'], default: 'Fast' },
    name: { type: 'string', pattern: '^[a-z]+$', minLength: 2, maxLength: 8 },
    talos: {
      type: 'object',
      required: ['endpoint'],
      properties: {
        endpoint: { type: 'string' },
        port: { type: 'integer', default: 50000 },
        nodeType: { type: 'string', enum: ['controlplane', 'worker'] },
      },
    },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    disks: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { size: { type: 'integer' }, wipe: { type: 'boolean', default: false } },
      },
    },
    workers: {
      type: 'array',
      maxItems: 3,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' }, role: { type: 'string', default: 'worker' } },
      },
    },
    tags: { type: 'array', minItems: 1, 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
    args: { type: 'array', 'x-kubernetes-list-type': 'atomic', items: { type: 'string', maxLength: 4 } },
    extra: {
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
      properties: { known: { type: 'object', properties: { a: { type: 'string' } } } },
    },
    template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
    nickname: { type: 'string', nullable: true },
    choice: { type: 'string', nullable: true, enum: ['a', 'b'] },
    size: { type: 'string', default: 'M' },
    port: { 'x-kubernetes-int-or-string': true },
    created: { type: 'string', format: 'date-time' },
  },
};

const widget: KindDefinition = {
  group: 'test.example.io',
  version: 'v1alpha1',
  kind: 'Widget',
  listKind: 'WidgetList',
  plural: 'widgets',
  singular: 'widget',
  namespaced: true,
  shortNames: ['wd'],
  categories: ['all'],
  description: 'A widget.',
  schema: {
    type: 'object',
    required: ['spec'],
    properties: { spec, status: { type: 'object', properties: { phase: { type: 'string' } } } },
  },
  columns: [],
  selectableFields: [],
  statusSubresource: true,
  trackGeneration: true,
  strategy: {},
};

const compiled = compileKindSchema(widget);

function obj(s: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'test.example.io/v1alpha1', kind: 'Widget', metadata: { name: 'w' }, spec: s, ...extra };
}

const messages = (o: unknown) => compiled.validate(o).map((e) => e.message);

describe('prune', () => {
  it('removes undeclared fields and reports kube paths', () => {
    const o = obj(
      {
        talos: { endpoint: 'x', bogus: 1 },
        foo: 'bar',
        workers: [{ name: 'a' }, { name: 'b', bar: true }],
        labels: { any: 'kept' },
        disks: { sda: { size: 1, junk: 2 } },
      },
      { top: 1 },
    );
    const removed = compiled.prune(o);
    expect(removed).toEqual(['spec.talos.bogus', 'spec.foo', 'spec.workers[1].bar', 'spec.disks.sda.junk', 'top']);
    expect(o.spec).toEqual({
      talos: { endpoint: 'x' },
      workers: [{ name: 'a' }, { name: 'b' }],
      labels: { any: 'kept' },
      disks: { sda: { size: 1 } },
    });
    expect(o).not.toHaveProperty('top');
  });

  it('keeps unknown fields under x-kubernetes-preserve-unknown-fields but prunes declared children', () => {
    const o = obj({ talos: { endpoint: 'x' }, extra: { anything: { deep: [1, 2] }, known: { a: 'x', b: 'gone' } } });
    expect(compiled.prune(o)).toEqual(['spec.extra.known.b']);
    expect((o.spec as any).extra).toEqual({ anything: { deep: [1, 2] }, known: { a: 'x' } });
  });

  it('keeps apiVersion/kind/metadata of embedded resources and prunes unknown ObjectMeta there', () => {
    const o = obj({
      talos: { endpoint: 'x' },
      template: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', nope: 1 }, data: { a: 'b' } },
    });
    expect(compiled.prune(o)).toEqual(['spec.template.metadata.nope']);
    expect((o.spec as any).template).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { a: 'b' },
    });
  });

  it('never touches metadata', () => {
    const o = obj({ talos: { endpoint: 'x' } });
    (o.metadata as any).weird = 1;
    expect(compiled.prune(o)).toEqual([]);
    expect((o.metadata as any).weird).toBe(1);
  });

  it('pruneObjectMeta removes unknown ObjectMeta fields, also inside owner references and managed fields', () => {
    const meta = {
      name: 'a',
      labels: { x: 'y' },
      foo: 1,
      clusterName: 'c',
      ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 'n', uid: 'u', extra: true }],
      managedFields: [{ manager: 'm', fieldsV1: { 'f:spec': {} }, what: 1 }],
    };
    expect(pruneObjectMeta(meta)).toEqual([
      'metadata.foo',
      'metadata.clusterName',
      'metadata.ownerReferences[0].extra',
      'metadata.managedFields[0].what',
    ]);
    expect(meta).toEqual({
      name: 'a',
      labels: { x: 'y' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 'n', uid: 'u' }],
      managedFields: [{ manager: 'm', fieldsV1: { 'f:spec': {} } }],
    });
  });
});

describe('applyDefaults', () => {
  it('applies defaults of absent fields when the parent exists, in items and map values too', () => {
    const o = obj({
      talos: { endpoint: 'x' },
      workers: [{ name: 'a' }, { name: 'b', role: 'cp' }],
      disks: { sda: {} },
    });
    compiled.applyDefaults(o);
    expect(o.spec).toEqual({
      replicas: 1,
      mode: 'Fast',
      size: 'M',
      talos: { endpoint: 'x', port: 50000 },
      workers: [
        { name: 'a', role: 'worker' },
        { name: 'b', role: 'cp' },
      ],
      disks: { sda: { wipe: false } },
    });
  });

  it('does not create absent parents and keeps present values', () => {
    const o = obj({ replicas: 5 });
    compiled.applyDefaults(o);
    expect(o.spec).toEqual({ replicas: 5, mode: 'Fast', size: 'M' });
    const noSpec: Record<string, unknown> = { apiVersion: 'x', kind: 'Widget', metadata: {} };
    compiled.applyDefaults(noSpec);
    expect(noSpec).not.toHaveProperty('spec');
  });

  it('replaces nulls of non-nullable fields by the default, drops them without one, keeps nullable nulls', () => {
    const o = obj({ replicas: null, name: null, nickname: null, talos: { endpoint: 'x' } });
    compiled.applyDefaults(o);
    expect((o.spec as any).replicas).toBe(1);
    expect(o.spec).not.toHaveProperty('name');
    expect((o.spec as any).nickname).toBeNull();
  });

  it('copies defaults instead of sharing them', () => {
    const k = compileKindSchema({
      ...widget,
      schema: {
        type: 'object',
        properties: {
          spec: { type: 'object', properties: { l: { type: 'array', items: { type: 'string' }, default: ['a'] } } },
        },
      },
    });
    const a = obj({});
    const b = obj({});
    k.applyDefaults(a);
    k.applyDefaults(b);
    (a.spec as any).l.push('mutated');
    expect((b.spec as any).l).toEqual(['a']);
  });
});

describe('validate', () => {
  it('accepts a valid object', () => {
    const o = obj({
      talos: { endpoint: 'x' },
      replicas: 3,
      mode: 'Slow',
      name: 'abc',
      tags: ['a'],
      port: 'http',
      created: '2026-01-02T03:04:05Z',
      nickname: null,
      choice: null,
      workers: [{ name: 'a' }, { name: 'b' }],
      template: { apiVersion: 'v1', kind: 'Pod', metadata: {} },
    });
    expect(compiled.validate(o)).toEqual([]);
  });

  it('reports required fields with the missing property in the path', () => {
    expect(compiled.validate(obj({ talos: {} }))).toEqual([
      { type: 'FieldValueRequired', field: 'spec.talos.endpoint', message: 'spec.talos.endpoint: Required value' },
    ]);
    expect(messages({ apiVersion: 'a', kind: 'Widget', metadata: {} })).toEqual(['spec: Required value']);
  });

  it('reports type errors like kube (and nothing else about that value)', () => {
    const errs = compiled.validate(obj({ talos: { endpoint: 'x' }, replicas: 'three', mode: 7 }));
    expect(errs).toEqual([
      {
        type: 'FieldValueTypeInvalid',
        field: 'spec.replicas',
        message: 'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
      },
      {
        type: 'FieldValueTypeInvalid',
        field: 'spec.mode',
        message: 'spec.mode: Invalid value: "integer": spec.mode in body must be of type string: "integer"',
      },
    ]);
  });

  it('reports enum, pattern, bounds and lengths', () => {
    expect(messages(obj({ talos: { endpoint: 'x', nodeType: 'gpu' } }))).toEqual([
      'spec.talos.nodeType: Unsupported value: "gpu": supported values: "controlplane", "worker"',
    ]);
    expect(compiled.validate(obj({ talos: { endpoint: 'x', nodeType: 'gpu' } }))[0]!.type).toBe(
      'FieldValueNotSupported',
    );
    expect(messages(obj({ talos: { endpoint: 'x' }, name: 'A1' }))).toEqual([
      `spec.name: Invalid value: "A1": spec.name in body should match '^[a-z]+$'`,
    ]);
    // a pattern that says what it is in words is reported in those words, not as its regex
    const worded = compileKindSchema({
      schema: {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: {
              host: { type: 'string', pattern: '^[a-z]+(\\.[a-z]+)*$', 'x-pattern-rule': 'must be a DNS name' },
            },
          },
        },
      },
    });
    expect(worded.validate({ spec: { host: 'A..b' } }).map((e) => e.message)).toEqual([
      'spec.host: Invalid value: "A..b": must be a DNS name',
    ]);
    expect(messages(obj({ talos: { endpoint: 'x' }, replicas: 0 }))).toEqual([
      'spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
    ]);
    expect(messages(obj({ talos: { endpoint: 'x' }, replicas: 11 }))).toEqual([
      'spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10',
    ]);
    expect(messages(obj({ talos: { endpoint: 'x' }, name: 'a' }))).toEqual([
      'spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long',
    ]);
    expect(compiled.validate(obj({ talos: { endpoint: 'x' }, name: 'abcdefghij' }))).toEqual([
      { type: 'FieldValueTooLong', field: 'spec.name', message: 'spec.name: Too long: may not be more than 8 bytes' },
    ]);
    expect(messages(obj({ talos: { endpoint: 'x' }, tags: [] }))).toEqual([
      'spec.tags: Invalid value: []: spec.tags in body should have at least 1 items',
    ]);
    const many = [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }];
    expect(compiled.validate(obj({ talos: { endpoint: 'x' }, workers: many }))).toEqual([
      {
        type: 'FieldValueTooMany',
        field: 'spec.workers',
        message: 'spec.workers: Too many: must have at most 3 items',
      },
    ]);
  });

  it('uses [i] for array indices in paths and details', () => {
    expect(
      messages(obj({ talos: { endpoint: 'x' }, workers: [{ name: 'a' }, { role: 'x' }], args: ['ok', 'toolong'] })),
    ).toEqual(['spec.workers[1].name: Required value', 'spec.args[1]: Too long: may not be more than 4 bytes']);
    expect(messages(obj({ talos: { endpoint: 'x' }, workers: [{ name: 5 }] }))).toEqual([
      'spec.workers[0].name: Invalid value: "integer": spec.workers[0].name in body must be of type string: "integer"',
    ]);
  });

  it('honours nullable, also with enums', () => {
    expect(compiled.validate(obj({ talos: { endpoint: 'x' }, nickname: null, choice: null }))).toEqual([]);
    expect(messages(obj({ talos: { endpoint: 'x' }, choice: 'c' }))).toEqual([
      'spec.choice: Unsupported value: "c": supported values: "a", "b"',
    ]);
    expect(messages(obj({ talos: { endpoint: 'x' }, tags: [null] }))).toEqual([
      'spec.tags[0]: Invalid value: "null": spec.tags[0] in body must be of type string: "null"',
    ]);
  });

  it('checks int-or-string, formats and the metadata type', () => {
    expect(compiled.validate(obj({ talos: { endpoint: 'x' }, port: 8080 }))).toEqual([]);
    expect(messages(obj({ talos: { endpoint: 'x' }, port: true }))).toEqual([
      'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    ]);
    expect(messages(obj({ talos: { endpoint: 'x' }, created: 'yesterday' }))).toEqual([
      'spec.created: Invalid value: "yesterday": spec.created in body must be of type date-time: "yesterday"',
    ]);
    expect(messages({ ...obj({ talos: { endpoint: 'x' } }), metadata: 'nope' })).toEqual([
      'metadata: Invalid value: "string": metadata in body must be of type object: "string"',
    ]);
  });

  it('requires apiVersion and kind of embedded resources', () => {
    expect(messages(obj({ talos: { endpoint: 'x' }, template: { metadata: {} } }))).toEqual([
      'spec.template.apiVersion: Required value',
      'spec.template.kind: Required value',
    ]);
  });

  it('rejects duplicates in set and map lists', () => {
    expect(
      compiled.validate(
        obj({ talos: { endpoint: 'x' }, tags: ['a', 'b', 'a'], workers: [{ name: 'w' }, { name: 'w', role: 'x' }] }),
      ),
    ).toEqual([
      { type: 'FieldValueDuplicate', field: 'spec.tags[2]', message: 'spec.tags[2]: Duplicate value: "a"' },
      {
        type: 'FieldValueDuplicate',
        field: 'spec.workers[1]',
        message: 'spec.workers[1]: Duplicate value: {"name":"w"}',
      },
    ]);
  });

  it('deduplicates identical errors and reports several at once', () => {
    const errs = compiled.validate(obj({ talos: {}, replicas: 0, mode: 'x' }));
    expect(errs.map((e) => e.field).sort()).toEqual(['spec.mode', 'spec.replicas', 'spec.talos.endpoint']);
  });
});
