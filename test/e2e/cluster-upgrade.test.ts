// A rolling Talos upgrade of a 3+3 cluster driven by spec.talos.version, with the simulator's
// machines: control planes one at a time, workers spec.upgradeStrategy.maxUnavailable at a time
// (the simulator counts the most nodes down at once per role, and every Upgrade call per node),
// every node ends at the target; then a second rollout survives a kill -9 of the server mid-way:
// it resumes from status.upgrade and no finished node is asked again.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server.js';
import {
  cluster,
  clusterEvents,
  exampleCluster,
  readyWith,
  simState,
  startBench,
  stopBench,
  until,
  type Bench,
} from './cluster-helpers.js';
import { ok, pluginOnPath, startKubectl, tempDir } from './kubectl-helpers.js';

const NS = 'upgrades';
const NAME = 'rolling';
let b: Bench;
/** where kubectl finds kubectl-talos, as `npm link` puts it on PATH */
const pluginDir = tempDir();

beforeAll(async () => {
  b = await startBench({ nodes: 6, ns: NS, extraArgs: ['--upgrade-node-timeout', '5s'] });
  await ok(b.server, ['-n', NS, 'apply', '-f', '-'], { input: exampleCluster(3, 3, NAME) });
  await readyWith(b, NAME, 3, 3);
}, 180_000);

afterAll(async () => {
  await stopBench(b);
  pluginDir.remove();
});

const ours = () => simState(b).nodes.filter((n) => n.clusterName === NAME && n.configured);
const patchCluster = (ops: unknown[]) =>
  ok(b.server, ['-n', NS, 'patch', 'kc', NAME, '--type=json', `-p=${JSON.stringify(ops)}`]);
const finished = (to: string) => {
  let seen = '';
  return until(
    () => `the rollout to ${to} finished (last seen: ${seen})`,
    async () => {
      const kc = await cluster(b, NAME);
      const u = kc?.status?.upgrade;
      seen = JSON.stringify({ upgrade: u, conditions: kc?.status?.conditions, nodes: kc?.status?.nodes });
      return u?.to === to && u.finishedAt ? u : undefined;
    },
    40_000,
  );
};

