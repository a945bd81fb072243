// Failures a cluster meets on its way to Ready, with the simulator's faults: a first control plane
// that goes down when Bootstrap is called, and a worker that refuses its configuration. Each shows
// in the cluster's conditions and Events, naming the Machine, and the cluster recovers once the
// node does, still bootstrapped exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cluster,
  clusterEvents,
  exampleCluster,
  expectOneBootstrap,
  readyWith,
  startBench,
  stopBench,
  until,
  type Bench,
} from './cluster-helpers.js';
import { ok } from './kubectl-helpers.js';

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
    await ok(b.server, ['-n', NS, 'apply', '-f', '-'], { input: exampleCluster(1, 1, NAME) });
    const cp = await until('a node for the control plane', () => b.provider.assignments().get(`${NAME}-ctp0`));
    await b.sim.inject(cp, 'stop-during-bootstrap');
    const wrk = await until('a node for the worker', () => b.provider.assignments().get(`${NAME}-wrk0`));
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
