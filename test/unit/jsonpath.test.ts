import { describe, it, expect } from 'vitest';
import { compileJsonPath } from '../../src/machinery/jsonpath.js';

const obj = {
  metadata: {
    name: 'c1',
    labels: { 'cluster.x-k8s.io/cluster-name': 'prod', app: 'web' },
  },
  spec: {
    replicas: 3,
    paused: false,
    nodes: [
      { name: 'n0', role: 'cp', cpu: 4, ready: true, addrs: ['10.0.0.1', 'fe80::1'] },
      { name: 'n1', role: 'worker', cpu: 8, ready: false, addrs: ['10.0.0.2'] },
      { name: 'n2', role: 'worker', cpu: 16, ready: true },
    ],
  },
  status: {
    conditions: [
      { type: 'Ready', status: 'True', observed: 2 },
      { type: 'Healthy', status: 'False', observed: 1, reason: null },
    ],
  },
};

const run = (expr: string, o: unknown = obj) => compileJsonPath(expr)(o);

describe('compileJsonPath', () => {
  it('follows fields', () => {
    expect(run('.metadata.name')).toEqual(['c1']);
    expect(run('.spec.replicas')).toEqual([3]);
    expect(run('.spec.paused')).toEqual([false]);
    expect(run('.spec.nodes')).toEqual([obj.spec.nodes]);
    expect(run('{.metadata.name}')).toEqual(['c1']);
    expect(run('$.metadata.name')).toEqual(['c1']);
    expect(run('{$.metadata.name}')).toEqual(['c1']);
  });

  it('missing fields give no result', () => {
    expect(run('.metadata.nope')).toEqual([]);
    expect(run('.metadata.name.deeper')).toEqual([]);
    expect(run('.spec.nodes.name')).toEqual([]);
    expect(run('.metadata.name', null)).toEqual([]);
    expect(run('.metadata.toString')).toEqual([]);
  });

  it('handles escaped dots in label keys', () => {
    expect(run('.metadata.labels.cluster\\.x-k8s\\.io/cluster-name')).toEqual(['prod']);
    expect(run(".metadata.labels['cluster.x-k8s.io/cluster-name']")).toEqual(['prod']);
  });

  it('indexes arrays, including from the end', () => {
    expect(run('.spec.nodes[0].name')).toEqual(['n0']);
    expect(run('.spec.nodes[2].name')).toEqual(['n2']);
    expect(run('.spec.nodes[-1].name')).toEqual(['n2']);
    expect(run('.spec.nodes[3].name')).toEqual([]);
    expect(run('.spec.nodes[-4].name')).toEqual([]);
    expect(run('.metadata[0]')).toEqual([]);
  });

  it('wildcards', () => {
    expect(run('.spec.nodes[*].name')).toEqual(['n0', 'n1', 'n2']);
    expect(run('.spec.nodes[*].addrs[*]')).toEqual(['10.0.0.1', 'fe80::1', '10.0.0.2']);
    expect(run('.metadata.labels.*')).toEqual(['prod', 'web']);
    expect(run('.spec.nodes[ * ].cpu')).toEqual([4, 8, 16]);
  });

  it('filters with == and != on strings, numbers and booleans', () => {
    expect(run('.status.conditions[?(@.type=="Ready")].status')).toEqual(['True']);
    expect(run(".status.conditions[?(@.type=='Healthy')].status")).toEqual(['False']);
    expect(run('.status.conditions[?(@.type != "Ready")].type')).toEqual(['Healthy']);
    expect(run('.spec.nodes[?(@.cpu==8)].name')).toEqual(['n1']);
    expect(run('.spec.nodes[?(@.cpu!=8)].name')).toEqual(['n0', 'n2']);
    expect(run('.spec.nodes[?(@.ready==true)].name')).toEqual(['n0', 'n2']);
    expect(run('.spec.nodes[?(@.ready==false)].name')).toEqual(['n1']);
    expect(run('.spec.nodes[?(@.cpu>4)].name')).toEqual(['n1', 'n2']);
    expect(run('.spec.nodes[?(@.cpu<=8)].name')).toEqual(['n0', 'n1']);
    expect(run('.status.conditions[?(@.reason==null)].type')).toEqual(['Healthy']);
  });

  it('never matches across types', () => {
    expect(run('.spec.nodes[?(@.cpu=="8")].name')).toEqual([]);
    expect(run('.spec.nodes[?(@.cpu!="8")].name')).toEqual([]);
    expect(run('.spec.nodes[?(@.ready=="true")].name')).toEqual([]);
  });

  it('existence filters and nested paths in filters', () => {
    expect(run('.spec.nodes[?(@.addrs)].name')).toEqual(['n0', 'n1']);
    expect(run('.spec.nodes[?(@.addrs[1]=="fe80::1")].name')).toEqual(['n0']);
    expect(run('.spec.nodes[?(@.role=="worker")].addrs[0]')).toEqual(['10.0.0.2']);
    expect(run('[?(@=="b")]', ['a', 'b'])).toEqual(['b']);
  });

  it('filtering a non-array gives nothing', () => {
    expect(run('.metadata[?(@.name=="c1")]')).toEqual([]);
  });

  it('throws on invalid or unsupported expressions at compile time', () => {
    for (const bad of [
      '',
      'metadata',
      '.metadata.',
      '.a[',
      '.a[x]',
      '.a[0',
      '.a..b',
      '.a[1:2]',
      '.a[?(@.b=)]',
      '.a[?(@.b=="x"]',
      '.a[?(b=="x")]',
      '.a b',
      '.a\\',
    ]) {
      expect(() => compileJsonPath(bad), bad).toThrow(Error);
    }
  });
});
