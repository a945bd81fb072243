// Merging applied configurations into live objects, on the KubernetesCluster schema.
import { describe, expect, it } from 'vitest';
import { kubernetesClusterKind } from '../../../src/api/index.js';
import { FieldSet, keyPE } from '../../../src/machinery/managedfields/fieldset.js';
import { mergeValues, removeDisowned } from '../../../src/machinery/managedfields/merge.js';
import { applySchema } from '../../../src/machinery/managedfields/typed.js';

const KC = applySchema(kubernetesClusterKind);
const merge = (live: unknown, config: unknown) => mergeValues(structuredClone(live), config, KC);
const spec = (s: Record<string, unknown>) => ({
  apiVersion: 'vitistack.io/v1alpha1',
  kind: 'KubernetesCluster',
  metadata: { name: 'c' },
  spec: s,
});
const workers = (v: unknown) => (v as { spec: { topology: { workers: { name: string }[] } } }).spec.topology.workers;

describe('mergeValues', () => {
  it('merges worker pools by name, field by field', () => {
    const live = spec({
      topology: {
        workers: [
          { name: 'a', replicas: 1, version: '1' },
          { name: 'b', replicas: 1, version: '1' },
        ],
      },
    });
    const out = merge(live, spec({ topology: { workers: [{ name: 'b', replicas: 5 }] } }));
    expect(workers(out)).toEqual([
      { name: 'a', replicas: 1, version: '1' },
      { name: 'b', replicas: 5, version: '1' },
    ]);
  });

  it('puts shared items in the configuration order and new items before the shared item that follows them', () => {
    const live = spec({ topology: { workers: [{ name: 'a' }, { name: 'x' }, { name: 'b' }, { name: 'c' }] } });
    const out = merge(
      live,
      spec({ topology: { workers: [{ name: 'c' }, { name: 'n' }, { name: 'a' }, { name: 'z' }] } }),
    );
    expect(workers(out).map((w) => w.name)).toEqual(['c', 'x', 'b', 'n', 'a', 'z']);
  });

  it('keeps the live order when the configuration agrees with it (so re-applying changes nothing)', () => {
    const live = spec({
      topology: {
        workers: [
          { name: 'a', replicas: 1 },
          { name: 'b', replicas: 2 },
        ],
      },
      data: { region: 'r', zone: 'z' },
    });
    const out = merge(
      live,
      spec({
        data: { zone: 'z', region: 'r' },
        topology: {
          workers: [
            { name: 'a', replicas: 1 },
            { name: 'b', replicas: 2 },
          ],
        },
      }),
    );
    expect(JSON.stringify(out)).toBe(JSON.stringify(live));
  });

  it('unions sets and replaces atomic lists and scalars whole', () => {
    const live = spec({
      talos: { certSANs: ['a', 'b'], network: { podSubnets: ['10.0.0.0/16', '10.1.0.0/16'] } },
      topology: { workers: [{ name: 'p', taints: [{ key: 'k1', effect: 'NoSchedule' }] }] },
    });
    const out = merge(
      live,
      spec({
        talos: { certSANs: ['c', 'a'], network: { podSubnets: ['10.2.0.0/16'] } },
        topology: { workers: [{ name: 'p', taints: [{ key: 'k2', effect: 'NoExecute' }] }] },
      }),
    ) as any;
    expect(out.spec.talos.certSANs).toEqual(['c', 'a', 'b']);
    expect(out.spec.talos.network.podSubnets).toEqual(['10.2.0.0/16']);
    expect(out.spec.topology.workers[0].taints).toEqual([{ key: 'k2', effect: 'NoExecute' }]);
  });

  it('merges nested objects and preserve-unknown-fields objects key by key', () => {
    const live = spec({
      data: { region: 'r', zone: 'z' },
      topology: { workers: [{ name: 'p', providerConfig: { a: { x: 1, y: [1] }, b: 2 } }] },
    });
    const out = merge(
      live,
      spec({ data: { zone: 'z2' }, topology: { workers: [{ name: 'p', providerConfig: { a: { y: [2] } } }] } }),
    ) as any;
    expect(out.spec.data).toEqual({ region: 'r', zone: 'z2' });
    expect(out.spec.topology.workers[0].providerConfig).toEqual({ a: { x: 1, y: [2] }, b: 2 });
  });

  it('never writes through __proto__', () => {
    const config = JSON.parse(
      '{"spec":{"topology":{"workers":[{"name":"p","providerConfig":{"__proto__":{"polluted":1}}}]}}}',
    );
    expect(() => merge(spec({ topology: { workers: [{ name: 'p', providerConfig: {} }] } }), config)).toThrow(
      /__proto__/,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('removeDisowned', () => {
  const pool = (n: string) => ['f:spec', 'f:topology', 'f:workers', keyPE({ name: n })];
  const W = (...extra: string[][]) => FieldSet.of(extra);

  it('removes a pool the applier dropped when nobody else owns the pool itself', () => {
    const obj = spec({
      topology: {
        workers: [
          { name: 'a', replicas: 1 },
          { name: 'b', replicas: 3 },
        ],
      },
    });
    const last = W(pool('a'), [...pool('a'), 'f:replicas'], pool('b'), [...pool('b'), 'f:replicas']);
    // another manager only changed b's replicas: the pool goes anyway, as upstream
    const owned = W(pool('a'), [...pool('a'), 'f:replicas'], [...pool('b'), 'f:replicas']);
    expect(workers(removeDisowned(obj, KC, last, owned)).map((w) => w.name)).toEqual(['a']);
  });

  it('keeps what another manager owns and removes only the unowned fields below it', () => {
    const obj = spec({
      topology: { workers: [{ name: 'a', replicas: 1, version: '1' }] },
      data: { region: 'r', zone: 'z' },
    });
    const last = W(
      pool('a'),
      [...pool('a'), 'f:replicas'],
      [...pool('a'), 'f:version'],
      ['f:spec', 'f:data', 'f:region'],
      ['f:spec', 'f:data', 'f:zone'],
    );
    const owned = W(pool('a'), [...pool('a'), 'f:version'], ['f:spec', 'f:data', 'f:zone']);
    const out = removeDisowned(obj, KC, last, owned) as any;
    expect(out.spec.topology.workers).toEqual([{ name: 'a', version: '1' }]);
    expect(out.spec.data).toEqual({ zone: 'z' });
  });

  it('removes a whole object field when nothing below it is owned any more', () => {
    const obj = spec({ talos: { network: { cni: 'none' } }, data: { region: 'r' } });
    const out = removeDisowned(
      obj,
      KC,
      W(['f:spec', 'f:talos', 'f:network', 'f:cni']),
      W(['f:spec', 'f:data', 'f:region']),
    ) as any;
    expect(out.spec).toEqual({ data: { region: 'r' } });
  });
});
