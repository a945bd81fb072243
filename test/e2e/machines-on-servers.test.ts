// Machines on Servers with the built server and the real kubectl: Servers made by kubectl and
// made clean through the status subresource (as the agent reports a wipe), ServerClasses, and
// KubernetesClusters whose pools name a class. Their Machines are bound to distinct Servers (the
// binding annotation on the Server), report the Server's address as a provider would, and get
// configs carrying the class's and the Server's patches and the uuid node label. Two clusters race
// for one Server: one gets it, the other waits with a condition and an Event. A scale-down and a
// cluster deletion release their Servers (binding gone, not clean), and a not-clean Server is
// never given out. A Server whose patches do not apply is never bound; a bound Machine's config
// follows edits of its class and Server, and /configdata serves the bound server exactly that
// Secret. A release waits for the node-leave finalizer, across a restart. No node is ever reached:
// the lifecycle and Machine controllers are off (the simulator plays bare metal elsewhere).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { bootURLOf, call } from '../helpers/boot.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { createNamespace, eventually, getJSON, ok } from './kubectl-helpers.js';

const NS = 'metal';
/** no lifecycle or Machine controller: no node is reached here */
const CONTROLLERS = 'namespace,garbage-collector,kubernetescluster,server,serverclass,serverallocator';
const SERVER_ARGS = [
  ...['--controllers', CONTROLLERS, '--controller-max-backoff', '200ms'],
  ...['--boot-port', '0', '--boot-bind-address', '127.0.0.1'],
];
let s: TestServer;

const uuid = (n: number) => `0000000${n}-1111-2222-3333-444444444444`;
const [S1, S2, S3, S4] = [1, 2, 3, 4].map(uuid) as [string, string, string, string];

function serverYaml(name: string, rack: string, extra = ''): string {
  return `apiVersion: metal.sidero.dev/v1alpha2
kind: Server
metadata:
  name: ${name}
  labels: {rack: ${rack}}
spec:
  accepted: true
${extra}`;
}

const CLASSES = `apiVersion: metal.sidero.dev/v1alpha2
kind: ServerClass
metadata: {name: rack-a}
spec:
  selector: {matchLabels: {rack: a}}
  configPatches:
    - {op: replace, path: /machine/install/disk, value: /dev/nvme0n1}
  strategicPatches:
    - |
      machine:
        sysctls:
          net.core.somaxconn: "65535"
---
apiVersion: metal.sidero.dev/v1alpha2
kind: ServerClass
metadata: {name: rack-b}
spec:
  selector: {matchLabels: {rack: b}}
`;

function clusterYaml(name: string, o: { cpClass: string; workers?: number }): string {
  const workers =
    o.workers === undefined
      ? ''
      : `    workers:
      - {name: w, replicas: ${o.workers}, version: "1.33", provider: metal, serverClass: rack-a}
`;
  return `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata: {name: ${name}, namespace: ${NS}}
spec:
  data: {clusterUid: u-${name}, clusterId: ${name}, provider: talos, environment: dev, datacenter: dc1, project: p, region: r, workorder: w, zone: z, workspace: ws}
  topology:
    version: "1.33"
    controlplane: {replicas: 1, version: "1.33", provider: metal, serverClass: ${o.cpClass}}
${workers}  talos: {endpoint: "https://10.9.0.100:6443", version: v1.11}
`;
}

const apply = (text: string) => ok(s, ['apply', '-f', '-'], { input: text });

