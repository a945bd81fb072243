// What a leave and a deletion keep in the status lets a restarted server resume them exactly: kill -9
// the moment a node's reset is recorded (status.nodes[].resetAt), with that node kept off the network
// from then on (a reboot that takes long), start again on the same data: the reset under way is
// waited for as such (not reported unreachable or skipped, not sent again), the operation completes
// and no node is reset twice. And etcd's safety on scale-down: a control
// plane leave that would break quorum is refused, the Machine waiting and saying why, until the
// stopped control plane is back; an unreachable control plane's member is removed through another
// control plane, its Machine goes and an Event says its node was not reset. One bring-up, in order.
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
import { getJSON, ok, startKubectl } from './kubectl-helpers.js';

const NS = 'resume';
const NAME = 'resumer';
let b: Bench;

beforeAll(async () => {
  // a reboot of 300 ms leaves time to stop a node whose reset was just recorded, before it is back
  b = await startBench({ nodes: 7, ns: NS, rebootMs: 300 });
}, 120_000);

afterAll(async () => {
  await stopBench(b);
});

const kubectl = (args: string[]) => ok(b.server, ['-n', NS, ...args]);
const patchReplicas = (path: string, value: number) =>
  kubectl(['patch', 'kc', NAME, '--type=json', `-p=[{"op":"replace","path":"${path}","value":${value}}]`]);
const CPS = '/spec/topology/controlplane/replicas';
const WORKERS = '/spec/topology/workers/0/replicas';

/** resets per node address, as the simulator counts them */
const resets = () => new Map(simState(b).nodes.map((n) => [n.address, n.resets]));
/** how many times each node was reset since `before` (only nodes reset at all) */
function resetsSince(before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [address, n] of resets())
    if (n !== (before.get(address) ?? 0)) out[address] = n - (before.get(address) ?? 0);
  return out;
}

async function machine(name: string): Promise<any> {
  const list = await getJSON(b.server, ['-n', NS, 'machines']);
  return list.items.find((m: any) => m.metadata.name === name);
}
const addressOf = (m: any): string => m.status.publicIPAddresses[0];
const simNode = (address: string) => simState(b).nodes.find((n) => n.address === address)!;

const RESET_AT = /(\S+)=\d{4}-\d\d-\d\dT/;

/**
 * The moment the status records a node's reset, that node is stopped (its reset goes on, but it is
 * not seen again until started) and the server is killed with -9 and started again on the same
 * data and port; resolves to the Machine whose reset was seen. `addresses` has each Machine's node,
 * read before: the node reboots within a few hundred ms, so there is no time to look it up then.
 */
async function killAtFirstReset(addresses: Record<string, string>): Promise<{ machine: string; address: string }> {
  const jsonpath = '{range .status.nodes[*]}{.machine}={.resetAt} {end}{"\\n"}';
  const watch = () => startKubectl(b.server, ['-n', NS, 'get', 'kc', NAME, '-w', '-o', `jsonpath=${jsonpath}`]);
  let w = watch();
  let seen: { machine: string; address: string };
  try {
    // a watch the server ends is watched again (a bounded number of times)
    for (let attempt = 1; ; attempt++) {
      const matched = await w.waitFor(RESET_AT, 'stdout', 30_000).then(
        () => true,
        (e: unknown) => {
          if (attempt >= 10 || !/exited before/.test(String(e))) throw e;
          return false;
        },
      );
      if (matched) break;
      w = watch();
    }
    const name = RESET_AT.exec(w.stdout())![1]!;
    const address = addresses[name]!;
    await b.sim.inject(simNode(address).id, 'stop');
    await b.server.stop('SIGKILL');
    seen = { machine: name, address };
  } finally {
    await w.kill();
  }
  b.server = await startServer({ dataDir: b.server.dataDir, args: b.args });
  return seen;
}

describe('a restart in the middle of a leave or a delete', () => {
  it('brings the cluster up: 3 control planes, 2 workers', async () => {
    await ok(b.server, ['-n', NS, 'apply', '-f', '-'], { input: exampleCluster(3, 2, NAME) });
    await readyWith(b, NAME, 3, 2);
  });

  it('kill -9 once a leaving worker is reset: after the restart it is not reset again and the leave completes', async () => {
    const leaving = addressOf(await machine(`${NAME}-wrk1`));
    const before = resets();
    await patchReplicas(WORKERS, 1);
    const seen = await killAtFirstReset({ [`${NAME}-wrk1`]: leaving });
    expect(seen).toEqual({ machine: `${NAME}-wrk1`, address: leaving });
    // the server died with the leave half done (its node, stopped, cannot have been seen back); the
    // new one waits for the reset under way up to the unreachable-node timeout from when it was made
    await until('the leaving worker gone', async () => !(await machine(`${NAME}-wrk1`)));
    await b.sim.inject(simNode(leaving).id, 'start');
    await readyWith(b, NAME, 3, 1);
    await until('the reset node back in maintenance mode', () => !simNode(leaving).configured && simNode(leaving).up);
    expect(resetsSince(before)).toEqual({ [leaving]: 1 });
    const events = await clusterEvents(b, NAME);
    expect(events.filter((e) => e.startsWith('NodeReset:') && e.includes(`${NAME}-wrk1`))).toHaveLength(1);
    // it was never taken for an unreachable node that was not reset
    expect(events.filter((e) => e.startsWith('ResetSkipped:'))).toEqual([]);
    expect(events.filter((e) => e.startsWith(`LeaveWaiting: machine ${NAME}-wrk1`))).toEqual([]);
  });
});

