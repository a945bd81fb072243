// Upgrades through the upgrade subresource, the kubectl plugin as a user runs it (kubectl finds
// kubectl-talos on PATH), and Management API sync against a local fake that records its calls.
import { readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { FakeManagementAPI } from '../helpers/fake-management-api.js';
import { disposeServer, startServer, type KubectlResult, type TestServer } from '../helpers/server.js';
import { AS_GV, expectStatus, JSON_HDR } from '../helpers/api.js';
import { createNamespace, eventually, getJSON, ok, pluginOnPath, tempDir, adoptedNode } from './kubectl-helpers.js';
import { EXIT } from '../../src/cli/exitcodes.js';

const NS = 'fleet';
let s: TestServer;
let sim: Simulator;
const fake = new FakeManagementAPI();
const tmp = tempDir();
let pathWithPlugin = '';

const adopted = (name: string, endpoint: string, nodeType: string, extra = '') =>
  adoptedNode(name, NS, endpoint, nodeType, extra);

/** Upgrade calls each node accepted, from the simulator's /state */
async function upgradeCalls(): Promise<Record<string, number>> {
  const state = (await (await fetch(`${sim.control.url}/state`)).json()) as {
    nodes: { name: string; upgrades: number }[];
  };
  return Object.fromEntries(state.nodes.map((n) => [n.name, n.upgrades]));
}

const upgradePath = (name: string) => `${AS_GV}/namespaces/${NS}/adoptedservers/${name}/upgrade`;
const upgradeBody = (spec: Record<string, unknown>, kind = 'UpgradeRequest') =>
  JSON.stringify({ apiVersion: 'metal.sidero.dev/v1alpha2', kind, spec });

/** `kubectl talos ...` with kubectl-talos on PATH, as `npm link` puts it there */
function talos(args: string[]): Promise<KubectlResult> {
  return s.kubectl(['talos', ...args], { env: { PATH: pathWithPlugin } });
}

beforeAll(async () => {
  sim = await startSimulator({ nodes: 3, controlPlanes: 1, rebootSeconds: 2, clusterName: 'fleet' });
  await fake.start();
  s = await startServer({ args: ['--resync-period', '1s', '--talos-call-timeout', '2s'] });
  await createNamespace(s, NS);
  await ok(s, [
    '-n',
    NS,
    'create',
    'secret',
    'generic',
    'talos',
    `--from-file=talosconfig=${tmp.write('talosconfig', sim.talosconfigYaml)}`,
  ]);
  await ok(s, ['apply', '-f', '-'], {
    input: sim
      .nodes()
      .map((n) => adopted(n.name, n.endpoint, n.role ?? 'maintenance'))
      .join('---\n'),
  });
  await ok(s, ['-n', NS, 'wait', '--for=condition=Ready', 'adoptedserver', '--all', '--timeout=60s']);
  pathWithPlugin = pluginOnPath(tmp.dir);
});

afterAll(async () => {
  await disposeServer(s);
  await sim?.stop();
  await fake.stop();
  tmp.remove();
});

describe('the upgrade subresource', () => {
  it('starts an upgrade at once; status and events follow the node through its reboot to the new version', async () => {
    const worker = sim.nodes()[1]!;
    const body = tmp.write('upgrade.json', upgradeBody({ version: 'v1.13.10' }));
    const reply = JSON.parse(await ok(s, ['create', '--raw', upgradePath(worker.name), '-f', body]));
    expect(reply).toMatchObject({
      kind: 'UpgradeRequest',
      spec: { version: 'v1.13.10', stage: false, force: false, allowDowngrade: false, rebootMode: 'default' },
      status: {
        phase: 'Started',
        image: 'ghcr.io/siderolabs/installer:v1.13.10',
        fromVersion: 'v1.13.9',
        actorID: expect.any(String),
      },
    });
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=jsonpath={.status.upgrade.phase}=Completed',
      `adoptedserver/${worker.name}`,
      '--timeout=60s',
    ]);
    const obj = await getJSON(s, ['-n', NS, 'adoptedserver', worker.name]);
    expect(obj.status.upgrade).toMatchObject({
      fromVersion: 'v1.13.9',
      toVersion: 'v1.13.10',
      actorID: reply.status.actorID,
      finishedAt: expect.any(String),
    });
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=jsonpath={.status.nodeInfo.talosVersion}=v1.13.10',
      `adoptedserver/${worker.name}`,
      '--timeout=30s',
    ]);
    const reasons = await ok(s, [
      '-n',
      NS,
      'get',
      'events',
      '--field-selector',
      `involvedObject.name=${worker.name}`,
      '-o',
      'jsonpath={.items[*].reason}',
    ]);
    expect(reasons.split(' ')).toEqual(expect.arrayContaining(['UpgradeStarted', 'UpgradeCompleted']));
  });

  it('refuses bad requests with the right Status and starts nothing', async () => {
    const [cp, worker] = sim.nodes();
    const post = (name: string, body: string) => s.request('POST', upgradePath(name), { body, headers: JSON_HDR });
    expect(
      expectStatus(await post(cp!.name, upgradeBody({ version: 'v1.13.10' }, 'Upgrade')), 400, 'BadRequest').message,
    ).toContain('UpgradeRequest');
    const both = expectStatus(
      await post(cp!.name, upgradeBody({ version: 'v1.13.10', image: 'x:v1' })),
      422,
      'Invalid',
    );
    expect(both.details.causes[0]).toMatchObject({ field: 'spec.image', reason: 'FieldValueForbidden' });
    expect(expectStatus(await post(cp!.name, upgradeBody({})), 422, 'Invalid').details.causes[0].field).toBe(
      'spec.version',
    );
    expect(
      expectStatus(await post(cp!.name, upgradeBody({ version: 'latest' })), 422, 'Invalid').details.causes[0].field,
    ).toBe('spec.version');
    expect(
      expectStatus(await post(cp!.name, upgradeBody({ versoin: 'v1.13.10' })), 400, 'BadRequest').message,
    ).toContain('unknown field "spec.versoin"');
    expectStatus(await post(cp!.name, '{"apiVersion":'), 400, 'BadRequest');
    // the version rule, judged against what the node runs (v1.13.9) before it is asked
    const upgradesBefore = await upgradeCalls();
    const downgrade = expectStatus(await post(cp!.name, upgradeBody({ version: 'v1.13.2' })), 422, 'Invalid');
    expect(downgrade.details.causes[0].field).toBe('spec.version');
    expect(downgrade.message).toContain('a downgrade is refused unless allowDowngrade is set');
    const tooFar = expectStatus(
      await post(cp!.name, upgradeBody({ version: 'v1.10.9', allowDowngrade: true })),
      422,
      'Invalid',
    );
    expect(tooFar.message).toContain('may go back only as far as Talos 1.11');
    const byImage = expectStatus(
      await post(cp!.name, upgradeBody({ image: 'ghcr.io/siderolabs/installer:v1.99.0' })),
      422,
      'Invalid',
    );
    expect(byImage.details.causes[0].field).toBe('spec.image');
    expect(byImage.message).toContain('Talos 1.99 is not a known release line');
    expect(await upgradeCalls()).toEqual(upgradesBefore);
    expectStatus(await post('missing', upgradeBody({ version: 'v1.13.10' })), 404, 'NotFound');
    expect((await s.request('GET', upgradePath(cp!.name))).status).toBe(405);
    expect(
      (
        await s.request('POST', `${AS_GV}/namespaces/${NS}/adoptedservers/${cp!.name}/health`, {
          body: '{}',
          headers: JSON_HDR,
        })
      ).status,
    ).toBe(405);
    expectStatus(
      await s.request('GET', `${AS_GV}/namespaces/${NS}/adoptedservers/${cp!.name}/nosuch`),
      404,
      'NotFound',
    );
    await ok(s, [
      '-n',
      NS,
      'patch',
      'adoptedserver',
      worker!.name,
      '--type=merge',
      '-p',
      '{"spec":{"accepted":false}}',
    ]);
    try {
      expect(
        expectStatus(await post(worker!.name, upgradeBody({ version: 'v1.13.11' })), 409, 'Conflict').message,
      ).toContain('not accepted');
    } finally {
      await ok(s, [
        '-n',
        NS,
        'patch',
        'adoptedserver',
        worker!.name,
        '--type=merge',
        '-p',
        '{"spec":{"accepted":true}}',
      ]);
    }
    // nothing was started: the nodes still run what they ran
    expect(sim.nodes().find((n) => n.name === cp!.name)!.version).toBe('v1.13.9');
  });
});

