// Field sets and comparisons computed on the kinds' real schemas.
import { describe, expect, it } from 'vitest';
import {
  adoptedServerKind,
  allKinds,
  coreKinds,
  kubernetesClusterKind,
  serverClassKind,
} from '../../../src/api/index.js';
import type { JSONSchema } from '../../../src/machinery/kind.js';
import { formatPath } from '../../../src/machinery/managedfields/fieldset.js';
import { applySchema, compare, fieldSetOf } from '../../../src/machinery/managedfields/typed.js';
import type { FieldError } from '../../../src/machinery/errors.js';

const KC = applySchema(kubernetesClusterKind);

function cluster(spec: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name: 'c', namespace: 'ns' },
    spec,
    ...extra,
  };
}

const paths = (v: unknown, schema: JSONSchema = KC) => fieldSetOf(v, schema).paths().map(formatPath);

describe('list semantics declared on every kind', () => {
  it('gives every list an x-kubernetes-list-type, with keys for maps', () => {
    const missing: string[] = [];
    const walk = (n: JSONSchema | undefined, at: string) => {
      if (!n) return;
      if (n.type === 'array') {
        const lt = n['x-kubernetes-list-type'];
        if (!lt || (lt === 'map' && !n['x-kubernetes-list-map-keys']?.length)) missing.push(at);
      }
      for (const [k, v] of Object.entries(n.properties ?? {})) walk(v, `${at}.${k}`);
      walk(n.items, `${at}[]`);
      if (typeof n.additionalProperties === 'object') walk(n.additionalProperties, `${at}{}`);
    };
    for (const k of [...allKinds, ...coreKinds]) walk(k.schema, k.kind);
    expect(missing).toEqual([]);
  });

  it('keys worker pools by name, conditions by type and addresses by type and address', () => {
    const kc = kubernetesClusterKind.schema.properties;
    expect(kc.spec!.properties!.topology!.properties!.workers).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
    expect(kc.status!.properties!.conditions).toMatchObject({ 'x-kubernetes-list-map-keys': ['type'] });
    expect(adoptedServerKind.schema.properties.status!.properties!.addresses).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type', 'address'],
    });
  });
});

