// The cluster lifecycle end-to-end suites' shared bring-up: a simulator of maintenance-mode Talos
// machines on its own loopback block, the built server told the simulator's Talos port, and the
// simulator as the machine provider of one namespace (it gives each new Machine a node and writes
// the provider's part of its status). Every wait the server has is set in milliseconds here.
import { expect } from 'vitest';
import { parse, stringify } from 'yaml';
import { provideMachines, type MachineProvider } from '../../hack/talos-sim/provider.js';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { createNamespace, fixture, getJSON, ok } from './kubectl-helpers.js';

export interface Bench {
  sim: Simulator;
  server: TestServer;
  provider: MachineProvider;
  ns: string;
  /** the server's flags, to start it again on the same data directory and port */
  args: string[];
}

/** the server's lifecycle waits, small */
export function serverArgs(talosPort: number, extra: string[] = []): string[] {
  return [
    '--controllers',
    '*,-adoptedserver',
    '--talos-api-port',
    String(talosPort),
    '--cluster-poll-interval',
    '100ms',
    '--resync-period',
    '1s',
    '--cluster-health-timeout',
    '300ms',
    '--node-unreachable-timeout',
    '3s',
    '--talos-call-timeout',
    '2s',
    '--controller-max-backoff',
    '500ms',
    ...extra,
  ];
}

export async function startBench(o: {
  nodes: number;
  ns: string;
  extraArgs?: string[];
  /** how long a node's reboot takes (default 100 ms) */
  rebootMs?: number;
}): Promise<Bench> {
  const sim = await startSimulator({
    maintenance: true,
    nodes: o.nodes,
    rebootMs: o.rebootMs ?? 100,
    installMs: 50,
    shutdownMs: 20,
  });
  let server: TestServer | undefined;
  try {
    const args = serverArgs(sim.port, o.extraArgs);
    server = await startServer({ args });
    await createNamespace(server, o.ns);
    const provider = await provideMachines(sim, {
      api: { kubeconfig: server.kubeconfig },
      namespace: o.ns,
      recycleMs: 100,
      retryMs: 50,
    });
    return { sim, server, provider, ns: o.ns, args: [...args, '--secure-port', String(new URL(server.url).port)] };
  } catch (e) {
    await disposeServer(server);
    await sim.stop();
    throw e;
  }
}

export async function stopBench(b: Bench | undefined): Promise<void> {
  if (!b) return;
  await b.provider.stop();
  await disposeServer(b.server);
  await b.sim.stop();
}

/** the upstream example KubernetesCluster, with `cps` control planes, `workers` workers and an endpoint */
export function exampleCluster(cps: number, workers: number, name = 'simple-cluster'): string {
  const doc = parse(fixture('upstream-examples/kubernetescluster-simple-cluster.yaml'));
  doc.metadata.name = name;
  doc.spec.topology.controlplane.replicas = cps;
  doc.spec.topology.workers[0].replicas = workers;
  // the server never dials it: Talos checks Kubernetes from the nodes
  doc.spec.talos = { endpoint: 'https://10.20.0.1:6443' };
  return stringify(doc);
}

interface SimNodeState {
  id: string;
  address: string;
  configured: boolean;
  role: string | null;
  hostname: string | null;
  clusterId: string | null;
  bootstrapCalls: number;
  bootstrapsEffective: number;
  etcdMember: boolean;
  resets: number;
  /** Upgrade calls the node accepted */
  upgrades: number;
  name: string;
  version: string;
  clusterName: string | null;
  poweredOff: boolean;
  up: boolean;
  /** the Kubernetes versions the node reports (null: it does not run that component) */
  kubernetes: {
    kubelet: string | null;
    apiServer: string | null;
    controllerManager: string | null;
    scheduler: string | null;
  };
}