describe('kubectl talos (the plugin)', () => {
  it('health prints the report and exits 0 for a healthy node; -o json gives the HealthReport', async () => {
    const cp = sim.nodes()[0]!;
    const r = await talos(['health', `adoptedserver/${cp.name}`, '-n', NS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^adoptedserver/${cp.name}: Healthy\\nCHECK\\s+STATUS\\s+TIME\\s+MESSAGE\\nreachable\\s+Healthy\\s+\\d+ms\\s+Talos v1\\.13\\.9`,
      ),
    );
    expect(r.stdout).toMatch(/etcd-members\s+Healthy/);
    const j = await talos(['health', `as/${cp.name}`, '-n', NS, '-o', 'json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ kind: 'HealthReport', status: 'Healthy' });
  });

  it('health exits 1 for an unhealthy node, and with a clear message for a missing one', async () => {
    const worker = sim.nodes()[2]!;
    await sim.inject(worker.name, 'unhealthy', { service: 'containerd' });
    try {
      const r = await talos(['health', `adoptedserver/${worker.name}`, '-n', NS]);
      expect(r.code).toBe(EXIT.unhealthy);
      expect(r.stdout).toMatch(/service\/containerd\s+Unhealthy/);
    } finally {
      await sim.inject(worker.name, 'heal');
    }
    const missing = await talos(['health', 'adoptedserver/nope', '-n', NS]);
    expect(missing.code).toBe(EXIT.notFound);
    expect(missing.stderr).toBe('Error from server (NotFound): adoptedservers.metal.sidero.dev "nope" not found\n');
    const bad = await talos(['health', 'pod/x', '-n', NS]);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toContain('only adoptedserver/NAME');
  });

  it('health of a node that cannot be reached prints one line: the call, the endpoint and the likely cause', async () => {
    const worker = sim.nodes()[2]!;
    await sim.inject(worker.name, 'stop');
    try {
      const r = await talos(['health', `adoptedserver/${worker.name}`, '-n', NS]);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `Error from server (ServiceUnavailable): Talos node ${worker.endpoint} (Version) is unreachable: connection refused (nothing listens on that port, or a firewall rejects it)\n`,
      );
    } finally {
      await sim.inject(worker.name, 'start');
    }
    await ok(s, ['-n', NS, 'wait', '--for=condition=Ready', `adoptedserver/${worker.name}`, '--timeout=30s']);
  });

  it('kubeconfig writes the admin kubeconfig to a file only its owner can read; a worker is refused', async () => {
    const [cp, worker] = sim.nodes();
    const file = join(tmp.dir, 'admin.kubeconfig');
    const r = await talos(['kubeconfig', `adoptedserver/${cp!.name}`, '-n', NS, '-o', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`wrote the admin kubeconfig of adoptedserver/${cp!.name} to ${file}\n`);
    expect(readFileSync(file, 'utf8')).toMatch(/^kind: Config$/m);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const w = await talos(['kubeconfig', `adoptedserver/${worker!.name}`, '-n', NS]);
    expect(w.code).toBe(EXIT.serverError);
    expect(w.stderr).toMatch(/^Error from server \(BadRequest\): .*worker node/);
  });

  it('upgrade --wait shows the progress and exits 0 once the node runs the new version', async () => {
    const cp = sim.nodes()[0]!;
    const r = await talos([
      'upgrade',
      `adoptedserver/${cp.name}`,
      '-n',
      NS,
      '--to',
      'v1.13.11',
      '--wait',
      '--timeout',
      '60s',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(`^upgrade of adoptedserver/${cp.name} to v1\\.13\\.11 started \\(from v1\\.13\\.9\\)`),
    );
    expect(lines.at(-1)).toMatch(/^\[\s*\d+s\] Completed: the node runs v1\.13\.11 \(was v1\.13\.9\)$/);
    await eventually(
      async () => (sim.nodes().find((n) => n.name === cp.name)!.version === 'v1.13.11' ? true : undefined),
      'the node at v1.13.11',
    );
  });

  it('upgrade refuses a version that is not one, and the plugin honours --context', async () => {
    const r = await talos(['upgrade', 'adoptedserver/x', '-n', NS, '--to', 'newest']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain('is not a Talos version');
    // the server's upgrade rule answers through the plugin: a downgrade, and one too far back
    const cp = sim.nodes().find((n) => n.role === 'controlplane')!;
    const down = await talos(['upgrade', `adoptedserver/${cp.name}`, '-n', NS, '--to', 'v1.13.1']);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toContain('a downgrade is refused unless allowDowngrade is set');
    const far = await talos(['upgrade', `adoptedserver/${cp.name}`, '-n', NS, '--to', 'v1.10.9', '--allow-downgrade']);
    expect(far.code).not.toBe(0);
    expect(far.stderr).toContain('may go back only as far as Talos 1.11');
    const c = await talos(['--context', 'nope', 'health', 'adoptedserver/x']);
    expect(c.code).toBe(EXIT.usage);
    expect(c.stderr).toMatch(/context "nope"/);
  });
});

/** the simulator's record of a node: its version and the last Upgrade call it accepted */
async function simNode(name: string): Promise<{ version: string; lastUpgrade: Record<string, unknown> | null }> {
  const state = (await (await fetch(`${sim.control.url}/state`)).json()) as {
    nodes: { name: string; version: string; lastUpgrade: Record<string, unknown> | null }[];
  };
  return state.nodes.find((n) => n.name === name)!;
}

/** the lines of --wait's progress, as `Phase` per line */
const phasesOf = (stdout: string) =>
  stdout
    .split('\n')
    .map((l) => /^\[\s*\d+s\] (\w+):/.exec(l)?.[1])
    .filter((p): p is string => !!p);

describe('kubectl talos upgrade: downgrades, every phase, the Talos upgrade options', () => {
  it("refuses to take a v1.13.9 node to v1.8.0 (exit 4, the server's message); --allow-downgrade allows a downgrade Talos supports", async () => {
    const node = sim.nodes()[2]!;
    expect((await simNode(node.name)).version).toBe('v1.13.9');
    const before = await upgradeCalls();
    const down = await talos(['upgrade', `adoptedserver/${node.name}`, '-n', NS, '--to', 'v1.8.0']);
    expect(down.code).toBe(EXIT.serverError);
    // the refusal as the server words it (the kind's name aside, which is the API's business)
    expect(down.stderr).toMatch(
      new RegExp(
        `^Error from server \\(Invalid\\): \\S+ "${node.name}" is invalid: spec\\.version: Invalid value: "v1\\.8\\.0": is older than the running v1\\.13\\.9: a downgrade is refused unless allowDowngrade is set\\n$`,
      ),
    );
    const far = await talos(['upgrade', `adoptedserver/${node.name}`, '-n', NS, '--to', 'v1.8.0', '--allow-downgrade']);
    expect(far.code).toBe(EXIT.serverError);
    expect(far.stderr).toContain('a downgrade from v1.13.9 may go back only as far as Talos 1.');
    expect(await upgradeCalls()).toEqual(before);
    expect((await simNode(node.name)).version).toBe('v1.13.9');

    const allowed = await talos([
      'upgrade',
      `adoptedserver/${node.name}`,
      '-n',
      NS,
      '--to',
      'v1.13.2',
      '--allow-downgrade',
      '--wait',
      '--timeout',
      '60s',
    ]);
    expect(allowed.code, allowed.stderr).toBe(EXIT.ok);
    // each phase once, in order: the node went away and came back
    expect([...new Set(phasesOf(allowed.stdout))]).toEqual(['Upgrading', 'Rebooting', 'Completed']);
    expect(allowed.stdout).toMatch(/\] Completed: the node runs v1\.13\.2 \(was v1\.13\.9\)\n$/);
    expect((await simNode(node.name)).version).toBe('v1.13.2');
  });

  it('--image, --preserve and --reboot-mode reach the node as talosctl sends them', async () => {
    const node = sim.nodes()[2]!;
    const image = 'ghcr.io/siderolabs/installer:v1.13.9';
    const r = await talos([
      'upgrade',
      `adoptedserver/${node.name}`,
      '-n',
      NS,
      '--image',
      image,
      '--preserve',
      '--reboot-mode',
      'powercycle',
      '--wait',
      '--timeout',
      '60s',
    ]);
    expect(r.code, r.stderr).toBe(EXIT.ok);
    expect(r.stdout.split('\n')[0]).toMatch(
      new RegExp(`^upgrade of adoptedserver/${node.name} to ${image} started \\(from v1\\.13\\.2\\)`),
    );
    expect([...new Set(phasesOf(r.stdout))]).toEqual(['Upgrading', 'Rebooting', 'Completed']);
    expect(await simNode(node.name)).toMatchObject({
      version: 'v1.13.9',
      lastUpgrade: { image, preserve: true, rebootMode: 'POWERCYCLE', stage: false, force: false },
    });
    // refused before anything is asked: a bad mode, both targets, neither, node options on a cluster
    const mode = await talos([
      'upgrade',
      `adoptedserver/${node.name}`,
      '-n',
      NS,
      '--to',
      'v1.13.10',
      '--reboot-mode',
      'hard',
    ]);
    expect(mode.code).toBe(EXIT.usage);
    expect(mode.stderr).toContain("argument 'hard' is invalid. Allowed choices are default, powercycle.");
    const both = await talos(['upgrade', `adoptedserver/${node.name}`, '-n', NS, '--to', 'v1.13.10', '--image', image]);
    expect(both.code).toBe(EXIT.usage);
    expect(both.stderr).toBe('error: give the target as one of --to VERSION or --image REF (a node)\n');
    expect((await talos(['upgrade', `adoptedserver/${node.name}`, '-n', NS])).code).toBe(EXIT.usage);
    const onCluster = await talos(['upgrade', 'kubernetescluster/any', '-n', NS, '--to', 'v1.13.10', '--preserve']);
    expect(onCluster.code).toBe(EXIT.usage);
    expect(onCluster.stderr).toContain('are for a node (adoptedserver/NAME)');
    expect((await simNode(node.name)).lastUpgrade).toMatchObject({ image });
  });
});

describe('kubectl talos: exit codes', () => {
  it('--help lists them; each outcome has its own', async () => {
    const help = await talos(['--help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain(
      [
        'Exit codes:',
        '  0  done: Healthy, the upgrade completed, no problem found',
        '  1  not Healthy, the upgrade failed, or validate found problems',
        '  2  usage error: a wrong command, flag, value, kubeconfig or context',
        '  3  not found: the server answered NotFound',
        '  4  server error: any other refusal, the server unreachable, or an unexpected failure',
        '  5  --wait ran out of --timeout',
      ].join('\n'),
    );
    const cp = sim.nodes()[0]!;
    expect((await talos(['health', `adoptedserver/${cp.name}`, '-n', NS])).code).toBe(EXIT.ok);
    expect((await talos(['health', `adoptedserver/${cp.name}`, '-n', NS, '--bogus'])).code).toBe(EXIT.usage);
    expect((await talos(['nosuchcommand'])).code).toBe(EXIT.usage);
    expect((await talos(['health', 'adoptedserver/nope', '-n', NS])).code).toBe(EXIT.notFound);
    // a server that cannot be reached: a kubeconfig naming a port nothing listens on
    const closed = await new Promise<number>((resolve) => {
      const l = createServer().listen(0, '127.0.0.1', () => {
        const port = (l.address() as AddressInfo).port;
        l.close(() => resolve(port));
      });
    });
    const dead = tmp.write(
      'dead.kubeconfig',
      readFileSync(s.kubeconfig, 'utf8').replace(/https:\/\/127\.0\.0\.1:\d+/, `https://127.0.0.1:${closed}`),
    );
    const unreachable = await talos(['--kubeconfig', dead, 'health', `adoptedserver/${cp.name}`, '-n', NS]);
    expect(unreachable.code).toBe(EXIT.serverError);
    expect(unreachable.stderr).toMatch(
      /^error: cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/,
    );
    // --wait out of time: the upgrade goes on, the plugin says so and exits 5
    const worker = sim.nodes()[1]!;
    const late = await talos([
      'upgrade',
      `adoptedserver/${worker.name}`,
      '-n',
      NS,
      '--to',
      'v1.13.11',
      '--wait',
      '--timeout',
      '1ms',
    ]);
    expect(late.code).toBe(EXIT.timeout);
    expect(late.stderr).toMatch(
      new RegExp(`^error: the upgrade of adoptedserver/${worker.name} did not finish within 0s`),
    );
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=jsonpath={.status.upgrade.phase}=Completed',
      `adoptedserver/${worker.name}`,
      '--timeout=60s',
    ]);
  });
});

