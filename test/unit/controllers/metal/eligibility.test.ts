// Which Servers a Machine of a class may get: members of the class that are clean, free and not
// going away, by name; what a bound Server tells its Machine (its InternalIP addresses).
import { describe, expect, it } from 'vitest';
import type { Server } from '../../../../src/api/server.js';
import { eligibleServers, internalAddresses, serversBoundTo } from '../../../../src/controllers/metal/eligibility.js';

function server(
  name: string,
  o: Partial<{
    clean: boolean;
    accepted: boolean;
    cordoned: boolean;
    bound: string;
    deleting: boolean;
    labels: Record<string, string>;
  }> = {},
): Server {
  return {
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'Server',
    metadata: {
      name,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.bound ? { annotations: { 'metal.sidero.dev/machine': o.bound } } : {}),
      ...(o.deleting ? { deletionTimestamp: '2030-01-01T00:00:00Z' } : {}),
    },
    spec: { accepted: o.accepted ?? true, ...(o.cordoned ? { cordoned: true } : {}) },
    status: { isClean: o.clean ?? true },
  } as Server;
}

const names = (list: Server[]) => list.map((s) => s.metadata.name);

describe('eligibleServers', () => {
  it('takes accepted, clean, uncordoned, free servers, first by name', () => {
    const servers = [
      server('c'),
      server('a', { clean: false }),
      server('b'),
      server('d', { accepted: false }),
      server('e', { cordoned: true }),
      server('f', { bound: 'ns/m' }),
      server('g', { deleting: true }),
      server('10'),
    ];
    expect(names(eligibleServers({}, servers))).toEqual(['10', 'b', 'c']);
  });

  it("follows the class's selector and qualifiers", () => {
    const servers = [server('x', { labels: { rack: '1' } }), server('y', { labels: { rack: '2' } })];
    expect(names(eligibleServers({ selector: { matchLabels: { rack: '2' } } }, servers))).toEqual(['y']);
    expect(names(eligibleServers({ qualifiers: { labelSelectors: [{ rack: '1' }] } }, servers))).toEqual(['x']);
  });

  it('never offers a server whose name cannot be the uuid node label', () => {
    expect(names(eligibleServers({}, [server('a'.repeat(64)), server('ok')]))).toEqual(['ok']);
  });
});

describe('serversBoundTo and internalAddresses', () => {
  it('finds the servers bound to a machine by its namespace/name', () => {
    const servers = [server('b', { bound: 'ns/m' }), server('a', { bound: 'ns/m' }), server('c', { bound: 'other/m' })];
    expect(names(serversBoundTo(servers, 'ns/m'))).toEqual(['a', 'b']);
    expect(serversBoundTo(servers, 'ns/x')).toEqual([]);
  });

  it('reports the InternalIP addresses in their order', () => {
    const s = server('a');
    s.status = {
      addresses: [
        { type: 'Hostname', address: 'node-a' },
        { type: 'InternalIP', address: '10.0.0.7' },
        { type: 'InternalIP', address: 'fd00::7' },
      ],
    };
    expect(internalAddresses(s)).toEqual(['10.0.0.7', 'fd00::7']);
    expect(internalAddresses(server('b'))).toEqual([]);
  });
});
