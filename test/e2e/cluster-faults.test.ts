// Failures a cluster meets, with the simulator's faults: a first control plane that goes down when
// Bootstrap is called, and a worker that refuses its configuration. Each shows in the cluster's
// conditions and Events, naming the Machine, and the cluster recovers once the node does, still
// bootstrapped exactly once. Then, after Ready: a config change goes out without a reboot (and a
// refusal is reported), a version change is not applied, a node of another cluster is left alone,
// the last control plane does not leave, and --cascade=orphan keeps the Machines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../hack/talos-sim/simulator.js';
import {
  cluster,
  clusterEvents,
  clusterNodes,
  exampleCluster,
  expectOneBootstrap,
  readyWith,
  startBench,
  stopBench,
  until,
  type Bench,
} from './cluster-helpers.js';
import { getJSON, ok } from './kubectl-helpers.js';

const NS = 'faults';
const NAME = 'faulty';
let b: Bench;

beforeAll(async () => {
  b = await startBench({ nodes: 3, ns: NS });
}, 120_000);

afterAll(async () => {
  await stopBench(b);
});

const conditionOf = async (type: string) =>
  (await cluster(b, NAME))?.status?.conditions?.find((c: any) => c.type === type);

describe('a node that fails', () => {
  it('during bootstrap, and by refusing its configuration, shows in conditions and Events; the cluster recovers', async () => {
    // every free node fails a Bootstrap before the cluster exists: which one becomes the control
    // plane is known only once assigned, and by then the bootstrap may be over (only a control plane
    // is ever asked to bootstrap). The worker's config waits for the bootstrap, so its fault can
    // come once its node is known.
    for (const n of b.sim.nodes()) await b.sim.inject(n.id, 'stop-during-bootstrap');
    await ok(b.server, ['-n', NS, 'apply', '-f', '-'], { input: exampleCluster(1, 1, NAME) });
    const cp = await until('a node for the control plane', () => b.provider.assignments().get(`${NAME}-ctp0`));
    const wrk = await until('a node for the worker', () => b.provider.assignments().get(`${NAME}-wrk0`));
    for (const n of b.sim.nodes()) if (n.id !== cp) await b.sim.inject(n.id, 'heal');
    await b.sim.inject(wrk, 'refuse-config', { message: 'simulated: the install disk /dev/sda is too small' });

    const failed = await until('Bootstrapped=False BootstrapFailed', async () => {
      const c = await conditionOf('Bootstrapped');
      return c?.status === 'False' && c.reason === 'BootstrapFailed' ? c : undefined;
    });
    expect(failed.message).toContain(`${NAME}-ctp0`);
    expect((await cluster(b, NAME)).status.phase).toBe('Bootstrapping');
    expect(
      (await clusterEvents(b, NAME)).some((e) => e.startsWith('BootstrapFailed:') && e.includes(`${NAME}-ctp0`)),
    ).toBe(true);

    await b.sim.inject(cp, 'heal');
    const refused = await until('ConfigApplied=False ApplyFailed', async () => {
      const c = await conditionOf('ConfigApplied');
      return c?.status === 'False' && c.reason === 'ApplyFailed' ? c : undefined;
    });
    expect(refused.message).toContain(`${NAME}-wrk0`);
    expect(refused.message).toContain('the install disk /dev/sda is too small');
    expect((await conditionOf('Bootstrapped'))?.status).toBe('True');
    expect(
      (await clusterEvents(b, NAME)).some((e) => e.startsWith('ConfigRefused:') && e.includes(`${NAME}-wrk0`)),
    ).toBe(true);

    await b.sim.inject(wrk, 'heal');
    await readyWith(b, NAME, 1, 1);
    expectOneBootstrap(b);
  });
});

