import { describe, expect, it } from 'vitest';
import {
  decodeObject,
  encodeObject,
  objectJSON,
  objectJSONParts,
  sharedJSON,
  sharedObject,
} from '../../src/machinery/registry/codec.js';
import type { KubeObject } from '../../src/machinery/kind.js';
import type { KeyValue } from '../../src/storage/storage.js';

const kv = (value: Buffer, rev = 42): KeyValue => ({
  key: '/registry/x/ns/a',
  value,
  createRevision: 1,
  modRevision: rev,
});

describe('serialize once: stored bytes to served JSON', () => {
  it('encodes apiVersion, kind and metadata first, without resourceVersion', () => {
    const obj: KubeObject = {
      spec: { metadata: { decoy: true } },
      kind: 'K',
      metadata: { name: 'a', resourceVersion: '9' },
      apiVersion: 'g/v',
    } as never;
    expect(encodeObject(obj).toString()).toBe(
      '{"apiVersion":"g/v","kind":"K","metadata":{"name":"a"},"spec":{"metadata":{"decoy":true}}}',
    );
  });

  it('splices the resourceVersion into the stored bytes, equal to decoding and re-encoding', () => {
    for (const meta of [{ name: 'a', labels: { x: 'y' } }, {}]) {
      const stored = encodeObject({ apiVersion: 'g/v', kind: 'K', metadata: meta, spec: { n: 1 } } as KubeObject);
      expect(JSON.parse(objectJSON(kv(stored)))).toEqual(decodeObject(kv(stored)));
      expect(JSON.parse(objectJSON(kv(stored))).metadata.resourceVersion).toBe('42');
    }
  });

  it('gives the same JSON as byte pieces of the stored value, for any layout', () => {
    const stored = [
      encodeObject({
        apiVersion: 'g/v',
        kind: 'K',
        metadata: { name: 'ä', labels: { x: 'y' } },
        spec: { n: 'ü' },
      } as KubeObject),
      encodeObject({ apiVersion: 'g/v', kind: 'K', metadata: {} } as KubeObject),
      Buffer.from('{"kind":"K","spec":{"metadata":{}},"apiVersion":"g/v","metadata":{"name":"a"}}'),
      Buffer.from('{"apiVersion":"g/\\"v","kind":"K","metadata":{"name":"a"}}'),
    ];
    for (const v of stored) {
      const parts = objectJSONParts(kv(v));
      expect(Buffer.concat(parts).toString('utf8')).toBe(objectJSON(kv(v)));
    }
    // the common layout is cut from the stored bytes, not copied
    expect(objectJSONParts(kv(stored[0]!))[0]!.buffer).toBe(stored[0]!.buffer);
  });

  it('re-encodes values stored in another key order', () => {
    const other = Buffer.from('{"kind":"K","spec":{"metadata":{}},"apiVersion":"g/v","metadata":{"name":"a"}}');
    expect(JSON.parse(objectJSON(kv(other)))).toEqual({
      kind: 'K',
      spec: { metadata: {} },
      apiVersion: 'g/v',
      metadata: { name: 'a', resourceVersion: '42' },
    });
  });

  it('shares one frozen decode and one JSON encoding per stored version', () => {
    const k = kv(
      encodeObject({ apiVersion: 'g/v', kind: 'K', metadata: { name: 'a' }, spec: { list: [1] } } as KubeObject),
    );
    const a = sharedObject(k);
    expect(sharedObject(k)).toBe(a);
    expect(Object.isFrozen((a.spec as { list: number[] }).list)).toBe(true);
    expect(sharedJSON(a)).toBe(sharedJSON(a));
    expect(JSON.parse(sharedJSON(a))).toEqual(decodeObject(k));
  });
});