export interface SimState {
  clusters: { id: string; name: string; bootstrapsEffective: number; etcdMembers: { hostname: string }[] }[];
  nodes: SimNodeState[];
  maxDownAtOnce: number;
  /** since the last fleet.trackDowntime(), per role */
  maxDownByRole: Record<string, number>;
  /** every change of a Kubernetes component version a node reports, oldest first */
  kubernetesChanges: { node: string; component: string; from: string; to: string; at: string }[];
}

export const simState = (b: Bench) => b.sim.state() as unknown as SimState;

/** the nodes that run a config of the cluster named `name` */
export const clusterNodes = (b: Bench, name: string) =>
  simState(b).nodes.filter((n) => n.configured && n.clusterId !== null && clusterNameOf(b, n) === name);
const clusterNameOf = (b: Bench, n: SimNodeState) => simState(b).clusters.find((c) => c.id === n.clusterId)?.name;

/** every Bootstrap that took effect, over all nodes */
export const effectiveBootstraps = (b: Bench) => simState(b).nodes.reduce((sum, n) => sum + n.bootstrapsEffective, 0);

export async function cluster(b: Bench, name = 'simple-cluster'): Promise<any> {
  return getJSON(b.server, ['-n', b.ns, 'kc', name]);
}

/** kubectl wait until the cluster's condition has `status` */
export async function waitCondition(b: Bench, name: string, condition: string, status = 'True', timeout = '60s') {
  await ok(b.server, [
    '-n',
    b.ns,
    'wait',
    `kc/${name}`,
    `--for=condition=${condition}=${status}`,
    `--timeout=${timeout}`,
  ]);
}

/** polls `check` (each call reads the server or the simulator once) until it holds, within `ms` */
export async function until<T>(
  what: string | (() => string),
  check: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const said = typeof what === 'string' ? what : what();
      throw new Error(`gave up waiting for ${said}${last ? `: ${String(last)}` : ''}`);
    }
    // the server's poll interval is 100 ms: look as often, without spinning
    await new Promise<void>((r) => setTimeout(r, 50));
  }
}

/** the Ready cluster: every status node applied and the sim agreeing on etcd */
export async function readyWith(b: Bench, name: string, cps: number, workers: number): Promise<any> {
  let seen = '';
  return until(
    () => `${name} Ready with ${cps} control planes and ${workers} workers (last seen: ${seen})`,
    async () => {
      const kc = await cluster(b, name);
      seen = JSON.stringify({
        phase: kc?.status?.phase,
        message: kc?.status?.message,
        conditions: kc?.status?.conditions?.map((c: any) => `${c.type}=${c.status} ${c.reason}: ${c.message ?? ''}`),
        nodes: kc?.status?.nodes,
        sim: clusterNodes(b, name).map((n) => `${n.address} ${n.role} ${n.hostname} member=${n.etcdMember}`),
      });
      const ready = kc?.status?.conditions?.find((c: any) => c.type === 'Ready');
      const nodes = clusterNodes(b, name);
      const members = simState(b).clusters.find((c) => c.name === name)?.etcdMembers ?? [];
      const ok =
        ready?.status === 'True' &&
        kc.status.observedGeneration === kc.metadata.generation &&
        (kc.status.nodes ?? []).length === cps + workers &&
        nodes.filter((n) => n.role === 'controlplane').length === cps &&
        nodes.filter((n) => n.role === 'worker').length === workers &&
        members.length === cps;
      return ok ? kc : undefined;
    },
    45_000,
  );
}

/** events of the cluster, as "Reason: message" lines */
export async function clusterEvents(b: Bench, name: string): Promise<string[]> {
  const list = await getJSON(b.server, [
    '-n',
    b.ns,
    'events',
    '--field-selector',
    `involvedObject.kind=KubernetesCluster,involvedObject.name=${name}`,
  ]);
  return (list?.items ?? []).map((e: any) => `${e.reason}: ${e.message}`);
}

export function expectOneBootstrap(b: Bench): void {
  expect(effectiveBootstraps(b)).toBe(1);
}