describe('fieldSetOf', () => {
  it('owns worker pools item by item, with the item itself a member', () => {
    const v = cluster({
      topology: {
        workers: [
          { name: 'pool-a', replicas: 2 },
          { name: 'pool-b', replicas: 1 },
        ],
      },
    });
    expect(fieldSetOf(v, KC).toFieldsV1()).toEqual({
      'f:apiVersion': {},
      'f:kind': {},
      'f:metadata': { 'f:name': {}, 'f:namespace': {} },
      'f:spec': {
        'f:topology': {
          'f:workers': {
            'k:{"name":"pool-a"}': { '.': {}, 'f:name': {}, 'f:replicas': {} },
            'k:{"name":"pool-b"}': { '.': {}, 'f:name': {}, 'f:replicas': {} },
          },
        },
      },
    });
  });

  it('treats sets by value, atomic lists and atomic objects as leaves, maps by key', () => {
    const v = cluster({
      talos: { certSANs: ['a.example', 'b.example'], network: { podSubnets: ['10.0.0.0/16'] } },
      topology: {
        controlplane: { storage: [{ class: 'fast', path: '/', size: '1Gi' }], metadata: { labels: { tier: 'cp' } } },
        workers: [{ name: 'p', taints: [{ key: 'k', effect: 'NoSchedule' }] }],
      },
    });
    expect(paths(v).filter((p) => p.startsWith('.spec'))).toEqual([
      '.spec.talos.certSANs[="a.example"]',
      '.spec.talos.certSANs[="b.example"]',
      '.spec.talos.network.podSubnets',
      '.spec.topology.controlplane.storage',
      '.spec.topology.controlplane.metadata.labels.tier',
      '.spec.topology.workers[name="p"]',
      '.spec.topology.workers[name="p"].name',
      '.spec.topology.workers[name="p"].taints',
    ]);
    const sc = applySchema(serverClassKind);
    const ref = {
      apiVersion: 'metal.sidero.dev/v1alpha2',
      kind: 'ServerClass',
      metadata: {},
      spec: { environmentRef: { name: 'e', namespace: 'n' } },
    };
    expect(paths(ref, sc)).toContain('.spec.environmentRef');
    expect(paths(ref, sc)).not.toContain('.spec.environmentRef.name');
  });

  it('is granular inside preserve-unknown-fields objects, with lists there atomic', () => {
    const v = cluster({
      topology: { workers: [{ name: 'p', providerConfig: { cloudsigma: { cpu: 2, tags: ['x'] } } }] },
    });
    expect(paths(v).filter((p) => p.includes('providerConfig'))).toEqual([
      '.spec.topology.workers[name="p"].providerConfig.cloudsigma',
      '.spec.topology.workers[name="p"].providerConfig.cloudsigma.cpu',
      '.spec.topology.workers[name="p"].providerConfig.cloudsigma.tags',
    ]);
  });

  it('gives ObjectMeta its semantics: labels by key, finalizers a set, ownerReferences by uid', () => {
    const v = cluster({}, {});
    Object.assign(v.metadata, {
      labels: { app: 'x' },
      finalizers: ['a/b'],
      ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'n', uid: 'u-1' }],
    });
    expect(paths(v).filter((p) => p.startsWith('.metadata'))).toEqual([
      '.metadata.name',
      '.metadata.namespace',
      '.metadata.finalizers[="a/b"]',
      '.metadata.labels.app',
      '.metadata.ownerReferences[uid="u-1"]',
    ]);
  });

  it('owns empty objects and nulls, not empty granular lists', () => {
    expect(paths(cluster({ talos: {}, topology: { workers: [] } }))).toEqual(expect.arrayContaining(['.spec.talos']));
    expect(paths(cluster({ topology: { workers: [] } })).some((p) => p.includes('workers'))).toBe(false);
  });

  it('reports items without their keys and duplicates when asked to', () => {
    const errors: FieldError[] = [];
    fieldSetOf(cluster({ topology: { workers: [{ replicas: 1 }, { name: 'a' }, { name: 'a' }] } }), KC, errors);
    expect(errors.map((e) => [e.type, e.field])).toEqual([
      ['FieldValueRequired', 'spec.topology.workers[0].name'],
      ['FieldValueDuplicate', 'spec.topology.workers[2]'],
    ]);
    const setErrors: FieldError[] = [];
    fieldSetOf(cluster({ talos: { certSANs: ['x', 'x'] } }), KC, setErrors);
    expect(setErrors[0]).toMatchObject({ type: 'FieldValueDuplicate', field: 'spec.talos.certSANs[1]' });
  });
});

describe('compare', () => {
  it('reports modified leaves, added and removed nodes and items', () => {
    const before = cluster({
      topology: {
        version: '1',
        workers: [
          { name: 'a', replicas: 1 },
          { name: 'b', replicas: 1 },
        ],
      },
    });
    const after = cluster({
      topology: {
        version: '2',
        workers: [
          { name: 'a', replicas: 3 },
          { name: 'c', replicas: 1 },
        ],
      },
      talos: { certSANs: ['x'] },
    });
    const c = compare(before, after, KC);
    expect(c.modified.paths().map(formatPath)).toEqual([
      '.spec.topology.version',
      '.spec.topology.workers[name="a"].replicas',
    ]);
    expect(c.added.paths().map(formatPath)).toEqual([
      '.spec.talos',
      '.spec.talos.certSANs',
      '.spec.talos.certSANs[="x"]',
      '.spec.topology.workers[name="c"]',
      '.spec.topology.workers[name="c"].name',
      '.spec.topology.workers[name="c"].replicas',
    ]);
    expect(c.removed.paths().map(formatPath)).toEqual([
      '.spec.topology.workers[name="b"]',
      '.spec.topology.workers[name="b"].name',
      '.spec.topology.workers[name="b"].replicas',
    ]);
  });

  it('sees no change when only the order of object keys differs', () => {
    const c = compare(cluster({ data: { a: 1, b: 2 } }), cluster({ data: { b: 2, a: 1 } }), KC);
    expect([c.added, c.removed, c.modified].every((s) => s.empty())).toBe(true);
  });

  it('compares atomic lists whole', () => {
    const c = compare(
      cluster({ talos: { network: { podSubnets: ['a', 'b'] } } }),
      cluster({ talos: { network: { podSubnets: ['b', 'a'] } } }),
      KC,
    );
    expect(c.modified.paths().map(formatPath)).toEqual(['.spec.talos.network.podSubnets']);
  });
});
