// kill -9 of the server at the milestones of a cluster's bring-up (the first config applied, the
// bootstrap intent written, the bootstrap completion written), each time started again on the
// same data: exactly one Bootstrap takes effect and the cluster reaches Ready. Then the cluster
// finalizer: a paused cluster has it too, and skip-unreachable-nodes lets a deletion go without
// waiting for a node that is away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server.js';
import {
  cluster,
  clusterEvents,
  exampleCluster,
  expectOneBootstrap,
  readyWith,
  simState,
  startBench,
  stopBench,
  until,
  waitCondition,
  type Bench,
} from './cluster-helpers.js';
import { getJSON, ok, startKubectl } from './kubectl-helpers.js';

const NS = 'restart';
const NAME = 'phoenix';
let b: Bench;

beforeAll(async () => {
  b = await startBench({ nodes: 4, ns: NS, extraArgs: ['--node-unreachable-timeout', '10m'] });
}, 120_000);

afterAll(async () => {
  await stopBench(b);
});

/** kill -9 the moment the status shows `jsonpath`, then start the server again on the same data and port */
async function killWhen(jsonpath: string, pattern: RegExp): Promise<void> {
  const w = startKubectl(b.server, ['-n', NS, 'get', 'kc', NAME, '-w', '-o', `jsonpath={${jsonpath}}{"\\n"}`]);
  try {
    await w.waitFor(pattern, 'stdout', 60_000);
    await b.server.stop('SIGKILL');
  } finally {
    await w.kill();
  }
  b.server = await startServer({ dataDir: b.server.dataDir, args: b.args });
}

describe('kill -9 during bring-up', () => {
  it('at the first config applied, the bootstrap intent and the completion: one Bootstrap took effect, Ready', async () => {
    await ok(b.server, ['-n', NS, 'apply', '-f', '-'], { input: exampleCluster(1, 2, NAME) });
    await killWhen('.status.nodes[*].configHash', /[0-9a-f]{64}/);
    await killWhen('.status.bootstrap.requestedAt', /\d{4}-\d\d-\d\dT/);
    await killWhen('.status.bootstrap.completedAt', /\d{4}-\d\d-\d\dT/);
    await waitCondition(b, NAME, 'Ready', 'True', '90s');
    const kc = await readyWith(b, NAME, 1, 2);
    expect(kc.status.bootstrap).toMatchObject({ machine: `${NAME}-ctp0` });
    expect(kc.status.bootstrap.lastError).toBeUndefined();
    expectOneBootstrap(b);
    const cp = simState(b).nodes.find((n) => n.role === 'controlplane' && n.configured)!;
    expect(cp.bootstrapCalls).toBeGreaterThanOrEqual(1);
    expect(cp.etcdMember).toBe(true);
  });
});

describe('finalized clusters', () => {
  it('a paused (do-not-reconcile) cluster still gets the finalizer, and goes when deleted', async () => {
    const paused = exampleCluster(1, 1, 'paused').replace(
      'metadata:\n',
      'metadata:\n  annotations:\n    upgrade.vitistack.io/do-not-reconcile: "true"\n',
    );
    await ok(b.server, ['-n', NS, 'apply', '-f', '-'], { input: paused });
    await until('the finalizer on the paused cluster', async () =>
      (await cluster(b, 'paused'))?.metadata.finalizers?.includes('kubernetescluster.vitistack.io/finalizer'),
    );
    expect(
      (await getJSON(b.server, ['-n', NS, 'machines', '-l', 'cluster.vitistack.io/cluster-name=paused'])).items,
    ).toEqual([]);
    await ok(b.server, ['-n', NS, 'delete', 'kc', 'paused', '--timeout=30s']);
  });

  it('with skip-unreachable-nodes, a deletion does not wait for a node that cannot be reached', async () => {
    // this bench's unreachable-node timeout is 10 minutes: only the annotation lets the deletion go
    const worker = simState(b).nodes.find((n) => n.role === 'worker' && n.configured)!;
    await b.sim.inject(worker.id, 'stop');
    await ok(b.server, [
      '-n',
      NS,
      'annotate',
      'kc',
      NAME,
      'kubernetescluster.vitistack.io/skip-unreachable-nodes=true',
    ]);
    await ok(b.server, ['-n', NS, 'delete', 'kc', NAME, '--timeout=60s']);
    const events = await clusterEvents(b, NAME);
    expect(events.some((e) => e.startsWith('ResetSkipped:'))).toBe(true);
    expect(events.filter((e) => e.startsWith('NodeReset:'))).toHaveLength(2);
    expect((await getJSON(b.server, ['-n', NS, 'machines'])).items).toEqual([]);
  });
});
