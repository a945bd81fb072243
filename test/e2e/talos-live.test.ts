// Live Talos end to end: the server (its outbound allow-list loopback only), three simulated Talos
// nodes over real mTLS gRPC, and the real kubectl. Adoption, Ready, health, kubeconfig, a node that
// goes away and comes back, credentials and the allow-list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { AS_GV, expectStatus } from '../helpers/api.js';
import { createNamespace, expectFailure, getJSON, ok, tempDir, adoptedNode } from './kubectl-helpers.js';

const NS = 'live';
let s: TestServer;
let sim: Simulator;
const tmp = tempDir();

const adopted = (name: string, endpoint: string, nodeType: string, extra = '') =>
  adoptedNode(name, NS, endpoint, nodeType, extra);

const path = (name: string, sub: string) => `${AS_GV}/namespaces/${NS}/adoptedservers/${name}/${sub}`;
const condition = (obj: any, type: string) => obj.status?.conditions?.find((c: any) => c.type === type);

beforeAll(async () => {
  sim = await startSimulator({ nodes: 3, controlPlanes: 1, rebootSeconds: 2, clusterName: 'sim' });
  s = await startServer({ args: ['--resync-period', '1s', '--talos-call-timeout', '2s'] });
  await createNamespace(s, NS);
  const file = tmp.write('talosconfig', sim.talosconfigYaml);
  expect(await ok(s, ['-n', NS, 'create', 'secret', 'generic', 'talos', `--from-file=talosconfig=${file}`])).toBe(
    'secret/talos created\n',
  );
  const manifests = sim
    .nodes()
    .map((n) => adopted(n.name, n.endpoint, n.role ?? 'maintenance'))
    .join('---\n');
  await ok(s, ['apply', '-f', '-'], { input: manifests });
});

afterAll(async () => {
  await disposeServer(s);
  await sim?.stop();
  tmp.remove();
});

