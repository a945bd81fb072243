// The boot listener end to end: the built server with --boot-port 0 on 127.0.0.1 and an
// allow-list, driven by plain HTTP from chosen loopback source addresses (as booting machines
// and their agent would call it) and by kubectl (as an administrator sets things up).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootURLOf, call, type BootCall } from '../helpers/boot.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { getJSON, ok } from './kubectl-helpers.js';

const U1 = '4c4c4544-0030-4d10-8052-b3c04f4e3231';
const U2 = '4c4c4544-0030-4d10-8052-b3c04f4e3232';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

const hardware = {
  system: { manufacturer: 'Dell Inc.', productName: 'PowerEdge R640', serialNumber: 'ABC123' },
  compute: {
    processorCount: 2,
    totalCoreCount: 32,
    processors: [{ manufacturer: 'Intel', productName: 'Xeon Gold 6130', coreCount: 16, threadCount: 32 }],
  },
  memory: { totalSize: '192 GB', moduleCount: 12 },
  storage: { deviceCount: 1, devices: [{ type: 'SSD', size: 480103981056, name: 'sda', deviceName: '/dev/sda' }] },
  network: { interfaceCount: 1, interfaces: [{ index: 1, name: 'eno1', mac: '52:54:00:12:34:56' }] },
};

function environment(name: string, args: string[] = ['console=ttyS0', 'talos.platform=metal']): string {
  return JSON.stringify({
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'Environment',
    metadata: { name },
    spec: {
      kernel: { url: `file:///srv/${name}/vmlinuz`, args },
      initrd: { url: `file:///srv/${name}/initramfs.xz` },
    },
  });
}

