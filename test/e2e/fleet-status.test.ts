// `kubectl talos status [-w]` against the built server and the simulator's machines, run as a user
// runs it (kubectl finds kubectl-talos on PATH): a cluster of a control plane and a worker shows
// as a tree with its Machines and nodes; `status -w` (its stdout a pipe: a snapshot per change)
// shows an AdoptedServer created, a node going unhealthy and a cluster rollout in progress, from
// watches only (the server's request counters: one LIST per resource, then WATCHes). The rollout
// is the plugin's `upgrade kubernetescluster/NAME --wait`, whose progress names each node's
// rebooting phase.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleCluster, readyWith, startBench, stopBench, until, type Bench } from './cluster-helpers.js';
import { adoptedNode, ok, pluginOnPath, startKubectl, tempDir, type KubectlProcess } from './kubectl-helpers.js';

const NS = 'fleetview';
const NAME = 'view';
let b: Bench;
const tmp = tempDir();
let pathWithPlugin = '';

beforeAll(async () => {
  b = await startBench({ nodes: 2, ns: NS, rebootMs: 300 });
  await ok(b.server, ['-n', NS, 'apply', '-f', '-'], { input: exampleCluster(1, 1, NAME) });
  await readyWith(b, NAME, 1, 1);
  pathWithPlugin = pluginOnPath(tmp.dir);
}, 120_000);

afterAll(async () => {
  await stopBench(b);
  tmp.remove();
});

const talos = (args: string[]) => b.server.kubectl(['talos', '-n', NS, ...args], { env: { PATH: pathWithPlugin } });

/** a counter or gauge of /metrics per verb for one of our resources */
async function perVerb(metric: string, resource: string): Promise<Record<string, number>> {
  const text = (await b.server.request('GET', '/metrics')).body;
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) || !line.includes(`resource="${resource}"`)) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1];
    if (verb) out[verb] = (out[verb] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}
/** finished requests (a watch counts once it ends) */
const requests = (resource: string) => perVerb('apiserver_request_total', resource);
/** requests open now: the watches */
const open = (resource: string) => perVerb('apiserver_longrunning_requests', resource);

/** the last snapshot `status -w` printed (a pipe: each after a timestamp header) */
const lastSnapshot = (w: KubectlProcess) =>
  w
    .stdout()
    .split(/^\d{4}-\d\d-\d\dT\S+Z {2}kubectl talos status -w.*$/m)
    .at(-1)!;