describe('adopting simulated nodes', () => {
  it('they become Ready, with node info, and kubectl shows it all', async () => {
    const out = await ok(s, ['-n', NS, 'wait', '--for=condition=Ready', 'adoptedserver', '--all', '--timeout=60s']);
    expect(out.trim().split('\n').sort()).toEqual(
      sim
        .nodes()
        .map((n) => `adoptedserver.metal.sidero.dev/${n.name} condition met`)
        .sort(),
    );
    const wide = await ok(s, ['-n', NS, 'get', 'adoptedservers', '-o', 'wide']);
    const [cp] = sim.nodes();
    // HOSTNAME: none declared, so the one the node reported; REASON: Ready's
    expect(wide).toMatch(
      new RegExp(
        `^${cp!.name}\\s+${cp!.name}\\s+${cp!.endpoint.replace(/\./g, '\\.')}\\s+controlplane\\s+true\\s+true\\s+true\\s+Healthy\\s+v1\\.13\\.9\\s+Ready\\s+\\d+s$`,
        'm',
      ),
    );
    const obj = await getJSON(s, ['-n', NS, 'adoptedserver', cp!.name]);
    expect(obj.status).toMatchObject({
      ready: true,
      connected: true,
      health: { status: 'Healthy' },
      nodeInfo: { hostname: cp!.name, talosVersion: 'v1.13.9', nodeType: 'controlplane' },
    });
    expect(condition(obj, 'Connected')).toMatchObject({ status: 'True', reason: 'TalosAPIReachable' });
    expect(condition(obj, 'Adopted')).toMatchObject({ status: 'True', reason: 'Adopted' });
    expect(condition(obj, 'NodeTypeMatches')).toMatchObject({ status: 'True', reason: 'NodeTypeMatches' });
    const describe = await ok(s, ['-n', NS, 'describe', 'adoptedserver', cp!.name]);
    expect(describe).toMatch(/Normal\s+Connected\s+.*Talos API at/);
    expect(describe).toMatch(/Normal\s+Adopted/);
    expect(await ok(s, ['get', 'talos', '-n', NS, '-o', 'name'])).toContain(
      `adoptedserver.metal.sidero.dev/${cp!.name}`,
    );
  });

  it('health asks the node now: a HealthReport with etcd checks for the control plane', async () => {
    const [cp, worker] = sim.nodes();
    const report = JSON.parse(await ok(s, ['get', '--raw', path(cp!.name, 'health')]));
    expect(report).toMatchObject({
      apiVersion: 'metal.sidero.dev/v1alpha2',
      kind: 'HealthReport',
      status: 'Healthy',
      metadata: { name: cp!.name, namespace: NS },
    });
    const names = report.checks.map((c: any) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'reachable',
        'hostname',
        'service/etcd',
        'service/kubelet',
        'service/apid',
        'etcd-members',
        'etcd-status',
      ]),
    );
    for (const c of report.checks)
      expect(c).toMatchObject({ status: 'Healthy', durationMs: expect.any(Number), message: expect.any(String) });
    const w = JSON.parse(await ok(s, ['get', '--raw', path(worker!.name, 'health')]));
    expect(w.status).toBe('Healthy');
    expect(w.checks.map((c: any) => c.name)).not.toContain('etcd-members');
  });

  it('an unhealthy service shows in health and takes Ready away, then comes back', async () => {
    const worker = sim.nodes()[1]!;
    await sim.inject(worker.name, 'unhealthy', { service: 'kubelet' });
    const report = JSON.parse(await ok(s, ['get', '--raw', path(worker.name, 'health')]));
    expect(report.status).toBe('Unhealthy');
    expect(report.checks.find((c: any) => c.name === 'service/kubelet')).toMatchObject({ status: 'Unhealthy' });
    await ok(s, ['-n', NS, 'wait', '--for=condition=Ready=false', `adoptedserver/${worker.name}`, '--timeout=30s']);
    await sim.inject(worker.name, 'heal');
    await ok(s, ['-n', NS, 'wait', '--for=condition=Ready', `adoptedserver/${worker.name}`, '--timeout=30s']);
    expect(
      await ok(s, [
        '-n',
        NS,
        'get',
        'events',
        '--field-selector',
        `involvedObject.name=${worker.name},reason=HealthChanged`,
        '-o',
        'name',
      ]),
    ).not.toBe('');
  });

  it('kubeconfig streams the admin kubeconfig from the control plane; a worker gets a clear 400', async () => {
    const [cp, worker] = sim.nodes();
    const kubeconfig = await ok(s, ['get', '--raw', path(cp!.name, 'kubeconfig')]);
    expect(kubeconfig).toMatch(/^apiVersion: v1\nkind: Config/m);
    expect(kubeconfig).toContain('client-key-data');
    const r = await s.request('GET', path(worker!.name, 'kubeconfig'));
    const st = expectStatus(r, 400, 'BadRequest');
    expect(st.message).toContain('worker');
    expectFailure(await s.kubectl(['get', '--raw', path(worker!.name, 'kubeconfig')]), /worker node/);
  });

  it('the subresources are in discovery with their kinds', async () => {
    const list = JSON.parse(await ok(s, ['get', '--raw', AS_GV]));
    const byName = Object.fromEntries(list.resources.map((r: any) => [r.name, r]));
    expect(byName['adoptedservers/health']).toMatchObject({ kind: 'HealthReport', verbs: ['get'], namespaced: true });
    expect(byName['adoptedservers/kubeconfig']).toMatchObject({ kind: 'Kubeconfig', verbs: ['get'] });
    expect(byName['adoptedservers/upgrade']).toMatchObject({ kind: 'UpgradeRequest', verbs: ['create'] });
  });

  it('a node that goes away: Connected=False with a ConnectionLost event; back again: Connected', async () => {
    const worker = sim.nodes()[2]!;
    await sim.inject(worker.name, 'stop');
    await ok(s, ['-n', NS, 'wait', '--for=condition=Connected=false', `adoptedserver/${worker.name}`, '--timeout=30s']);
    const down = await getJSON(s, ['-n', NS, 'adoptedserver', worker.name]);
    expect(down.status).toMatchObject({ connected: false, ready: false, health: { status: 'Unknown' } });
    const refused = `Talos node ${worker.endpoint} (Version) is unreachable: connection refused (nothing listens on that port, or a firewall rejects it)`;
    expect(condition(down, 'Connected')).toMatchObject({
      reason: 'TalosAPIUnreachable',
      severity: 'Warning',
      message: refused,
    });
    expect(condition(down, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'TalosAPIUnreachable',
      message: refused,
    });
    expect(await ok(s, ['-n', NS, 'get', 'adoptedserver', worker.name, '-o', 'wide', '--no-headers'])).toMatch(
      /\s+true\s+false\s+false\s+Unknown\s+v1\.13\.9\s+TalosAPIUnreachable\s+\d+s\n$/,
    );
    expect(
      await ok(s, [
        '-n',
        NS,
        'get',
        'events',
        '--field-selector',
        `involvedObject.name=${worker.name},reason=ConnectionLost`,
        '-o',
        'jsonpath={.items[*].message}',
      ]),
    ).toBe(refused);
    expect(
      await ok(s, [
        '-n',
        NS,
        'get',
        'events',
        '--field-selector',
        `involvedObject.name=${worker.name},reason=ConnectionLost`,
        '-o',
        'jsonpath={.items[*].type}',
      ]),
    ).toBe('Warning');
    const r = await s.request('GET', path(worker.name, 'health'));
    expect(expectStatus(r, 503, 'ServiceUnavailable').message).toContain('unreachable');
    await sim.inject(worker.name, 'start');
    await ok(s, ['-n', NS, 'wait', '--for=condition=Connected', `adoptedserver/${worker.name}`, '--timeout=30s']);
    const describe = await ok(s, ['-n', NS, 'describe', 'adoptedserver', worker.name]);
    expect(describe).toMatch(/Warning\s+ConnectionLost/);
    expect(describe).toMatch(/Normal\s+Connected/);
  });

  it('a control plane declared a worker: NodeTypeMatches=False with a warning, and its kubeconfig refusal points at it', async () => {
    const cp = sim.nodes()[0]!;
    await ok(s, ['apply', '-f', '-'], { input: adopted('declared-worker', cp.endpoint, 'worker') });
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=condition=NodeTypeMatches=false',
      'adoptedserver/declared-worker',
      '--timeout=30s',
    ]);
    const mismatch =
      'the node is a control plane (it runs etcd), but spec.talos.nodeType declares worker: set spec.talos.nodeType to controlplane';
    const obj = await getJSON(s, ['-n', NS, 'adoptedserver', 'declared-worker']);
    expect(condition(obj, 'NodeTypeMatches')).toMatchObject({
      status: 'False',
      severity: 'Warning',
      reason: 'NodeTypeMismatch',
      message: mismatch,
    });
    expect(obj.status.nodeInfo.nodeType).toBe('controlplane');
    expect(
      await ok(s, [
        '-n',
        NS,
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=declared-worker,reason=NodeTypeMismatch',
        '-o',
        'jsonpath={.items[*].type}: {.items[*].message}',
      ]),
    ).toBe(`Warning: ${mismatch}`);
    const r = await s.request('GET', path('declared-worker', 'kubeconfig'));
    expect(expectStatus(r, 400, 'BadRequest').message).toBe(
      'adoptedservers "declared-worker" is declared a worker (spec.talos.nodeType), but the node reported it is a control plane (condition NodeTypeMatches): set spec.talos.nodeType to controlplane to get its kubeconfig',
    );
    await ok(s, ['-n', NS, 'delete', 'adoptedserver', 'declared-worker']);
  });

  it('a frozen node answers health with a 504 Status within the call deadline, not a hang', async () => {
    const worker = sim.nodes()[1]!;
    await sim.inject(worker.name, 'freeze');
    try {
      const started = Date.now();
      const r = await s.request('GET', path(worker.name, 'health'));
      expect(expectStatus(r, 504, 'Timeout').message).toContain('did not answer');
      // --talos-call-timeout 2s: the first call's deadline decides, not the whole probe's budget
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await sim.inject(worker.name, 'heal');
    }
  });
});