/** marks the Environment Ready through its status, as the Environment controller would */
async function markReady(s: TestServer, name: string): Promise<void> {
  const status = {
    status: {
      conditions: [
        { type: 'Ready', status: 'True', url: `file:///srv/${name}/vmlinuz` },
        { type: 'Ready', status: 'True', url: `file:///srv/${name}/initramfs.xz` },
      ],
    },
  };
  await ok(s, ['patch', 'environment', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}

/** puts files into the Environment cache, as the Environment controller would */
function cache(s: TestServer, name: string): { kernel: Buffer; initrd: Buffer } {
  const dir = join(s.dataDir, 'environments', name);
  mkdirSync(dir, { recursive: true });
  const kernel = Buffer.from(`kernel of ${name} \u0000\u00ff`, 'latin1');
  const initrd = Buffer.from(`initramfs of ${name}`);
  writeFileSync(join(dir, 'vmlinuz'), kernel);
  writeFileSync(join(dir, 'initramfs.xz'), initrd);
  return { kernel, initrd };
}

async function setCondition(s: TestServer, uuid: string, type: string, status: string): Promise<void> {
  const patch = { status: { conditions: [{ type, status, lastTransitionTime: '2026-01-01T00:00:00Z' }] } };
  await ok(s, ['patch', 'server', uuid, '--subresource=status', '--type=merge', '-p', JSON.stringify(patch)]);
}

describe('boot listener', () => {
  let s: TestServer;
  let boot: string;
  let token1: string;

  beforeAll(async () => {
    s = await startServer({
      args: [
        ...['--boot-port', '0', '--boot-bind-address', '127.0.0.1'],
        ...['--boot-allowed-networks', '127.0.0.0/29'],
        '--auto-accept-servers',
        // no controller writes Servers, ServerClasses or Environments here: the tests play them
        ...['--controllers', 'namespace,garbage-collector'],
      ],
    });
    boot = bootURLOf(s);
  }, 90_000);

  afterAll(async () => {
    await disposeServer(s);
  });

  it('registration creates an accepted Server with the inventory and addresses, and hands out a token', async () => {
    const r = await call(boot, 'POST', '/agent/register', {
      from: '127.0.0.3',
      body: {
        uuid: U1.toUpperCase(),
        hostname: 'rack1-u1',
        hardware,
        addresses: [{ type: 'InternalIP', address: '127.0.0.3' }],
        bmc: { address: '127.0.0.100', port: 623 },
      },
    });
    expect(r.status, r.text).toBe(201);
    const answer = r.json();
    expect(answer).toMatchObject({ uuid: U1, accepted: true, wipe: true });
    token1 = answer.token;
    expect(token1).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const server = await getJSON(s, ['server', U1, '--show-managed-fields']);
    expect(server.spec.accepted).toBe(true);
    expect(server.spec.hostname).toBe('rack1-u1');
    expect(server.spec.hardware).toEqual(hardware);
    expect(server.spec.bmc).toEqual({ endpoint: '127.0.0.100', port: 623 });
    expect(server.status.addresses).toEqual([{ type: 'InternalIP', address: '127.0.0.3' }]);
    // only the token's hash is stored
    const hash = server.metadata.annotations['metal.sidero.dev/agent-token-sha256'];
    expect(hash).toBe(createHash('sha256').update(token1).digest('hex'));
    expect(JSON.stringify(server)).not.toContain(token1);
    const managers = server.metadata.managedFields.map((f: { manager: string }) => f.manager);
    expect(managers).toContain('boot-listener');
  });

  it('a registration with another token, or without one from elsewhere, cannot update the Server', async () => {
    const before = await getJSON(s, ['server', U1]);
    const other = await call(boot, 'POST', '/agent/register', {
      from: '127.0.0.3',
      token: 'not-the-token-of-this-server-at-all-0123456',
      body: { uuid: U1, hostname: 'impostor' },
    });
    expect(other.status).toBe(403);
    expect(other.json()).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    const tokenless = await call(boot, 'POST', '/agent/register', {
      from: '127.0.0.2',
      body: { uuid: U1, hostname: 'impostor', addresses: [{ type: 'InternalIP', address: '127.0.0.2' }] },
    });
    expect(tokenless.status).toBe(403);
    expect(tokenless.json().message).toContain('present its token');
    const after = await getJSON(s, ['server', U1]);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.spec.hostname).toBe('rack1-u1');

    // the right token updates it, and keeps working
    const again = await call(boot, 'POST', '/agent/register', {
      from: '127.0.0.3',
      token: token1,
      body: { uuid: U1, hostname: 'rack1-u1b', hardware: { system: { manufacturer: 'Dell Inc.' } } },
    });
    expect(again.status, again.text).toBe(200);
    expect(again.json()).toMatchObject({ uuid: U1, token: token1, accepted: true });
    const updated = await getJSON(s, ['server', U1]);
    expect(updated.spec.hostname).toBe('rack1-u1b');
    // the inventory is replaced as a whole
    expect(updated.spec.hardware).toEqual({ system: { manufacturer: 'Dell Inc.' } });
    // a BMC already set is not changed by the agent
    expect(updated.spec.bmc).toEqual({ endpoint: '127.0.0.100', port: 623 });
  });

  it('heartbeat and wipe-done change the status of the token holder only', async () => {
    expect((await call(boot, 'POST', '/agent/heartbeat', { from: '127.0.0.3', body: { uuid: U1 } })).status).toBe(401);
    const wrong = await call(boot, 'POST', '/agent/heartbeat', {
      from: '127.0.0.3',
      token: 'x'.repeat(43),
      body: { uuid: U1 },
    });
    expect(wrong.status).toBe(403);

    const hb = await call(boot, 'POST', '/agent/heartbeat', { from: '127.0.0.3', token: token1, body: { uuid: U1 } });
    expect(hb.status, hb.text).toBe(200);
    let server = await getJSON(s, ['server', U1]);
    expect(server.status.conditions).toEqual([
      expect.objectContaining({ type: 'PowerCycle', status: 'False', reason: 'InProgress', severity: 'Info' }),
    ]);

    const wiped = await call(boot, 'POST', '/agent/wipe-done', {
      from: '127.0.0.3',
      token: token1,
      body: { uuid: U1 },
    });
    expect(wiped.status, wiped.text).toBe(200);
    server = await getJSON(s, ['server', U1]);
    expect(server.status.isClean).toBe(true);
    expect(server.status.conditions).toEqual([expect.objectContaining({ type: 'PowerCycle', status: 'True' })]);

    // addresses of the types sent are replaced, others kept
    await ok(s, [
      'patch',
      'server',
      U1,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          addresses: [
            { type: 'InternalIP', address: '127.0.0.3' },
            { type: 'Hostname', address: 'rack1-u1' },
          ],
        },
      }),
    ]);
    const addr = await call(boot, 'POST', '/agent/addresses', {
      from: '127.0.0.3',
      token: token1,
      body: {
        uuid: U1,
        addresses: [
          { type: 'InternalIP', address: '127.0.0.3' },
          { type: 'ExternalIP', address: '127.0.0.4' },
        ],
      },
    });
    expect(addr.status, addr.text).toBe(200);
    server = await getJSON(s, ['server', U1]);
    expect(server.status.addresses).toEqual([
      { type: 'Hostname', address: 'rack1-u1' },
      { type: 'InternalIP', address: '127.0.0.3' },
      { type: 'ExternalIP', address: '127.0.0.4' },
    ]);
  });

  it('an agent booted again without its token re-registers from the address the server registered, and gets a new token', async () => {
    const r = await call(boot, 'POST', '/agent/register', {
      from: '127.0.0.3',
      body: { uuid: U1, hostname: 'rack1-u1' },
    });
    expect(r.status, r.text).toBe(200);
    const fresh = r.json().token as string;
    expect(fresh).not.toBe(token1);
    // the old token stopped working
    const old = await call(boot, 'POST', '/agent/heartbeat', { from: '127.0.0.3', token: token1, body: { uuid: U1 } });
    expect(old.status).toBe(403);
    token1 = fresh;
    expect((await getJSON(s, ['server', U1])).spec.hostname).toBe('rack1-u1');
  });

  it('two agents registering one new UUID at once: one gets the server, the other 403', async () => {
    const U3 = '4c4c4544-0030-4d10-8052-b3c04f4e3233';
    const [a, b] = await Promise.all(
      ['127.0.0.2', '127.0.0.4'].map((from) =>
        call(boot, 'POST', '/agent/register', {
          from,
          body: { uuid: U3, hostname: from, addresses: [{ type: 'InternalIP', address: from }] },
        }),
      ),
    );
    expect([a!.status, b!.status].sort()).toEqual([201, 403]);
    const winner = a!.status === 201 ? a! : b!;
    const server = await getJSON(s, ['server', U3]);
    expect(server.status.addresses).toEqual([{ type: 'InternalIP', address: server.spec.hostname }]);
    expect(server.metadata.annotations['metal.sidero.dev/agent-token-sha256']).toBe(
      createHash('sha256').update(winner.json().token).digest('hex'),
    );
    await ok(s, ['delete', 'server', U3]);
  });

  it('bad agent requests get a Status and change nothing', async () => {
    const before = await getJSON(s, ['servers']);
    const cases: [BootCall, number, RegExp][] = [
      [{ raw: '{"uuid": ' }, 400, /not valid JSON/],
      [{ body: { uuid: U2, color: 'blue' } }, 400, /unknown field "color"/],
      [{ body: { uuid: 'not-a-uuid' } }, 422, /uuid: Invalid value/],
      [
        { body: { uuid: U2, hardware: { compute: { processorCount: 'two' } } } },
        422,
        /hardware.compute.processorCount/,
      ],
      [{ body: { uuid: U2, addresses: [{ type: 'InternalIP', address: 'nowhere' }] } }, 422, /must be an IP address/],
      [{ body: [U2] }, 400, /must be a JSON object/],
      [{ raw: 'uuid=x', headers: { 'Content-Type': 'text/plain' } }, 415, /must be JSON/],
    ];
    for (const [c, status, message] of cases) {
      const r = await call(boot, 'POST', '/agent/register', { from: '127.0.0.2', ...c });
      expect(r.status, r.text).toBe(status);
      expect(r.json()).toMatchObject({ kind: 'Status', status: 'Failure', code: status });
      expect(r.json().message).toMatch(message);
    }
    expect((await call(boot, 'GET', '/agent/register', { from: '127.0.0.2' })).status).toBe(405);
    expect((await call(boot, 'GET', '/nothing', { from: '127.0.0.2' })).status).toBe(404);
    const after = await getJSON(s, ['servers']);
    expect(after.items.map((i: any) => i.metadata.resourceVersion)).toEqual(
      before.items.map((i: any) => i.metadata.resourceVersion),
    );
  });

  it('/boot.ipxe chains /ipxe on this listener', async () => {
    const r = await call(boot, 'GET', '/boot.ipxe');
    expect(r.status).toBe(200);
    const host = new URL(boot).host;
    expect(r.text).toMatch(/^#!ipxe\n/);
    expect(r.text).toContain(
      `chain --autofree http://${host}/ipxe?uuid=\${uuid}&mac=\${net\${idx}/mac:hexhyp}&domain=\${domain}&hostname=\${hostname}&serial=\${serial}&arch=\${buildarch}`,
    );
  });

  it('/ipxe boots an unknown server into the agent environment, once that Environment is ready', async () => {
    const q = `/ipxe?uuid=${UNKNOWN}&mac=52:54:00:AA:BB:CC&arch=x86_64`;
    let r = await call(boot, 'GET', q);
    expect(r.status).toBe(404);
    expect(r.json().message).toBe('environment "agent-amd64" not found');
    await ok(s, ['apply', '-f', '-'], { input: environment('agent-amd64', ['console=ttyS1', 'panic=10']) });
    r = await call(boot, 'GET', q);
    expect(r.status).toBe(412);
    expect(r.json()).toMatchObject({
      code: 412,
      reason: 'PreconditionFailed',
      message: 'environment "agent-amd64" is not ready',
    });
    await markReady(s, 'agent-amd64');
    // Ready by its status, but nothing in the cache: still not servable
    expect((await call(boot, 'GET', q)).status).toBe(412);
    const files = cache(s, 'agent-amd64');
    r = await call(boot, 'GET', q);
    expect(r.status, r.text).toBe(200);
    const host = new URL(boot).host;
    const lines = r.text.split('\n');
    expect(lines[0]).toBe('#!ipxe');
    expect(lines[1]).toMatch(/^kernel \/env\/agent-amd64\/vmlinuz /);
    const args = lines[1]!.split(' ').slice(2);
    // the Environment's own arguments win over the defaults of the same key
    expect(args).toEqual(
      expect.arrayContaining(['console=ttyS1', 'panic=10', 'init_on_alloc=1', 'initrd=initramfs.xz']),
    );
    expect(args).not.toContain('panic=30');
    expect(args).not.toContain('console=tty0');
    expect(args.slice(-2)).toEqual(['sidero.mac=52-54-00-aa-bb-cc', `sidero.endpoint=${host}`]);
    expect(lines.slice(2)).toEqual(['initrd /env/agent-amd64/initramfs.xz', 'boot', '']);

    // a registered server that is not allocated boots the agent too
    r = await call(boot, 'GET', `/ipxe?uuid=${U1}&mac=52-54-00-12-34-56`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('kernel /env/agent-amd64/vmlinuz');

    const kernel = await call(boot, 'GET', '/env/agent-amd64/vmlinuz');
    expect(kernel.status).toBe(200);
    expect(kernel.bytes.equals(files.kernel)).toBe(true);
    expect(kernel.headers['content-length']).toBe(String(files.kernel.length));
    const initrd = await call(boot, 'GET', '/env/agent-amd64/initramfs.xz');
    expect(initrd.bytes.equals(files.initrd)).toBe(true);
    expect((await call(boot, 'GET', '/env/agent-amd64/secrets.yaml')).status).toBe(404);
    expect((await call(boot, 'GET', '/env/..%2F..%2Fpki/vmlinuz')).status).toBe(404);
    expect((await call(boot, 'GET', '/ipxe?uuid=x&mac=not-a-mac')).status).toBe(400);
  });

  it("/ipxe boots an allocated server's Environment: 404 when missing, 412 until ready, then disk once installed", async () => {
    await ok(s, ['annotate', 'server', U1, 'metal.sidero.dev/machine=default/m1']);
    await ok(s, ['patch', 'server', U1, '--type=merge', '-p', '{"spec":{"environmentRef":{"name":"talos-1-13"}}}']);
    const q = `/ipxe?uuid=${U1}&mac=52-54-00-12-34-56`;
    let r = await call(boot, 'GET', q);
    expect(r.status).toBe(404);
    expect(r.json().message).toBe('environment "talos-1-13" not found');
    await ok(s, ['apply', '-f', '-'], { input: environment('talos-1-13') });
    r = await call(boot, 'GET', q);
    expect(r.status).toBe(412);
    expect(r.json().message).toBe('environment "talos-1-13" is not ready');
    cache(s, 'talos-1-13');
    await markReady(s, 'talos-1-13');
    r = await call(boot, 'GET', q);
    expect(r.status, r.text).toBe(200);
    const host = new URL(boot).host;
    expect(r.text).toBe(
      `#!ipxe\nkernel /env/talos-1-13/vmlinuz console=ttyS0 talos.platform=metal talos.config=http://${host}/configdata?uuid=\ninitrd /env/talos-1-13/initramfs.xz\nboot\n`,
    );

    // installed: boot from disk by the default method, then by the Server's own
    await setCondition(s, U1, 'PXEBooted', 'True');
    r = await call(boot, 'GET', q);
    expect(r.status).toBe(200);
    expect(r.text).toBe('#!ipxe\nexit\n');
    await ok(s, ['patch', 'server', U1, '--type=merge', '-p', '{"spec":{"bootFromDiskMethod":"http-404"}}']);
    r = await call(boot, 'GET', q);
    expect(r.status).toBe(404);
    expect(r.text).toBe('');
    await ok(s, ['patch', 'server', U1, '--type=merge', '-p', '{"spec":{"bootFromDiskMethod":"ipxe-sanboot"}}']);
    expect((await call(boot, 'GET', q)).text).toBe('#!ipxe\nsanboot --no-describe --drive 0x80\n');
    // pxeBootAlways: the Environment again
    await ok(s, ['patch', 'server', U1, '--type=merge', '-p', '{"spec":{"pxeBootAlways":true}}']);
    r = await call(boot, 'GET', q);
    expect(r.text).toContain('kernel /env/talos-1-13/vmlinuz');
    await ok(s, ['patch', 'server', U1, '--type=merge', '-p', '{"spec":{"pxeBootAlways":false}}']);
  });

  it("/ipxe takes the Environment and boot-from-disk method of the server's ServerClass when the server names none", async () => {
    await ok(s, [
      'patch',
      'server',
      U1,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/spec/environmentRef"},{"op":"remove","path":"/spec/bootFromDiskMethod"}]',
    ]);
    await ok(s, ['apply', '-f', '-'], { input: environment('class-env') });
    cache(s, 'class-env');
    await markReady(s, 'class-env');
    await ok(s, ['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'metal.sidero.dev/v1alpha2',
        kind: 'ServerClass',
        metadata: { name: 'rack1' },
        spec: { environmentRef: { name: 'class-env' }, bootFromDiskMethod: 'ipxe-sanboot' },
      }),
    });
    // the ServerClass controller's lists, written as it would
    const lists = { status: { serversAvailable: [], serversInUse: [U1] } };
    await ok(s, ['patch', 'serverclass', 'rack1', '--subresource=status', '--type=merge', '-p', JSON.stringify(lists)]);
    await setCondition(s, U1, 'PXEBooted', 'False');
    const q = `/ipxe?uuid=${U1}&mac=52-54-00-12-34-56`;
    let r = await call(boot, 'GET', q);
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain('kernel /env/class-env/vmlinuz');
    await setCondition(s, U1, 'PXEBooted', 'True');
    r = await call(boot, 'GET', q);
    expect(r.text).toBe('#!ipxe\nsanboot --no-describe --drive 0x80\n');
    // without a class, the `default` Environment: not there
    await ok(s, ['delete', 'serverclass', 'rack1']);
    await setCondition(s, U1, 'PXEBooted', 'False');
    r = await call(boot, 'GET', q);
    expect(r.status).toBe(404);
    expect(r.json().message).toBe('environment "default" not found');
  });

  it('/configdata serves the bound Machine config, byte for byte, to the server only', async () => {
    const config = Buffer.from(
      'version: v1alpha1 # SECRET-MARKER-7f3a\nmachine:\n  token: sekr1t.t0ken\n  ca: {crt: x}\n',
    );
    const file = join(s.dataDir, 'm1.yaml');
    writeFileSync(file, config);
    const unbound = await call(boot, 'GET', `/configdata?uuid=${UNKNOWN}`, { from: '127.0.0.3' });
    expect(unbound.status).toBe(404);
    expect(unbound.json().message).toBe(`server "${UNKNOWN}" is not allocated`);
    await ok(s, ['create', 'secret', 'generic', 'm1-machineconfig', `--from-file=machineconfig.yaml=${file}`]);

    // bound (the previous test's annotation default/m1), asked from an address it did not register
    const wrong = await call(boot, 'GET', `/configdata?uuid=${U1}`, { from: '127.0.0.2' });
    expect(wrong.status).toBe(403);
    expect(wrong.text).not.toContain('SECRET-MARKER');
    expect(wrong.text).not.toContain('sekr1t');

    const right = await call(boot, 'GET', `/configdata?uuid=${U1}`, { from: '127.0.0.3' });
    expect(right.status, right.text).toBe(200);
    expect(right.bytes.equals(config)).toBe(true);
    expect(right.headers['cache-control']).toBe('no-store');

    // no longer accepted: refused
    await ok(s, ['patch', 'server', U1, '--type=merge', '-p', '{"spec":{"accepted":false}}']);
    const refused = await call(boot, 'GET', `/configdata?uuid=${U1}`, { from: '127.0.0.3' });
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain('SECRET-MARKER');
    await ok(s, ['patch', 'server', U1, '--type=merge', '-p', '{"spec":{"accepted":true}}']);

    // unbound again: 404, nothing of the config
    await ok(s, ['annotate', 'server', U1, 'metal.sidero.dev/machine-']);
    const gone = await call(boot, 'GET', `/configdata?uuid=${U1}`, { from: '127.0.0.3' });
    expect(gone.status).toBe(404);
    expect(gone.text).not.toContain('SECRET-MARKER');
    expect((await call(boot, 'GET', '/configdata', { from: '127.0.0.3' })).status).toBe(400);

    // every answer was logged with client and uuid, and no config ever reached the log
    const logged = s.logs.filter((l) => l.includes('"boot request"')).map((l) => JSON.parse(l));
    expect(logged).toContainEqual(
      expect.objectContaining({
        client: '127.0.0.3',
        path: '/configdata',
        uuid: U1,
        status: 200,
        machine: 'default/m1',
      }),
    );
    expect(s.logs.join('\n')).not.toContain('SECRET-MARKER');
    expect(s.logs.join('\n')).not.toContain(token1);
  });

  it('clients outside the allowed networks get 403', async () => {
    for (const path of ['/boot.ipxe', `/ipxe?uuid=${U1}`, `/configdata?uuid=${U1}`]) {
      const r = await call(boot, 'GET', path, { from: '127.0.0.9' });
      expect(r.status).toBe(403);
      expect(r.json().message).toBe("127.0.0.9 is not in the boot listener's allowed networks");
    }
    const reg = await call(boot, 'POST', '/agent/register', { from: '127.0.0.9', body: { uuid: U2 } });
    expect(reg.status).toBe(403);
    expect((await getJSON(s, ['server', U2])) ?? null).toBeNull();
  });
});

