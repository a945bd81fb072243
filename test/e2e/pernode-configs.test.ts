// Per-node configs with the real kubectl: a KubernetesCluster's Machine gets its own hostname in
// its machine config; what the provider reports in the Machine's status (the boot disk's device,
// the NICs' hardware addresses) regenerates the config (its hash changes); a private IP in the
// spec lands on the NIC found by its MAC; and a device someone set on a disk is kept by the
// cluster controller and installs the node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { createNamespace, getJSON, ok } from './kubectl-helpers.js';

const NS = 'pernode';
const HASH = 'talos.vitistack.io/config-hash';
let s: TestServer;

function cluster(workers: number): string {
  return `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata: {name: facts, namespace: ${NS}}
spec:
  data: {clusterUid: u-facts, clusterId: facts-id, provider: talos, environment: dev, datacenter: dc1, project: p, region: r, workorder: w, zone: z, workspace: ws}
  topology:
    version: "1.33"
    controlplane: {replicas: 1, version: "1.33", provider: kubevirt}
    workers:
      - {name: pool-a, replicas: ${workers}, version: "1.33", provider: kubevirt, storage: [{class: fast, path: /, size: 40Gi}, {class: slow, path: /data, size: 100Gi}]}
  talos: {endpoint: "https://10.20.0.1:6443", version: v1.13.9, installDisk: /dev/sda}
`;
}

/** once the controller has acted on the cluster's current generation and every config is there */
async function settled(): Promise<void> {
  const generation = (await getJSON(s, ['-n', NS, 'kc', 'facts'])).metadata.generation;
  await ok(s, [
    '-n',
    NS,
    'wait',
    'kc/facts',
    `--for=jsonpath={.status.observedGeneration}=${generation}`,
    '--timeout=30s',
  ]);
  await ok(s, ['-n', NS, 'wait', 'kc/facts', '--for=condition=ConfigGenerated', '--timeout=30s']);
}

const machine = (name: string) => getJSON(s, ['-n', NS, 'machine', name]);
/** the machine config as its Secret holds it, every document */
async function config(name: string): Promise<any[]> {
  const secret = await getJSON(s, ['-n', NS, 'secret', `${name}-machineconfig`]);
  const text = Buffer.from(secret.data['machineconfig.yaml'], 'base64').toString('utf8');
  return parseAllDocuments(text).map((d) => d.toJS());
}
const ofKind = (docs: any[], kind: string) => docs.filter((d) => d.kind === kind);
const patchStatus = (name: string, status: object) =>
  ok(s, ['-n', NS, 'patch', 'machine', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);

beforeAll(async () => {
  s = await startServer({ args: ['--controllers', '*,-adoptedserver'] });
  await createNamespace(s, NS);
  await ok(s, ['apply', '-f', '-'], { input: cluster(1) });
  await settled();
});

afterAll(async () => {
  await disposeServer(s);
});

describe("a Machine's own facts in its machine config", () => {
  it('names the node after the Machine; the install disk is the cluster default until a device is reported', async () => {
    const docs = await config('facts-wrk0');
    expect(ofKind(docs, 'HostnameConfig')).toEqual([
      { apiVersion: 'v1alpha1', kind: 'HostnameConfig', hostname: 'facts-wrk0' },
    ]);
    expect(ofKind(await config('facts-ctp0'), 'HostnameConfig')[0].hostname).toBe('facts-ctp0');
    expect(docs[0].machine.install.disk).toBe('/dev/sda');
    expect(ofKind(docs, 'LinkAliasConfig')).toEqual([]);
  });

  it("regenerates the config when the provider reports the boot disk's device and the NICs", async () => {
    const before = (await machine('facts-wrk0')).metadata.annotations[HASH];
    await patchStatus('facts-wrk0', {
      phase: 'Running',
      disks: [
        { name: 'disk-1', device: '/dev/vdb' },
        { name: 'disk-0', device: '/dev/vda' },
      ],
      networkInterfaces: [{ name: 'default', macAddress: '52:54:00:0A:14:0F', ipAddresses: ['10.20.0.15'] }],
    });
    const reported = (await machine('facts-wrk0')).metadata.annotations[HASH];
    expect(reported).not.toBe(before);
    let docs = await config('facts-wrk0');
    expect(docs[0].machine.install.disk).toBe('/dev/vda');
    // no link to write yet: the spec asks for no address and lists no interface
    expect(ofKind(docs, 'LinkAliasConfig')).toEqual([]);

    // a private IP in the spec goes on the NIC that reports it, found on the node by its MAC
    await ok(s, [
      '-n',
      NS,
      'patch',
      'machine',
      'facts-wrk0',
      '--type=merge',
      '-p',
      '{"spec":{"network":{"privateIP":"10.20.0.15","subnet":"10.20.0.0/24"}}}',
    ]);
    docs = await config('facts-wrk0');
    expect(docs.slice(-3)).toEqual([
      {
        apiVersion: 'v1alpha1',
        kind: 'LinkAliasConfig',
        name: 'net0',
        selector: { match: 'mac(link.hardware_addr) == "52:54:00:0a:14:0f"' },
      },
      { apiVersion: 'v1alpha1', kind: 'LinkConfig', name: 'net0', addresses: [{ address: '10.20.0.15/24' }] },
      { apiVersion: 'v1alpha1', kind: 'DHCPv4Config', name: 'net0' },
    ]);

    // the NIC replaced (a new MAC): the config follows
    const withIP = (await machine('facts-wrk0')).metadata.annotations[HASH];
    await patchStatus('facts-wrk0', {
      networkInterfaces: [{ name: 'default', macAddress: '52:54:00:0a:14:10', ipAddresses: ['10.20.0.15'] }],
    });
    expect((await machine('facts-wrk0')).metadata.annotations[HASH]).not.toBe(withIP);
    expect(ofKind(await config('facts-wrk0'), 'LinkAliasConfig')[0].selector.match).toBe(
      'mac(link.hardware_addr) == "52:54:00:0a:14:10"',
    );
  });

  it("keeps a device someone set on the Machine's boot disk, and installs onto it", async () => {
    await ok(s, [
      '-n',
      NS,
      'patch',
      'machine',
      'facts-wrk0',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/spec/disks/0/device","value":"/dev/disk/by-id/virtio-root"}]',
    ]);
    // a cluster change the controller acts on (a second worker): it has looked at this Machine since
    await ok(s, ['apply', '-f', '-'], { input: cluster(2) });
    await settled();
    const m = await machine('facts-wrk0');
    expect(m.spec.disks).toEqual([
      { name: 'disk-0', type: 'fast', sizeGB: 40, boot: true, device: '/dev/disk/by-id/virtio-root' },
      { name: 'disk-1', type: 'slow', sizeGB: 100, boot: false },
    ]);
    expect((await config('facts-wrk0'))[0].machine.install.disk).toBe('/dev/disk/by-id/virtio-root');
    expect(ofKind(await config('facts-wrk1'), 'HostnameConfig')[0].hostname).toBe('facts-wrk1');
  });

  it('refuses a spec whose private IP is none, naming the field, and changes nothing', async () => {
    const before = await machine('facts-wrk0');
    const r = await s.kubectl([
      '-n',
      NS,
      'patch',
      'machine',
      'facts-wrk0',
      '--type=merge',
      '-p',
      '{"spec":{"network":{"privateIP":"10.20.0.300"}}}',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'spec.network.privateIP: Invalid value: "10.20.0.300": must be an IP address, or one with its prefix length such as 10.0.0.5/24',
    );
    expect((await machine('facts-wrk0')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});
