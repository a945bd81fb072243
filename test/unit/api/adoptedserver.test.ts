import { describe, expect, it } from 'vitest';
import { adoptedServerFinalizer, adoptedServerKind } from '../../../src/api/adoptedserver.js';
import { hostPortPattern, hostPortProblem } from '../../../src/api/validate.js';
import { check, createErrors, yamlDoc } from './helpers.js';

// The two AdoptedServer manifests of Sidero Metal's Adopted Server feature, unchanged.
const exampleControl = `
apiVersion: metal.sidero.dev/v1alpha2
kind: AdoptedServer
metadata:
  name: spokane-control-1
  namespace: default
spec:
  talos:
    endpoint: "192.168.1.10:50000"
    nodeType: controlplane
    talosVersion: "v1.8.3"
    kubernetesVersion: "v1.31.1"
    hostname: spokane-control-1
  managementAPI:
    enabled: true
    endpoint: "http://management-api.example.com:8090"
    clusterName: "production-spokane"
    clusterID: "550e8400-e29b-41d4-a716-446655440000"
  sideroLink:
    enabled: true
  accepted: true
  labels:
    location: spokane
    environment: production
`;

const exampleWorker = `
apiVersion: metal.sidero.dev/v1alpha2
kind: AdoptedServer
metadata:
  name: spokane-worker-1
spec:
  talos:
    endpoint: "192.168.1.20:50000"
    nodeType: worker
    talosVersion: "v1.8.3"
    kubernetesVersion: "v1.31.1"
  managementAPI:
    enabled: true
    endpoint: "http://management-api:8090"
    clusterName: "production-spokane"
  accepted: true
`;

function withEndpoint(endpoint: string) {
  return { spec: { talos: { endpoint, nodeType: 'worker' } } };
}

