// The whole bare-metal path with the simulator's machines: three machines with Redfish BMCs are
// powered on, register through the boot listener and are wiped clean; a ServerClass matches two of
// them; a KubernetesCluster whose control plane and worker pool name that class gets its Machines
// bound to those Servers, the Server controller powers them on through Redfish into an Environment
// with talos.config, they fetch their configs from /configdata and the cluster is bootstrapped and
// Ready; deleting the cluster resets the nodes, and their Servers are wiped, powered off and
// available again.
import { createServer } from 'node:net';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { BareMetalMachine } from '../../hack/talos-sim/bare-metal.js';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { bootURLOf, call, fileEnvironment } from '../helpers/boot.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { exampleCluster, serverArgs, until } from './cluster-helpers.js';
import { createNamespace, getJSON, ok, tempDir } from './kubectl-helpers.js';

const NS = 'metal';
const NAME = 'iron';
let s: TestServer;
let sim: Simulator;
const files = tempDir();

/** a port for the simulator's Talos API, known before the server starts (the server dials it) */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const l = createServer();
    l.once('error', reject);
    l.listen(0, '127.0.0.1', () => {
      const port = (l.address() as { port: number }).port;
      l.close(() => resolve(port));
    });
  });
}

const environment = (name: string, args: string[]) => fileEnvironment((f, c) => files.write(f, c), name, args);

