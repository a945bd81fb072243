// A field path as the API prints it, found in the YAML it came from: the line and column an editor
// or a CI annotation points at.
import { describe, expect, it } from 'vitest';
import { LineCounter, parseAllDocuments } from 'yaml';
import { fieldSegments, positionOf } from '../../src/cli/yamlposition.js';

const TEXT = `# a comment first
apiVersion: v1
kind: Thing
spec:
  flow: {a: 1, b: [x, y]}
  list:
    - name: first
    - name: second
      inner:
        deep: true
  labels:
    example.com/role: web
  twice: 1
  twice: 2
---
kind: Second
spec: {}
`;

function find(field: string | undefined, doc = 0): string {
  const lines = new LineCounter();
  const docs = parseAllDocuments(TEXT, { lineCounter: lines, uniqueKeys: false });
  const p = positionOf(docs[doc]!, lines, field);
  return `${p.line}:${p.column}`;
}

describe('fieldSegments', () => {
  it('splits dotted paths, list indices and quoted keys; stops at a space', () => {
    expect(fieldSegments('spec.topology.workers[1].name')).toEqual(['spec', 'topology', 'workers', 1, 'name']);
    expect(fieldSegments('metadata.labels["example.com/role"]')).toEqual(['metadata', 'labels', 'example.com/role']);
    expect(fieldSegments('spec.list[0][2]')).toEqual(['spec', 'list', 0, 2]);
    expect(fieldSegments('spec.topology.controlplane (patched config) machine.install.disk')).toEqual([
      'spec',
      'topology',
      'controlplane',
    ]);
  });
});

describe('positionOf', () => {
  it("points at a field's key in block and flow maps, and at a list item", () => {
    expect(find('spec')).toBe('4:1');
    expect(find('spec.flow.b')).toBe('5:16');
    expect(find('spec.flow.b[1]')).toBe('5:23');
    expect(find('spec.list[1]')).toBe('8:7');
    expect(find('spec.list[1].inner.deep')).toBe('10:9');
    expect(find('spec.labels["example.com/role"]')).toBe('12:5');
  });

  it('a key written twice: the last one, whose value is read', () => {
    expect(find('spec.twice')).toBe('14:3');
  });

  it('a field that is not there: the deepest part that is; no field: the document', () => {
    expect(find('spec.list[1].inner.missing')).toBe('9:7');
    expect(find('spec.list[7].name')).toBe('6:3');
    expect(find('status.phase')).toBe('2:1');
    expect(find(undefined)).toBe('2:1');
    expect(find(undefined, 1)).toBe('16:1');
    expect(find('spec.nothing', 1)).toBe('17:1');
  });
});
