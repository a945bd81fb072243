// The simulator as machine provider against the real built server (`node dist/apiservice/main.js`,
// `npm run build` first): new Machines get a free maintenance-mode node and the status fields a
// provider owns, written under its own field manager; a deleted Machine's node is powered off and
// comes back blank for the next Machine; a new provider finds the Machines it served; and the same
// from the CLI (`--provide-machines`). One server, one in-process simulator, scenarios in order.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_MANAGER, provideMachines, type MachineProvider } from '../../hack/talos-sim/provider.js';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { TalosClient } from '../../src/talos/client.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { nodeUntil, pollUntil } from './helpers.js';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'dist/hack/talos-sim/main.js');

let server: TestServer;
let sim: Simulator;
let provider: MachineProvider | undefined;

const machine = (name: string, namespace = 'default') =>
  `apiVersion: vitistack.io/v1alpha1
kind: Machine
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  provider: talos-sim
`;

interface MachineStatus {
  phase?: string;
  publicIPAddresses?: string[];
  privateIPAddresses?: string[];
  disks?: { device?: string; name?: string }[];
  networkInterfaces?: { name?: string; macAddress?: string }[];
}

async function machineStatus(name: string, namespace = 'default'): Promise<MachineStatus | undefined> {
  const r = await server.kubectl(['-n', namespace, 'get', 'machine', name, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { status?: MachineStatus }).status;
}

/** Waits (kubectl wait, event-driven on the server's watch) until the Machine's phase is Running. */
async function running(name: string, namespace = 'default'): Promise<MachineStatus> {
  const r = await server.kubectl([
    '-n',
    namespace,
    'wait',
    '--for=jsonpath={.status.phase}=Running',
    `machine/${name}`,
    '--timeout=30s',
  ]);
  expect(r.stderr).toBe('');
  return (await machineStatus(name, namespace))!;
}

async function apply(yaml: string): Promise<void> {
  const r = await server.kubectl(['apply', '-f', '-'], { input: yaml });
  expect(r.stderr).toBe('');
}

beforeAll(async () => {
  // no controller of ours touches Machines here: only the provider writes their status
  server = await startServer({ args: ['--controllers', 'namespace,garbage-collector'] });
  sim = await startSimulator({ maintenance: true, nodes: 2, rebootMs: 5, shutdownMs: 5, installMs: 5 });
}, 90_000);

afterAll(async () => {
  await provider?.stop();
  await sim?.stop();
  await disposeServer(server);
});

describe('provideMachines', () => {
  it('gives each new Machine a free maintenance node and writes the provider fields under its own manager', async () => {
    provider = await provideMachines(sim, {
      api: { kubeconfig: server.kubeconfig },
      namespace: 'default',
      recycleMs: 5,
    });
    await apply(machine('m1') + '---\n' + machine('m2'));
    const [s1, s2] = [await running('m1'), await running('m2')];
    const byIp = new Map(sim.nodes().map((n) => [n.address, n]));
    expect(new Set([s1.publicIPAddresses?.[0], s2.publicIPAddresses?.[0]])).toEqual(new Set(byIp.keys()));
    expect(s1).toMatchObject({
      privateIPAddresses: s1.publicIPAddresses,
      disks: [{ name: 'sda', device: '/dev/sda' }],
      networkInterfaces: [{ name: 'eth0' }],
    });
    expect(s1.networkInterfaces?.[0]?.macAddress).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    const nodeOfM1 = byIp.get(s1.publicIPAddresses![0]!)!;
    expect(provider.assignments().get('m1')).toBe(nodeOfM1.id);
    // the node behind the address is in maintenance mode: an insecure client reaches it there
    const c = TalosClient.maintenance({ endpoint: nodeOfM1.endpoint, timeoutMs: 3_000 });
    try {
      expect((await c.version()).version.tag).toBe('v1.13.9');
    } finally {
      c.close();
    }
    const obj = JSON.parse(
      (await server.kubectl(['get', 'machine', 'm1', '-o', 'json', '--show-managed-fields'])).stdout,
    ) as {
      metadata: { managedFields: { manager: string; subresource?: string; operation: string }[] };
    };
    expect(obj.metadata.managedFields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ manager: FIELD_MANAGER, subresource: 'status', operation: 'Apply' }),
      ]),
    );
  });

  it('a Machine with no free node waits; a deleted Machine frees its node, powered off and then blank, for it', async () => {
    await apply(machine('m3'));
    expect(provider!.assignments().has('m3')).toBe(false);
    expect((await machineStatus('m3'))?.phase).toBeUndefined();
    const freed = provider!.assignments().get('m1')!;
    const node = sim.node(freed);
    const poweredOff = nodeUntil(node, 'powered off', () => node.phase === 'off');
    expect((await server.kubectl(['delete', 'machine', 'm1'])).code).toBe(0);
    await poweredOff;
    const s3 = await running('m3');
    expect(s3.publicIPAddresses).toEqual([node.ip]);
    expect(provider!.assignments().get('m3')).toBe(freed);
    expect(node.configured).toBe(false);
  });

  it('a provider started later recognises the Machines it served by their addresses', async () => {
    const before = provider!.assignments();
    await provider!.stop();
    provider = await provideMachines(sim, {
      api: { kubeconfig: server.kubeconfig },
      namespace: 'default',
      recycleMs: 5,
    });
    expect(provider.assignments()).toEqual(before);
    await provider.stop();
    provider = undefined;
  });

  it('the CLI: --maintenance --provide-machines serves the Machines of a namespace', async () => {
    expect((await server.kubectl(['create', 'namespace', 'cli'])).code).toBe(0);
    const dir = await mkdtemp(join(tmpdir(), 'talos-sim-provider-'));
    let proc: ChildProcess | undefined;
    try {
      proc = spawn(
        process.execPath,
        [
          MAIN,
          '--maintenance',
          '--nodes',
          '1',
          '--dir',
          dir,
          '--reboot-ms',
          '5',
          '--provide-machines',
          '--kubeconfig',
          server.kubeconfig,
          '--namespace',
          'cli',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      const nodesFile = join(dir, 'nodes.json');
      await pollUntil('nodes.json', async () => {
        if (proc?.exitCode !== null) throw new Error(`simulator exited early: ${out}`);
        return existsSync(nodesFile) ? true : undefined;
      });
      const [node] = JSON.parse(await readFile(nodesFile, 'utf8')) as {
        id: string;
        address: string;
        configured: boolean;
      }[];
      expect(node).toMatchObject({ id: 'node-0', configured: false });
      await apply(machine('c1', 'cli'));
      expect((await running('c1', 'cli')).publicIPAddresses).toEqual([node!.address]);
      expect(out).toContain('providing the Machines of namespace cli');
      proc.kill('SIGTERM');
      const [code] = (await once(proc, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await once(proc, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    }
  });
});