describe('boot listener with registration off and a small rate limit', () => {
  let s: TestServer;
  let boot: string;

  beforeAll(async () => {
    s = await startServer({
      args: [
        ...['--boot-port', '0', '--boot-registration=false'],
        ...['--boot-rate-limit', '5', '--boot-rate-limit-window', '400ms'],
        // no controller writes Servers, ServerClasses or Environments here: the tests play them
        ...['--controllers', 'namespace,garbage-collector'],
      ],
    });
    boot = bootURLOf(s);
  }, 90_000);

  afterAll(async () => {
    await disposeServer(s);
  });

  it('registration answers 403 and creates nothing', async () => {
    const r = await call(boot, 'POST', '/agent/register', { from: '127.0.0.2', body: { uuid: U2 } });
    expect(r.status).toBe(403);
    expect(r.json().message).toContain('--boot-registration=false');
    expect((await getJSON(s, ['server', U2])) ?? null).toBeNull();
  });

  it('a client past its limit gets 429 with Retry-After until its window ends; others go on', async () => {
    const burst = await Promise.all(
      Array.from({ length: 12 }, () => call(boot, 'GET', '/boot.ipxe', { from: '127.0.0.5' })),
    );
    const limited = burst.filter((r) => r.status === 429);
    expect(burst.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(5);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.headers['retry-after']).toBe('1');
    expect(limited[0]!.json()).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429 });
    // another client is not held up
    expect((await call(boot, 'GET', '/boot.ipxe', { from: '127.0.0.6' })).status).toBe(200);
    // the window ends and the client is served again (bounded: each try is one request)
    let served = false;
    for (let i = 0; i < 2000 && !served; i++) {
      const r = await call(boot, 'GET', '/boot.ipxe', { from: '127.0.0.5' });
      served = r.status === 200;
    }
    expect(served).toBe(true);
  });
});