/** what the agent reports after a wipe: clean, with its address */
async function reportClean(name: string, address: string): Promise<void> {
  const status = { status: { isClean: true, addresses: [{ type: 'InternalIP', address }] } };
  await ok(s, ['patch', 'server', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}

const getMachine = (name: string) => getJSON(s, ['-n', NS, 'machine', name]);
const condition = (m: any, type: string) => m?.status?.conditions?.find((c: any) => c.type === type);
const boundTo = (server: any) => server?.metadata?.annotations?.['metal.sidero.dev/machine'];

/** the cluster makes its Machines once its secrets bundle is written (keys take a while on a busy machine) */
const exists = (machine: string) => eventually(() => getMachine(machine), `machine ${machine}`, 600);

async function allocated(machine: string): Promise<any> {
  await exists(machine);
  await ok(s, ['-n', NS, 'wait', `machine/${machine}`, '--for=condition=ServerAllocated', '--timeout=30s']);
  return getMachine(machine);
}

/** polls until the Machine's ServerAllocated condition is False for `reason` */
async function waitingWith(machine: string, reason: string): Promise<any> {
  await exists(machine);
  return eventually(async () => {
    const c = condition(await getMachine(machine), 'ServerAllocated');
    return c?.status === 'False' && c.reason === reason ? c : undefined;
  }, `${machine} ServerAllocated=False ${reason}`);
}

async function machineConfig(machine: string): Promise<any> {
  const b64 = await ok(s, [
    '-n',
    NS,
    'get',
    'secret',
    `${machine}-machineconfig`,
    '-o',
    'jsonpath={.data.machineconfig\\.yaml}',
  ]);
  const text = Buffer.from(b64, 'base64').toString('utf8');
  return parseAllDocuments(text)[0]!.toJS();
}

async function eventReasons(machine: string): Promise<string[]> {
  const out = await ok(s, [
    'get',
    'events',
    '-n',
    NS,
    '--field-selector',
    `involvedObject.name=${machine}`,
    '-o',
    'json',
  ]);
  return JSON.parse(out).items.map((e: any) => e.reason);
}

beforeAll(async () => {
  s = await startServer({ args: SERVER_ARGS });
  await createNamespace(s, NS);
  await apply(
    [
      serverYaml(S1, 'b', '  configPatches:\n    - {op: remove, path: /machine/no/such/key}\n'),
      serverYaml(S2, 'a', '  strategicPatches:\n    - "machine:\\n  nodeLabels:\\n    rack-position: u12\\n"\n'),
      serverYaml(S3, 'a'),
      serverYaml(S4, 'a'),
    ].join('---\n'),
  );
  for (const [i, name] of [S1, S2, S3, S4].entries()) await reportClean(name, `10.9.0.${i + 1}`);
  await apply(CLASSES);
});

afterAll(async () => {
  await disposeServer(s);
});

describe('Machines on Servers', () => {
  it("binds a cluster's Machines to distinct Servers of their pools' class", async () => {
    await apply(clusterYaml('alpha', { cpClass: 'rack-a', workers: 1 }));
    const cp = await allocated('alpha-ctp0');
    const wrk = await allocated('alpha-wrk0');
    expect(cp.metadata.annotations['metal.sidero.dev/serverclass']).toBe('rack-a');
    const serverOf = (m: any) => m.metadata.annotations['metal.sidero.dev/server'];
    // the first two clean servers of the class by name, one each
    expect([serverOf(cp), serverOf(wrk)].sort()).toEqual([S2, S3]);
    for (const m of [cp, wrk]) {
      const server = await getJSON(s, ['server', serverOf(m)]);
      expect(boundTo(server)).toBe(`${NS}/${m.metadata.name}`);
      // the Server's address is the Machine's: the lifecycle controller finds the node there
      const address = `10.9.0.${serverOf(m) === S2 ? 2 : 3}`;
      expect(m.status).toMatchObject({
        phase: 'Running',
        publicIPAddresses: [address],
        providerID: `sidero://${serverOf(m)}`,
      });
      expect(condition(m, 'ServerAllocated')).toMatchObject({ status: 'True', reason: 'Allocated' });
      expect(condition(m, 'ServerConfigPatched')).toMatchObject({ status: 'True' });
      expect(m.metadata.finalizers).toContain('metal.sidero.dev/server-release');
      expect(await eventReasons(m.metadata.name)).toContain('ServerAllocated');
    }
    await eventually(async () => {
      const st = (await getJSON(s, ['serverclass', 'rack-a'])).status;
      return JSON.stringify(st?.serversInUse) === JSON.stringify([S2, S3]) ? true : undefined;
    }, 'rack-a in use');
  });

  it("writes configs with the class's patches, then the server's, and the uuid node label", async () => {
    for (const name of ['alpha-ctp0', 'alpha-wrk0']) {
      const server = (await getMachine(name)).metadata.annotations['metal.sidero.dev/server'];
      const config = await machineConfig(name);
      expect(config.machine.install.disk).toBe('/dev/nvme0n1');
      expect(config.machine.sysctls).toEqual({ 'net.core.somaxconn': '65535' });
      expect(config.machine.nodeLabels['metal.sidero.dev/uuid']).toBe(server);
      expect(config.machine.nodeLabels['rack-position']).toBe(server === S2 ? 'u12' : undefined);
    }
  });

  it("a bound Machine's config follows its class and server; a patch that stops applying keeps it whole", async () => {
    const classPatch = 'machine:\n  sysctls:\n    net.core.somaxconn: "65535"\n    vm.swappiness: "10"\n';
    await ok(s, [
      'patch',
      'serverclass',
      'rack-a',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { strategicPatches: [classPatch] } }),
    ]);
    await eventually(async () => {
      const config = await machineConfig('alpha-ctp0');
      return config.machine.sysctls['vm.swappiness'] === '10' ? true : undefined;
    }, 'the class patch in the config');
    const server = (await getMachine('alpha-ctp0')).metadata.annotations['metal.sidero.dev/server'];
    const before = await machineConfig('alpha-ctp0');
    const broken = { spec: { configPatches: [{ op: 'remove', path: '/machine/no/such/key' }] } };
    await ok(s, ['patch', 'server', server, '--type=merge', '-p', JSON.stringify(broken)]);
    const c = await eventually(async () => {
      const got = condition(await getMachine('alpha-ctp0'), 'ServerConfigPatched');
      return got?.status === 'False' ? got : undefined;
    }, 'ServerConfigPatched=False');
    expect(c).toMatchObject({ reason: 'PatchFailed', severity: 'Error' });
    expect(c.message).toContain(`Server ${server} spec.configPatches`);
    expect(await machineConfig('alpha-ctp0')).toEqual(before);
    expect(await eventReasons('alpha-ctp0')).toContain('ServerConfigPatchFailed');
    await ok(s, ['patch', 'server', server, '--type=merge', '-p', '{"spec":{"configPatches":null}}']);
    await eventually(async () => {
      const got = condition(await getMachine('alpha-ctp0'), 'ServerConfigPatched');
      return got?.status === 'True' ? got : undefined;
    }, 'ServerConfigPatched=True');
    expect((await getMachine('alpha-ctp0')).metadata.annotations['metal.sidero.dev/config-error']).toBeUndefined();
  });

  it('two clusters racing for the last server: one gets it, the other waits with a condition and an Event', async () => {
    await apply(
      [clusterYaml('beta', { cpClass: 'rack-a' }), clusterYaml('gamma', { cpClass: 'rack-a' })].join('---\n'),
    );
    for (const m of ['beta-ctp0', 'gamma-ctp0']) await exists(m);
    const settled = await eventually(async () => {
      const ms = await Promise.all(['beta-ctp0', 'gamma-ctp0'].map(getMachine));
      const states = ms.map((m) => condition(m, 'ServerAllocated')?.status);
      return states.includes('True') && states.includes('False') ? ms : undefined;
    }, 'one bound, one waiting');
    const winner = settled.find((m: any) => condition(m, 'ServerAllocated').status === 'True');
    const loser = settled.find((m: any) => condition(m, 'ServerAllocated').status === 'False');
    expect(winner.metadata.annotations['metal.sidero.dev/server']).toBe(S4);
    expect(boundTo(await getJSON(s, ['server', S4]))).toBe(`${NS}/${winner.metadata.name}`);
    expect(condition(loser, 'ServerAllocated')).toMatchObject({ reason: 'NoServerAvailable', severity: 'Warning' });
    expect(condition(loser, 'ServerAllocated').message).toContain('rack-a');
    expect(loser.metadata.annotations['metal.sidero.dev/server']).toBeUndefined();
    expect(loser.status.publicIPAddresses ?? []).toEqual([]);
    expect(await eventReasons(loser.metadata.name)).toContain('NoServerAvailable');
    // no server is bound twice
    const servers = (await getJSON(s, ['servers'])).items as any[];
    const bindings = servers.map(boundTo).filter(Boolean);
    expect(new Set(bindings).size).toBe(bindings.length);
    expect(bindings).toHaveLength(3);
  });

  it('a scale-down releases its server: unbound and not clean, so not given out until wiped', async () => {
    const loser = ['beta-ctp0', 'gamma-ctp0'];
    const released = (await getMachine('alpha-wrk0')).metadata.annotations['metal.sidero.dev/server'];
    await ok(s, [
      '-n',
      NS,
      'patch',
      'kc',
      'alpha',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/topology/workers/0/replicas","value":0}]',
    ]);
    await ok(s, ['-n', NS, 'wait', '--for=delete', 'machine/alpha-wrk0', '--timeout=30s']);
    const server = await getJSON(s, ['server', released]);
    expect(boundTo(server)).toBeUndefined();
    expect(server.status.isClean).toBe(false);
    expect(server.status.inUse).not.toBe(true);
    // the waiting Machine is not given a server that is not clean
    const waiting = await Promise.all(loser.map(getMachine));
    const stillWaiting = waiting.find((m: any) => condition(m, 'ServerAllocated').status === 'False');
    expect(stillWaiting).toBeDefined();
    expect(stillWaiting.metadata.annotations['metal.sidero.dev/server']).toBeUndefined();
    // the agent reports the wipe: now it is given out
    await reportClean(released, '10.9.0.3');
    const now = await allocated(stillWaiting.metadata.name);
    expect(now.metadata.annotations['metal.sidero.dev/server']).toBe(released);
  });

  it("deleting a cluster releases its Machines' servers", async () => {
    const server = (await getMachine('beta-ctp0')).metadata.annotations['metal.sidero.dev/server'];
    await ok(s, ['-n', NS, 'delete', 'kc', 'beta', '--wait=false']);
    await ok(s, ['-n', NS, 'wait', '--for=delete', 'machine/beta-ctp0', '--timeout=30s']);
    const after = await getJSON(s, ['server', server]);
    expect(boundTo(after)).toBeUndefined();
    expect(after.status.isClean).toBe(false);
  });

  it('a server whose patches do not apply is never bound; the Machine says why', async () => {
    await apply(clusterYaml('delta', { cpClass: 'rack-b' }));
    const c = await waitingWith('delta-ctp0', 'ConfigPatchFailed');
    expect(c.message).toContain(`Server ${S1} spec.configPatches`);
    const s1 = await getJSON(s, ['server', S1]);
    expect(boundTo(s1)).toBeUndefined();
    expect(s1.status.isClean).toBe(true);
    expect(await eventReasons('delta-ctp0')).toContain('ConfigPatchFailed');
    // its config is the cluster's alone: nothing of the server that was refused
    const config = await machineConfig('delta-ctp0');
    expect(config.machine.nodeLabels?.['metal.sidero.dev/uuid']).toBeUndefined();
    expect((await getMachine('delta-ctp0')).metadata.annotations['metal.sidero.dev/server']).toBeUndefined();
  });

  it('a missing ServerClass is a clear condition, and the Machine is bound once it exists', async () => {
    await apply(clusterYaml('epsilon', { cpClass: 'rack-c' }));
    const c = await waitingWith('epsilon-ctp0', 'ServerClassNotFound');
    expect(c.message).toContain('ServerClass rack-c does not exist');
    await apply(serverYaml(uuid(5), 'c'));
    await reportClean(uuid(5), '10.9.0.5');
    await apply(`apiVersion: metal.sidero.dev/v1alpha2
kind: ServerClass
metadata: {name: rack-c}
spec:
  selector: {matchLabels: {rack: c}}
`);
    const m = await allocated('epsilon-ctp0');
    expect(m.metadata.annotations['metal.sidero.dev/server']).toBe(uuid(5));
  });
  it("/configdata serves the bound server its Machine's config Secret exactly, patches and label included", async () => {
    const uuid6 = uuid(6);
    await apply(
      serverYaml(uuid6, 'd', '  strategicPatches:\n    - "machine:\\n  nodeLabels:\\n    rack-position: u40\\n"\n'),
    );
    await reportClean(uuid6, '127.0.0.6');
    await apply(`apiVersion: metal.sidero.dev/v1alpha2
kind: ServerClass
metadata: {name: rack-d}
spec:
  selector: {matchLabels: {rack: d}}
`);
    await apply(clusterYaml('zeta', { cpClass: 'rack-d' }));
    const m = await allocated('zeta-ctp0');
    expect(m.status.publicIPAddresses).toEqual(['127.0.0.6']);
    const b64 = await ok(s, [
      '-n',
      NS,
      'get',
      'secret',
      'zeta-ctp0-machineconfig',
      '-o',
      'jsonpath={.data.machineconfig\\.yaml}',
    ]);
    const res = await call(bootURLOf(s), 'GET', `/configdata?uuid=${uuid6}`, { from: '127.0.0.6' });
    expect(res.status).toBe(200);
    expect(res.bytes.equals(Buffer.from(b64, 'base64'))).toBe(true);
    const served = parseAllDocuments(res.text)[0]!.toJS();
    expect(served.machine.nodeLabels).toMatchObject({ 'metal.sidero.dev/uuid': uuid6, 'rack-position': 'u40' });
    // only to the address the server registered
    expect((await call(bootURLOf(s), 'GET', `/configdata?uuid=${uuid6}`, { from: '127.0.0.7' })).status).toBe(403);
  });

  it('a release waits for the node to leave the cluster, and a restart in between does not lose it', async () => {
    const server = (await getMachine('epsilon-ctp0')).metadata.annotations['metal.sidero.dev/server'];
    // what the lifecycle controller holds a Machine with until its node is reset
    await ok(s, [
      '-n',
      NS,
      'patch',
      'machine',
      'epsilon-ctp0',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/metadata/finalizers/-","value":"kubernetescluster.vitistack.io/node-leave"}]',
    ]);
    await ok(s, ['-n', NS, 'delete', 'kc', 'epsilon', '--wait=false']);
    await eventually(
      async () => ((await eventReasons('epsilon-ctp0')).includes('ReleaseWaiting') ? true : undefined),
      'ReleaseWaiting',
      600,
    );
    await s.stop('SIGTERM');
    s = await startServer({ dataDir: s.dataDir, args: SERVER_ARGS });
    expect((await getMachine('epsilon-ctp0')).metadata.deletionTimestamp).toBeTruthy();
    expect(boundTo(await getJSON(s, ['server', server]))).toBe(`${NS}/epsilon-ctp0`);
    const finalizers: string[] = (await getMachine('epsilon-ctp0')).metadata.finalizers;
    const leave = finalizers.indexOf('kubernetescluster.vitistack.io/node-leave');
    await ok(s, [
      '-n',
      NS,
      'patch',
      'machine',
      'epsilon-ctp0',
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'test', path: `/metadata/finalizers/${leave}`, value: 'kubernetescluster.vitistack.io/node-leave' },
        { op: 'remove', path: `/metadata/finalizers/${leave}` },
      ]),
    ]);
    await ok(s, ['-n', NS, 'wait', '--for=delete', 'machine/epsilon-ctp0', '--timeout=30s']);
    const after = await getJSON(s, ['server', server]);
    expect(boundTo(after)).toBeUndefined();
    expect(after.status.isClean).toBe(false);
  });
});