const machines = async () => (await getJSON(b.server, ['-n', NS, 'machines'])).items as any[];
const hashOf = (m: any) => m.metadata.annotations['talos.vitistack.io/config-hash'];
const nodeOf = async (machine: string) => (await cluster(b, NAME)).status.nodes.find((n: any) => n.machine === machine);
const patchCluster = (ops: unknown[]) =>
  ok(b.server, ['-n', NS, 'patch', 'kc', NAME, '--type=json', `-p=${JSON.stringify(ops)}`]);

describe('changes after Ready', () => {
  it('a config change reaches the nodes without a reboot, control plane first; a node refusing it is reported', async () => {
    const wrk = b.provider.assignments().get(`${NAME}-wrk0`)!;
    await b.sim.inject(wrk, 'refuse-config', { message: 'simulated: this change needs a reboot' });
    const before = Object.fromEntries((await machines()).map((m) => [m.metadata.name, hashOf(m)]));
    await patchCluster([{ op: 'add', path: '/spec/talos/certSANs', value: ['api.faulty.example'] }]);
    const refused = await until('the worker refusing its changed config', async () => {
      const c = await conditionOf('ConfigApplied');
      return c?.reason === 'ApplyFailed' ? c : undefined;
    });
    expect(refused.message).toContain(`${NAME}-wrk0`);
    expect(refused.message).toContain('this change needs a reboot');
    // the control plane took its change first
    const cpMachine = (await machines()).find((m) => m.metadata.name === `${NAME}-ctp0`);
    expect(hashOf(cpMachine)).not.toBe(before[`${NAME}-ctp0`]);
    expect((await nodeOf(`${NAME}-ctp0`)).configHash).toBe(hashOf(cpMachine));
    expect((await nodeOf(`${NAME}-wrk0`)).configHash).toBe(before[`${NAME}-wrk0`]);
    await b.sim.inject(wrk, 'heal');
    const kc = await readyWith(b, NAME, 1, 1);
    for (const m of await machines())
      expect(kc.status.nodes.find((n: any) => n.machine === m.metadata.name).configHash).toBe(hashOf(m));
    const applied = (await clusterEvents(b, NAME)).filter((e) => /ConfigApplied: .*without a reboot/.test(e));
    expect(applied.some((e) => e.includes(`${NAME}-ctp0`)) && applied.some((e) => e.includes(`${NAME}-wrk0`))).toBe(
      true,
    );
  });

  it('a Talos version change is rolled out as an upgrade (a downgrade only when allowed), not applied as a config', async () => {
    // a downgrade is refused at the write (the upgrade rule), and nothing is stored
    const generation = (await cluster(b, NAME)).metadata.generation;
    const refused = await b.server.kubectl([
      '-n',
      NS,
      'patch',
      'kc',
      NAME,
      '--type=json',
      `-p=${JSON.stringify([{ op: 'add', path: '/spec/talos/version', value: 'v1.13.8' }])}`,
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('spec.talos.version');
    expect(refused.stderr).toContain('a downgrade is refused unless allowDowngrade is set');
    expect((await cluster(b, NAME)).metadata.generation).toBe(generation);
    await patchCluster([
      { op: 'add', path: '/spec/upgradeStrategy', value: { allowDowngrade: true } },
      { op: 'add', path: '/spec/talos/version', value: 'v1.13.8' },
    ]);
    const rolledTo = (to: string) => {
      let seen = '';
      return until(
        () => `the rollout to ${to} (last seen: ${seen})`,
        async () => {
          const kc = await cluster(b, NAME);
          seen = JSON.stringify([kc.status.upgrade, kc.status.conditions]);
          return kc.status.upgrade?.to === to && kc.status.upgrade.finishedAt ? kc : undefined;
        },
        30_000,
      );
    };
    await rolledTo('v1.13.8');
    for (const n of clusterNodes(b, NAME)) expect(n.version).toBe('v1.13.8');
    await patchCluster([
      { op: 'remove', path: '/spec/talos/version' },
      { op: 'remove', path: '/spec/upgradeStrategy' },
    ]);
    await rolledTo('v1.13.9');
    await readyWith(b, NAME, 1, 1);
  });

  it('a node configured for another cluster is left alone, with a condition and an Event', async () => {
    const other = await startSimulator({ nodes: 1, talosPort: b.sim.port, rebootMs: 100 });
    try {
      const foreign = other.nodes()[0]!;
      const configBefore = JSON.stringify((other.state() as any).nodes[0].config);
      const wrk0 = (await machines()).find((m) => m.metadata.name === `${NAME}-wrk0`);
      const own = wrk0.status.publicIPAddresses;
      const point = (addresses: string[]) =>
        ok(b.server, [
          '-n',
          NS,
          'patch',
          'machine',
          `${NAME}-wrk0`,
          '--subresource=status',
          '--type=merge',
          `-p=${JSON.stringify({ status: { publicIPAddresses: addresses } })}`,
        ]);
      await point([foreign.address]);
      const c = await until('NodeConfiguredElsewhere', async () => {
        const x = await conditionOf('ConfigApplied');
        return x?.reason === 'NodeConfiguredElsewhere' ? x : undefined;
      });
      expect(c.message).toContain(`${NAME}-wrk0`);
      expect((await nodeOf(`${NAME}-wrk0`)).state).toBe('ConfiguredElsewhere');
      expect(
        (await clusterEvents(b, NAME)).some(
          (e) => e.startsWith('NodeConfiguredElsewhere:') && e.includes(`${NAME}-wrk0`),
        ),
      ).toBe(true);
      await until("the Machine's Ready condition to say so", async () => {
        const m = (await machines()).find((x) => x.metadata.name === `${NAME}-wrk0`);
        return m.status.conditions?.find((x: any) => x.type === 'Ready')?.reason === 'ConfiguredElsewhere' || undefined;
      });
      // nothing was applied to it
      expect(JSON.stringify((other.state() as any).nodes[0].config)).toBe(configBefore);
      await point(own);
      await readyWith(b, NAME, 1, 1);
    } finally {
      await other.stop();
    }
  });
});

describe('the last control plane', () => {
  it('does not leave: its Machine waits, saying why', async () => {
    await ok(b.server, ['-n', NS, 'delete', 'machine', `${NAME}-ctp0`, '--wait=false']);
    const waiting = await until('LeaveWaiting', async () =>
      (await clusterEvents(b, NAME)).find((e) => e.startsWith('LeaveWaiting:') && e.includes(`${NAME}-ctp0`)),
    );
    expect(waiting).toContain("the cluster's last control plane");
    const m = (await machines()).find((x) => x.metadata.name === `${NAME}-ctp0`);
    expect(m.metadata.deletionTimestamp).toBeDefined();
    expect(m.metadata.finalizers).toContain('kubernetescluster.vitistack.io/node-leave');
    expect(clusterNodes(b, NAME).find((n) => n.role === 'controlplane')?.etcdMember).toBe(true);
    expect((await conditionOf('MachinesReady'))?.reason).toBe('NodesLeaving');
  });

  it('--cascade=orphan deletes the cluster and keeps its Machines and nodes', async () => {
    await ok(b.server, ['-n', NS, 'delete', 'kc', NAME, '--cascade=orphan', '--timeout=60s']);
    const left = await until('the worker Machine orphaned', async () => {
      const ms = await machines();
      return ms.length === 1 && !ms[0].metadata.ownerReferences?.length ? ms : undefined;
    });
    expect(left[0].metadata.name).toBe(`${NAME}-wrk0`);
    expect(left[0].metadata.finalizers ?? []).not.toContain('kubernetescluster.vitistack.io/node-leave');
    expect(clusterNodes(b, NAME).map((n) => n.role)).toContain('worker');
    expect(await clusterEvents(b, NAME)).toEqual(expect.arrayContaining([expect.stringMatching(/^Orphaned:/)]));
  });
});