function reset(m: BareMetalMachine, type: string): Promise<number> {
  const body = JSON.stringify({ ResetType: type });
  const auth = Buffer.from(`${m.facts.bmcUser}:${m.facts.bmcPass}`).toString('base64');
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/redfish/v1/Systems/node-1/Actions/ComputerSystem.Reset', m.bmc.url),
      {
        method: 'POST',
        headers: { Authorization: `Basic ${auth}`, 'Content-Type': 'application/json', 'Content-Length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const metalState = (m: BareMetalMachine) =>
  (sim.state()['bareMetal'] as Record<string, any>[]).find((x) => x['uuid'] === m.uuid)!;
const server = (m: BareMetalMachine) => getJSON(s, ['server', m.uuid]);

beforeAll(async () => {
  const talosPort = await freePort();
  s = await startServer({
    args: serverArgs(talosPort, [
      ...['--boot-port', '0', '--boot-bind-address', '127.0.0.1'],
      '--auto-accept-servers',
      ...['--server-power-poll-interval', '200ms', '--server-reboot-timeout', '20s'],
    ]),
  });
  await createNamespace(s, NS);
  await ok(s, ['apply', '-f', '-'], {
    input: [environment('agent-amd64', ['console=ttyS0']), environment('talos-env', ['talos.platform=metal'])].join(
      '\n',
    ),
  });
  sim = await startSimulator({
    maintenance: true,
    nodes: 0,
    talosPort,
    bareMetal: [
      { hardware: { system: { manufacturer: 'Dell Inc.' } } },
      { hardware: { system: { manufacturer: 'Dell Inc.' } } },
      { hardware: { system: { manufacturer: 'HPE' } } },
    ],
    bootURL: bootURLOf(s),
    rebootMs: 20,
    shutdownMs: 5,
    installMs: 5,
    bootAttempts: 200,
    bootRetryMs: 50,
    bootTimeoutMs: 5_000,
  });
}, 120_000);

afterAll(async () => {
  await sim?.stop();
  await disposeServer(s);
  files.remove();
});

describe('a cluster on bare metal', { timeout: 120_000 }, () => {
  it('machines register, are wiped clean and, with Redfish credentials in Secrets, powered off; a ServerClass matches two', async () => {
    for (const m of sim.bareMetal) expect(await reset(m, 'On')).toBe(204);
    for (const [i, m] of sim.bareMetal.entries()) {
      await until(`server ${m.uuid} registered and clean`, async () =>
        (await server(m))?.status?.isClean === true ? true : undefined,
      );
      await ok(s, [
        'create',
        'secret',
        'generic',
        `bmc-${i}`,
        `--from-literal=user=${m.facts.bmcUser}`,
        `--from-literal=pass=${m.facts.bmcPass}`,
      ]);
      const ref = (key: string) => ({ secretKeyRef: { namespace: 'default', name: `bmc-${i}`, key } });
      const bmc = { endpoint: m.bmc.url, protocol: 'redfish', userFrom: ref('user'), passFrom: ref('pass') };
      await ok(s, ['patch', 'server', m.uuid, '--type=merge', '-p', JSON.stringify({ spec: { bmc } })]);
    }
    for (const m of sim.bareMetal)
      await until(`server ${m.uuid} powered off`, async () => {
        const st = (await server(m))?.status;
        return st?.power === 'off' && metalState(m)['power'] === 'off' ? true : undefined;
      });
    await ok(s, ['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'metal.sidero.dev/v1alpha2',
        kind: 'ServerClass',
        metadata: { name: 'dells' },
        spec: {
          environmentRef: { name: 'talos-env' },
          qualifiers: { hardware: [{ system: { manufacturer: 'Dell Inc.' } }] },
        },
      }),
    });
    const dells = sim.bareMetal.slice(0, 2).map((m) => m.uuid);
    await until('the class lists the two Dell servers', async () => {
      const c = await getJSON(s, ['serverclass', 'dells']);
      return JSON.stringify(c?.status?.serversAvailable ?? []) === JSON.stringify([...dells].sort()) ? true : undefined;
    });
    // a cordoned server leaves the class's availability, and comes back uncordoned
    const available = async (n: number) =>
      until(`the class lists ${n} available`, async () => {
        const c = await getJSON(s, ['serverclass', 'dells']);
        return (c?.status?.serversAvailable ?? []).length === n ? true : undefined;
      });
    await ok(s, ['patch', 'server', dells[0]!, '--type=merge', '-p', '{"spec":{"cordoned":true}}']);
    await available(1);
    await ok(s, ['patch', 'server', dells[0]!, '--type=merge', '-p', '{"spec":{"cordoned":false}}']);
    await available(2);
  });

  it('a KubernetesCluster naming the class gets its Machines on those Servers, powered on by Redfish, configured from /configdata, and Ready', async () => {
    const cluster = parse(exampleCluster(1, 1, NAME));
    cluster.spec.topology.controlplane.serverClass = 'dells';
    cluster.spec.topology.workers[0].serverClass = 'dells';
    await ok(s, ['-n', NS, 'apply', '-f', '-'], { input: JSON.stringify(cluster) });
    let seen = '';
    const ready = await until(
      () => `cluster ${NAME} Ready (last seen: ${seen})`,
      async () => {
        const kc = await getJSON(s, ['-n', NS, 'kc', NAME]);
        seen = JSON.stringify({ conditions: kc?.status?.conditions, nodes: kc?.status?.nodes });
        const c = kc?.status?.conditions?.find((x: any) => x.type === 'Ready');
        return c?.status === 'True' && kc.status.nodes?.length === 2 ? kc : undefined;
      },
      90_000,
    );
    expect(ready.status.bootstrap.completedAt).toBeDefined();
    const machines = (await getJSON(s, ['-n', NS, 'machines']))?.items ?? [];
    expect(machines).toHaveLength(2);
    const bound = machines.map((m: any) => m.metadata.annotations?.['metal.sidero.dev/server']).sort();
    expect(bound).toEqual(
      sim.bareMetal
        .slice(0, 2)
        .map((m) => m.uuid)
        .sort(),
    );
    for (const m of sim.bareMetal.slice(0, 2)) {
      const st = metalState(m);
      expect(st).toMatchObject({ power: 'on', booted: 'environment' });
      expect(st['configFetches']).toBeGreaterThanOrEqual(1);
      expect((await server(m)).status).toMatchObject({ inUse: true, power: 'on' });
      // the Redfish BMC was told to network-boot once
      expect(m.bmc.boots).toContain('Pxe');
    }
    // the HPE server is not touched
    expect((await server(sim.bareMetal[2]!)).status.inUse).toBe(false);
  });

  it('an installed server is PXEBooted: /ipxe sends it to its disk, and a reboot boots the disk with the cluster staying Ready', async () => {
    const m = sim.bareMetal[0]!;
    await until(`server ${m.uuid} PXEBooted`, async () => {
      const c = (await server(m))?.status?.conditions ?? [];
      return c.some((x: any) => x.type === 'PXEBooted' && x.status === 'True') ? true : undefined;
    });
    const mac = m.facts.macs[0]!;
    const ipxe = await call(bootURLOf(s), 'GET', `/ipxe?uuid=${m.uuid}&mac=${mac}&arch=amd64`, { from: m.node.ip });
    expect(ipxe.status).toBe(200);
    expect(ipxe.text).toMatch(/^exit\b/m);
    expect(await reset(m, 'ForceRestart')).toBe(204);
    await until(`machine ${m.uuid} back from its disk`, async () => {
      const st = metalState(m);
      return st['power'] === 'on' && st['booted'] === 'disk' && st['talos'] === 'configured' ? true : undefined;
    });
    await until(`cluster ${NAME} Ready again`, async () => {
      const kc = await getJSON(s, ['-n', NS, 'kc', NAME]);
      return kc?.status?.conditions?.find((x: any) => x.type === 'Ready')?.status === 'True' ? true : undefined;
    });
  });

  it('deleting the cluster resets the nodes; their Servers are wiped, powered off and available again', async () => {
    await ok(s, ['-n', NS, 'delete', 'kc', NAME, '--wait=false']);
    for (const m of sim.bareMetal.slice(0, 2))
      await until(
        `server ${m.uuid} released, clean and off`,
        async () => {
          const st = (await server(m))?.status;
          return st?.inUse === false && st.isClean === true && st.power === 'off' ? true : undefined;
        },
        90_000,
      );
    await until('the class lists both again', async () => {
      const c = await getJSON(s, ['serverclass', 'dells']);
      return (c?.status?.serversAvailable ?? []).length === 2 ? true : undefined;
    });
    await until('the cluster is gone', async () =>
      (await getJSON(s, ['-n', NS, 'kc', NAME])) === undefined ? true : undefined,
    );
    for (const m of sim.bareMetal.slice(0, 2)) expect(metalState(m)['wipes']).toBeGreaterThanOrEqual(2);
  });
});
