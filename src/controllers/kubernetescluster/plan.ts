// What a KubernetesCluster's Machines should be, and the next step towards it (pure), as the Viti
// Talos operator names and scales them: control planes `<cluster>-ctp<i>` (at least
// one), workers `<cluster>-wrk<n>` from one index space shared by every pool, a new worker taking
// the lowest free index, pool membership in the `vitistack.io/nodepool` annotation. Names derive
// from metadata.name, the key every other part of this server uses for the cluster (its Secrets,
// the cluster label the machine-config admission reads), not from spec.data.clusterId.
// Only Machines the cluster controls (ownerReference with controller: true) are ever changed or
// removed; surplus ones go one at a time, control planes first, highest index first, and the
// next only once the previous is gone. A Machine no controller owns that carries the cluster's
// identity (left by `kubectl delete --cascade=orphan`) is adopted first, as a ReplicaSet adopts Pods.
import { groupVersion, type KubeObject, type OwnerReference } from '../../machinery/kind.js';
import { validateLabelValue } from '../../machinery/labels.js';
import {
  CLUSTER_LABEL,
  MACHINECONFIG_SECRET_ANNOTATION,
  POOL_ANNOTATION,
  ROLE_LABEL,
} from '../../machineconfig/fromcluster.js';
import type { KubernetesClusterSpec, WorkerPool } from '../../api/kubernetescluster.js';
import { machineKind } from '../../api/machine.js';
import { MACHINE_SERVERCLASS_ANNOTATION } from '../../api/server.js';

export const CLUSTER_ID_LABEL = 'vitistack.io/clusterid';
/** any non-empty value: the cluster is left alone (talos-operator's switch) */
export const SKIP_ANNOTATION = 'upgrade.vitistack.io/do-not-reconcile';
const MAX_NAME = 253;
/** the longest suffix a Machine's name gets elsewhere: its `<machine>-machineconfig` Secret */
const SECRET_SUFFIX = '-machineconfig';

type Role = 'controlplane' | 'worker';

export interface DesiredMachine {
  name: string;
  role: Role;
  pool?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Record<string, unknown>;
}

export interface ClusterPlan {
  /** the spec cannot be turned into Machines; nothing is created or removed */
  problems: string[];
  create: DesiredMachine[];
  /** merge patches for Machines whose owned fields drifted */
  update: { name: string; patch: Record<string, unknown> }[];
  /** the one surplus Machine to delete now */
  remove?: KubeObject;
  /** a Machine of ours is still terminating: the next removal waits for it */
  terminating: string[];
  /** desired Machines that exist and are ours, by name */
  existing: KubeObject[];
  desired: DesiredMachine[];
  workers: number;
}

export const ownerRefOf = (cluster: KubeObject): OwnerReference => ({
  apiVersion: cluster.apiVersion,
  kind: cluster.kind,
  name: cluster.metadata.name!,
  uid: cluster.metadata.uid!,
  controller: true,
  blockOwnerDeletion: true,
});

export const controlledBy = (m: KubeObject, cluster: KubeObject) =>
  (m.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === cluster.metadata.uid);

const controllerOf = (m: KubeObject) => (m.metadata.ownerReferences ?? []).find((r) => r.controller);

/**
 * Why the cluster may not adopt `m`, a Machine it does not control whose name fits its naming
 * scheme; undefined when it may: no controller owns it, its cluster-name label names this cluster
 * and its clusterid label, when it has one, is this cluster's clusterId.
 */
export function adoptionRefusal(cluster: KubeObject, m: KubeObject): string | undefined {
  const name = cluster.metadata.name!;
  const what = `Machine ${m.metadata.name} exists and is not controlled by this cluster`;
  const owner = controllerOf(m);
  if (owner) return `${what}: ${owner.kind} ${owner.name} (uid ${owner.uid}) controls it`;
  if (m.metadata.deletionTimestamp) return `${what}: it is being deleted`;
  const labelled = m.metadata.labels?.[CLUSTER_LABEL];
  if (labelled !== name) return labelled === undefined ? what : `${what}: its ${CLUSTER_LABEL} label is "${labelled}"`;
  const id = m.metadata.labels?.[CLUSTER_ID_LABEL];
  const clusterId = (cluster.spec as KubernetesClusterSpec).data.clusterId;
  if (id !== undefined && id !== clusterId)
    return `${what}: its ${CLUSTER_ID_LABEL} label is "${id}", the cluster's spec.data.clusterId is "${clusterId}"`;
  return undefined;
}

