// The simulator playing bare metal against the built server: three machines, each with a fake
// Redfish BMC, powered on by plain HTTP to their BMC, boot from the boot listener (iPXE, the agent
// environment), register and are wiped clean; a Server given Redfish credentials in Secrets is
// powered off by the Server controller; bound by hand, it is PXE-booted by the controller into an
// Environment with talos.config, fetches /configdata from its own address and comes up configured
// (mTLS with the config's CA); Redfish power-off takes it down, and it boots from disk after that.
import { connect } from 'node:net';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BareMetalMachine } from '../../hack/talos-sim/bare-metal.js';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { generateSecretsBundle } from '../../src/machineconfig/bundle.js';
import { parseContract } from '../../src/machineconfig/contract.js';
import { generateMachineConfig } from '../../src/machineconfig/generate/generate.js';
import { generateTalosconfig, nodeTlsCredentials } from '../../src/machineconfig/talosconfig.js';
import { TalosClient } from '../../src/talos/client.js';
import { bootURLOf, fileEnvironment } from '../helpers/boot.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { eventually, getJSON, ok, tempDir } from './kubectl-helpers.js';

let s: TestServer;
let sim: Simulator;
const files = tempDir();
const clients: TalosClient[] = [];

const environment = (name: string, args: string[]) => fileEnvironment((f, c) => files.write(f, c), name, args);

