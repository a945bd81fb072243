import { describe, expect, it } from 'vitest';
import { factsDiffer, nodeFacts } from '../../../../src/controllers/machine/status.js';
import { machineAddress, machineEndpoint } from '../../../../src/nodeaccess/machinenode.js';
import type { NodeSighting } from '../../../../src/nodeaccess/sighting.js';
import type { KubeObject } from '../../../../src/machinery/kind.js';

const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:01:00Z';
const machine = (status: Record<string, unknown>): KubeObject => ({
  apiVersion: 'vitistack.io/v1alpha1',
  kind: 'Machine',
  metadata: { name: 'm', namespace: 'ns' },
  status,
});
const svc = (id: string, state = 'Running', healthy = true) => ({
  id,
  state,
  events: null,
  health: { unknown: false, healthy, lastMessage: healthy ? '' : 'bad', lastChange: null },
});
const configured = (services = [svc('apid'), svc('etcd')]): NodeSighting => ({
  mode: 'configured',
  endpoint: '127.1.2.3:50000',
  talosVersion: 'v1.13.9',
  architecture: 'amd64',
  hostname: 'cp-1',
  services,
  etcd: 'running',
});

describe("a Machine's node address", () => {
  it('is the first IPv4 of publicIPAddresses once the provider says Running', () => {
    const m = machine({ phase: 'Running', publicIPAddresses: ['fd00::1', '127.9.9.2', '127.9.9.3'] });
    expect(machineAddress(m)).toBe('127.9.9.2');
    expect(machineEndpoint(m, 50123)).toBe('127.9.9.2:50123');
  });
  it('is unknown before Running, or without an IPv4', () => {
    expect(machineAddress(machine({ phase: 'Creating', publicIPAddresses: ['127.9.9.2'] }))).toBeUndefined();
    expect(machineAddress(machine({ phase: 'Running', publicIPAddresses: ['fd00::1'] }))).toBeUndefined();
    expect(machineAddress(machine({ phase: 'Running' }))).toBeUndefined();
    expect(machineEndpoint(machine({}), 50000)).toBeUndefined();
  });
});

describe('what the Machine controller writes about a node', () => {
  it('waits for the provider while no node is known', () => {
    const f = nodeFacts(undefined, undefined, T0);
    expect(f.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['BootstrapReady', 'False', 'WaitingForNode'],
      ['Ready', 'False', 'WaitingForNode'],
    ]);
    expect(f.hostname).toBeUndefined();
  });

  it('says a maintenance-mode node waits for its configuration, with its Talos version', () => {
    const f = nodeFacts(
      undefined,
      { mode: 'maintenance', endpoint: '127.1.2.3:50000', talosVersion: 'v1.12.0', architecture: 'arm64' },
      T0,
    );
    expect(f).toMatchObject({ operatingSystem: 'Talos', operatingSystemVersion: 'v1.12.0', architecture: 'arm64' });
    const ready = f.conditions.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'Maintenance' });
    expect(ready.message).toMatch(/maintenance mode/);
  });

  it('is Ready when the configured node reports every service healthy', () => {
    const f = nodeFacts(undefined, configured(), T0);
    expect(f).toMatchObject({ hostname: 'cp-1', operatingSystemVersion: 'v1.13.9' });
    expect(f.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['BootstrapReady', 'True', 'Configured'],
      ['Ready', 'True', 'Ready'],
    ]);
  });

  it('names the services that are not healthy', () => {
    const f = nodeFacts(undefined, configured([svc('apid'), svc('etcd', 'Preparing', false)]), T0);
    const ready = f.conditions.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'ServicesNotHealthy' });
    expect(ready.message).toContain('etcd (Preparing: bad)');
  });

  it('keeps what it learnt and BootstrapReady while the node is unreachable; times move only on change', () => {
    const first = nodeFacts(undefined, configured(), T0);
    const away = nodeFacts(
      first as never,
      { mode: 'unreachable', endpoint: 'x', error: 'gone', failure: 'Unreachable' },
      T1,
    );
    expect(away.hostname).toBe('cp-1');
    expect(away.conditions.find((c) => c.type === 'BootstrapReady')).toMatchObject({
      status: 'True',
      lastTransitionTime: T0,
    });
    expect(away.conditions.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Unreachable',
      lastTransitionTime: T1,
    });
    expect(factsDiffer(first as never, away)).toBe(true);
    expect(
      factsDiffer(away as never, nodeFacts(away as never, { mode: 'unreachable', endpoint: 'x', error: 'gone' }, T1)),
    ).toBe(false);
  });

  it('says a node that refuses the cluster certificate is configured elsewhere', () => {
    const f = nodeFacts(undefined, { mode: 'foreign', endpoint: 'x', error: 'not this cluster' }, T0);
    expect(f.conditions.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'ConfiguredElsewhere' });
  });
});
