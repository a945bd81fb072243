// The fleet as `kubectl talos status` shows it (pure: lists in, a tree out). Every
// KubernetesCluster with its Machines and, under each, its node (the cluster's status.nodes entry)
// and the bare-metal Server bound to it, or an AdoptedServer adopting the same Talos endpoint;
// then the AdoptedServers, Machines and Servers that belong to no cluster. Each row says whether
// it is Ready and why not, its health, Talos and Kubernetes versions, upgrade progress and the
// last Event about it.
import type { AdoptedServerSpec, AdoptedServerStatus } from '../api/adoptedserver.js';
import type {
  ClusterNodeStatus,
  KubernetesClusterSpec,
  KubernetesClusterStatus,
  UpgradeNodeStatus,
} from '../api/kubernetescluster.js';
import { CLUSTER_LABEL, type MachineStatus } from '../api/machine.js';
import { SERVER_MACHINE_ANNOTATION, type ServerSpec, type ServerStatus } from '../api/server.js';
import type { KubeObject } from '../machinery/kind.js';

export interface FleetLists {
  clusters: KubeObject[];
  machines: KubeObject[];
  adoptedServers: KubeObject[];
  servers: KubeObject[];
  /** core v1 Events */
  events: KubeObject[];
}

/** how a row is coloured: green ok, red bad, yellow progressing, plain unknown */
export type RowState = 'ok' | 'bad' | 'progressing' | 'unknown';

export interface FleetRow {
  /** `kubernetescluster/prod`, `machine/prod-ctp0`, `node 10.0.0.5:50000`, ... */
  label: string;
  /** the object's namespace; none for nodes and (cluster-scoped) Servers */
  namespace?: string;
  /** Ready, NotReady (reason), or what the object is doing */
  ready: string;
  state: RowState;
  health: string;
  talos: string;
  kubernetes: string;
  upgrade: string;
  /** `Reason: message`, of the newest Event about the object */
  lastEvent: string;
  children: FleetRow[];
}

export interface Fleet {
  clusters: FleetRow[];
  /** AdoptedServers, Machines and Servers outside every cluster */
  standalone: FleetRow[];
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

type Obj = KubeObject & { status?: { conditions?: Condition[] } };
type Cluster = KubeObject & { spec?: Partial<KubernetesClusterSpec>; status?: KubernetesClusterStatus };
type Machine = KubeObject & { status?: MachineStatus };
type Adopted = KubeObject & { spec?: Partial<AdoptedServerSpec>; status?: AdoptedServerStatus };
type Server = KubeObject & { spec?: Partial<ServerSpec>; status?: ServerStatus };

const conditions = (o: Obj): Condition[] => (Array.isArray(o.status?.conditions) ? o.status.conditions : []);
const condition = (o: Obj, type: string) => conditions(o).find((c) => c.type === type);
const ns = (o: KubeObject) => o.metadata.namespace ?? '';
const key = (o: KubeObject) => `${ns(o)}/${o.metadata.name}`;

/** Ready from a Ready condition: `Ready`, or `NotReady (Reason)` */
function readyOf(o: Obj): Pick<FleetRow, 'ready' | 'state'> {
  const c = condition(o, 'Ready');
  if (!c) return { ready: 'Unknown', state: 'unknown' };
  if (c.status === 'True') return { ready: 'Ready', state: 'ok' };
  return { ready: c.reason ? `NotReady (${c.reason})` : 'NotReady', state: c.status === 'False' ? 'bad' : 'unknown' };
}

/** the newest Event about the object, `Reason: message` */
function lastEventOf(events: Map<string, KubeObject[]>, kind: string, o: KubeObject): string {
  const about = events.get(`${kind}/${ns(o)}/${o.metadata.name}`) ?? [];
  const newest = about.reduce<KubeObject | undefined>(
    (a, e) => (!a || eventTime(e) >= eventTime(a) ? e : a),
    undefined,
  );
  if (!newest) return '';
  const e = newest as Obj & { reason?: string; message?: string };
  return `${e.reason ?? ''}: ${oneLine(e.message ?? '')}`;
}

const eventTime = (e: KubeObject): string => {
  const x = e as KubeObject & { lastTimestamp?: string; eventTime?: string; firstTimestamp?: string };
  return x.lastTimestamp ?? x.eventTime ?? x.firstTimestamp ?? e.metadata.creationTimestamp ?? '';
};

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Events by `Kind/namespace/name` of the object they are about */
function eventsByObject(events: KubeObject[]): Map<string, KubeObject[]> {
  const out = new Map<string, KubeObject[]>();
  for (const e of events) {
    const io = (e as Obj & { involvedObject?: { kind?: string; namespace?: string; name?: string } }).involvedObject;
    if (!io?.kind || !io.name) continue;
    const k = `${io.kind}/${io.namespace ?? ''}/${io.name}`;
    out.set(k, [...(out.get(k) ?? []), e]);
  }
  return out;
}

/** a cluster's rollout: `Talos v1.13.9 -> v1.13.10 2/3` while it runs, or the operator's annotations */
function clusterUpgrade(c: Cluster): Pick<FleetRow, 'upgrade'> & { running: boolean } {
  const u = c.status?.upgrade;
  if (u && !u.finishedAt) {
    const nodes = u.nodes ?? [];
    const done = nodes.filter((n) => n.phase === 'done' || n.phase === 'skipped').length;
    const failed = nodes.some((n) => n.phase === 'failed');
    return {
      upgrade: `${u.kind} ${u.from ?? '?'} -> ${u.to} ${done}/${nodes.length}${failed ? ' (stopped on a failed node)' : ''}`,
      running: true,
    };
  }
  const a = c.metadata.annotations ?? {};
  const status = a['upgrade.vitistack.io/talos-status'];
  if (status && status !== 'completed' && status !== 'idle') {
    const progress = a['upgrade.vitistack.io/talos-progress'];
    return { upgrade: `Talos ${status}${progress ? ` ${progress}` : ''}`, running: true };
  }
  return { upgrade: '', running: false };
}

/** one line of an upgrade's progress of one node (a cluster's rollout, or an AdoptedServer's) */
function nodeUpgrade(c: Cluster, machine: string): string {
  const u = c.status?.upgrade;
  const n = (u?.nodes ?? []).find((x: UpgradeNodeStatus) => x.machine === machine);
  if (!u || u.finishedAt || !n || n.phase === 'done' || n.phase === 'pending') return '';
  return `${u.kind} -> ${n.to ?? u.to}: ${n.phase}${n.step ? ` (${n.step})` : ''}`;
}

const distinct = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => !!x))].join(',');

