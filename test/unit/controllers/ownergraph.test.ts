// The garbage collector's owner graph: which objects an event makes it look at again.
import { describe, expect, it } from 'vitest';
import { nodeOf, OwnerGraph } from '../../../src/controllers/garbagecollector/graph.js';
import type { KubeObject } from '../../../src/machinery/kind.js';
import type { ResourceStore } from '../../../src/machinery/registry/store.js';

const store = {} as ResourceStore;
const other = {} as ResourceStore;

function obj(uid: string, owners: string[] = [], meta: Partial<KubeObject['metadata']> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `n-${uid}`,
      namespace: 'ns',
      uid,
      ownerReferences: owners.map((o) => ({
        apiVersion: 'v1',
        kind: 'Secret',
        name: `n-${o}`,
        uid: o,
        blockOwnerDeletion: true,
      })),
      ...meta,
    },
  };
}

describe('OwnerGraph', () => {
  it('keeps identity, owners and only the collector finalizers', () => {
    const n = nodeOf(
      store,
      obj('a', ['o'], {
        finalizers: ['orphan', 'example.com/x'],
        deletionTimestamp: '2026-01-01T00:00:00Z',
        resourceVersion: '7',
      }),
    )!;
    expect(n).toMatchObject({
      namespace: 'ns',
      name: 'n-a',
      uid: 'a',
      owners: ['o'],
      blocking: ['o'],
      gcFinalizers: ['orphan'],
      finalizers: ['orphan', 'example.com/x'],
      deleting: true,
      resourceVersion: '7',
    });
    expect(nodeOf(store, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } })).toBeUndefined();
  });

  it('indexes dependents by owner uid, whether or not the owner is known', () => {
    const g = new OwnerGraph();
    g.upsert(nodeOf(store, obj('d1', ['o']))!);
    g.upsert(nodeOf(other, obj('d2', ['o', 'p']))!);
    expect(g.has('o')).toBe(false);
    expect(
      g
        .dependentsOf('o')
        .map((d) => d.uid)
        .sort(),
    ).toEqual(['d1', 'd2']);
    expect(g.dependentsOf('p').map((d) => d.uid)).toEqual(['d2']);
    expect(g.uidsOf(other)).toEqual(['d2']);
  });

  it('an owner leaving marks its dependents; a dependent leaving marks its owners', () => {
    const g = new OwnerGraph();
    expect(g.upsert(nodeOf(store, obj('o'))!)).toEqual(['o']);
    g.upsert(nodeOf(store, obj('d', ['o']))!);
    expect(g.remove('o')).toEqual(['d']);
    expect(g.remove('d')).toEqual(['o']);
    expect(g.remove('d')).toEqual([]);
    expect(g.size).toBe(0);
    expect(g.dependentsOf('o')).toEqual([]);
  });

  it('knows a plain object by uid only; removing it still marks the objects it owns', () => {
    const g = new OwnerGraph();
    g.upsert(nodeOf(store, obj('plain'))!);
    g.upsert(nodeOf(store, obj('dep', ['plain']))!);
    expect(g.has('plain')).toBe(true);
    expect(g.get('plain')).toBeUndefined();
    expect(g.actionable()).toEqual(['dep']);
    expect(g.uidsOf(store).sort()).toEqual(['dep', 'plain']);
    expect(g.remove('plain')).toEqual(['dep']);
    expect(g.has('plain')).toBe(false);
    // losing its owner reference makes an object plain
    g.upsert(nodeOf(store, obj('dep'))!);
    expect(g.actionable()).toEqual([]);
    expect(g.has('dep')).toBe(true);
  });

  it('an update dropping an owner reference unlinks it and marks that owner', () => {
    const g = new OwnerGraph();
    g.upsert(nodeOf(store, obj('d', ['o', 'p']))!);
    expect(g.upsert(nodeOf(store, obj('d', ['p']))!)).toEqual(['d', 'o']);
    expect(g.dependentsOf('o')).toEqual([]);
    expect(g.dependentsOf('p').map((d) => d.uid)).toEqual(['d']);
  });

  it('a reference that stops blocking owner deletion marks that owner', () => {
    const g = new OwnerGraph();
    g.upsert(nodeOf(store, obj('d', ['o']))!);
    const loose = obj('d');
    loose.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Secret', name: 'n-o', uid: 'o' }];
    expect(g.upsert(nodeOf(store, loose)!)).toEqual(['d', 'o']);
    expect(g.get('d')!.blocking).toEqual([]);
    expect(g.dependentsOf('o').map((d) => d.uid)).toEqual(['d']);
  });
});