/** the Machines in the namespace the cluster adopts: named by its scheme, and adoptionRefusal has nothing against them */
export function adoptable(cluster: KubeObject, machinesInNamespace: readonly KubeObject[]): KubeObject[] {
  const name = cluster.metadata.name!;
  return machinesInNamespace.filter(
    (m) =>
      clusterNamedIn(m.metadata.name!) === name &&
      !controlledBy(m, cluster) &&
      adoptionRefusal(cluster, m) === undefined,
  );
}

/** a merge patch making the cluster the controller of `m`, refused (409) if `m` changed since it was read */
export const adoptionPatch = (cluster: KubeObject, m: KubeObject) => ({
  metadata: {
    uid: m.metadata.uid,
    resourceVersion: m.metadata.resourceVersion,
    ownerReferences: [...(m.metadata.ownerReferences ?? []), ownerRefOf(cluster)],
  },
});

/** the cluster whose naming scheme `machine` follows, if any */
export function clusterNamedIn(machine: string): string | undefined {
  return /^(.+)-(?:ctp|wrk)\d+$/.exec(machine)?.[1];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function indexIn(name: string, pattern: RegExp): number | undefined {
  const m = pattern.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** a storage size ("50Gi", "1Ti", "512Mi", "80G") in whole GB; undefined when unreadable or out of range */
export function sizeInGB(size: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(Mi|M|Gi|G|Ti|T)?$/.exec((size ?? '').trim());
  if (!m) return undefined;
  const unit = m[2] ?? 'G';
  const factor = unit.startsWith('T') ? 1024 : unit.startsWith('M') ? 1 / 1024 : 1;
  const gb = Math.ceil(Number(m[1]) * factor);
  return gb >= 1 && gb <= 65536 ? gb : undefined;
}

/** what a Machine takes from its pool, or from the control plane (which has the same fields) */
type PoolLike = Pick<WorkerPool, 'provider' | 'machineClass' | 'architecture' | 'storage' | 'serverClass'>;

function desiredMachine(
  cluster: KubeObject,
  name: string,
  role: Role,
  pool: PoolLike,
  poolName?: string,
): DesiredMachine {
  const spec = cluster.spec as KubernetesClusterSpec;
  const clusterId = spec.data.clusterId;
  const tags: Record<string, string> = { cluster: clusterId, role, ...(poolName ? { nodepool: poolName } : {}) };
  const machineSpec: Record<string, unknown> = {
    name,
    machineClass: pool.machineClass || (role === 'controlplane' ? 'large' : 'medium'),
    provider: pool.provider ?? '',
    os: { family: 'linux', distribution: 'talos', architecture: pool.architecture ?? 'amd64' },
    tags,
  };
  if (pool.storage?.length) {
    machineSpec.disks = pool.storage.map((d, i) => {
      const sizeGB = sizeInGB(d.size);
      return { name: `disk-${i}`, type: d.class, ...(sizeGB ? { sizeGB } : {}), boot: i === 0 };
    });
  }
  if (spec.data.networkNamespaceName) machineSpec.network = { networkNamespaceName: spec.data.networkNamespaceName };
  return {
    name,
    role,
    ...(poolName ? { pool: poolName } : {}),
    // clusterId is free text: as a label only when it is a valid label value (the name label is always)
    labels: {
      [CLUSTER_LABEL]: cluster.metadata.name!,
      ...(validateLabelValue(clusterId).length ? {} : { [CLUSTER_ID_LABEL]: clusterId }),
      [ROLE_LABEL]: role,
    },
    annotations: {
      ...(poolName ? { [POOL_ANNOTATION]: poolName } : {}),
      // bare metal: the allocator gives the Machine a Server of this class
      ...(pool.serverClass ? { [MACHINE_SERVERCLASS_ANNOTATION]: pool.serverClass } : {}),
    },
    spec: machineSpec,
  };
}

/** the Machine object to create for `d` */
export function machineManifest(cluster: KubeObject, d: DesiredMachine): KubeObject {
  return {
    apiVersion: groupVersion(machineKind),
    kind: machineKind.kind,
    metadata: {
      name: d.name,
      namespace: cluster.metadata.namespace,
      labels: d.labels,
      ...(Object.keys(d.annotations).length ? { annotations: d.annotations } : {}),
      ownerReferences: [ownerRefOf(cluster)],
    },
    spec: d.spec,
  };
}

/** JSON with every object's keys sorted: a value written back with its keys in another order is the same */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : x,
  );
const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** the keys of a Machine's disk the cluster sets from its pool's storage; the others are whoever set them */
const POOL_DISK_KEYS: readonly string[] = ['name', 'type', 'sizeGB', 'boot'];

/**
 * The pool's disks, each keeping what was set on the Machine's disk of the same name besides the
 * pool's keys: a `device` someone (a provider, a user) set says where the disk is, and the
 * machine config installs onto the boot disk's device.
 */
function disksKeepingTheirs(current: unknown, desired: Record<string, unknown>[]): Record<string, unknown>[] {
  const had = new Map(
    (Array.isArray(current) ? current : [])
      .filter((d): d is Record<string, unknown> => !!d && typeof d === 'object' && typeof d.name === 'string')
      .map((d) => [d.name as string, d]),
  );
  return desired.map((d) => {
    const theirs = Object.entries(had.get(d.name as string) ?? {}).filter(([k]) => !POOL_DISK_KEYS.includes(k));
    return { ...d, ...Object.fromEntries(theirs) };
  });
}

/** a merge patch bringing the owned fields of `m` to `d`; undefined when nothing drifted */
function driftPatch(m: KubeObject, d: DesiredMachine): Record<string, unknown> | undefined {
  const patch: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> } = {};
  const labels = Object.fromEntries(Object.entries(d.labels).filter(([k, v]) => m.metadata.labels?.[k] !== v));
  // a pool that no longer names a ServerClass takes it away (a bound Server stays bound until the Machine goes)
  const classGone =
    d.annotations[MACHINE_SERVERCLASS_ANNOTATION] === undefined &&
    m.metadata.annotations?.[MACHINE_SERVERCLASS_ANNOTATION] !== undefined;
  const annotations: Record<string, string | null> = Object.fromEntries(
    Object.entries(d.annotations).filter(([k, v]) => m.metadata.annotations?.[k] !== v),
  );
  if (classGone) annotations[MACHINE_SERVERCLASS_ANNOTATION] = null;
  if (Object.keys(labels).length) (patch.metadata ??= {}).labels = labels;
  if (Object.keys(annotations).length) (patch.metadata ??= {}).annotations = annotations;
  const spec = (m.spec ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(d.spec)) {
    if (k === 'os' || k === 'tags' || k === 'network') {
      // maps merge: only our keys are compared and sent, the machine's others are kept
      const current = (spec[k] ?? {}) as Record<string, unknown>;
      const changed = Object.fromEntries(
        Object.entries(v as Record<string, unknown>).filter(([kk, vv]) => !same(current[kk], vv)),
      );
      if (Object.keys(changed).length) (patch.spec ??= {})[k] = changed;
    } else if (k === 'disks') {
      // an atomic list: sent whole, with the Machine's own keys of each disk kept
      const disks = disksKeepingTheirs(spec.disks, v as Record<string, unknown>[]);
      if (!same(spec.disks, disks)) (patch.spec ??= {}).disks = disks;
    } else if (!same(spec[k], v)) {
      (patch.spec ??= {})[k] = v;
    }
  }
  // disks come from the pool's storage; a pool that no longer lists any takes them away
  if (!('disks' in d.spec) && spec.disks !== undefined) (patch.spec ??= {}).disks = null;
  return patch.metadata || patch.spec ? patch : undefined;
}