function clusterRow(
  c: Cluster,
  lists: FleetLists,
  events: Map<string, KubeObject[]>,
  adopted: Map<string, Adopted>,
): FleetRow {
  const nodes = c.status?.nodes ?? [];
  const machines = lists.machines
    .filter((m) => ns(m) === ns(c) && (m.metadata.labels?.[CLUSTER_LABEL] === c.metadata.name || ownedBy(m, c)))
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  const healthy = condition(c as Obj, 'Healthy');
  const up = clusterUpgrade(c);
  const ready = readyOf(c as Obj);
  return {
    label: `kubernetescluster/${c.metadata.name}`,
    namespace: ns(c),
    ...(ready.state !== 'ok' && up.running ? { ready: ready.ready, state: 'progressing' as const } : ready),
    health: !healthy ? '' : healthy.status === 'True' ? 'Healthy' : (healthy.reason ?? 'Unhealthy'),
    talos: distinct(nodes.map((n) => n.talosVersion)) || (c.spec?.talos?.version ?? ''),
    kubernetes: distinct(nodes.map((n) => n.kubernetesVersion)) || (c.spec?.topology?.version ?? ''),
    upgrade: up.upgrade,
    lastEvent: lastEventOf(events, 'KubernetesCluster', c),
    children: machines.map((m) => machineRow(m, c, lists, events, adopted)),
  };
}

const ownedBy = (o: KubeObject, owner: KubeObject) =>
  (o.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid && r.controller);

function machineRow(
  m: Machine,
  c: Cluster | undefined,
  lists: FleetLists,
  events: Map<string, KubeObject[]>,
  adopted: Map<string, Adopted>,
): FleetRow {
  const phase = m.status?.phase ?? '';
  const state: RowState =
    phase === 'Running'
      ? 'ok'
      : phase === 'Failed' || phase === 'Terminated'
        ? 'bad'
        : phase
          ? 'progressing'
          : 'unknown';
  const node = (c?.status?.nodes ?? []).find((n) => n.machine === m.metadata.name);
  const server = lists.servers.find((s) => s.metadata.annotations?.[SERVER_MACHINE_ANNOTATION] === key(m));
  const children: FleetRow[] = [];
  if (node) children.push(nodeRow(node, c!, m, adopted, events));
  if (server) children.push(serverRow(server, events));
  return {
    label: `machine/${m.metadata.name}`,
    namespace: ns(m),
    ready: phase || 'Unknown',
    state,
    health: '',
    talos: node?.talosVersion ?? '',
    kubernetes: node?.kubernetesVersion ?? '',
    upgrade: '',
    lastEvent: lastEventOf(events, 'Machine', m),
    children,
  };
}

const NODE_OK = new Set(['Configured', 'Member']);
const NODE_BAD = new Set(['Unreachable', 'ConfiguredElsewhere']);

function nodeRow(
  node: ClusterNodeStatus,
  c: Cluster,
  m: Machine,
  adopted: Map<string, Adopted>,
  events: Map<string, KubeObject[]>,
): FleetRow {
  const st = node.state ?? '';
  const upgrade = nodeUpgrade(c, m.metadata.name!);
  const state: RowState = upgrade
    ? 'progressing'
    : NODE_BAD.has(st) || node.lastError
      ? 'bad'
      : NODE_OK.has(st)
        ? 'ok'
        : st
          ? 'progressing'
          : 'unknown';
  const twin = node.address ? adopted.get(node.address) : undefined;
  return {
    label: [`node ${node.hostname ?? node.machine}`, node.role && `(${node.role})`, node.address]
      .filter(Boolean)
      .join(' '),
    ready: st || 'Unknown',
    state,
    // the cluster's status keeps no health per node: only the last error seen asking it
    health: node.lastError ? oneLine(node.lastError) : '',
    talos: node.talosVersion ?? '',
    kubernetes: node.kubernetesVersion ?? '',
    upgrade,
    lastEvent: '',
    children: twin ? [adoptedRow(twin, events)] : [],
  };
}