describe('kubectl talos status', { timeout: 120_000 }, () => {
  it('shows the cluster, its Machines and their nodes with versions, Ready, and exits 0', async () => {
    const r = await talos(['status']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READY\s+HEALTH\s+TALOS\s+KUBERNETES\s+UPGRADE\s+LAST EVENT$/);
    expect(lines[1]).toMatch(
      new RegExp(`^kubernetescluster/${NAME}\\s+Ready\\s+Healthy\\s+v1\\.13\\.9\\s+1\\.\\d+\\.\\d+`),
    );
    expect(r.stdout).toMatch(new RegExp(`^├─ machine/${NAME}-ctp0\\s+Running`, 'm'));
    expect(r.stdout).toMatch(
      new RegExp(`^│  └─ node ${NAME}-ctp0 \\(controlplane\\) 127\\.\\S+\\s+Member\\s+v1\\.13\\.9`, 'm'),
    );
    expect(r.stdout).toMatch(new RegExp(`^└─ machine/${NAME}-wrk0\\s+Running`, 'm'));
    expect(r.stdout).toMatch(
      new RegExp(`^   └─ node ${NAME}-wrk0 \\(worker\\) 127\\.\\S+\\s+\\w+\\s+v1\\.13\\.9`, 'm'),
    );
    // not a terminal: no colours
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('-w redraws on each change from watches, without listing again', async () => {
    const w = startKubectl(b.server, ['talos', '-n', NS, 'status', '-w'], { PATH: pathWithPlugin });
    try {
      await w.waitFor(new RegExp(`kubernetescluster/${NAME}\\s+Ready`));
      // the first picture comes from the lists; the watches open right after
      await until('the watch of servers open', async () => (await open('servers')).WATCH === 1 || undefined);
      const listsBefore = await requests('servers');
      expect(listsBefore.LIST).toBeGreaterThanOrEqual(1);

      // an AdoptedServer created appears (its controller is off here: nothing reports on it yet)
      await ok(b.server, ['apply', '-f', '-'], { input: adoptedNode('spare', NS, '127.0.0.99:50000', 'worker') });
      await w.waitFor(/^adoptedserver\/spare\s+Unknown/m);
      expect(lastSnapshot(w)).toMatch(new RegExp(`^kubernetescluster/${NAME}\\s+Ready`, 'm'));

      // the worker's node going unhealthy shows in the cluster's health and Ready, red on a terminal
      const worker = b.provider.assignments().get(`${NAME}-wrk0`)!;
      await b.sim.inject(worker, 'unhealthy', { service: 'kubelet' });
      try {
        await until(
          'status -w showing the cluster not Ready',
          () => new RegExp(`^kubernetescluster/${NAME}\\s+NotReady \\(\\w+\\)`, 'm').test(lastSnapshot(w)) || undefined,
        );
      } finally {
        await b.sim.inject(worker, 'heal');
      }
      await until(
        'status -w showing the cluster Ready again',
        () => new RegExp(`^kubernetescluster/${NAME}\\s+Ready\\s+Healthy`, 'm').test(lastSnapshot(w)) || undefined,
      );
      // each snapshot after a blank line and a timestamp header
      expect(w.stdout()).toMatch(/\n\n\d{4}-\d\d-\d\dT[\d:]+Z {2}kubectl talos status -w \(Ctrl-C to stop\)\nNAME/);

      // every change came from watches: no resource was listed again
      const listsAfter = await requests('servers');
      expect(listsAfter.LIST).toBe(listsBefore.LIST);
      expect((await open('servers')).WATCH).toBe(1);
      for (const resource of ['kubernetesclusters', 'machines', 'adoptedservers', 'events'])
        expect((await open(resource)).WATCH, resource).toBeGreaterThanOrEqual(1);
      expect(w.stderr()).toBe('');
    } finally {
      await w.kill();
    }
    expect((await w.exited).code).toBe(0);
  });

  it('-w on a terminal redraws in place, in colour, across watches the server ends; NO_COLOR and --no-color turn colour off', async () => {
    // `script` gives the plugin a pseudo-terminal, as a user's shell would
    const inTerminal = (cmd: string, env: Record<string, string> = {}) =>
      startKubectl(b.server, ['-qfec', cmd, '/dev/null'], { PATH: pathWithPlugin, ...env }, 'script');
    const w = inTerminal(`kubectl talos -n ${NS} status -w --watch-timeout 1s`);
    try {
      await w.waitFor(new RegExp(`kubernetescluster/${NAME}\\s+\x1b\\[32mReady\x1b\\[0m`));
      await until('the watch of servers open', async () => (await open('servers')).WATCH === 1 || undefined);
      const before = await requests('servers');
      // every watch asks the server to end it after a second: each is opened again, never listed again
      await until('two watches of servers ended and opened again', async () => {
        const now = await requests('servers');
        return (now.WATCH ?? 0) >= (before.WATCH ?? 0) + 2 || undefined;
      });
      await ok(b.server, ['-n', NS, 'delete', 'adoptedserver', 'spare']);
      // the picture drawn again over the last one (back to its first line, cleared below), without spare
      await until('a redraw without adoptedserver/spare', () => {
        const redraws = w.stdout().split(/\x1b\[\d+F\x1b\[J/);
        return (redraws.length > 1 && !redraws.at(-1)!.includes('adoptedserver/spare')) || undefined;
      });
      expect((await requests('servers')).LIST).toBe(before.LIST);
      expect(w.stdout()).not.toContain('warning');
    } finally {
      await w.kill();
    }
    const noColor = inTerminal(`kubectl talos -n ${NS} status`, { NO_COLOR: '1' });
    const plain = await noColor.exited;
    expect(plain.code, plain.stdout).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`kubernetescluster/${NAME}\\s+Ready`));
    expect(plain.stdout).not.toContain('\x1b[');
    const flagged = await inTerminal(`kubectl talos -n ${NS} status --no-color`).exited;
    expect(flagged.stdout).toMatch(new RegExp(`kubernetescluster/${NAME}\\s+Ready`));
    expect(flagged.stdout).not.toContain('\x1b[');
  });

  it('upgrade kubernetescluster/NAME --wait shows each node upgrading, rebooting and done; -w shows the rollout', async () => {
    const w = startKubectl(b.server, ['talos', '-n', NS, 'status', '-w'], { PATH: pathWithPlugin });
    try {
      await w.waitFor(new RegExp(`kubernetescluster/${NAME}\\s+Ready`));
      const r = await talos(['upgrade', `kubernetescluster/${NAME}`, '--to', 'v1.13.10', '--wait', '--timeout', '60s']);
      expect(r.code, r.stderr).toBe(0);
      for (const m of [`${NAME}-ctp0 \\(controlplane\\)`, `${NAME}-wrk0 \\(worker\\)`]) {
        const phases = r.stdout
          .split('\n')
          .filter((l) => new RegExp(`^\\[\\s*\\d+s\\] ${m} `).test(l))
          .map((l) => /\) (\w+)/.exec(l)![1])
          .filter((p) => p !== 'pending');
        expect([...new Set(phases)]).toEqual(['upgrading', 'rebooting', 'done']);
      }
      expect(r.stdout.trim().split('\n').at(-1)).toBe(`kubernetescluster/${NAME}: every node runs Talos v1.13.10`);
      // the rollout was on screen while it ran, and the new version once it finished
      expect(w.stdout()).toMatch(
        new RegExp(`^kubernetescluster/${NAME}\\s+.*Talos v1\\.13\\.9 -> v1\\.13\\.10 [01]/2`, 'm'),
      );
      await until(
        'status -w showing v1.13.10',
        () =>
          new RegExp(`^kubernetescluster/${NAME}\\s+Ready\\s+Healthy\\s+v1\\.13\\.10\\s`, 'm').test(lastSnapshot(w)) ||
          undefined,
      );
    } finally {
      await w.kill();
    }
  });
});