describe('a rolling Talos upgrade', { timeout: 90_000 }, () => {
  it('goes control planes first one at a time, workers maxUnavailable at a time, and ends with every node at the target', async () => {
    const before = Object.fromEntries(ours().map((n) => [n.name, n.upgrades]));
    expect(Object.keys(before)).toHaveLength(6);
    b.sim.fleet.trackDowntime();
    await patchCluster([{ op: 'add', path: '/spec/talos/version', value: 'v1.13.10' }]);
    const u = await finished('v1.13.10');
    expect(u).toMatchObject({ kind: 'Talos', from: 'v1.13.9', to: 'v1.13.10' });
    expect(u.image).toBe('ghcr.io/siderolabs/installer:v1.13.10');
    expect(u.nodes.map((n: any) => n.phase)).toEqual(Array(6).fill('done'));
    // control planes are listed (and went) first
    expect(u.nodes.slice(0, 3).every((n: any) => n.role === 'controlplane')).toBe(true);
    const cpFinished = u.nodes.slice(0, 3).map((n: any) => Date.parse(n.finishedAt));
    const workersAsked = u.nodes.slice(3).map((n: any) => Date.parse(n.requestedAt));
    expect(Math.min(...workersAsked)).toBeGreaterThanOrEqual(Math.max(...cpFinished));
    for (let i = 1; i < 3; i++)
      expect(Date.parse(u.nodes[i].requestedAt)).toBeGreaterThanOrEqual(Date.parse(u.nodes[i - 1].finishedAt));
    const state = simState(b);
    expect(state.maxDownByRole.controlplane).toBe(1);
    expect(state.maxDownByRole.worker).toBe(1);
    for (const n of ours()) {
      expect(n.version).toBe('v1.13.10');
      expect(n.upgrades).toBe(before[n.name]! + 1);
    }
    const kc = await readyWith(b, NAME, 3, 3);
    expect(kc.status.conditions.find((c: any) => c.type === 'Upgrading')).toMatchObject({
      status: 'False',
      reason: 'Completed',
      message: 'Talos v1.13.9 -> v1.13.10: 6/6 nodes done',
    });
    const events = await clusterEvents(b, NAME);
    expect(events.filter((e) => e.startsWith('UpgradeNodeDone:'))).toHaveLength(6);
    expect(events.some((e) => e.startsWith('UpgradeCompleted:'))).toBe(true);
  });

  it('resumes after kill -9 mid-rollout from status, never asking a finished node again', async () => {
    const before = Object.fromEntries(ours().map((n) => [n.name, n.upgrades]));
    await patchCluster([{ op: 'replace', path: '/spec/talos/version', value: 'v1.13.11' }]);
    const w = startKubectl(b.server, [
      '-n',
      NS,
      'get',
      'kc',
      NAME,
      '-w',
      '-o',
      'jsonpath={.status.upgrade.nodes[*].phase}{"\\n"}',
    ]);
    try {
      // a worker being upgraded: the control planes are done by then
      await w.waitFor(/done done done (done )*upgrading/, 'stdout', 60_000);
      await b.server.stop('SIGKILL');
    } finally {
      await w.kill();
    }
    b.server = await startServer({ dataDir: b.server.dataDir, args: b.args });
    const u = await finished('v1.13.11');
    expect(u.nodes.map((n: any) => n.phase)).toEqual(Array(6).fill('done'));
    for (const n of ours()) {
      expect(n.version).toBe('v1.13.11');
      expect(n.upgrades).toBe(before[n.name]! + 1);
    }
    await readyWith(b, NAME, 3, 3);
  });

  it('stops on a node that fails its upgrade, touching nothing else, until the user retries or skips it', async () => {
    const wrk1 = ours().find((n) => n.name === `${NAME}-wrk1`)!;
    await b.sim.inject(wrk1.id, 'fail-upgrade');
    const before = Object.fromEntries(ours().map((n) => [n.name, n.upgrades]));
    await patchCluster([{ op: 'replace', path: '/spec/talos/version', value: 'v1.13.12' }]);
    const stopped = await until('the rollout stopped on wrk1', async () => {
      const kc = await cluster(b, NAME);
      const c = kc?.status?.conditions?.find((x: any) => x.type === 'Upgrading');
      return c?.reason === 'UpgradeFailed' ? kc : undefined;
    });
    const upgrading = stopped.status.conditions.find((x: any) => x.type === 'Upgrading');
    // back so fast that it was never seen away: the bounded wait judges it, naming what it runs
    expect(upgrading.message).toMatch(
      new RegExp(
        `${NAME}-wrk1: (came back at v1.13.11, not v1.13.12|not back at v1.13.12 and healthy within 5000ms \\(runs v1.13.11, not v1.13.12\\))`,
      ),
    );
    expect(upgrading.message).toContain('4/6 nodes done');
    const phases = Object.fromEntries(stopped.status.upgrade.nodes.map((n: any) => [n.machine, n.phase]));
    expect(phases[`${NAME}-wrk1`]).toBe('failed');
    expect(phases[`${NAME}-wrk2`]).toBe('pending');
    expect((await clusterEvents(b, NAME)).some((e) => e.startsWith('UpgradeStopped:') && e.includes('wrk1'))).toBe(
      true,
    );
    // nothing moves while it is stopped: wrk1 is not asked again, wrk2 not at all
    await until('a few more rounds of the stopped rollout', async () => {
      const kc = await cluster(b, NAME);
      const at = Date.parse(kc.status.conditions.find((x: any) => x.type === 'Upgrading').lastTransitionTime);
      return Date.now() - at > 1500 ? true : undefined;
    });
    let counts = Object.fromEntries(ours().map((n) => [n.name, n.upgrades]));
    expect(counts[`${NAME}-wrk1`]).toBe(before[`${NAME}-wrk1`]! + 1);
    expect(counts[`${NAME}-wrk2`]).toBe(before[`${NAME}-wrk2`]);

    // retry: the node is asked again (and, healed, gets there); the annotation is consumed
    await b.sim.inject(wrk1.id, 'heal');
    await ok(b.server, ['-n', NS, 'annotate', 'kc', NAME, 'upgrade.vitistack.io/retry-failed-nodes=true']);
    const u = await finished('v1.13.12');
    expect(u.nodes.map((n: any) => n.phase)).toEqual(Array(6).fill('done'));
    expect(u.nodes.find((n: any) => n.machine === `${NAME}-wrk1`).attempts).toBe(2);
    expect((await cluster(b, NAME)).metadata.annotations?.['upgrade.vitistack.io/retry-failed-nodes']).toBeUndefined();
    counts = Object.fromEntries(ours().map((n) => [n.name, n.upgrades]));
    expect(counts[`${NAME}-wrk1`]).toBe(before[`${NAME}-wrk1`]! + 2);

    // skip: the next rollout leaves the failing node at its version and finishes
    const wrk2 = ours().find((n) => n.name === `${NAME}-wrk2`)!;
    await b.sim.inject(wrk2.id, 'fail-upgrade');
    try {
      await patchCluster([{ op: 'replace', path: '/spec/talos/version', value: 'v1.13.13' }]);
      await until('the rollout stopped on wrk2', async () => {
        const u = (await cluster(b, NAME))?.status?.upgrade;
        return u?.to === 'v1.13.13' && u.nodes.some((n: any) => n.phase === 'failed') ? u : undefined;
      });
      await ok(b.server, ['-n', NS, 'annotate', 'kc', NAME, 'upgrade.vitistack.io/skip-failed-nodes=true']);
      const skipped = await finished('v1.13.13');
      expect(skipped.nodes.find((n: any) => n.machine === `${NAME}-wrk2`).phase).toBe('skipped');
      expect(ours().find((n) => n.name === `${NAME}-wrk2`)!.version).toBe('v1.13.12');
      expect((await clusterEvents(b, NAME)).some((e) => e.startsWith('UpgradeNodeSkipped:'))).toBe(true);
    } finally {
      await b.sim.inject(wrk2.id, 'heal');
    }
  });

  it('the talos-operator target annotation drives the same rollout; a refused target changes nothing', async () => {
    const before = await cluster(b, NAME);
    const refused = await b.server.kubectl([
      '-n',
      NS,
      'annotate',
      'kc',
      NAME,
      'upgrade.vitistack.io/talos-target=v1.13.1',
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('a downgrade is refused unless allowDowngrade is set');
    const unchanged = await cluster(b, NAME);
    expect(unchanged.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    await ok(b.server, ['-n', NS, 'annotate', 'kc', NAME, 'upgrade.vitistack.io/talos-target=v1.13.14']);
    const kc = await cluster(b, NAME);
    expect(kc.spec.talos.version).toBe('v1.13.14');
    expect(kc.metadata.annotations?.['upgrade.vitistack.io/talos-target']).toBeUndefined();
    const u = await finished('v1.13.14');
    expect(u.nodes.map((n: any) => n.phase)).toEqual(Array(6).fill('done'));
    for (const n of ours()) expect(n.version).toBe('v1.13.14');
  });

  it('POST kubernetesclusters/NAME/upgrade records the target as the spec change: a refused downgrade changes nothing, an allowed one rolls back', async () => {
    const path = `/apis/vitistack.io/v1alpha1/namespaces/${NS}/kubernetesclusters/${NAME}/upgrade`;
    const post = (spec: Record<string, unknown>) =>
      b.server.kubectl(['create', '--raw', path, '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'vitistack.io/v1alpha1', kind: 'UpgradeRequest', spec }),
      });
    const before = await cluster(b, NAME);
    const refused = await post({ talosVersion: 'v1.13.12' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('a downgrade is refused unless allowDowngrade is set');
    expect((await cluster(b, NAME)).metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    const beforeUpgrades = Object.fromEntries(ours().map((n) => [n.name, n.upgrades]));
    b.sim.fleet.trackDowntime();
    const accepted = await post({ talosVersion: 'v1.13.12', maxUnavailable: 2, allowDowngrade: true });
    expect(accepted.code).toBe(0);
    const answer = JSON.parse(accepted.stdout);
    expect(answer).toMatchObject({
      kind: 'UpgradeRequest',
      spec: { talosVersion: 'v1.13.12', strategy: 'Rolling', maxUnavailable: 2, allowDowngrade: true },
      status: { phase: 'Recorded', fromTalosVersion: 'v1.13.14' },
    });
    const kc = await cluster(b, NAME);
    expect(kc.spec.talos.version).toBe('v1.13.12');
    expect(kc.spec.upgradeStrategy).toMatchObject({ maxUnavailable: 2, allowDowngrade: true });
    const u = await finished('v1.13.12');
    expect(u).toMatchObject({ kind: 'Talos', from: 'v1.13.14', to: 'v1.13.12' });
    expect(u.nodes.map((n: any) => n.phase)).toEqual(Array(6).fill('done'));
    const state = simState(b);
    expect(state.maxDownByRole.controlplane).toBe(1);
    expect(state.maxDownByRole.worker).toBeLessThanOrEqual(2);
    for (const n of ours()) {
      expect(n.version).toBe('v1.13.12');
      expect(n.upgrades).toBe(beforeUpgrades[n.name]! + 1);
    }
  });

  it('kubectl talos upgrade kubernetescluster/NAME: --wait follows each node to done (exit 0), names a failed node (exit 1), and the rule refuses a downgrade', async () => {
    const path = pluginOnPath(pluginDir.dir);
    const talos = (args: string[]) => b.server.kubectl(['talos', '-n', NS, ...args], { env: { PATH: path } });

    const refused = await talos(['upgrade', `kubernetescluster/${NAME}`, '--to', 'v1.13.11']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('a downgrade is refused unless allowDowngrade is set');
    expect((await cluster(b, NAME)).spec.talos.version).toBe('v1.13.12');

    const done = await talos([
      'upgrade',
      `kc/${NAME}`,
      '--to',
      'v1.13.13',
      '--max-unavailable',
      '1',
      '--wait',
      '--timeout',
      '60s',
    ]);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    for (const n of ours()) {
      expect(n.version).toBe('v1.13.13');
      expect(done.stdout).toMatch(new RegExp(`${n.name} \\((controlplane|worker)\\) done`));
    }
    expect(done.stdout).toContain('every node runs Talos v1.13.13');
    expect((await cluster(b, NAME)).spec.upgradeStrategy).toMatchObject({ maxUnavailable: 1 });

    const wrk1 = ours().find((n) => n.name === `${NAME}-wrk1`)!;
    await b.sim.inject(wrk1.id, 'fail-upgrade');
    try {
      const failed = await talos(['upgrade', `kc/${NAME}`, '--to', 'v1.13.14', '--wait', '--timeout', '60s']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain(`stopped on a failed node (${NAME}-wrk1:`);
      expect(failed.stdout).toContain(`${NAME}-wrk1 (worker) failed`);
      await ok(b.server, ['-n', NS, 'annotate', 'kc', NAME, 'upgrade.vitistack.io/skip-failed-nodes=true']);
      const skipped = await finished('v1.13.14');
      expect(skipped.nodes.find((n: any) => n.machine === `${NAME}-wrk1`).phase).toBe('skipped');
    } finally {
      await b.sim.inject(wrk1.id, 'heal');
    }
  });
});

describe('a Kubernetes upgrade', { timeout: 90_000 }, () => {
  const versions = (v: string) => [
    { op: 'replace', path: '/spec/topology/version', value: v },
    { op: 'replace', path: '/spec/topology/controlplane/version', value: v },
    { op: 'replace', path: '/spec/topology/workers/0/version', value: v },
  ];
  const kubernetesRollout = (to: string, done: (u: any) => boolean, what: string) => {
    let seen = '';
    return until(
      () => `the Kubernetes rollout to ${to} ${what} (last seen: ${seen})`,
      async () => {
        const kc = await cluster(b, NAME);
        const u = kc?.status?.upgrade;
        seen = JSON.stringify({ upgrade: u, conditions: kc?.status?.conditions });
        return u?.kind === 'Kubernetes' && u.to === to && done(u) ? { u, kc } : undefined;
      },
      40_000,
    );
  };
  const annotation = (kc: any, key: string) => kc.metadata.annotations?.[`upgrade.vitistack.io/${key}`];
  const changesSince = (from: number, to: string) =>
    simState(b)
      .kubernetesChanges.slice(from)
      .filter((c) => c.to === to);
  const cps = [0, 1, 2].map((i) => `${NAME}-ctp${i}`);
  const workers = [0, 1, 2].map((i) => `${NAME}-wrk${i}`);

  it('walks the control planes (components, one at a time), then the kubelets (control planes, then workers), without a reboot; each node reports the new versions', async () => {
    const before = await cluster(b, NAME);
    // more than one minor at a time is refused by the rule, and changes nothing
    const refused = await b.server.kubectl([
      '-n',
      NS,
      'patch',
      'kc',
      NAME,
      '--type=json',
      `-p=${JSON.stringify(versions('1.35.0'))}`,
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('spec.topology.version');
    const after = await cluster(b, NAME);
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.spec.topology.version).toBe(before.spec.topology.version);

    const logFrom = simState(b).kubernetesChanges.length;
    const upgradesBefore = Object.fromEntries(ours().map((n) => [n.name, n.upgrades]));
    b.sim.fleet.trackDowntime();
    await patchCluster(versions('1.34.1'));
    const { u, kc } = await kubernetesRollout('1.34.1', (x) => !!x.finishedAt, 'finished');
    expect(u).toMatchObject({ kind: 'Kubernetes', from: '1.33.6', to: '1.34.1' });
    expect(u.nodes.map((n: any) => n.phase)).toEqual(Array(6).fill('done'));
    for (const n of ours()) {
      expect(n.kubernetes.kubelet).toBe('1.34.1');
      if (n.role === 'controlplane')
        expect(n.kubernetes).toMatchObject({ apiServer: '1.34.1', controllerManager: '1.34.1', scheduler: '1.34.1' });
      expect(n.upgrades).toBe(upgradesBefore[n.name]); // no Talos upgrade, no reboot
    }
    expect(Math.max(0, ...Object.values(simState(b).maxDownByRole))).toBe(0);

    // the order, from the nodes' own reports: each control plane's components in turn, then every
    // kubelet, control planes first
    const log = changesSince(logFrom, '1.34.1');
    const components = log.filter((c) => c.component !== 'kubelet');
    const kubelets = log.filter((c) => c.component === 'kubelet');
    expect(components).toHaveLength(9);
    expect(kubelets.map((c) => c.node)).toEqual([...cps, ...workers.filter((w) => kubelets.some((c) => c.node === w))]);
    expect(kubelets).toHaveLength(6);
    expect(log.indexOf(components.at(-1)!)).toBeLessThan(log.indexOf(kubelets[0]!));
    const cpOrder = components.map((c) => c.node).filter((n, i, all) => i === 0 || all[i - 1] !== n);
    expect(cpOrder).toEqual(cps);

    expect(kc.status.conditions.find((c: any) => c.type === 'Upgrading')).toMatchObject({
      status: 'False',
      reason: 'Completed',
      message: 'Kubernetes 1.33.6 -> 1.34.1: 6/6 nodes done',
    });
    await until('the operator annotations say completed', async () => {
      const now = await cluster(b, NAME);
      return annotation(now, 'kubernetes-status') === 'completed' &&
        annotation(now, 'kubernetes-progress') === '6/6' &&
        annotation(now, 'kubernetes-current') === '1.34.1'
        ? true
        : undefined;
    });
    const events = await clusterEvents(b, NAME);
    expect(
      events.filter((e) => e.startsWith('UpgradeNodeComponentsDone:')),
      events.join('\n'),
    ).toHaveLength(3);
    await readyWith(b, NAME, 3, 3);
  });

  it('a node whose new kubelet does not come up stops the rollout there; resume is refused while it is still failed, and goes on once it is put right', async () => {
    const wrk1 = ours().find((n) => n.name === `${NAME}-wrk1`)!;
    await b.sim.inject(wrk1.id, 'fail-kubernetes-upgrade');
    const logFrom = simState(b).kubernetesChanges.length;
    // the talos-operator's annotation drives it: copied into the spec, removed
    await ok(b.server, ['-n', NS, 'annotate', 'kc', NAME, 'upgrade.vitistack.io/kubernetes-target=1.35.0']);
    const annotated = await cluster(b, NAME);
    expect(annotated.spec.topology).toMatchObject({ version: '1.35.0', controlplane: { version: '1.35.0' } });
    expect(annotated.spec.topology.workers[0].version).toBe('1.35.0');
    expect(annotation(annotated, 'kubernetes-target')).toBeUndefined();
    const { u, kc } = await kubernetesRollout(
      '1.35.0',
      (x) => x.nodes.some((n: any) => n.phase === 'failed'),
      'stopped',
    );
    const phase = Object.fromEntries(u.nodes.map((n: any) => [n.machine, n.phase]));
    expect(phase[`${NAME}-wrk1`]).toBe('failed');
    expect(phase[`${NAME}-wrk2`]).toBe('pending');
    expect(u.nodes.find((n: any) => n.machine === `${NAME}-wrk1`).message).toMatch(/kubelet 1\.35\.0 is unhealthy/);
    expect(kc.status.conditions.find((c: any) => c.type === 'Upgrading')).toMatchObject({ reason: 'UpgradeFailed' });
    await until('the operator annotations say failed', async () => {
      const now = await cluster(b, NAME);
      return annotation(now, 'kubernetes-status') === 'failed' && annotation(now, 'failed-nodes') === `${NAME}-wrk1`
        ? true
        : undefined;
    });
    // nothing after the failed node is touched
    expect(changesSince(logFrom, '1.35.0').some((c) => c.node === `${NAME}-wrk2`)).toBe(false);

    // resume while it is still failing: refused (it is never asked again), the annotation consumed
    await ok(b.server, ['-n', NS, 'annotate', 'kc', NAME, 'upgrade.vitistack.io/resume=true']);
    await until('resume consumed', async () => {
      const now = await cluster(b, NAME);
      return annotation(now, 'resume') === undefined ? true : undefined;
    });
    expect((await clusterEvents(b, NAME)).some((e) => e.startsWith('UpgradeResumeRefused:'))).toBe(true);
    expect((await cluster(b, NAME)).status.upgrade.nodes.find((n: any) => n.machine === `${NAME}-wrk1`).phase).toBe(
      'failed',
    );

    // put right (here: the fault cleared), resume counts it done and the rollout goes on
    await b.sim.inject(wrk1.id, 'heal');
    await ok(b.server, ['-n', NS, 'annotate', 'kc', NAME, 'upgrade.vitistack.io/resume=true']);
    const { u: finished } = await kubernetesRollout('1.35.0', (x) => !!x.finishedAt, 'finished');
    expect(finished.nodes.map((n: any) => n.phase)).toEqual(Array(6).fill('done'));
    expect(finished.nodes.find((n: any) => n.machine === `${NAME}-wrk1`).attempts).toBe(1);
    for (const n of ours()) expect(n.kubernetes.kubelet).toBe('1.35.0');
  });

  it('kubectl talos upgrade --kubernetes --wait follows the Kubernetes rollout per node and step to the end', async () => {
    const bin = join(pluginDir.dir, 'bin');
    const talos = (args: string[]) =>
      b.server.kubectl(['talos', '-n', NS, ...args], { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } });
    const done = await talos([
      'upgrade',
      `kc/${NAME}`,
      '--to',
      'v1.13.14',
      '--kubernetes',
      '1.36.0',
      '--wait',
      '--timeout',
      '60s',
    ]);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('Kubernetes 1.35.0 -> 1.36.0');
    expect(done.stdout).toMatch(new RegExp(`${NAME}-ctp0 \\(controlplane\\) upgrading \\(components\\)`));
    expect(done.stdout).toMatch(new RegExp(`${NAME}-wrk2 \\(worker\\) done \\(kubelet\\)`));
    expect(done.stdout).toContain('every node runs Talos v1.13.14 and Kubernetes 1.36.0');
    for (const n of ours()) expect(n.kubernetes.kubelet).toBe('1.36.0');
  });
});