describe('kubectl talos kubeconfig -o FILE', () => {
  it('merges into an existing kubeconfig as talosctl does; --force replaces it; a file that is no kubeconfig is left alone', async () => {
    const cp = sim.nodes()[0]!;
    const file = tmp.write('merged.kubeconfig', readFileSync(s.kubeconfig, 'utf8'), 0o644);
    const mine = parse(readFileSync(s.kubeconfig, 'utf8'));
    const r = await talos(['kubeconfig', `adoptedserver/${cp.name}`, '-n', NS, '-o', file]);
    expect(r.code, r.stderr).toBe(EXIT.ok);
    const fetched = parse(
      await ok(s, ['talos', 'kubeconfig', `adoptedserver/${cp.name}`, '-n', NS], { env: { PATH: pathWithPlugin } }),
    );
    const merged = parse(readFileSync(file, 'utf8'));
    expect(r.stdout).toBe(
      `merged the admin kubeconfig of adoptedserver/${cp.name} into ${file}; current context "${fetched['current-context']}"\n`,
    );
    const names = (l: { name: string }[]) => l.map((e) => e.name);
    expect(names(merged.clusters)).toEqual([...names(mine.clusters), ...names(fetched.clusters)]);
    expect(names(merged.users)).toEqual([...names(mine.users), ...names(fetched.users)]);
    expect(names(merged.contexts)).toEqual([...names(mine.contexts), ...names(fetched.contexts)]);
    expect(merged['current-context']).toBe(fetched['current-context']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // what was there still works: kubectl reaches this server through its context
    expect(
      (await s.kubectl(['--kubeconfig', file, '--context', mine['current-context'], 'get', 'ns', NS, '-o', 'name']))
        .stdout,
    ).toBe(`namespace/${NS}\n`);
    // again: the node hands out a new client certificate each time, so the user and its context
    // are added under new names (the cluster, the same, is reused) and become current
    const again = await talos(['kubeconfig', `adoptedserver/${cp.name}`, '-n', NS, '-o', file]);
    expect(again.code, again.stderr).toBe(EXIT.ok);
    const [user, context] = [fetched.users[0].name, fetched.contexts[0].name];
    expect(again.stdout).toBe(
      `merged the admin kubeconfig of adoptedserver/${cp.name} into ${file} (added user "${user}" as "${user}-1", context "${context}" as "${context}-1": the names were taken); current context "${context}-1"\n`,
    );
    const twice = parse(readFileSync(file, 'utf8'));
    expect(names(twice.clusters)).toEqual(names(merged.clusters));
    expect(names(twice.users)).toEqual([...names(merged.users), `${user}-1`]);
    expect(twice.contexts.at(-1)).toEqual({
      name: `${context}-1`,
      context: { ...fetched.contexts[0].context, user: `${user}-1` },
    });
    expect(twice['current-context']).toBe(`${context}-1`);

    const forced = await talos(['kubeconfig', `adoptedserver/${cp.name}`, '-n', NS, '-o', file, '--force']);
    expect(forced.code, forced.stderr).toBe(EXIT.ok);
    expect(forced.stdout).toBe(`wrote the admin kubeconfig of adoptedserver/${cp.name} to ${file}\n`);
    // the file is now that kubeconfig alone (with the certificate issued for this call)
    const replaced = parse(readFileSync(file, 'utf8'));
    expect(names(replaced.clusters)).toEqual(names(fetched.clusters));
    expect(names(replaced.users)).toEqual(names(fetched.users));
    expect(replaced.contexts).toEqual(fetched.contexts);
    expect(replaced.clusters).toEqual(fetched.clusters);
    expect(replaced['current-context']).toBe(fetched['current-context']);

    const notes = tmp.write('notes.txt', 'kind: Pod\n');
    const refused = await talos(['kubeconfig', `adoptedserver/${cp.name}`, '-n', NS, '-o', notes]);
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toBe(
      `error: cannot merge into ${notes}: the existing file is not a kubeconfig (kind: Config); use --force to replace it\n`,
    );
    expect(readFileSync(notes, 'utf8')).toBe('kind: Pod\n');
  });
});

describe('Management API sync', () => {
  it('registers the cluster and the node, reports status, and unregisters on delete through the finalizer', async () => {
    const worker = sim.nodes()[2]!;
    const extra = `  managementAPI:\n    enabled: true\n    endpoint: "${fake.url}"\n    clusterName: fleet-prod\n    clusterID: 550e8400-e29b-41d4-a716-446655440000\n`;
    await ok(s, ['apply', '-f', '-'], { input: adopted('synced', worker.endpoint, 'worker', extra) });
    await ok(s, ['-n', NS, 'wait', '--for=condition=ManagementAPISync', 'adoptedserver/synced', '--timeout=30s']);
    const obj = await getJSON(s, ['-n', NS, 'adoptedserver', 'synced']);
    expect(obj.metadata.finalizers).toEqual(['adoptedserver.metal.sidero.dev']);
    expect(obj.status.managementAPIStatus).toMatchObject({ synced: true });
    expect(fake.callsTo('PUT', '/api/v1/sidero/clusters/fleet-prod')[0]!.body).toEqual({
      name: 'fleet-prod',
      id: '550e8400-e29b-41d4-a716-446655440000',
    });
    expect(fake.callsTo('PUT', '/api/v1/sidero/clusters/fleet-prod/nodes/synced')).toHaveLength(1);
    expect(fake.callsTo('PATCH', '/api/v1/sidero/sync-status/synced')[0]!.body).toMatchObject({
      name: 'synced',
      namespace: NS,
      connected: true,
      nodeType: 'worker',
    });

    fake.failWith = 500;
    await ok(s, ['-n', NS, 'wait', '--for=condition=ManagementAPISync=false', 'adoptedserver/synced', '--timeout=30s']);
    expect(
      await ok(s, [
        '-n',
        NS,
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=synced,reason=ManagementAPISyncFailed',
        '-o',
        'name',
      ]),
    ).not.toBe('');
    fake.failWith = undefined;

    expect(await ok(s, ['-n', NS, 'delete', 'adoptedserver', 'synced', '--timeout=30s'])).toBe(
      'adoptedserver.metal.sidero.dev "synced" deleted\n',
    );
    expect(fake.callsTo('DELETE', '/api/v1/sidero/server/synced')).toHaveLength(1);
    expect(await getJSON(s, ['-n', NS, 'adoptedserver', 'synced'])).toBeUndefined();
  });

  it('a deletion the Management API holds says so in a condition and a Warning; the release annotation lets go', async () => {
    const worker = sim.nodes()[2]!;
    const extra = `  managementAPI:\n    enabled: true\n    endpoint: "${fake.url}"\n    clusterName: fleet-prod\n`;
    await ok(s, ['apply', '-f', '-'], { input: adopted('held', worker.endpoint, 'worker', extra) });
    await ok(s, ['-n', NS, 'wait', '--for=condition=ManagementAPISync', 'adoptedserver/held', '--timeout=30s']);
    fake.failWith = 500;
    try {
      await ok(s, ['-n', NS, 'delete', 'adoptedserver', 'held', '--wait=false']);
      // by jsonpath: kubectl wait --for=condition=... was never satisfied on an object being deleted here
      await ok(s, [
        '-n',
        NS,
        'wait',
        '--for=jsonpath={.status.conditions[?(@.type=="ManagementAPIUnregistered")].status}=False',
        'adoptedserver/held',
        '--timeout=30s',
      ]);
      const obj = await getJSON(s, ['-n', NS, 'adoptedserver', 'held']);
      expect(obj.metadata.finalizers).toEqual(['adoptedserver.metal.sidero.dev']);
      const held = obj.status.conditions.find((c: any) => c.type === 'ManagementAPIUnregistered');
      expect(held).toMatchObject({ status: 'False', severity: 'Warning', reason: 'WaitingForManagementAPI' });
      expect(held.message).toMatch(
        new RegExp(
          `^deletion waits for the Management API at ${fake.url.replace(/\./g, '\\.')} to unregister the node \\(.+\\)`,
        ),
      );
      expect(held.message).toContain(
        `To delete without it: kubectl annotate adoptedserver held -n ${NS} metal.sidero.dev/release-without-management-api=true`,
      );
      expect(
        await ok(s, [
          '-n',
          NS,
          'get',
          'events',
          '--field-selector',
          'involvedObject.name=held,reason=UnregisterFailed',
          '-o',
          'jsonpath={.items[*].type}: {.items[*].message}',
        ]),
      ).toBe(`Warning: ${held.message}`);

      await ok(s, [
        '-n',
        NS,
        'annotate',
        'adoptedserver',
        'held',
        'metal.sidero.dev/release-without-management-api=true',
      ]);
      await ok(s, ['-n', NS, 'wait', '--for=delete', 'adoptedserver/held', '--timeout=30s']);
      expect(
        await ok(s, [
          '-n',
          NS,
          'get',
          'events',
          '--field-selector',
          'involvedObject.name=held,reason=UnregisterSkipped',
          '-o',
          'jsonpath={.items[*].message}',
        ]),
      ).toBe(
        `annotation metal.sidero.dev/release-without-management-api is set: the node is not unregistered from the Management API at ${fake.url}`,
      );
    } finally {
      fake.failWith = undefined;
    }
  });

  it('does not block deletion on a Management API that can never be reached from here', async () => {
    const extra = '  managementAPI:\n    enabled: true\n    endpoint: "http://192.168.1.50:8090"\n';
    await ok(s, ['apply', '-f', '-'], {
      input: adopted('unreachable-api', sim.nodes()[0]!.endpoint, 'controlplane', extra),
    });
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=jsonpath={.status.conditions[?(@.type=="ManagementAPISync")].reason}=OutboundNotAllowed',
      'adoptedserver/unreachable-api',
      '--timeout=30s',
    ]);
    expect((await getJSON(s, ['-n', NS, 'adoptedserver', 'unreachable-api'])).metadata.finalizers).toEqual([
      'adoptedserver.metal.sidero.dev',
    ]);
    expect(await ok(s, ['-n', NS, 'delete', 'adoptedserver', 'unreachable-api', '--timeout=30s'])).toBe(
      'adoptedserver.metal.sidero.dev "unreachable-api" deleted\n',
    );
    expect(
      await ok(s, [
        '-n',
        NS,
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=unreachable-api,reason=UnregisterSkipped',
        '-o',
        'jsonpath={.items[*].message}',
      ]),
    ).toContain('cannot be reached from here');
  });
});