export function planCluster(cluster: KubeObject, machinesInNamespace: readonly KubeObject[]): ClusterPlan {
  const name = cluster.metadata.name!;
  const spec = cluster.spec as KubernetesClusterSpec;
  const byName = new Map(machinesInNamespace.map((m) => [m.metadata.name!, m]));
  const ours = machinesInNamespace.filter((m) => controlledBy(m, cluster));
  const live = ours.filter((m) => !m.metadata.deletionTimestamp);
  const terminating = ours.filter((m) => m.metadata.deletionTimestamp).map((m) => m.metadata.name!);
  const cpPattern = new RegExp(`^${escape(name)}-ctp(\\d+)$`);
  const wrkPattern = new RegExp(`^${escape(name)}-wrk(\\d+)$`);
  const problems: string[] = [];

  const desired: DesiredMachine[] = [];
  const cpCount = Math.max(1, spec.topology.controlplane.replicas);
  for (let i = 0; i < cpCount; i++)
    desired.push(desiredMachine(cluster, `${name}-ctp${i}`, 'controlplane', spec.topology.controlplane));

  // workers: each pool keeps its lowest-numbered live members, new ones take the lowest free index
  const pools = spec.topology.workers ?? [];
  const used = new Set<number>();
  for (const n of byName.keys()) {
    const i = indexIn(n, wrkPattern);
    if (i !== undefined) used.add(i);
  }
  const byIndex = (a: KubeObject, b: KubeObject) =>
    (indexIn(a.metadata.name!, wrkPattern) ?? 0) - (indexIn(b.metadata.name!, wrkPattern) ?? 0);
  let next = 0;
  for (const pool of pools) {
    const members = live
      .filter((m) => m.metadata.annotations?.[POOL_ANNOTATION] === pool.name && wrkPattern.test(m.metadata.name!))
      .sort(byIndex);
    const kept = members.slice(0, pool.replicas).map((m) => m.metadata.name!);
    for (let k = kept.length; k < pool.replicas; k++) {
      while (used.has(next)) next++;
      used.add(next);
      kept.push(`${name}-wrk${next}`);
    }
    for (const n of kept) desired.push(desiredMachine(cluster, n, 'worker', pool, pool.name));
  }

  const longest = desired.reduce((l, d) => Math.max(l, d.name.length), 0);
  if (longest + SECRET_SUFFIX.length > MAX_NAME) {
    problems.push(
      `machine names such as ${desired.find((d) => d.name.length === longest)!.name} with their "${SECRET_SUFFIX}" Secret exceed ${MAX_NAME} characters: shorten the cluster's name`,
    );
  }

  const create: DesiredMachine[] = [];
  const update: ClusterPlan['update'] = [];
  const existing: KubeObject[] = [];
  for (const d of desired) {
    const m = byName.get(d.name);
    if (!m) {
      create.push(d);
    } else if (!controlledBy(m, cluster)) {
      problems.push(adoptionRefusal(cluster, m) ?? `Machine ${d.name} is not adopted yet`);
    } else if (!m.metadata.deletionTimestamp) {
      existing.push(m);
      const patch = driftPatch(m, d);
      if (patch) update.push({ name: d.name, patch });
    }
  }

  const wanted = new Set(desired.map((d) => d.name));
  const surplus = live.filter((m) => !wanted.has(m.metadata.name!));
  // control planes first, then the highest index first
  const rank = (m: KubeObject) => {
    const cp = indexIn(m.metadata.name!, cpPattern);
    if (cp !== undefined) return 2e9 + cp;
    return indexIn(m.metadata.name!, wrkPattern) ?? 1e9;
  };
  surplus.sort((a, b) => rank(b) - rank(a));
  const workers = live.filter((m) => m.metadata.labels?.[ROLE_LABEL] === 'worker').length;
  if (problems.length) return { problems, create: [], update: [], terminating, existing, desired, workers };
  return {
    problems,
    create,
    update,
    remove: terminating.length ? undefined : surplus[0],
    terminating,
    existing,
    desired,
    workers,
  };
}

/** the desired Machines that exist but carry no generated machine config yet */
export const withoutConfig = (plan: ClusterPlan) =>
  plan.existing.filter((m) => !m.metadata.annotations?.[MACHINECONFIG_SECRET_ANNOTATION]);
