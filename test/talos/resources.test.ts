// A COSI resource message turned into a plain value: spec YAML parsed, a node's broken or hostile
// YAML and a message without metadata reported as InvalidResponse rather than thrown raw.
import { describe, expect, it } from 'vitest';
import { resourceFrom } from '../../src/talos/resources.js';
import type { Resource__Output } from '../../src/talos/gen/cosi/resource/Resource.js';

const ctx = { endpoint: '127.0.0.1:50000', method: 'Get' };

function message(yamlSpec: string): Resource__Output {
  return {
    metadata: {
      namespace: 'k8s',
      type: 'KubeletSpecs.kubernetes.talos.dev',
      id: 'kubelet',
      version: '3',
      owner: 'o',
      phase: 'running',
      created: null,
      updated: null,
      finalizers: [],
      labels: { a: 'b' },
      annotations: {},
    },
    spec: { protoSpec: Buffer.alloc(0), yamlSpec },
  };
}

describe('resourceFrom', () => {
  it('keeps the metadata and parses the spec YAML (an empty spec is null)', () => {
    expect(resourceFrom(message('image: k:v1.31.4\nargs: [--x]\n'), ctx)).toEqual({
      metadata: {
        namespace: 'k8s',
        type: 'KubeletSpecs.kubernetes.talos.dev',
        id: 'kubelet',
        version: '3',
        phase: 'running',
        labels: { a: 'b' },
        annotations: {},
      },
      spec: { image: 'k:v1.31.4', args: ['--x'] },
    });
    expect(resourceFrom(message(''), ctx).spec).toBeNull();
  });

  it('broken YAML, YAML nested too deep, and no metadata are InvalidResponse', () => {
    expect(() => resourceFrom(message('a: [1\n'), ctx)).toThrow(
      expect.objectContaining({ failure: 'InvalidResponse', message: expect.stringContaining('is not YAML') }),
    );
    expect(() => resourceFrom(message(`${'['.repeat(500)}${']'.repeat(500)}`), ctx)).toThrow(
      expect.objectContaining({ failure: 'InvalidResponse', message: expect.stringContaining('nests deeper') }),
    );
    expect(() => resourceFrom(null, ctx)).toThrow(expect.objectContaining({ failure: 'InvalidResponse' }));
    expect(() => resourceFrom({ metadata: null, spec: null }, ctx)).toThrow(
      expect.objectContaining({ failure: 'InvalidResponse', message: expect.stringContaining('without metadata') }),
    );
  });
});