/** one call to a machine's Redfish BMC, as an administrator's script would make it */
function redfish(m: BareMetalMachine, method: string, path: string, body?: unknown): Promise<number> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const auth = Buffer.from(`${m.facts.bmcUser}:${m.facts.bmcPass}`).toString('base64');
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, m.bmc.url),
      {
        method,
        headers: {
          Authorization: `Basic ${auth}`,
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const SYSTEM = '/redfish/v1/Systems/node-1';
const reset = (m: BareMetalMachine, type: string) =>
  redfish(m, 'POST', `${SYSTEM}/Actions/ComputerSystem.Reset`, { ResetType: type });

const stateOf = (m: BareMetalMachine) =>
  (sim.state()['bareMetal'] as Record<string, any>[]).find((x) => x['uuid'] === m.uuid)!;

/** waits (on the machine's changes and its listener's, bounded) until `ok` holds of its /state entry */
function machineUntil(m: BareMetalMachine, what: string, ok: (st: Record<string, any>) => boolean): Promise<void> {
  const events = ['change', 'listening', 'closed'];
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      for (const e of events) m.node.off(e, check);
    };
    const check = () => {
      if (!ok(stateOf(m))) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${m.node.id}: gave up waiting for ${what}: ${JSON.stringify(stateOf(m))}`));
    }, 20_000);
    for (const e of events) m.node.on(e, check);
    check();
  });
}

/** whether anything accepts a TCP connection at the machine's Talos API endpoint */
function listening(m: BareMetalMachine): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: m.node.ip, port: m.node.port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  s = await startServer({
    args: [
      ...['--boot-port', '0', '--boot-bind-address', '127.0.0.1'],
      '--auto-accept-servers',
      ...['--controller-max-backoff', '200ms'],
    ],
  });
  await ok(s, ['apply', '-f', '-'], {
    input: [
      environment('agent-amd64', ['console=ttyS0']),
      environment('talos-env', ['talos.platform=metal']),
      // sets talos.config itself, empty: Talos boots without a config, into maintenance mode
      environment('talos-maint', ['talos.platform=metal', 'talos.config=']),
    ].join('\n'),
  });
  for (const name of ['agent-amd64', 'talos-env', 'talos-maint'])
    await eventually(async () => {
      const c = (await getJSON(s, ['environment', name]))?.status?.conditions ?? [];
      return c.length === 2 && c.every((x: any) => x.status === 'True') ? true : undefined;
    }, `${name} Ready`);
  sim = await startSimulator({
    maintenance: true,
    nodes: 0,
    bareMetal: [{ hardware: { system: { manufacturer: 'Dell Inc.' } } }, {}, {}],
    bootURL: bootURLOf(s),
    rebootMs: 5,
    shutdownMs: 5,
    installMs: 5,
    bootAttempts: 40,
    bootRetryMs: 50,
    bootTimeoutMs: 5_000,
  });
}, 120_000);

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim?.stop();
  await disposeServer(s);
  files.remove();
});

describe('bare-metal machines of the simulator', () => {
  it('start powered off: nothing listens; /state shows each BMC with its credentials', async () => {
    expect(sim.bareMetal).toHaveLength(3);
    for (const m of sim.bareMetal) {
      const st = stateOf(m);
      expect(st).toMatchObject({ power: 'off', booted: null, tokenHeld: false, wipes: 0, address: m.node.ip });
      expect(st['bmc']).toMatchObject({ address: '127.0.0.1', user: m.facts.bmcUser, pass: m.facts.bmcPass });
      expect(st['bmc'].port).toBeGreaterThan(0);
      expect(await listening(m)).toBe(false);
    }
    // a wrong password is refused by the BMC
    const bad = await new Promise<number>((resolve, reject) => {
      const req = request(
        new URL(SYSTEM, sim.bareMetal[0]!.bmc.url),
        { headers: { Authorization: 'Basic eDp5' } },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(bad).toBe(401);
  });

  it('powered on through Redfish they boot the agent, register as accepted Servers with inventory and addresses, and are wiped clean', async () => {
    for (const m of sim.bareMetal) expect(await reset(m, 'On')).toBe(204);
    for (const m of sim.bareMetal)
      await machineUntil(m, 'the agent registered and wiped', (st) => st['registrations'] === 1 && st['wipes'] === 1);
    for (const m of sim.bareMetal) {
      const server = await eventually(async () => {
        const obj = await getJSON(s, ['server', m.uuid]);
        return obj?.status?.isClean === true ? obj : undefined;
      }, `server ${m.uuid} clean`);
      expect(server.spec.accepted).toBe(true);
      expect(server.spec.hardware).toEqual(m.facts.hardware);
      expect(server.status.addresses).toEqual([{ type: 'InternalIP', address: m.node.ip }]);
      expect(server.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'PowerCycle', status: 'True', reason: 'Wiped' }),
      );
      const st = stateOf(m);
      expect(st).toMatchObject({ power: 'on', booted: 'agent', tokenHeld: true, installed: false, talos: null });
      // no OS and no override: the firmware went to the network
      expect(m.bmc.boots).toEqual(['Hdd']);
      // the agent runs no Talos API
      expect(await listening(m)).toBe(false);
    }
    const table = await ok(s, ['get', 'servers']);
    for (const m of sim.bareMetal) expect(table).toContain(m.uuid);
    expect((await getJSON(s, ['server', sim.bareMetal[0]!.uuid])).spec.hardware.system.manufacturer).toBe('Dell Inc.');
  });

  it('a clean, free Server with Redfish credentials in Secrets is powered off by the Server controller', async () => {
    const m = sim.bareMetal[0]!;
    await ok(s, [
      'create',
      'secret',
      'generic',
      'bmc-0',
      `--from-literal=user=${m.facts.bmcUser}`,
      `--from-literal=pass=${m.facts.bmcPass}`,
    ]);
    const ref = (key: string) => ({ secretKeyRef: { namespace: 'default', name: 'bmc-0', key } });
    const bmc = { endpoint: m.bmc.url, protocol: 'redfish', userFrom: ref('user'), passFrom: ref('pass') };
    await ok(s, ['patch', 'server', m.uuid, '--type=merge', '-p', JSON.stringify({ spec: { bmc } })]);
    await machineUntil(m, 'powered off', (st) => st['power'] === 'off' && st['tokenHeld'] === false);
    await eventually(async () => {
      const st = (await getJSON(s, ['server', m.uuid])).status;
      return st?.power === 'off' && st.ready === true ? true : undefined;
    }, 'server power off and ready');
  });

  it('bound by hand, it is PXE-booted into an Environment with talos.config, fetches /configdata and comes up configured', async () => {
    const m = sim.bareMetal[0]!;
    const bundle = await generateSecretsBundle({ contract: parseContract('1.13') });
    const inputs = { clusterName: 'metal', endpoint: `https://${m.node.ip}:6443` };
    const config = generateMachineConfig('controlplane', inputs, bundle);
    const path = files.write('m1-machineconfig.yaml', config);
    await ok(s, ['create', 'secret', 'generic', 'm1-machineconfig', `--from-file=machineconfig.yaml=${path}`]);
    await ok(s, ['patch', 'server', m.uuid, '--type=merge', '-p', '{"spec":{"environmentRef":{"name":"talos-env"}}}']);
    await ok(s, ['annotate', 'server', m.uuid, 'metal.sidero.dev/machine=default/m1']);

    await machineUntil(m, 'configured and serving', (st) => st['talos'] === 'configured');
    expect(stateOf(m)).toMatchObject({ power: 'on', booted: 'environment', configFetches: 1, bootError: null });
    // the Server controller set the one-time override, which the boot used up
    expect(m.bmc.boots.at(-1)).toBe('Pxe');
    expect(m.bmc.boot.BootSourceOverrideEnabled).toBe('Disabled');
    const node = (sim.state()['nodes'] as Record<string, any>[]).find((n) => n['id'] === m.node.id)!;
    expect(node).toMatchObject({ configured: true, role: 'controlplane', clusterName: 'metal', listening: true });

    const talosconfig = await generateTalosconfig({ clusterName: 'metal', osCA: bundle.certs.os });
    const tls = nodeTlsCredentials(talosconfig.contexts['metal']!);
    const client = new TalosClient({
      endpoint: m.node.endpoint,
      ca: tls.ca,
      crt: tls.cert,
      key: tls.key,
      timeoutMs: 5_000,
    });
    clients.push(client);
    expect((await client.version()).version.tag).toBe(m.node.version);
    // no longer in maintenance mode
    const insecure = TalosClient.maintenance({ endpoint: m.node.endpoint, timeoutMs: 5_000 });
    clients.push(insecure);
    await expect(insecure.version()).rejects.toThrow();
  });

  it('power off through Redfish takes it down; powered on again it boots its disk, also when /ipxe says exit', async () => {
    const m = sim.bareMetal[0]!;
    expect(await reset(m, 'ForceOff')).toBe(204);
    await machineUntil(m, 'down', (st) => st['power'] === 'off' && st['talos'] === null);
    expect(await listening(m)).toBe(false);

    // no override: an installed machine boots its disk without asking the boot listener
    expect(await reset(m, 'On')).toBe(204);
    await machineUntil(m, 'configured from disk', (st) => st['talos'] === 'configured');
    expect(stateOf(m)).toMatchObject({ booted: 'disk', configFetches: 1 });

    // PXE once, with the Server marked installed: /ipxe answers `exit` and the firmware boots the disk
    const patch = {
      status: { conditions: [{ type: 'PXEBooted', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
    };
    await ok(s, ['patch', 'server', m.uuid, '--subresource=status', '--type=merge', '-p', JSON.stringify(patch)]);
    expect(
      await redfish(m, 'PATCH', SYSTEM, {
        Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' },
      }),
    ).toBe(204);
    const boots = m.node.boots;
    expect(await reset(m, 'ForceRestart')).toBe(204);
    await machineUntil(m, 'back from disk', (st) => m.node.boots > boots && st['talos'] === 'configured');
    expect(stateOf(m)).toMatchObject({ booted: 'disk', configFetches: 1, bootError: null });
    expect(m.bmc.boots.at(-1)).toBe('Pxe');
  });

  it('an Environment without a config boots maintenance mode; an applied config installs, and a reset goes back to the network', async () => {
    const m = sim.bareMetal[1]!;
    await ok(s, [
      'patch',
      'server',
      m.uuid,
      '--type=merge',
      '-p',
      '{"spec":{"environmentRef":{"name":"talos-maint"}}}',
    ]);
    await ok(s, ['annotate', 'server', m.uuid, 'metal.sidero.dev/machine=default/m2']);
    // the administrator's script: PXE once, restart (the machine runs the agent until then)
    expect(
      await redfish(m, 'PATCH', SYSTEM, {
        Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' },
      }),
    ).toBe(204);
    expect(await reset(m, 'ForceRestart')).toBe(204);
    await machineUntil(m, 'maintenance mode', (st) => st['talos'] === 'maintenance');
    expect(stateOf(m)).toMatchObject({ booted: 'environment', configFetches: 0, tokenHeld: false });

    const bundle = await generateSecretsBundle({ contract: parseContract('1.13') });
    const config = generateMachineConfig(
      'controlplane',
      { clusterName: 'maint', endpoint: `https://${m.node.ip}:6443` },
      bundle,
    );
    const insecure = TalosClient.maintenance({ endpoint: m.node.endpoint, timeoutMs: 5_000 });
    clients.push(insecure);
    await insecure.applyConfiguration({ data: config, mode: 'AUTO' });
    // installed, it reboots; the override was used up, so the firmware boots the disk
    await machineUntil(m, 'installed and configured', (st) => st['talos'] === 'configured' && st['booted'] === 'disk');
    const talosconfig = await generateTalosconfig({ clusterName: 'maint', osCA: bundle.certs.os });
    const tls = nodeTlsCredentials(talosconfig.contexts['maint']!);
    const client = new TalosClient({
      endpoint: m.node.endpoint,
      ca: tls.ca,
      crt: tls.cert,
      key: tls.key,
      timeoutMs: 5_000,
    });
    clients.push(client);
    expect(await client.hostname()).toBeTruthy();

    // a reset wipes the disk and reboots: nothing installed, so the firmware asks the network again
    const boots = m.node.boots;
    await client.reset({ graceful: false, reboot: true });
    await machineUntil(
      m,
      'back in maintenance mode from the network',
      (st) => m.node.boots > boots && st['talos'] === 'maintenance' && st['booted'] === 'environment',
    );
    expect(stateOf(m)).toMatchObject({ installed: false, bootError: null });
  });

  it('an unbound machine restarted boots the agent again, which registers anew from its address and, clean, wipes nothing', async () => {
    const m = sim.bareMetal[2]!;
    const boots = m.node.boots;
    const before = await getJSON(s, ['server', m.uuid]);
    expect(await reset(m, 'ForceRestart')).toBe(204);
    await machineUntil(m, 'registered again', (st) => st['registrations'] === 2 && st['tokenHeld'] === true);
    expect(m.node.boots).toBe(boots);
    expect(stateOf(m)).toMatchObject({ booted: 'agent', wipes: 1, bootError: null });
    const after = await getJSON(s, ['server', m.uuid]);
    // a new token: the one the agent lost at the restart no longer works
    expect(after.metadata.annotations['metal.sidero.dev/agent-token-sha256']).not.toBe(
      before.metadata.annotations['metal.sidero.dev/agent-token-sha256'],
    );
    expect(after.status.isClean).toBe(true);
  });

  it('a machine whose config Secret is missing tries /configdata a bounded number of times, then says why', async () => {
    const m = sim.bareMetal[2]!;
    await ok(s, ['patch', 'server', m.uuid, '--type=merge', '-p', '{"spec":{"environmentRef":{"name":"talos-env"}}}']);
    await ok(s, ['annotate', 'server', m.uuid, 'metal.sidero.dev/machine=default/m3']);
    const pxeOnce = { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } };
    expect(await redfish(m, 'PATCH', SYSTEM, pxeOnce)).toBe(204);
    expect(await reset(m, 'ForceRestart')).toBe(204);
    await machineUntil(m, 'giving up on /configdata', (st) => st['bootError'] !== null);
    expect(stateOf(m)).toMatchObject({ booted: 'environment', talos: null, configFetches: 0 });
    expect(stateOf(m)['bootError']).toMatch(/^GET \/configdata: gave up after 40 attempts \(last: 404 /);

    // with the Secret there, the next PXE boot comes up configured
    const bundle = await generateSecretsBundle({ contract: parseContract('1.13') });
    const config = generateMachineConfig('worker', { clusterName: 'm3', endpoint: 'https://m3.example:6443' }, bundle);
    const path = files.write('m3-machineconfig.yaml', config);
    await ok(s, ['create', 'secret', 'generic', 'm3-machineconfig', `--from-file=machineconfig.yaml=${path}`]);
    expect(await redfish(m, 'PATCH', SYSTEM, pxeOnce)).toBe(204);
    expect(await reset(m, 'ForceRestart')).toBe(204);
    await machineUntil(m, 'config fetched', (st) => st['configFetches'] === 1 && st['bootError'] === null);
    const node = (sim.state()['nodes'] as Record<string, any>[]).find((n) => n['id'] === m.node.id)!;
    // a worker of a cluster whose control plane never ran: it has its config, but no certificate to serve with yet
    expect(node).toMatchObject({ configured: true, role: 'worker', clusterName: 'm3' });
  });
});
