import { describe, expect, it } from 'vitest';
import type { Server } from '../../../../src/api/server.js';
import {
  classStatus,
  labelSelectorsMatch,
  partialMatch,
  qualifies,
} from '../../../../src/controllers/metal/qualifiers.js';

const server = (
  name: string,
  o: { labels?: Record<string, string>; hardware?: unknown; spec?: object; machine?: string } = {},
): Server =>
  ({
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'Server',
    metadata: {
      name,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.machine ? { annotations: { 'metal.sidero.dev/machine': o.machine } } : {}),
    },
    spec: { accepted: true, hardware: o.hardware, ...o.spec },
  }) as Server;

const dell = {
  system: { manufacturer: 'Dell Inc.', productName: 'R640' },
  compute: {
    processorCount: 2,
    processors: [
      { productName: 'Xeon Gold', coreCount: 16 },
      { productName: 'Xeon Gold', coreCount: 16 },
    ],
  },
  memory: { totalSize: '64 GB' },
};

describe('hardware partial match', () => {
  it('every field the filter gives must match; fields it leaves unset or zero are ignored', () => {
    expect(partialMatch({ system: { manufacturer: 'Dell Inc.' } }, dell)).toBe(true);
    expect(partialMatch({ system: { manufacturer: 'Dell Inc.', productName: 'R650' } }, dell)).toBe(false);
    expect(partialMatch({ system: { manufacturer: '' }, compute: { processorCount: 0 } }, dell)).toBe(true);
    expect(partialMatch({ memory: { totalSize: '64 GB' }, compute: { processorCount: 2 } }, dell)).toBe(true);
    expect(partialMatch({ memory: { totalSize: '32 GB' } }, dell)).toBe(false);
    expect(partialMatch({}, undefined)).toBe(true);
    expect(partialMatch({ system: { manufacturer: 'Dell Inc.' } }, undefined)).toBe(false);
  });

  it('compares lists position by position, and a filter with more entries than the server fails', () => {
    expect(partialMatch({ compute: { processors: [{ productName: 'Xeon Gold' }] } }, dell)).toBe(true);
    expect(partialMatch({ compute: { processors: [{}, { coreCount: 16 }] } }, dell)).toBe(true);
    expect(partialMatch({ compute: { processors: [{}, { coreCount: 8 }] } }, dell)).toBe(false);
    expect(partialMatch({ compute: { processors: [{ productName: 'Xeon Gold' }, {}, { coreCount: 1 }] } }, dell)).toBe(
      false,
    );
  });
});

describe('labelSelectors', () => {
  it('any single key=value of any map matches (OR); none given matches all', () => {
    expect(labelSelectorsMatch(undefined, undefined)).toBe(true);
    expect(labelSelectorsMatch([], { a: '1' })).toBe(true);
    expect(labelSelectorsMatch([{ rack: 'r1', zone: 'z9' }], { rack: 'r1' })).toBe(true);
    expect(labelSelectorsMatch([{ zone: 'z9' }, { rack: 'r1' }], { rack: 'r1' })).toBe(true);
    expect(labelSelectorsMatch([{ rack: 'r2' }], { rack: 'r1' })).toBe(false);
    expect(labelSelectorsMatch([{ rack: 'r2' }], undefined)).toBe(false);
  });
});

describe('class membership', () => {
  it('hardware entries are ORed, and the selector is ANDed with the qualifiers', () => {
    const hpe = server('hpe', { hardware: { system: { manufacturer: 'HPE' } }, labels: { rack: 'r1' } });
    const d = server('dell', { hardware: dell, labels: { rack: 'r2' } });
    const spec = {
      qualifiers: { hardware: [{ system: { manufacturer: 'HPE' } }, { system: { manufacturer: 'Dell Inc.' } }] },
    };
    expect(qualifies(spec, hpe) && qualifies(spec, d)).toBe(true);
    const withSelector = { ...spec, selector: { matchLabels: { rack: 'r1' } } };
    expect(qualifies(withSelector, hpe)).toBe(true);
    expect(qualifies(withSelector, d)).toBe(false);
    expect(
      qualifies({ selector: { matchExpressions: [{ key: 'rack', operator: 'NotIn' as const, values: ['r1'] }] } }, hpe),
    ).toBe(false);
    expect(qualifies(undefined, hpe)).toBe(true);
    // a selector that cannot be one (a bad label key) takes no server rather than failing the class
    expect(qualifies({ selector: { matchLabels: { 'not a key': 'x' } } }, hpe)).toBe(false);
  });

  it('lists accepted, uncordoned servers, split by the binding annotation and sorted by name', () => {
    const servers = [
      server('c', { hardware: dell }),
      server('a', { hardware: dell, machine: 'ns/m1' }),
      server('b', { hardware: dell }),
      server('d', { hardware: dell, spec: { cordoned: true } }),
      server('e', { hardware: dell, spec: { accepted: false } }),
      server('f', { hardware: { system: { manufacturer: 'HPE' } } }),
    ];
    expect(classStatus({ qualifiers: { hardware: [{ system: { manufacturer: 'Dell Inc.' } }] } }, servers)).toEqual({
      serversAvailable: ['b', 'c'],
      serversInUse: ['a'],
    });
    expect(classStatus({}, servers)).toEqual({ serversAvailable: ['b', 'c', 'f'], serversInUse: ['a'] });
  });

  it('a server being deleted is no longer available, but stays in use while it is', () => {
    const gone = { ...server('g'), metadata: { name: 'g', deletionTimestamp: '2026-01-01T00:00:00Z' } } as Server;
    const held = {
      ...server('h', { machine: 'ns/m' }),
      metadata: {
        name: 'h',
        deletionTimestamp: '2026-01-01T00:00:00Z',
        annotations: { 'metal.sidero.dev/machine': 'ns/m' },
      },
    } as Server;
    expect(classStatus({}, [gone, held])).toEqual({ serversAvailable: [], serversInUse: ['h'] });
  });
});
