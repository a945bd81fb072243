// Maintenance mode end to end through our own client: machines boot without a config in their own
// loopback block, take configs made by our generator over an insecure connection, install and come
// back as mTLS control planes and workers of their cluster; then bootstrap once, join, health,
// kubeconfig, leave, reset, remove a gone member, and the faults a controller must survive. One
// simulator, scenarios in order, reboots of a few ms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { generateSecretsBundle, type SecretsBundle } from '../../src/machineconfig/bundle.js';
import { parseContract } from '../../src/machineconfig/contract.js';
import { generateMachineConfig } from '../../src/machineconfig/generate/generate.js';
import { generateTalosconfig, nodeTlsCredentials } from '../../src/machineconfig/talosconfig.js';
import { TalosClient } from '../../src/talos/client.js';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { drain, expectFailure, failureOf, nodeUntil } from './helpers.js';

let sim: Simulator;
const clients: TalosClient[] = [];

interface TestCluster {
  bundle: SecretsBundle;
  controlPlane: string;
  worker: string;
  credentials: { ca: string; crt: string; key: string };
}

async function testCluster(name: string, installImage?: string): Promise<TestCluster> {
  const bundle = await generateSecretsBundle({ contract: parseContract('1.13') });
  const inputs = {
    clusterName: name,
    endpoint: `https://${name}.example:6443`,
    ...(installImage ? { installImage } : {}),
  };
  const talosconfig = await generateTalosconfig({ clusterName: name, osCA: bundle.certs.os });
  const tls = nodeTlsCredentials(talosconfig.contexts[name]!);
  return {
    bundle,
    controlPlane: generateMachineConfig('controlplane', inputs, bundle),
    worker: generateMachineConfig('worker', inputs, bundle),
    credentials: { ca: tls.ca, crt: tls.cert, key: tls.key },
  };
}

function insecure(id: string): TalosClient {
  const c = TalosClient.maintenance({ endpoint: sim.node(id).endpoint, timeoutMs: 3_000 });
  clients.push(c);
  return c;
}

function mtls(id: string, cluster: TestCluster): TalosClient {
  const c = new TalosClient({ endpoint: sim.node(id).endpoint, ...cluster.credentials, timeoutMs: 3_000 });
  clients.push(c);
  return c;
}

function nodeState(id: string): Record<string, unknown> {
  const nodes = sim.state()['nodes'] as Record<string, unknown>[];
  return nodes.find((n) => n['id'] === id)!;
}

/** Applies in maintenance mode and waits for the node to serve again, configured. */
async function install(id: string, config: string): Promise<void> {
  const r = await insecure(id).applyConfiguration({ data: config, mode: 'AUTO' });
  expect(r.modeDetails).toContain('maintenance mode');
  const node = sim.node(id);
  await nodeUntil(node, 'configured and serving', () => node.configured && node.up && node.listening);
}

let c1: TestCluster;
let c2: TestCluster;

beforeAll(async () => {
  sim = await startSimulator({ maintenance: true, nodes: 5, rebootMs: 5, shutdownMs: 5, installMs: 5 });
  [c1, c2] = await Promise.all([testCluster('c1', 'ghcr.io/siderolabs/installer:v1.13.10'), testCluster('c2')]);
}, 60_000);

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim?.stop();
});