describe('credentials and the outbound allow-list', () => {
  it('without talosconfigSecretRef: Connected=False NoCredentials, and health says why with a 400', async () => {
    await ok(s, ['apply', '-f', '-'], {
      input: adopted('no-creds', '127.0.0.1:1', 'worker').replace(/    talosconfigSecretRef:\n      name: talos\n/, ''),
    });
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=jsonpath={.status.conditions[?(@.type=="Connected")].reason}=NoCredentials',
      'adoptedserver/no-creds',
      '--timeout=30s',
    ]);
    const r = await s.request('GET', path('no-creds', 'health'));
    expect(expectStatus(r, 400, 'BadRequest').message).toContain('talosconfigSecretRef');
    // nothing was dialled: Ready says so in the words of the reason, and health is Unknown
    const obj = await getJSON(s, ['-n', NS, 'adoptedserver', 'no-creds']);
    expect(condition(obj, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'NoCredentials',
      message: `AdoptedServer ${NS}/no-creds has no spec.talos.talosconfigSecretRef: there are no credentials to reach its Talos API`,
    });
    expect(obj.status.health).toMatchObject({ status: 'Unknown' });
  });

  it('a Secret that does not exist, or lacks the key, is named in the condition', async () => {
    await ok(s, ['apply', '-f', '-'], {
      input: adopted('wrong-secret', '127.0.0.1:1', 'worker').replace('name: talos', 'name: nope'),
    });
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=jsonpath={.status.conditions[?(@.type=="Connected")].reason}=SecretNotFound',
      'adoptedserver/wrong-secret',
      '--timeout=30s',
    ]);
    expect(condition(await getJSON(s, ['-n', NS, 'adoptedserver', 'wrong-secret']), 'Ready')).toMatchObject({
      reason: 'SecretNotFound',
      message: `secret "nope" named by AdoptedServer ${NS}/wrong-secret spec.talos.talosconfigSecretRef does not exist in namespace "${NS}"`,
    });
    await ok(s, ['apply', '-f', '-'], {
      input: adopted('wrong-key', '127.0.0.1:1', 'worker').replace('name: talos', 'name: talos\n      key: other'),
    });
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=jsonpath={.status.conditions[?(@.type=="Connected")].reason}=SecretKeyMissing',
      'adoptedserver/wrong-key',
      '--timeout=30s',
    ]);
  });

  it('an endpoint outside the allow-list (192.168.1.10, as in the upstream examples) is never dialed: OutboundNotAllowed', async () => {
    await ok(s, ['apply', '-f', '-'], { input: adopted('private', '192.168.1.10:50000', 'controlplane') });
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=jsonpath={.status.conditions[?(@.type=="Connected")].reason}=OutboundNotAllowed',
      'adoptedserver/private',
      '--timeout=30s',
    ]);
    expect(condition(await getJSON(s, ['-n', NS, 'adoptedserver', 'private']), 'Ready')).toMatchObject({
      reason: 'OutboundNotAllowed',
      message:
        'refusing to connect to Talos endpoint 192.168.1.10:50000: address 192.168.1.10 is outside --allowed-outbound-networks',
    });
    const r = await s.request('GET', path('private', 'health'));
    const st = expectStatus(r, 503, 'ServiceUnavailable');
    expect(st.message).toContain('192.168.1.10');
    expect(st.message).toContain('--allowed-outbound-networks');
  });

  it('a talosconfig from another CA fails TLS verification (TLSError), with no key material in the message', async () => {
    const other = await startSimulator({ nodes: 1, controlPlanes: 1 });
    try {
      const file = tmp.write('other-talosconfig', other.talosconfigYaml);
      await ok(s, ['-n', NS, 'create', 'secret', 'generic', 'other-ca', `--from-file=talosconfig=${file}`]);
      const cp = sim.nodes()[0]!;
      await ok(s, ['apply', '-f', '-'], {
        input: adopted('other-ca', cp.endpoint, 'controlplane').replace('name: talos', 'name: other-ca'),
      });
      await ok(s, [
        '-n',
        NS,
        'wait',
        '--for=jsonpath={.status.conditions[?(@.type=="Connected")].reason}=TLSError',
        'adoptedserver/other-ca',
        '--timeout=30s',
      ]);
      const obj = await getJSON(s, ['-n', NS, 'adoptedserver', 'other-ca']);
      expect(condition(obj, 'Connected').message).not.toMatch(/BEGIN|PRIVATE/);
    } finally {
      await other.stop();
    }
  });
});