describe('AdoptedServer', () => {
  it.each([
    ['control-plane', exampleControl],
    ['worker', exampleWorker],
  ])("accepts the Adopted Server feature's %s manifest unchanged", (_n, text) => {
    const doc = yamlDoc(text);
    const { schema, strategy } = createErrors(adoptedServerKind, doc);
    expect(schema).toEqual([]);
    expect(strategy).toEqual([]);
    // nothing it sets is changed by defaulting
    const { obj } = check(adoptedServerKind, doc);
    expect(obj.spec).toMatchObject(doc.spec as object);
  });

  it('defaults accepted, managementAPI.enabled, sideroLink.enabled and the talosconfig key, only where the parent exists', () => {
    const { obj } = check(adoptedServerKind, {
      spec: {
        talos: { endpoint: 'n1:50000', nodeType: 'worker', talosconfigSecretRef: { name: 'tc' } },
        managementAPI: {},
        sideroLink: {},
      },
    });
    expect(obj.spec).toEqual({
      talos: { endpoint: 'n1:50000', nodeType: 'worker', talosconfigSecretRef: { name: 'tc', key: 'talosconfig' } },
      managementAPI: { enabled: false },
      sideroLink: { enabled: false },
      accepted: false,
    });
    const bare = check(adoptedServerKind, withEndpoint('n1:50000')).obj;
    expect(bare.spec).toEqual({ talos: { endpoint: 'n1:50000', nodeType: 'worker' }, accepted: false });
  });

  it('requires spec, talos.endpoint and talos.nodeType, and talosconfigSecretRef.name', () => {
    expect(check(adoptedServerKind, {}).errors).toEqual([' required spec']);
    expect(check(adoptedServerKind, { spec: { talos: {} } }).errors.sort()).toEqual([
      '/spec/talos required endpoint',
      '/spec/talos required nodeType',
    ]);
    const ref = { spec: { talos: { endpoint: 'a:1', nodeType: 'worker', talosconfigSecretRef: { key: 'k' } } } };
    expect(check(adoptedServerKind, ref).errors).toEqual(['/spec/talos/talosconfigSecretRef required name']);
  });

  it('accepts only controlplane and worker as nodeType', () => {
    const bad = { spec: { talos: { endpoint: 'a:1', nodeType: 'init' } } };
    expect(check(adoptedServerKind, bad).errors).toEqual(['/spec/talos/nodeType enum']);
  });

  const goodEndpoints = [
    '192.168.1.10:50000',
    '10.0.0.1:1',
    'localhost:65535',
    'node-1.example.com:50000',
    'Node1.Example.COM:50000',
    '1node.example:50000',
    '[fd00::1]:50000',
    '[::1]:50000',
    '[::ffff:10.0.0.1]:50000',
    '[2001:db8:0:0:0:0:0:1]:50000',
  ];
  const badEndpoints = [
    '192.168.1.10',
    '192.168.1.10:',
    '192.168.1.10:0',
    '192.168.1.10:65536',
    '192.168.1.10:050000',
    ':50000',
    '300.1.1.1:50000',
    '1.2.3:50000',
    '01.2.3.4:50000',
    'fd00::1:50000',
    '[fd00::zz]:50000',
    '[fd00::1]',
    'under_score.example:50000',
    '-bad.example:50000',
    'bad-.example:50000',
    'a..b:50000',
    'http://node:50000',
    'node:50000/x',
  ];

  it.each(goodEndpoints)('accepts the endpoint %s (schema pattern and strategy)', (endpoint) => {
    expect(new RegExp(hostPortPattern, 'u').test(endpoint)).toBe(true);
    expect(hostPortProblem(endpoint)).toBeUndefined();
    const { schema, strategy } = createErrors(adoptedServerKind, withEndpoint(endpoint));
    expect(schema).toEqual([]);
    expect(strategy).toEqual([]);
  });

  it.each(badEndpoints)('rejects the endpoint %s with a clear message', (endpoint) => {
    const { schema, strategy } = createErrors(adoptedServerKind, withEndpoint(endpoint));
    expect(schema).toEqual(['/spec/talos/endpoint pattern']);
    expect(strategy).toHaveLength(1);
    expect(strategy[0]).toMatchObject({ type: 'FieldValueInvalid', field: 'spec.talos.endpoint' });
    expect(strategy[0]!.message).toMatch(
      /^spec\.talos\.endpoint: Invalid value: ".*": must be host:port, where host is a DNS name, an IPv4 address or an IPv6 address in brackets, and port is 1-65535/,
    );
  });

  // The pattern checks only the characters inside brackets; the strategy parses the address.
  it.each(['[1:2:3:4:5:6:7:8:9]:50000', '[1::2::3]:50000', '[1:2:3]:50000', '[::1.2.3]:50000'])(
    'rejects the malformed IPv6 endpoint %s in the strategy',
    (endpoint) => {
      const { strategy } = createErrors(adoptedServerKind, withEndpoint(endpoint));
      expect(strategy.map((e) => e.field)).toEqual(['spec.talos.endpoint']);
      expect(strategy[0]!.message).toMatch(/is not a valid IPv6 address$/);
    },
  );

  it('explains which part of the endpoint is wrong', () => {
    expect(hostPortProblem('10.0.0.1')).toMatch(/missing port$/);
    expect(hostPortProblem('10.0.0.1:70000')).toMatch(/port "70000" is not in 1-65535$/);
    expect(hostPortProblem('300.0.0.1:1')).toMatch(/"300.0.0.1" is not a valid IPv4 address$/);
    expect(hostPortProblem('fd00::1:1')).toMatch(/an IPv6 address must be in brackets$/);
    expect(hostPortProblem('[fd00::g]:1')).toMatch(/"fd00::g" is not a valid IPv6 address$/);
    expect(hostPortProblem('a_b:1')).toMatch(/"a_b" is not a valid DNS name$/);
  });

  it('checks DNS lengths in the strategy (the pattern cannot)', () => {
    const longLabel = `${'a'.repeat(64)}.example:1`;
    expect(hostPortProblem(longLabel)).toMatch(/not a valid DNS name/);
    expect(hostPortProblem(`${'a'.repeat(63)}.example:1`)).toBeUndefined();
    const longName = `${Array(64).fill('abc').join('.')}:1`; // 255 characters
    expect(hostPortProblem(longName)).toMatch(/not a valid DNS name/);
  });

  it('exports its finalizer and is filterable by node type, acceptance and hostname', () => {
    expect(adoptedServerFinalizer).toBe('adoptedserver.metal.sidero.dev');
    expect(adoptedServerKind.selectableFields).toEqual(['spec.talos.nodeType', 'spec.accepted', 'spec.talos.hostname']);
  });

  it('accepts a full status', () => {
    const status = {
      observedGeneration: 2,
      ready: true,
      connected: true,
      lastContactTime: '2025-01-01T00:00:00Z',
      conditions: [
        { type: 'Connected', status: 'True', reason: 'TalosAPIReachable', lastTransitionTime: '2025-01-01T00:00:00Z' },
        {
          type: 'Adopted',
          status: 'False',
          severity: 'Info',
          reason: 'NotAccepted',
          message: 'not accepted',
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ],
      health: { status: 'Healthy', lastCheckTime: '2025-01-01T00:00:00Z', message: 'ok' },
      addresses: [{ type: 'InternalIP', address: '192.168.1.10' }],
      managementAPIStatus: { synced: true, lastSyncTime: '2025-01-01T00:00:00Z' },
      sideroLinkStatus: { connected: false },
      nodeInfo: {
        uuid: 'u',
        hostname: 'h',
        talosVersion: 'v1.8.3',
        kubernetesVersion: 'v1.31.1',
        nodeType: 'worker',
        architecture: 'amd64',
        kernelVersion: '6.6',
      },
    };
    expect(check(adoptedServerKind, { ...withEndpoint('a:1'), status }).errors).toEqual([]);
    const badCondition = {
      ...status,
      conditions: [{ type: 'Connected', status: 'Yes', lastTransitionTime: 'yesterday' }],
    };
    expect(check(adoptedServerKind, { ...withEndpoint('a:1'), status: badCondition }).errors.sort()).toEqual([
      '/status/conditions/0/lastTransitionTime format',
      '/status/conditions/0/status enum',
    ]);
  });
});
