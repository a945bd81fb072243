// TalosClient against the simulator over real mTLS gRPC on loopback: every method, once each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { X509Certificate } from 'node:crypto';
import { TalosClient } from '../../src/talos/client.js';
import { parseTalosconfig } from '../../src/talos/talosconfig.js';
import { clientFor, controlPlane, drain, expectFailure, simulator, worker, type Simulator } from './helpers.js';

describe('TalosClient <-> simulator', () => {
  let sim: Simulator;
  let cp: TalosClient;
  let wk: TalosClient;

  beforeAll(async () => {
    sim = await simulator({ nodes: 3, controlPlanes: 2 });
    cp = clientFor(sim, controlPlane(sim));
    wk = clientFor(sim, worker(sim));
  });
  afterAll(async () => {
    cp.close();
    wk.close();
    await sim.stop();
  });

  it('builds a client from the talosconfig text the simulator writes', async () => {
    const config = parseTalosconfig(sim.talosconfigYaml);
    // Talos' own label, which the client must re-label for Node's TLS
    expect(config.contexts['talos-sim']?.key).toContain('BEGIN ED25519 PRIVATE KEY');
    const client = TalosClient.fromTalosconfig(config, { endpoint: sim.nodes()[2]?.endpoint });
    try {
      expect(await client.hostname()).toBe(sim.nodes()[2]?.name);
    } finally {
      client.close();
    }
  });

  it('Version', async () => {
    const v = await cp.version();
    expect(v.version.tag).toBe('v1.13.9');
    expect(v.version.os).toBe('linux');
    expect(v.platform).toEqual({ name: 'metal', mode: 'metal' });
    expect(v.features.rbac).toBe(true);
  });

  it('Hostname', async () => {
    expect(await cp.hostname()).toBe('talos-sim-cp-1');
    expect(await wk.hostname()).toBe('talos-sim-worker-1');
  });

  it('ServiceList: etcd and trustd on control planes only, health reported', async () => {
    const cpServices = await cp.serviceList();
    const ids = cpServices.map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(['apid', 'containerd', 'cri', 'etcd', 'kubelet', 'machined', 'trustd']));
    const etcd = cpServices.find((s) => s.id === 'etcd');
    expect(etcd?.state).toBe('Running');
    expect(etcd?.health).toMatchObject({ unknown: false, healthy: true });
    expect(etcd?.events?.events.at(-1)?.state).toBe('Running');
    const workerIds = (await wk.serviceList()).map((s) => s.id);
    expect(workerIds).toContain('kubelet');
    expect(workerIds).not.toContain('etcd');
  });

  it('Kubeconfig: the admin kubeconfig out of the unclosed tar', async () => {
    const text = (await cp.kubeconfig()).toString('utf8');
    const kc = parse(text) as Record<string, any>;
    expect(kc['current-context']).toBe('admin@talos-sim');
    // the first control plane's address, in the simulator's own loopback block
    expect(kc.clusters[0].cluster.server).toBe(`https://${sim.node(controlPlane(sim)).ip}:6443`);
    expect(kc.contexts[0].context).toEqual({ cluster: 'talos-sim', namespace: 'default', user: 'admin@talos-sim' });
    const cert = new X509Certificate(Buffer.from(kc.users[0].user['client-certificate-data'], 'base64'));
    expect(cert.subject).toContain('CN=admin');
    expect(cert.subject).toContain('O=system:masters');
    expect(Buffer.from(kc.users[0].user['client-key-data'], 'base64').toString()).toContain('BEGIN EC PRIVATE KEY');
  });

  it('Kubeconfig on a worker -> 400 Unimplemented', async () => {
    const e = await expectFailure(wk.kubeconfig(), 'Unimplemented', 400);
    expect(e.reason).toBe('BadRequest');
    expect(e.message).toContain('only available on control plane nodes');
  });

  it('ApplyConfiguration (NO_REBOOT) is recorded; a dry run is not', async () => {
    const data = 'version: v1alpha1\nmachine:\n  type: worker\ncluster:\n  clusterName: talos-sim\n';
    const dry = await wk.applyConfiguration({ data, mode: 'AUTO', dryRun: true });
    expect(dry.modeDetails).toContain('Dry run');
    expect(sim.node(worker(sim)).config).toBeUndefined();
    const r = await wk.applyConfiguration({ data, mode: 'NO_REBOOT' });
    expect(r).toMatchObject({ mode: 'NO_REBOOT', warnings: [] });
    expect(sim.node(worker(sim)).config?.data.toString()).toBe(data);
  });

  it('ApplyConfiguration rejects invalid YAML and a role change with 400 InvalidArgument', async () => {
    await expectFailure(wk.applyConfiguration({ data: 'version: [oops', mode: 'AUTO' }), 'InvalidArgument', 400);
    const e = await expectFailure(
      wk.applyConfiguration({ data: 'version: v1alpha1\nmachine:\n  type: controlplane\n', mode: 'AUTO' }),
      'InvalidArgument',
      400,
    );
    expect(e.message).toContain('machine type cannot be changed');
  });

  it('EtcdMemberList: the control-plane nodes', async () => {
    const members = await cp.etcdMemberList();
    expect(members.map((m) => m.hostname).sort()).toEqual(['talos-sim-cp-1', 'talos-sim-cp-2']);
    expect(members[0]?.id).toMatch(/^\d+$/);
    const addresses = sim
      .nodes()
      .filter((n) => n.role === 'controlplane')
      .map((n) => `https://${n.address}:2380`);
    expect(members.map((m) => m.peerUrls[0]).sort()).toEqual(addresses.sort());
    expect(await cp.etcdMemberList({ queryLocal: true })).toHaveLength(1);
  });

  it('EtcdStatus: member status with the leader', async () => {
    const s = await cp.etcdStatus();
    const ids = (await cp.etcdMemberList()).map((m) => m.id);
    expect(ids).toContain(s.memberId);
    expect(ids).toContain(s.leader);
    expect(Number(s.dbSize)).toBeGreaterThan(0);
    expect(s.protocolVersion).toBe('3.6.0');
  });

  it('etcd calls on a worker -> 400 Unimplemented', async () => {
    await expectFailure(wk.etcdMemberList(), 'Unimplemented', 400);
    await expectFailure(wk.etcdStatus(), 'Unimplemented', 400);
  });

  it('Bootstrap on a running cluster -> 409 AlreadyExists; on a worker -> 400 Unimplemented', async () => {
    await expectFailure(cp.bootstrap(), 'AlreadyExists', 409);
    await expectFailure(wk.bootstrap(), 'Unimplemented', 400);
  });

  it('HealthCheck streams progress and ends OK on a healthy cluster', async () => {
    const { items, error } = await drain(cp.healthCheck({ waitTimeoutMs: 5_000 }));
    expect(error).toBeUndefined();
    expect(items[0]).toMatch(/^discovered nodes/);
    expect(items).toContain('waiting for etcd to be healthy: OK');
    expect(items.at(-1)).toMatch(/: OK$/);
  });

  it('HealthCheck with explicit node lists', async () => {
    const nodes = sim.nodes();
    const ip = (name: string) => sim.node(name).ip;
    const cps = nodes.filter((n) => n.role === 'controlplane').map((n) => ip(n.name));
    const workers = nodes.filter((n) => n.role === 'worker').map((n) => ip(n.name));
    const { items, error } = await drain(
      cp.healthCheck({ waitTimeoutMs: 5_000, controlPlaneNodes: cps, workerNodes: workers }),
    );
    expect(error).toBeUndefined();
    expect(items.some((m) => m.startsWith('discovered'))).toBe(false);
  });

  it('proxies through an endpoint with the node metadata key', async () => {
    const target = sim.node(worker(sim));
    const viaCp = clientFor(sim, controlPlane(sim), { node: target.ip });
    try {
      expect(await viaCp.hostname()).toBe(target.name);
      expect(await viaCp.hostname({ node: controlPlane(sim) })).toBe(controlPlane(sim));
    } finally {
      viaCp.close();
    }
  });

  it('a name not in the node certificate fails TLS unless targetNameOverride names one that is', async () => {
    const node = sim.node(controlPlane(sim));
    const lookup = async () => [node.ip];
    const alias = clientFor(sim, node.name, { endpoint: `alias.example.test:${node.port}`, lookup });
    const overridden = clientFor(sim, node.name, {
      endpoint: `alias.example.test:${node.port}`,
      lookup,
      targetNameOverride: node.name,
    });
    try {
      const e = await expectFailure(alias.version(), 'TLSError', 503);
      expect(e.message).toContain(
        "TLS handshake failed: the node's certificate does not name the address or host name dialed (Host: alias.example.test",
      );
      expect(await overridden.hostname()).toBe(node.name);
    } finally {
      alias.close();
      overridden.close();
    }
  });

  it('a per-call timeout overrides the default, and an aborted signal cancels', async () => {
    expect((await cp.version({ timeoutMs: 2_000 })).version.tag).toBe('v1.13.9');
    const ac = new AbortController();
    ac.abort();
    await expectFailure(cp.version({ signal: ac.signal }), 'Canceled', 503);
  });

  it('a closed client refuses further calls', async () => {
    const c = clientFor(sim, controlPlane(sim));
    await c.version();
    c.close();
    await expectFailure(c.version(), 'ClientClosed', 503);
  });
});