describe('maintenance-mode simulator', () => {
  it('claims its own loopback block: nodes 127.A.B.2.. on one port, unconfigured, named by id', () => {
    const nodes = sim.nodes();
    const [first] = nodes;
    const block = first!.address.replace(/\.\d+$/, '');
    expect(block).toMatch(/^127\.\d+\.\d+$/);
    expect(block).not.toBe('127.0.0');
    expect(nodes.map((n) => [n.id, n.name, n.address, n.port, n.configured, n.role])).toEqual(
      nodes.map((_, i) => [`node-${i}`, `node-${i}`, `${block}.${i + 2}`, sim.port, false, null]),
    );
    expect(nodes.every((n) => n.endpoint === `${n.address}:${sim.port}` && n.version === 'v1.13.9')).toBe(true);
  });

  it('answers Version and Disks to anyone over TLS it cannot prove, and nothing else', async () => {
    const c = insecure('node-0');
    expect(c.insecure).toBe(true);
    expect((await c.version()).version.tag).toBe('v1.13.9');
    const [disk] = await c.disks();
    expect(disk).toMatchObject({ deviceName: '/dev/sda', systemDisk: false, type: 'SSD' });
    const e = await expectFailure(c.serviceList(), 'Unimplemented', 400);
    expect(e.message).toContain('not available in maintenance mode');
    await expectFailure(c.bootstrap(), 'Unimplemented', 400);
    // our client, verifying against a cluster's OS CA, cannot trust its throw-away certificate
    const tls = await failureOf(mtls('node-0', c1).version());
    expect(tls.failure).toBe('TLSError');
    expect(tls.message).toContain('does not verify');
  });

  it('refuses a config while the refuse-config fault is on, takes it after heal', async () => {
    await sim.inject('node-1', 'refuse-config', { message: 'disk /dev/sda is too small' });
    const e = await expectFailure(
      insecure('node-1').applyConfiguration({ data: c1.worker, mode: 'AUTO' }),
      'InvalidArgument',
      400,
    );
    expect(e.message).toContain('disk /dev/sda is too small');
    expect(nodeState('node-1')['configured']).toBe(false);
    await sim.inject('node-1', 'heal');
    await expectFailure(
      insecure('node-1').applyConfiguration({ data: 'version: v1alpha1\nmachine: {type: worker}\n', mode: 'AUTO' }),
      'InvalidArgument',
      400,
    );
    await expectFailure(
      insecure('node-1').applyConfiguration({ data: c1.worker, mode: 'STAGED' }),
      'InvalidArgument',
      400,
    );
  });

  it('installs a control-plane config: mTLS with the config OS CA, role, stable hostname, image tag version', async () => {
    await install('node-0', c1.controlPlane);
    const info = sim.nodes()[0]!;
    expect(info).toMatchObject({ configured: true, role: 'controlplane', version: 'v1.13.10' });
    expect(info.hostname).toMatch(/^talos-[0-9a-f]{3}-[0-9a-f]{3}$/);
    expect(info.name).toBe(info.hostname);
    const cp = mtls('node-0', c1);
    expect(await cp.hostname()).toBe(info.hostname);
    expect((await cp.serviceList()).find((s) => s.id === 'etcd')?.state).toBe('Preparing');
    // no longer in maintenance mode: an insecure client is told so
    const e = await failureOf(insecure('node-0').version());
    expect(e.failure).toBe('TLSError');
    expect(e.message).toContain('not in maintenance mode');
    // another cluster's credentials are refused
    expect((await failureOf(mtls('node-0', c2).version())).failure).toBe('TLSError');
  });

  it('installs a worker, whose certificate comes from the key of its cluster control plane', async () => {
    await install('node-1', c1.worker);
    expect(sim.nodes()[1]).toMatchObject({ configured: true, role: 'worker', version: 'v1.13.10' });
    const w = mtls('node-1', c1);
    expect((await w.version()).version.tag).toBe('v1.13.10');
    await expectFailure(w.bootstrap(), 'Unimplemented', 400);
    expect((await w.disks())[0]?.systemDisk).toBe(true);
  });

  it('Bootstrap takes effect once; a second answers AlreadyExists', async () => {
    const cp = mtls('node-0', c1);
    await cp.bootstrap();
    await expectFailure(cp.bootstrap(), 'AlreadyExists', 409);
    expect(nodeState('node-0')).toMatchObject({ bootstrapCalls: 2, bootstrapsEffective: 1, etcdMember: true });
    expect((await cp.etcdMemberList()).map((m) => m.hostname)).toEqual([sim.nodes()[0]!.hostname]);
  });

  it('a second control plane joins the running etcd by itself; the cluster is healthy', async () => {
    await install('node-2', c1.controlPlane);
    const cp = mtls('node-0', c1);
    const members = await cp.etcdMemberList();
    expect(members.map((m) => m.hostname).sort()).toEqual([sim.nodes()[0]!.hostname, sim.nodes()[2]!.hostname].sort());
    expect(nodeState('node-2')).toMatchObject({ etcdMember: true, bootstrapsEffective: 0 });
    await expectFailure(mtls('node-2', c1).bootstrap(), 'AlreadyExists', 409);
    const { items, error } = await drain(cp.healthCheck({ waitTimeoutMs: 3_000 }));
    expect(error).toBeUndefined();
    expect(items).toContain('waiting for etcd members to be control plane nodes: OK');
    const kubeconfig = (await cp.kubeconfig()).toString('utf8');
    expect(kubeconfig).toContain('server: https://c1.example:6443');
    expect(kubeconfig).toContain('admin@c1');
  });

  it('a control plane leaves etcd; the health check then fails naming it; a graceful reset sends it back to maintenance', async () => {
    const leaving = mtls('node-2', c1);
    await leaving.etcdLeaveCluster();
    expect(nodeState('node-2')['etcdMember']).toBe(false);
    expect((await leaving.serviceList()).find((s) => s.id === 'etcd')?.state).toBe('Finished');
    const { error } = await drain(mtls('node-0', c1).healthCheck({ waitTimeoutMs: 200 }));
    expect(String(error)).toContain(
      `${sim.nodes()[2]!.hostname}: service "etcd" is not healthy: left the etcd cluster`,
    );
    await leaving.reset({ graceful: true, reboot: true });
    const node = sim.node('node-2');
    await nodeUntil(node, 'back in maintenance mode', () => !node.configured && node.listening);
    expect(nodeState('node-2')).toMatchObject({
      configured: false,
      role: null,
      resets: 1,
      name: 'node-2',
      version: 'v1.13.9',
    });
    expect((await insecure('node-2').version()).version.tag).toBe('v1.13.9');
  });

  it('etcd refuses to lose its last member: leave and a graceful reset both fail, the node runs on', async () => {
    const cp = mtls('node-0', c1);
    const e = await failureOf(cp.etcdLeaveCluster());
    expect(e.failure).toBe('NodeError');
    expect(e.message).toContain('re-configuration failed due to not enough started members');
    await cp.reset({ graceful: true, reboot: true });
    expect(nodeState('node-0')).toMatchObject({ resets: 0, etcdMember: true, configured: true });
    expect(String(nodeState('node-0')['resetError'])).toContain('not enough started members');
  });

  it('a node that is gone stays an etcd member until removed through another control plane, while etcd has quorum', async () => {
    await install('node-2', c1.controlPlane);
    const cp = mtls('node-0', c1);
    expect(await cp.etcdMemberList()).toHaveLength(2);
    const gone = (await cp.etcdMemberList()).find((m) => m.hostname === sim.nodes()[2]!.hostname)!;
    await sim.inject('node-2', 'power-off');
    expect(nodeState('node-2')).toMatchObject({ poweredOff: true, up: false, etcdMember: true });
    // one of two members left: no quorum, no leader, nothing can be removed
    expect((await failureOf(cp.etcdRemoveMemberByID(gone.id))).message).toContain('etcdserver: no leader');
    await sim.inject('node-2', 'power-on');
    await install('node-4', c1.controlPlane);
    expect(await cp.etcdMemberList()).toHaveLength(3);
    await sim.inject('node-2', 'power-off');
    await expectFailure(cp.etcdRemoveMemberByID('12345'), 'NotFound', 404);
    await cp.etcdRemoveMemberByID(gone.id);
    expect((await cp.etcdMemberList()).map((m) => m.id)).not.toContain(gone.id);
    await sim.inject('node-2', 'reprovision');
    const node = sim.node('node-2');
    await nodeUntil(node, 'a fresh maintenance node', () => !node.configured && node.listening);
    expect(sim.nodes()[2]!.name).toBe('node-2');
  });

  it('a non-graceful reset without reboot powers the node off, leaving no config', async () => {
    await mtls('node-1', c1).reset({ graceful: false, reboot: false });
    const node = sim.node('node-1');
    await nodeUntil(node, 'powered off', () => node.phase === 'off');
    expect(nodeState('node-1')).toMatchObject({ poweredOff: true, configured: false, resets: 1 });
    await sim.inject('node-1', 'power-on');
    await nodeUntil(node, 'a maintenance node again', () => !node.configured && node.listening);
  });

  it('stop-during-bootstrap: the node dies on Bootstrap before etcd starts and comes back unbootstrapped', async () => {
    await install('node-3', c2.controlPlane);
    await sim.inject('node-3', 'stop-during-bootstrap');
    const cp = mtls('node-3', c2);
    await expectFailure(cp.bootstrap(), 'Unreachable', 503);
    expect(nodeState('node-3')).toMatchObject({
      up: false,
      bootstrapCalls: 1,
      bootstrapsEffective: 0,
      etcdMember: false,
    });
    await sim.inject('node-3', 'start');
    expect((await cp.serviceList()).find((s) => s.id === 'etcd')?.state).toBe('Preparing');
    await cp.bootstrap();
    expect(nodeState('node-3')).toMatchObject({ bootstrapCalls: 2, bootstrapsEffective: 1, etcdMember: true });
  });

  it('configured (1.13): a kernel change needs a reboot, NO_REBOOT refuses it and AUTO reboots for it; other changes apply live', async () => {
    const cp = mtls('node-0', c1);
    const edit = (fn: (v1alpha1: Record<string, any>) => void) => {
      const docs = parseAllDocuments(c1.controlPlane).map((d) => d.toJS() as Record<string, any>);
      fn(docs[0]!);
      return docs.map((d) => stringify(d)).join('---\n');
    };
    const labelled = edit((d) => (d.machine.nodeLabels = { ...d.machine.nodeLabels, tier: 'gold' }));
    expect(await cp.applyConfiguration({ data: labelled, mode: 'NO_REBOOT' })).toMatchObject({ mode: 'NO_REBOOT' });
    const kernel = edit((d) => (d.machine.kernel = { modules: [{ name: 'br_netfilter' }] }));
    const e = await expectFailure(cp.applyConfiguration({ data: kernel, mode: 'NO_REBOOT' }), 'InvalidArgument', 400);
    expect(e.message).toContain('machine.kernel changed');
    const node = sim.node('node-0');
    const closed = nodeUntil(node, 'going down', () => !node.listening);
    expect(await cp.applyConfiguration({ data: kernel, mode: 'AUTO' })).toMatchObject({ mode: 'REBOOT' });
    await closed;
    await nodeUntil(node, 'back', () => node.up && node.listening);
    expect(nodeState('node-0')).toMatchObject({ etcdMember: true, version: 'v1.13.10' });
    expect(node.config?.data.toString('utf8')).toContain('br_netfilter');
  });

  it('maintenance mode (1.13) takes REBOOT as NO_REBOOT; a dry run changes nothing', async () => {
    const r = await insecure('node-2').applyConfiguration({ data: c2.worker, mode: 'REBOOT', dryRun: true });
    expect(r.mode).toBe('NO_REBOOT');
    expect(r.modeDetails).toContain('Dry run');
    expect(nodeState('node-2')['configured']).toBe(false);
  });

  it('GET /state reports clusters, nodes and the most nodes down at once', async () => {
    const state = (await (await fetch(`${sim.control.url}/state`)).json()) as {
      clusters: { name: string; bootstrapsEffective: number; etcdMembers: unknown[] }[];
      nodes: Record<string, unknown>[];
      maxDownAtOnce: number;
    };
    expect(state.clusters.map((c) => [c.name, c.bootstrapsEffective, c.etcdMembers.length]).sort()).toEqual([
      ['c1', 1, 2],
      ['c2', 1, 1],
    ]);
    expect(state.maxDownAtOnce).toBeGreaterThanOrEqual(1);
    for (const key of ['id', 'name', 'address', 'configured', 'role', 'hostname', 'version', 'clusterId'])
      expect(Object.keys(state.nodes[0]!)).toContain(key);
    expect(state.nodes[0]).toMatchObject({ clusterId: c1.bundle.cluster.id, up: true, poweredOff: false });
  });
});
