// The core/v1 kinds served in standalone mode: Namespace, Secret, Event.
import { describe, expect, it } from 'vitest';
import { namespaceKind } from '../../../src/api/core/namespace.js';
import { secretKind } from '../../../src/api/core/secret.js';
import { eventKind } from '../../../src/api/core/event.js';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { check } from './helpers.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const obj = (kind: string, rest: Record<string, unknown>, namespace?: string): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name: 'x', ...(namespace ? { namespace } : {}) },
  ...rest,
});
const deepFreeze = <T>(o: T): T => {
  if (o && typeof o === 'object') {
    Object.values(o).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
};

describe('Namespace', () => {
  const s = namespaceKind.strategy;

  it('gets the kubernetes finalizer and phase Active on create, whatever status was sent', () => {
    const ns = obj('Namespace', { status: { phase: 'Terminating' } });
    s.prepareForCreate!(ns);
    expect(ns.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(ns.status).toEqual({ phase: 'Active' });
    expect(check(namespaceKind, ns).errors).toEqual([]);
  });

  it('keeps finalizers that were sent, even an empty list', () => {
    const ns = obj('Namespace', { spec: { finalizers: [] } });
    s.prepareForCreate!(ns);
    expect(ns.spec).toEqual({ finalizers: [] });
  });

  it('keeps the stored status and finalizers when an update omits them', () => {
    const old = deepFreeze(obj('Namespace', { spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }));
    const next = obj('Namespace', {});
    s.prepareForUpdate!(next, old);
    expect(next.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(next.status).toEqual({ phase: 'Active' });
    const terminating = obj('Namespace', { status: { phase: 'Terminating' } });
    s.prepareForUpdate!(terminating, old);
    expect(terminating.status).toEqual({ phase: 'Terminating' });
  });

  it('requires a DNS-1123 label as name and a known phase', () => {
    expect(s.validate!({ ...obj('Namespace', {}), metadata: { name: 'team-a' } })).toEqual([]);
    const [err] = s.validate!({ ...obj('Namespace', {}), metadata: { name: 'Team.A' } });
    expect(err).toMatchObject({ type: 'FieldValueInvalid', field: 'metadata.name' });
    expect(err!.message).toMatch(
      /^metadata\.name: Invalid value: "Team\.A": a lowercase RFC 1123 label must consist of/,
    );
    expect(s.validate!({ ...obj('Namespace', {}), metadata: { name: 'a'.repeat(64) } })[0]!.message).toMatch(
      /must be no more than 63 characters$/,
    );
    expect(check(namespaceKind, obj('Namespace', { status: { phase: 'Gone' } })).errors).toEqual([
      '/status/phase enum',
    ]);
  });
});

describe('Secret', () => {
  const s = secretKind.strategy;

  it('merges stringData into data as base64 on create, stringData winning, and defaults type', () => {
    const secret = obj(
      'Secret',
      { data: { a: b64('old'), b: b64('keep') }, stringData: { a: 'new', c: 'ünïcode' } },
      'default',
    );
    s.prepareForCreate!(secret);
    expect(secret).not.toHaveProperty('stringData');
    expect(secret.data).toEqual({ a: b64('new'), b: b64('keep'), c: b64('ünïcode') });
    expect(secret.type).toBe('Opaque');
    expect(s.validate!(secret)).toEqual([]);
  });

  it('merges stringData on update too', () => {
    const old = deepFreeze(obj('Secret', { data: { a: b64('1') }, type: 'Opaque' }, 'default'));
    const next = obj('Secret', { data: { a: b64('1') }, stringData: { b: '2' }, type: 'Opaque' }, 'default');
    s.prepareForUpdate!(next, old);
    expect(next.data).toEqual({ a: b64('1'), b: b64('2') });
    expect(next).not.toHaveProperty('stringData');
    expect(s.validateUpdate!(next, old)).toEqual([]);
  });

  it('defaults type through the schema as well', () => {
    expect(check(secretKind, obj('Secret', {}, 'default')).obj.type).toBe('Opaque');
  });

  it('rejects data that is not base64 without echoing the value', () => {
    const errs = s.validate!(
      obj('Secret', { data: { token: 'not base64!', ok: b64('x') }, type: 'Opaque' }, 'default'),
    );
    expect(errs).toEqual([
      {
        type: 'FieldValueInvalid',
        field: 'data[token]',
        message: 'data[token]: Invalid value: "<secret contents redacted>": must be base64-encoded',
      },
    ]);
    expect(JSON.stringify(errs)).not.toContain('not base64');
    for (const bad of ['abc', 'ab=c', 'a===', '====']) {
      expect(s.validate!(obj('Secret', { data: { k: bad } }, 'default')), bad).toHaveLength(1);
    }
    for (const good of ['', 'YQ==', 'YWI=', 'YWJj', 'YWJj\nZGVm']) {
      expect(s.validate!(obj('Secret', { data: { k: good } }, 'default')), good).toEqual([]);
    }
  });

  it('rejects invalid keys, oversized data and missing keys of typed secrets', () => {
    const keyErr = s.validate!(obj('Secret', { data: { 'a/b': b64('x'), '..x': b64('x') } }, 'default'));
    expect(keyErr.map((e) => e.field)).toEqual(['data[a/b]', 'data[..x]']);
    expect(keyErr[0]!.message).toMatch(/a valid config key must consist of alphanumeric characters/);
    expect(keyErr[1]!.message).toMatch(/must not start with '\.\.'$/);

    const big = Buffer.alloc(1024 * 1024 + 1).toString('base64');
    expect(s.validate!(obj('Secret', { data: { big } }, 'default')).map((e) => e.message)).toEqual([
      'data: Too long: may not be more than 1048576 bytes',
    ]);

    expect(
      s.validate!(obj('Secret', { type: 'kubernetes.io/tls', data: { 'tls.crt': b64('c') } }, 'default')).map(
        (e) => e.message,
      ),
    ).toEqual(['data[tls.key]: Required value']);
    expect(
      s.validate!(obj('Secret', { type: 'kubernetes.io/basic-auth', data: {} }, 'default')).map((e) => e.field),
    ).toEqual(['data[username]', 'data[password]']);
  });

  it('makes type immutable', () => {
    const old = deepFreeze(obj('Secret', { type: 'Opaque', data: {} }, 'default'));
    const next = obj('Secret', { type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }, 'default');
    expect(s.validateUpdate!(next, old).map((e) => e.message)).toEqual([
      'type: Invalid value: "kubernetes.io/tls": field is immutable',
    ]);
  });

  it('forbids data changes and unsetting immutable on an immutable secret', () => {
    const old = deepFreeze(obj('Secret', { type: 'Opaque', data: { a: b64('1') }, immutable: true }, 'default'));
    const same = obj('Secret', { type: 'Opaque', data: { a: b64('1') }, immutable: true }, 'default');
    expect(s.validateUpdate!(same, old)).toEqual([]);
    const changed = obj('Secret', { type: 'Opaque', data: { a: b64('2') }, immutable: true }, 'default');
    expect(s.validateUpdate!(changed, old).map((e) => e.message)).toEqual([
      'data: Forbidden: field is immutable when `immutable` is set',
    ]);
    const viaStringData = obj(
      'Secret',
      { type: 'Opaque', data: { a: b64('1') }, stringData: { b: 'x' }, immutable: true },
      'default',
    );
    s.prepareForUpdate!(viaStringData, old);
    expect(s.validateUpdate!(viaStringData, old).map((e) => e.field)).toEqual(['data']);
    const unset = obj('Secret', { type: 'Opaque', data: { a: b64('1') }, immutable: false }, 'default');
    expect(s.validateUpdate!(unset, old).map((e) => e.message)).toEqual([
      'immutable: Forbidden: field is immutable when `immutable` is set',
    ]);
  });

  it('answers the type field selector', () => {
    expect(s.fieldValues!(obj('Secret', { type: 'kubernetes.io/tls' }))).toEqual({ type: 'kubernetes.io/tls' });
    expect(secretKind.selectableFields).toEqual(['type']);
  });

  it('declares data and stringData as maps of strings, with no format whose error would echo a value', () => {
    expect(secretKind.schema.properties.data).toMatchObject({
      type: 'object',
      additionalProperties: { type: 'string' },
    });
    expect(JSON.stringify(secretKind.schema)).not.toContain('format');
    expect(secretKind.schema.properties.stringData).toMatchObject({
      type: 'object',
      additionalProperties: { type: 'string' },
    });
  });
});

describe('Event', () => {
  const s = eventKind.strategy;
  const event = obj(
    'Event',
    {
      involvedObject: {
        apiVersion: 'metal.sidero.dev/v1alpha2',
        kind: 'AdoptedServer',
        name: 'spokane-control-1',
        namespace: 'default',
        uid: 'u-1',
        resourceVersion: '7',
        fieldPath: 'spec.talos',
      },
      reason: 'Connected',
      message: 'Talos API reachable',
      source: { component: 'adoptedserver-controller', host: 'h' },
      firstTimestamp: '2025-01-01T00:00:00Z',
      lastTimestamp: '2025-01-01T00:05:00Z',
      count: 3,
      type: 'Normal',
      reportingComponent: 'talos-fleet',
      reportingInstance: 'talos-fleet-0',
    },
    'default',
  );

  it('accepts a recorder-style event', () => {
    expect(check(eventKind, event).errors).toEqual([]);
    expect(s.validate!(event)).toEqual([]);
  });

  it('answers every involvedObject and top-level field selector kubectl uses', () => {
    expect(s.fieldValues!(event)).toEqual({
      'involvedObject.kind': 'AdoptedServer',
      'involvedObject.namespace': 'default',
      'involvedObject.name': 'spokane-control-1',
      'involvedObject.uid': 'u-1',
      'involvedObject.apiVersion': 'metal.sidero.dev/v1alpha2',
      'involvedObject.resourceVersion': '7',
      'involvedObject.fieldPath': 'spec.talos',
      reason: 'Connected',
      reportingComponent: 'talos-fleet',
      source: 'adoptedserver-controller',
      type: 'Normal',
    });
    expect(eventKind.selectableFields).toEqual(Object.keys(s.fieldValues!(event)));
    expect(Object.values(s.fieldValues!(obj('Event', { involvedObject: {} }))).every((v) => v === '')).toBe(true);
  });

  it('requires involvedObject and a Normal or Warning type', () => {
    expect(check(eventKind, obj('Event', {}, 'default')).errors).toEqual([' required involvedObject']);
    expect(check(eventKind, { ...event, type: 'Error' }).errors).toEqual(['/type enum']);
  });

  it("lives in its object's namespace; events about cluster-scoped objects live in default", () => {
    const io = (namespace: string | undefined) => ({ kind: 'Server', name: 's', ...(namespace ? { namespace } : {}) });
    expect(s.validate!(obj('Event', { involvedObject: io(undefined) }, 'default'))).toEqual([]);
    expect(s.validate!(obj('Event', { involvedObject: io('team-a') }, 'team-a'))).toEqual([]);
    expect(s.validate!(obj('Event', { involvedObject: io('team-a') }, 'team-b')).map((e) => e.message)).toEqual([
      'involvedObject.namespace: Invalid value: "team-a": does not match event.namespace',
    ]);
    expect(s.validate!(obj('Event', { involvedObject: io(undefined) }, 'team-b')).map((e) => e.field)).toEqual([
      'involvedObject.namespace',
    ]);
  });
});

describe('kube-apiserver details of the core kinds', () => {
  it('labels every namespace with kubernetes.io/metadata.name = its name, on create and update', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { x: 'y' } } };
    namespaceKind.strategy.prepareForCreate!(ns);
    expect(ns.metadata.labels).toEqual({ x: 'y', 'kubernetes.io/metadata.name': 'team-a' });
    const edited: KubeObject = {
      ...structuredClone(ns),
      metadata: { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'other' } },
    };
    namespaceKind.strategy.prepareForUpdate!(edited, ns);
    expect(edited.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'team-a' });
  });

  it("shows an event's object as kind/name, as kubectl get events does", () => {
    const col = eventKind.columns.find((c) => c.name === 'Object')!;
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e' },
      involvedObject: { kind: 'AdoptedServer', name: 'node-1' },
    };
    expect(col.value!(ev)).toBe('adoptedserver/node-1');
  });
});
