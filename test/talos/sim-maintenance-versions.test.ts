// What a config tells a maintenance-mode node, per layout and version: a 1.12 ISO takes AUTO,
// REBOOT and TRY only, and installs with the hostname a config names; the 1.14 documents carry the
// cluster in KubeClusterConfig, DiscoveryIdentityConfig and KubeAPIServerCAConfig; configs a node
// cannot install from are refused naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { generateSecretsBundle, type SecretsBundle } from '../../src/machineconfig/bundle.js';
import { parseContract } from '../../src/machineconfig/contract.js';
import { generateMachineConfig } from '../../src/machineconfig/generate/generate.js';
import { TalosClient } from '../../src/talos/client.js';
import { readConfigFacts } from '../../hack/talos-sim/config-facts.js';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { expectFailure, nodeUntil } from './helpers.js';

let sim: Simulator;
let client: TalosClient;
let b12: SecretsBundle;
let b14: SecretsBundle;

beforeAll(async () => {
  sim = await startSimulator({
    maintenance: true,
    nodes: 1,
    version: 'v1.12.11',
    rebootMs: 5,
    shutdownMs: 5,
    installMs: 5,
  });
  client = TalosClient.maintenance({ endpoint: sim.nodes()[0]!.endpoint, timeoutMs: 3_000 });
  [b12, b14] = await Promise.all([
    generateSecretsBundle({ contract: parseContract('1.12') }),
    generateSecretsBundle({ contract: parseContract('1.14') }),
  ]);
}, 60_000);

afterAll(async () => {
  client?.close();
  await sim?.stop();
});

const config12 = (role: 'controlplane' | 'worker') =>
  generateMachineConfig(
    role,
    { clusterName: 'old', endpoint: 'https://old.example:6443', talosVersion: 'v1.12.11' },
    b12,
  );

describe('a 1.12 maintenance node', () => {
  it('takes AUTO, REBOOT and TRY; refuses NO_REBOOT and STAGED', async () => {
    const worker = config12('worker');
    expect((await client.applyConfiguration({ data: worker, mode: 'REBOOT', dryRun: true })).mode).toBe('REBOOT');
    expect((await client.applyConfiguration({ data: worker, mode: 'TRY', dryRun: true })).mode).toBe('TRY');
    for (const mode of ['NO_REBOOT', 'STAGED'] as const) {
      const e = await expectFailure(client.applyConfiguration({ data: worker, mode }), 'InvalidArgument', 400);
      expect(e.message).toContain(`apply mode ${mode} is not supported in maintenance mode`);
    }
  });

  it('installs a control plane with the hostname its config names, at its image version', async () => {
    const named = config12('controlplane')
      .replace(/^version: v1alpha1\n/m, 'version: v1alpha1\n')
      .replace(/^kind: HostnameConfig\nauto: stable$/m, 'kind: HostnameConfig\nhostname: cp-one');
    expect(named).toContain('hostname: cp-one');
    await client.applyConfiguration({ data: named, mode: 'REBOOT' });
    const node = sim.node('node-0');
    await nodeUntil(node, 'configured', () => node.configured && node.listening);
    expect(sim.nodes()[0]).toMatchObject({
      name: 'cp-one',
      hostname: 'cp-one',
      role: 'controlplane',
      version: 'v1.12.11',
    });
  });
});

describe('reading a config', () => {
  it('the 1.14 documents: cluster from KubeClusterConfig and DiscoveryIdentityConfig, CAs, image', () => {
    const inputs = { clusterName: 'new', endpoint: 'https://new.example:6443', talosVersion: '1.14' };
    const cp = readConfigFacts(Buffer.from(generateMachineConfig('controlplane', inputs, b14)));
    expect(cp).toMatchObject({
      role: 'controlplane',
      clusterId: b14.cluster.id,
      clusterName: 'new',
      endpoint: 'https://new.example:6443',
      osCA: { crt: b14.certs.os.crt, key: expect.stringContaining('PRIVATE KEY') },
      k8sCA: { crt: b14.certs.k8s.crt, key: expect.stringContaining('PRIVATE KEY') },
    });
    expect(cp.installImage).toMatch(/:v1\.14\./);
    expect(cp.hostname).toBeUndefined();
    const worker = readConfigFacts(Buffer.from(generateMachineConfig('worker', inputs, b14)));
    expect(worker).toMatchObject({ role: 'worker', clusterId: b14.cluster.id, osCA: { crt: b14.certs.os.crt } });
    expect(worker.osCA.key).toBeUndefined();
  });

  it('refuses what a node cannot install from, naming the field', () => {
    const without = (fn: (v1alpha1: Record<string, any>) => void) => () => {
      const docs = parseAllDocuments(config12('controlplane')).map((d) => d.toJS() as Record<string, any>);
      fn(docs[0]!);
      return readConfigFacts(Buffer.from(docs.map((d) => stringify(d)).join('---\n')));
    };
    expect(without((d) => delete d.machine.ca)).toThrow('machine.ca.crt is required');
    expect(without((d) => (d.machine.ca.key = ''))).toThrow('machine.ca.key is required on a control plane');
    expect(without((d) => (d.machine.type = 'worker'))).toThrow('machine.ca.key must be empty on a worker');
    expect(without((d) => (d.machine.type = 'router'))).toThrow('unknown machine type "router"');
    expect(without((d) => delete d.cluster.clusterName)).toThrow('cluster name is required');
    expect(without((d) => (d.machine.ca.crt = 'bm90IGEgY2VydA=='))).toThrow('machine.ca.crt is not a PEM block');
    expect(() => readConfigFacts(Buffer.from('kind: HostnameConfig\napiVersion: v1alpha1\nauto: stable\n'))).toThrow(
      'no v1alpha1 document',
    );
  });
});
