// A KubernetesCluster's life on simulated maintenance-mode Talos machines, with the real kubectl
// and real mTLS: the upstream example with three control planes and two workers is applied,
// bootstrapped exactly once and reaches Ready; its kubeconfig is kept in a Secret and served live;
// its Machines tell what their nodes say; workers scale 2 -> 4 -> 1 and control planes 3 -> 5 -> 3
// with etcd following and removed nodes reset; deleting it resets its nodes and removes what it
// made, a node that cannot be reached holding it up only for the unreachable-node timeout.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  clusterEvents,
  clusterNodes,
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
import { getJSON, ok, pluginOnPath } from './kubectl-helpers.js';

const NS = 'fleet';
const NAME = 'simple-cluster';
const KC_PATH = `/apis/vitistack.io/v1alpha1/namespaces/${NS}/kubernetesclusters/${NAME}`;
let b: Bench;
let manifests: string;
let pluginPath: string;

const kubectl = (args: string[]) => ok(b.server, ['-n', NS, ...args]);
const patchReplicas = (path: string, value: number) =>
  kubectl(['patch', 'kc', NAME, '--type=json', `-p=[{"op":"replace","path":"${path}","value":${value}}]`]);
const resetsOf = (addresses: string[]) =>
  simState(b)
    .nodes.filter((n) => addresses.includes(n.address))
    .reduce((sum, n) => sum + n.resets, 0);

beforeAll(async () => {
  manifests = mkdtempSync(join(tmpdir(), 'tfa-manifests-'));
  b = await startBench({ nodes: 8, ns: NS, extraArgs: ['--machine-manifests-dir', manifests] });
  pluginPath = pluginOnPath(mkdtempSync(join(tmpdir(), 'tfa-plugin-')));
}, 120_000);

afterAll(async () => {
  await stopBench(b);
  rmSync(manifests, { recursive: true, force: true });
});