function adoptedRow(a: Adopted, events: Map<string, KubeObject[]>): FleetRow {
  const u = a.status?.upgrade;
  const upgrading = u && (u.phase === 'Upgrading' || u.phase === 'Rebooting' || u.phase === 'Staged');
  const ready = readyOf(a as Obj);
  const healthStatus = a.status?.health?.status ?? '';
  return {
    label: `adoptedserver/${a.metadata.name}`,
    namespace: ns(a),
    ...(upgrading && ready.state !== 'ok' ? { ready: ready.ready, state: 'progressing' as const } : ready),
    health: a.status?.connected === false && healthStatus ? 'Unknown (not connected)' : healthStatus,
    talos: a.status?.nodeInfo?.talosVersion ?? '',
    kubernetes: a.status?.nodeInfo?.kubernetesVersion ?? '',
    upgrade: u && u.phase !== 'Completed' ? `${u.phase} -> ${u.toVersion ?? u.image ?? ''}`.trim() : '',
    lastEvent: lastEventOf(events, 'AdoptedServer', a),
    children: [],
  };
}

function serverRow(s: Server, events: Map<string, KubeObject[]>): FleetRow {
  const ready = s.status?.ready;
  const accepted = !!s.spec?.accepted;
  return {
    label: `server/${s.metadata.name}`,
    ready: ready ? 'Ready' : !accepted ? 'NotReady (NotAccepted)' : ready === false ? 'NotReady' : 'Unknown',
    state: ready ? 'ok' : ready === false || !accepted ? 'bad' : 'unknown',
    health: [s.status?.power ? `power ${s.status.power}` : '', s.status?.isClean === false ? 'not clean' : '']
      .filter(Boolean)
      .join(', '),
    talos: '',
    kubernetes: '',
    upgrade: '',
    lastEvent: lastEventOf(events, 'Server', s),
    children: [],
  };
}

/** the Talos endpoint an AdoptedServer names, as `host:port` (port 50000 when it names none) */
function endpointOf(a: Adopted): string | undefined {
  const e: unknown = a.spec?.talos?.endpoint;
  if (typeof e !== 'string' || !e) return undefined;
  const bare = e.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return /:\d+$/.test(bare) ? bare : `${bare}:50000`;
}

const byName = (a: KubeObject, b: KubeObject) => key(a).localeCompare(key(b));

export function fleetOf(lists: FleetLists): Fleet {
  const events = eventsByObject(lists.events);
  const adoptedByEndpoint = new Map<string, Adopted>();
  for (const a of [...lists.adoptedServers].sort(byName)) {
    const e = endpointOf(a);
    if (e && !adoptedByEndpoint.has(e)) adoptedByEndpoint.set(e, a);
  }
  const clusters = [...lists.clusters].sort(byName).map((c) => clusterRow(c, lists, events, adoptedByEndpoint));
  const inClusters = new Set(lists.clusters.flatMap((c) => ((c as Cluster).status?.nodes ?? []).map((n) => n.address)));
  const clusterKeys = new Set(lists.clusters.map(key));
  const machinesInClusters = new Set(
    lists.machines
      .filter(
        (m) =>
          clusterKeys.has(`${ns(m)}/${m.metadata.labels?.[CLUSTER_LABEL]}`) ||
          lists.clusters.some((c) => ownedBy(m, c)),
      )
      .map(key),
  );
  const boundToClusterMachine = (s: KubeObject) =>
    machinesInClusters.has(s.metadata.annotations?.[SERVER_MACHINE_ANNOTATION] ?? '');
  const standalone: FleetRow[] = [
    ...[...lists.adoptedServers]
      .sort(byName)
      .filter((a) => !inClusters.has(endpointOf(a)) || adoptedByEndpoint.get(endpointOf(a)!) !== a)
      .map((a) => adoptedRow(a, events)),
    ...[...lists.machines]
      .sort(byName)
      .filter((m) => !machinesInClusters.has(key(m)))
      .map((m) => machineRow(m, undefined, lists, events, adoptedByEndpoint)),
    ...[...lists.servers]
      .sort(byName)
      .filter((s) => !boundToClusterMachine(s) && !lists.machines.some((m) => serverOfMachine(s, m)))
      .map((s) => serverRow(s, events)),
  ];
  return { clusters, standalone };
}

const serverOfMachine = (s: KubeObject, m: KubeObject) =>
  s.metadata.annotations?.[SERVER_MACHINE_ANNOTATION] === key(m);
