import { describe, expect, it } from 'vitest';
import { FieldSet, FieldsV1Error, formatPath, keyPE, valuePE } from '../../../src/machinery/managedfields/fieldset.js';

const set = (...paths: string[][]) => FieldSet.of(paths);

describe('FieldsV1 encoding', () => {
  it('writes leaves as {}, marks a node that also has children with ".", sorts f: before k: before v: before i:', () => {
    const s = set(
      ['f:spec', 'f:replicas'],
      ['f:spec', 'f:workers', keyPE({ name: 'pool-a' })],
      ['f:spec', 'f:workers', keyPE({ name: 'pool-a' }), 'f:name'],
      ['f:spec', 'f:tags', valuePE('blue')],
      ['f:metadata', 'f:labels', 'f:app'],
    );
    const doc = s.toFieldsV1();
    expect(doc).toEqual({
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:tags': { 'v:"blue"': {} },
        'f:workers': { 'k:{"name":"pool-a"}': { '.': {}, 'f:name': {} } },
      },
    });
    expect(Object.keys(doc['f:spec'] as object)).toEqual(['f:replicas', 'f:tags', 'f:workers']);
    expect(Object.keys(set(['i:2'], ['v:1'], ['k:{"a":1}'], ['f:z']).toFieldsV1())).toEqual([
      'f:z',
      'k:{"a":1}',
      'v:1',
      'i:2',
    ]);
    expect(Object.keys(set(['f:x', 'f:b'], ['f:x']).toFieldsV1()['f:x'] as object)).toEqual(['.', 'f:b']);
  });

  it('decodes what it encodes, and canonicalizes keys (fields sorted, compact JSON)', () => {
    const doc = {
      'f:spec': {
        '.': {},
        'f:workers': { 'k:{ "zone": "b", "name": "pool-a" }': { '.': {}, 'f:replicas': {} } },
        'f:tags': { 'v: "blue"': {} },
      },
    };
    const s = FieldSet.fromFieldsV1(doc);
    expect(s.has(['f:spec'])).toBe(true);
    expect(s.has(['f:spec', 'f:workers', 'k:{"name":"pool-a","zone":"b"}'])).toBe(true);
    expect(s.has(['f:spec', 'f:workers', 'k:{"name":"pool-a","zone":"b"}', 'f:replicas'])).toBe(true);
    expect(s.has(['f:spec', 'f:tags', 'v:"blue"'])).toBe(true);
    expect(s.has(['f:spec', 'f:workers'])).toBe(false);
    expect(FieldSet.fromFieldsV1(s.toFieldsV1()).equals(s)).toBe(true);
  });

  it('rejects documents that are not FieldsV1', () => {
    for (const bad of [
      [],
      'x',
      { 'x:y': {} },
      { 'f:a': [] },
      { 'k:{nope': {} },
      { 'k:[]': {} },
      { 'i:-1': {} },
      { 'f:a': { '.': { x: 1 } } },
    ]) {
      expect(() => FieldSet.fromFieldsV1(bad), JSON.stringify(bad)).toThrow(FieldsV1Error);
    }
  });
});

describe('set operations', () => {
  const a = set(
    ['f:spec', 'f:a'],
    ['f:spec', 'f:b'],
    ['f:spec', 'f:list', 'k:{"name":"x"}'],
    ['f:spec', 'f:list', 'k:{"name":"x"}', 'f:v'],
  );
  const b = set(['f:spec', 'f:b'], ['f:spec', 'f:c'], ['f:spec', 'f:list', 'k:{"name":"x"}']);

  it('union, intersection, difference', () => {
    expect(a.union(b).paths().map(formatPath)).toEqual([
      '.spec.a',
      '.spec.b',
      '.spec.c',
      '.spec.list[name="x"]',
      '.spec.list[name="x"].v',
    ]);
    expect(a.intersection(b).paths().map(formatPath)).toEqual(['.spec.b', '.spec.list[name="x"]']);
    expect(a.difference(b).paths().map(formatPath)).toEqual(['.spec.a', '.spec.list[name="x"].v']);
    expect(b.difference(b).empty()).toBe(true);
  });

  it('recursive difference also drops what is below a removed member', () => {
    expect(
      a
        .recursiveDifference(set(['f:spec', 'f:list', 'k:{"name":"x"}']))
        .paths()
        .map(formatPath),
    ).toEqual(['.spec.a', '.spec.b']);
    expect(a.recursiveDifference(set(['f:spec'])).empty()).toBe(true);
  });

  it('never keeps empty subtrees', () => {
    const d = set(['f:spec', 'f:a']).difference(set(['f:spec', 'f:a']));
    expect(d.empty()).toBe(true);
    expect(d.toFieldsV1()).toEqual({});
    expect(d.children.size).toBe(0);
  });
});

describe('formatPath', () => {
  it('prints paths as conflict messages do', () => {
    expect(formatPath(['f:spec', 'f:topology', 'f:workers', keyPE({ name: 'pool-a' }), 'f:replicas'])).toBe(
      '.spec.topology.workers[name="pool-a"].replicas',
    );
    expect(formatPath(['f:spec', 'f:tags', valuePE('blue')])).toBe('.spec.tags[="blue"]');
    expect(formatPath(['f:status', 'f:addresses', keyPE({ type: 'InternalIP', address: '10.0.0.1' })])).toBe(
      '.status.addresses[address="10.0.0.1",type="InternalIP"]',
    );
    expect(formatPath(['f:a', 'i:3'])).toBe('.a[3]');
  });
});