describe('the example cluster with three control planes and two workers', () => {
  it('reaches Ready on maintenance-mode machines, bootstrapped exactly once, etcd the three control planes', async () => {
    await ok(b.server, ['-n', NS, 'apply', '-f', '-'], { input: exampleCluster(3, 2) });
    await waitCondition(b, NAME, 'Ready', 'True', '90s');
    const kc = await readyWith(b, NAME, 3, 2);
    expect(kc.status.phase).toBe('Ready');
    expect(kc.metadata.finalizers).toContain('kubernetescluster.vitistack.io/finalizer');
    for (const t of [
      'MachinesReady',
      'ConfigApplied',
      'Bootstrapped',
      'Healthy',
      'KubeconfigAvailable',
      'ConfigGenerated',
    ])
      expect(kc.status.conditions.find((c: any) => c.type === t)?.status, t).toBe('True');
    expect(kc.status.bootstrap).toMatchObject({ machine: `${NAME}-ctp0` });
    expect(Date.parse(kc.status.bootstrap.completedAt)).toBeGreaterThanOrEqual(
      Date.parse(kc.status.bootstrap.requestedAt),
    );
    expectOneBootstrap(b);
    const members = simState(b)
      .clusters.find((c) => c.name === NAME)!
      .etcdMembers.map((m) => m.hostname)
      .sort();
    const cps = clusterNodes(b, NAME).filter((n) => n.role === 'controlplane');
    expect(members).toEqual(cps.map((n) => n.hostname).sort());
    expect(kc.status.nodes.map((n: any) => [n.machine, n.role, n.state, n.etcdMember ?? null])).toEqual([
      [`${NAME}-ctp0`, 'controlplane', 'Member', true],
      [`${NAME}-ctp1`, 'controlplane', 'Member', true],
      [`${NAME}-ctp2`, 'controlplane', 'Member', true],
      [`${NAME}-wrk0`, 'worker', 'Configured', null],
      [`${NAME}-wrk1`, 'worker', 'Configured', null],
    ]);
    for (const n of kc.status.nodes) expect(n.configHash).toMatch(/^[0-9a-f]{64}$/);
    const events = await clusterEvents(b, NAME);
    for (const reason of ['Bootstrapping', 'Bootstrapped', 'ConfigApplied', 'Healthy', 'KubeconfigStored'])
      expect(
        events.some((e) => e.startsWith(`${reason}:`)),
        reason,
      ).toBe(true);
    // the wide table tells where the cluster is
    expect(await kubectl(['get', 'kc', NAME, '-o', 'wide'])).toMatch(
      new RegExp(
        `^NAME\\s+PHASE.*READY\\s+HEALTHY\\s+TALOS\\s+TARGET\\s+KUBERNETES\\s+K8S-TARGET\\s+MESSAGE.*\\n${NAME}\\s+Ready\\s.*True\\s+True`,
      ),
    );
  });

  it('keeps the admin kubeconfig in <cluster>-kubeconfig and serves it live, and the cluster health', async () => {
    const secret = await getJSON(b.server, ['-n', NS, 'secret', `${NAME}-kubeconfig`]);
    const stored = Buffer.from(secret.data.value, 'base64').toString('utf8');
    expect(parse(stored)).toMatchObject({ kind: 'Config', clusters: [expect.objectContaining({})] });
    expect(secret.metadata.ownerReferences[0]).toMatchObject({
      kind: 'KubernetesCluster',
      name: NAME,
      controller: true,
    });
    // each Kubeconfig call gives a fresh client certificate: the same cluster, CA and context
    const sameCluster = (text: string) => {
      const k = parse(text);
      return { clusters: k.clusters, contexts: k.contexts, 'current-context': k['current-context'] };
    };
    const live = await kubectl(['get', '--raw', `${KC_PATH}/kubeconfig`]);
    expect(sameCluster(live)).toEqual(sameCluster(stored));
    const report = JSON.parse(await kubectl(['get', '--raw', `${KC_PATH}/health`]));
    expect(report).toMatchObject({ kind: 'HealthReport', status: 'Healthy' });
    expect(report.checks.map((c: any) => c.name)).toEqual([
      `node/${NAME}-ctp0`,
      `node/${NAME}-ctp1`,
      `node/${NAME}-ctp2`,
      `node/${NAME}-wrk0`,
      `node/${NAME}-wrk1`,
      'etcd/members',
      'etcd/quorum',
      'versions',
      'cluster/health-check',
    ]);
    // the plugin goes through the same subresources
    const env = { PATH: pluginPath };
    const health = await b.server.kubectl(['talos', '-n', NS, 'health', `kubernetescluster/${NAME}`], { env });
    expect(health.code, health.stderr).toBe(0);
    expect(health.stdout).toMatch(new RegExp(`^kubernetescluster/${NAME}: Healthy\\n`));
    const kubeconfig = await b.server.kubectl(['talos', '-n', NS, 'kubeconfig', `kc/${NAME}`], { env });
    expect(kubeconfig.code, kubeconfig.stderr).toBe(0);
    expect(sameCluster(kubeconfig.stdout)).toEqual(sameCluster(stored));
  });

  it("has Machines that tell what their nodes say, beside the provider's fields", async () => {
    const m = await getJSON(b.server, ['-n', NS, 'machine', `${NAME}-ctp1`, '--show-managed-fields']);
    expect(m.status).toMatchObject({ phase: 'Running', operatingSystem: 'Talos' });
    expect(m.status.hostname).toBe(
      clusterNodes(b, NAME).find((n) => n.address === m.status.publicIPAddresses[0])!.hostname,
    );
    expect(m.status.operatingSystemVersion).toMatch(/^v1\.\d+\.\d+/);
    expect(m.status.conditions.find((c: any) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    const managers = m.metadata.managedFields.map((f: any) => `${f.manager}/${f.operation}/${f.subresource ?? ''}`);
    expect(managers).toEqual(
      expect.arrayContaining(['talos-sim-provider/Apply/status', 'machine-controller/Apply/status']),
    );
    expect(m.metadata.finalizers).toContain('kubernetescluster.vitistack.io/node-leave');
  });

  it('writes each generated Machine to --machine-manifests-dir, without secret material', () => {
    const files = readdirSync(join(manifests, NAME)).sort();
    expect(files).toEqual([
      `${NAME}-ctp0.yaml`,
      `${NAME}-ctp1.yaml`,
      `${NAME}-ctp2.yaml`,
      `${NAME}-wrk0.yaml`,
      `${NAME}-wrk1.yaml`,
    ]);
    const m = parse(readFileSync(join(manifests, NAME, `${NAME}-wrk1.yaml`), 'utf8'));
    expect(m).toMatchObject({ kind: 'Machine', metadata: { name: `${NAME}-wrk1` }, spec: { name: `${NAME}-wrk1` } });
    expect(JSON.stringify(m)).not.toMatch(/PRIVATE KEY|machineconfig\.yaml|token/i);
  });
});

describe('scaling', () => {
  it('workers 2 -> 4: the new nodes get their configuration and join', async () => {
    await patchReplicas('/spec/topology/workers/0/replicas', 4);
    await readyWith(b, NAME, 3, 4);
    expect(readdirSync(join(manifests, NAME))).toHaveLength(7);
  });

  it('workers 4 -> 1: the removed nodes are reset before their Machines go', async () => {
    const before = (await getJSON(b.server, ['-n', NS, 'machines'])).items;
    const leaving = before
      .filter((m: any) => /-wrk[123]$/.test(m.metadata.name))
      .map((m: any) => m.status.publicIPAddresses[0]);
    await patchReplicas('/spec/topology/workers/0/replicas', 1);
    await readyWith(b, NAME, 3, 1);
    await until('the removed workers reset', () => resetsOf(leaving) === 3);
    const names = (await getJSON(b.server, ['-n', NS, 'machines'])).items.map((m: any) => m.metadata.name).sort();
    expect(names).toEqual([`${NAME}-ctp0`, `${NAME}-ctp1`, `${NAME}-ctp2`, `${NAME}-wrk0`]);
    expect(readdirSync(join(manifests, NAME))).toHaveLength(4);
    expect((await clusterEvents(b, NAME)).filter((e) => e.startsWith('NodeReset:'))).toHaveLength(3);
  }, 120_000);

  it('control planes 3 -> 5: they join etcd one at a time', async () => {
    await patchReplicas('/spec/topology/controlplane/replicas', 5);
    const kc = await readyWith(b, NAME, 5, 1);
    expect(kc.status.nodes.filter((n: any) => n.etcdMember)).toHaveLength(5);
    // one control plane applied at a time: ctp3's config went out before ctp4's, after ctp3 joined
    const applied = (await clusterEvents(b, NAME)).filter((e) =>
      /ConfigApplied: .*machine simple-cluster-ctp[34]/.test(e),
    );
    expect(applied).toHaveLength(2);
    expectOneBootstrap(b);
  });

  it('control planes 5 -> 3: each leaves etcd before its node is reset and its Machine goes', async () => {
    const before = (await getJSON(b.server, ['-n', NS, 'machines'])).items;
    const leaving = before
      .filter((m: any) => /-ctp[34]$/.test(m.metadata.name))
      .map((m: any) => m.status.publicIPAddresses[0]);
    const resets = resetsOf(leaving);
    await patchReplicas('/spec/topology/controlplane/replicas', 3);
    const kc = await readyWith(b, NAME, 3, 1);
    expect(kc.status.nodes.map((n: any) => n.machine)).toEqual([
      `${NAME}-ctp0`,
      `${NAME}-ctp1`,
      `${NAME}-ctp2`,
      `${NAME}-wrk0`,
    ]);
    await until('the removed control planes reset', () => resetsOf(leaving) === resets + 2);
    const events = await clusterEvents(b, NAME);
    expect(events.filter((e) => e.startsWith('EtcdLeft:'))).toHaveLength(2);
    expectOneBootstrap(b);
  });
});

describe('deleting the cluster', () => {
  it('resets every reachable node, skips one that cannot be reached after the timeout, and removes what it made', async () => {
    const machines = (await getJSON(b.server, ['-n', NS, 'machines'])).items;
    const wrk = machines.find((m: any) => m.metadata.name === `${NAME}-wrk0`);
    const addresses = machines.map((m: any) => m.status.publicIPAddresses[0]);
    const stopped = simState(b).nodes.find((n) => n.address === wrk.status.publicIPAddresses[0])!;
    await b.sim.inject(stopped.id, 'stop');
    const resetsBefore = resetsOf(addresses);
    const started = Date.now();
    await kubectl(['delete', 'kc', NAME, '--wait=false']);
    // while the node is away the deletion waits, and says so
    await until('the deletion to wait for the stopped node', async () => {
      const kc = await getJSON(b.server, ['-n', NS, 'kc', NAME]);
      return kc?.status?.phase === 'Deleting' && /wrk0/.test(kc.status.message) ? true : undefined;
    });
    await ok(b.server, ['-n', NS, 'wait', `kc/${NAME}`, '--for=delete', '--timeout=60s']);
    // the unreachable-node timeout is 3 s: not blocked forever, not skipped at once
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(resetsOf(addresses) - resetsBefore).toBe(3);
    // the provider destroys the Machines' machines: even the one that was never reset runs nothing of it
    await until('no node to run the cluster', () => clusterNodes(b, NAME).length === 0);
    expect((await getJSON(b.server, ['-n', NS, 'machines'])).items).toEqual([]);
    const secrets = (await getJSON(b.server, ['-n', NS, 'secrets'])).items.map((s: any) => s.metadata.name);
    expect(secrets).toEqual([]);
    const events = await clusterEvents(b, NAME);
    expect(events.some((e) => e.startsWith('ResetSkipped:') && e.includes(`${NAME}-wrk0`))).toBe(true);
    expect(() => readdirSync(join(manifests, NAME))).toThrow(/ENOENT/);
  });
});