describe('etcd on scale-down', () => {
  it('refuses a control plane leave that would break quorum, says why, and goes on once quorum is safe', async () => {
    const first = addressOf(await machine(`${NAME}-ctp0`));
    const leaving = [addressOf(await machine(`${NAME}-ctp2`)), addressOf(await machine(`${NAME}-ctp1`))];
    const untouched = resets();
    await b.sim.inject(simNode(first).id, 'stop');
    await patchReplicas(CPS, 1);
    // ctp2 goes first: with ctp0 stopped, only ctp1 of the two members left would be up
    const why = await until('the leave of ctp2 refused', async () => {
      const kc = await cluster(b, NAME);
      const c = kc.status.conditions.find((x: any) => x.type === 'MachinesReady');
      return c?.reason === 'NodesLeaving' && /etcd would lose quorum/.test(c.message) ? c.message : undefined;
    });
    expect(why).toContain(`${NAME}-ctp2`);
    const waiting = await machine(`${NAME}-ctp2`);
    expect(waiting.metadata.deletionTimestamp).toBeTruthy();
    expect(await machine(`${NAME}-ctp1`)).toBeDefined();
    const events = await clusterEvents(b, NAME);
    expect(
      events.some((e) => e.startsWith(`LeaveWaiting: machine ${NAME}-ctp2 cannot leave yet: etcd would lose quorum`)),
    ).toBe(true);
    expect(simState(b).clusters.find((c) => c.name === NAME)!.etcdMembers).toHaveLength(3);
    expect(resetsSince(untouched)).toEqual({});
    const before = resets();
    await b.sim.inject(simNode(first).id, 'start');
    await readyWith(b, NAME, 1, 1);
    expect(resetsSince(before)).toEqual({ [leaving[0]!]: 1, [leaving[1]!]: 1 });
  });

  it('removes an unreachable control plane member through another control plane; its Machine goes, unreset', async () => {
    await patchReplicas(CPS, 3);
    await readyWith(b, NAME, 3, 1);
    const gone = addressOf(await machine(`${NAME}-ctp2`));
    const goneHost = simNode(gone).hostname;
    await b.sim.inject(simNode(gone).id, 'stop');
    const before = resets();
    await patchReplicas(CPS, 1);
    await until('the control planes down to one', async () => {
      const kc = await cluster(b, NAME);
      const ready = kc.status.conditions.find((c: any) => c.type === 'Ready')?.status === 'True';
      const members = simState(b).clusters.find((c) => c.name === NAME)!.etcdMembers;
      return ready && members.length === 1 && !(await machine(`${NAME}-ctp2`)) && !(await machine(`${NAME}-ctp1`));
    });
    const members = simState(b).clusters.find((c) => c.name === NAME)!.etcdMembers;
    expect(members.map((m) => m.hostname)).not.toContain(goneHost);
    const events = await clusterEvents(b, NAME);
    expect(
      events.some(
        (e) =>
          e.startsWith(`EtcdMemberRemoved: removed the etcd member of unreachable control plane ${NAME}-ctp2`) &&
          e.includes(`through ${NAME}-ctp0`),
      ),
    ).toBe(true);
    expect(events.some((e) => e.startsWith(`ResetSkipped: the node of machine ${NAME}-ctp2 (${gone}`))).toBe(true);
    // ctp1, reachable, was reset; the stopped node was not
    expect(Object.keys(resetsSince(before))).not.toContain(gone);
    expect(Object.values(resetsSince(before))).toEqual([1]);
  });
});

describe('a restart in the middle of a delete', () => {
  it('kill -9 once a node is reset for the deletion: no node is reset twice and the deletion completes', async () => {
    const machines = (await getJSON(b.server, ['-n', NS, 'machines'])).items;
    const addresses = machines.map(addressOf);
    expect(addresses).toHaveLength(2);
    const before = resets();
    await kubectl(['delete', 'kc', NAME, '--wait=false']);
    const seen = await killAtFirstReset(Object.fromEntries(machines.map((m: any) => [m.metadata.name, addressOf(m)])));
    expect(addresses).toContain(seen.address);
    await until('the cluster gone', async () => !(await cluster(b, NAME)));
    await b.sim.inject(simNode(seen.address).id, 'start');
    await until(
      'the stopped node back in maintenance mode',
      () => !simNode(seen.address).configured && simNode(seen.address).up,
    );
    expect(resetsSince(before)).toEqual(Object.fromEntries(addresses.map((a: string) => [a, 1])));
    expect((await getJSON(b.server, ['-n', NS, 'machines'])).items).toEqual([]);
    const events = await getJSON(b.server, ['-n', NS, 'events', '--field-selector', `involvedObject.name=${NAME}`]);
    const skipped = events.items.filter((e: any) => e.reason === 'ResetSkipped').map((e: any) => e.message);
    // the one from the unreachable control plane above; none from the deletion
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toContain(`${NAME}-ctp2`);
  });
});
