// A running cluster deleted with `kubectl delete --cascade=orphan` and created again: the new
// KubernetesCluster adopts the Machines the old one left (the same objects, their names kept, the
// new cluster their controller) and is Ready on the same nodes, which were neither reset nor
// bootstrapped again. Simulated maintenance-mode machines and their provider, real kubectl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cluster,
  clusterNodes,
  exampleCluster,
  expectOneBootstrap,
  readyWith,
  simState,
  startBench,
  stopBench,
  until,
  type Bench,
} from './cluster-helpers.js';
import { getJSON, ok } from './kubectl-helpers.js';

const NS = 'again';
const NAME = 'phoenix';
let b: Bench;

beforeAll(async () => {
  b = await startBench({ nodes: 2, ns: NS });
}, 120_000);

afterAll(async () => {
  await stopBench(b);
});

const machines = async () => (await getJSON(b.server, ['-n', NS, 'machines'])).items as any[];

describe('a cluster created again after --cascade=orphan', () => {
  it('adopts the Machines left behind and is Ready on the same nodes, not reset, bootstrapped once', async () => {
    await ok(b.server, ['-n', NS, 'apply', '-f', '-'], { input: exampleCluster(1, 1, NAME) });
    const first = await readyWith(b, NAME, 1, 1);
    const before = new Map((await machines()).map((m) => [m.metadata.name, m.metadata.uid]));
    expect([...before.keys()].sort()).toEqual([`${NAME}-ctp0`, `${NAME}-wrk0`]);
    const nodesBefore = clusterNodes(b, NAME)
      .map((n) => n.address)
      .sort();

    expect(await ok(b.server, ['-n', NS, 'delete', 'kc', NAME, '--cascade=orphan', '--timeout=60s'])).toBe(
      `kubernetescluster.vitistack.io "${NAME}" deleted\n`,
    );
    await until('the Machines orphaned', async () => {
      const ms = await machines();
      return ms.length === 2 && ms.every((m) => !m.metadata.ownerReferences?.length) ? ms : undefined;
    });

    await ok(b.server, ['-n', NS, 'apply', '-f', '-'], { input: exampleCluster(1, 1, NAME) });
    const again = await readyWith(b, NAME, 1, 1);
    expect(again.metadata.uid).not.toBe(first.metadata.uid);
    expect(again.status.phase).toBe('Ready');
    expect(again.status.conditions.find((c: any) => c.type === 'Valid')).toMatchObject({ status: 'True' });
    const after = await machines();
    expect(after.map((m) => [m.metadata.name, m.metadata.uid]).sort()).toEqual([...before.entries()].sort());
    for (const m of after) {
      expect(m.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'KubernetesCluster', name: NAME, uid: again.metadata.uid, controller: true }),
      ]);
    }
    // the new cluster's own events (the old one's, of the same name, are still there)
    const events = (
      await getJSON(b.server, ['-n', NS, 'events', '--field-selector', `involvedObject.uid=${again.metadata.uid}`])
    ).items.map((e: any) => `${e.reason}: ${e.message}`) as string[];
    expect(events.filter((e) => e.startsWith('Adopted:')).sort()).toEqual([
      `Adopted: Adopted machine: ${NAME}-ctp0`,
      `Adopted: Adopted machine: ${NAME}-wrk0`,
    ]);
    expect(events.some((e) => e.startsWith('SuccessfulCreate:'))).toBe(false);
    // the same nodes run it, none was reset, etcd was bootstrapped once
    expect(
      clusterNodes(b, NAME)
        .map((n) => n.address)
        .sort(),
    ).toEqual(nodesBefore);
    expect(simState(b).nodes.map((n) => n.resets)).toEqual([0, 0]);
    expectOneBootstrap(b);
    expect((await cluster(b, NAME)).status.nodes.map((n: any) => n.machine).sort()).toEqual([
      `${NAME}-ctp0`,
      `${NAME}-wrk0`,
    ]);
  });
});
