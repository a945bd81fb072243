// One round of the lifecycle for one cluster: what it starts from (the cluster, its Machines, each
// node as seen now, the etcd members) and what the steps leave for the status (each node's
// record, the bootstrap record, one condition per step). The steps (apply, bootstrap, health,
// kubeconfig, leave) read and change it; status.ts and write.ts turn it into the status.
import type {
  ClusterBootstrapStatus,
  ClusterNodeStatus,
  KubernetesClusterStatus,
} from '../../api/kubernetescluster.js';
import { machineLeaveFinalizer } from '../../api/machine.js';
import type { EventRecorder } from '../../events/recorder.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { CONFIG_HASH_ANNOTATION, machineRole } from '../../machineconfig/fromcluster.js';
import { machineEndpoint, using, type ClusterCredentials, type MachineNodes } from '../../nodeaccess/machinenode.js';
import { sightNode, type NodeSighting } from '../../nodeaccess/sighting.js';
import type { SecretStore } from '../../secrets/secretstore.js';
import type { EtcdMember } from '../../talos/client.js';
import { TalosError } from '../../talos/errors.js';
import { rfc3339, type ConditionUpdate } from '../conditions.js';
import type { LifecycleCondition } from './status.js';

export interface LifecycleDeps {
  clusters: ResourceStore;
  machines: ResourceStore;
  secrets: SecretStore;
  nodes: MachineNodes;
  events: EventRecorder;
  /** the wait a control plane's cluster health check may take */
  healthTimeoutMs: number;
  /** how long an unreachable node may hold up its leaving or its cluster's deletion */
  unreachableTimeoutMs: number;
}

export type Role = 'controlplane' | 'worker';

export interface NodeView {
  machine: KubeObject;
  name: string;
  role: Role;
  /** the number in ctp<i> / wrk<i>, for "control planes first, lowest first" */
  index: number;
  deleting: boolean;
  /** the Machine's node, once the provider reports it */
  endpoint?: string;
  sighting?: NodeSighting;
  /** the config the Machine should run (sha256, from its annotation), once generated */
  desiredHash?: string;
  /** its entry in status.nodes, as this round leaves it */
  record: ClusterNodeStatus;
  /** the state the status said before this round's look */
  previousState?: ClusterNodeStatus['state'];
}

export interface Round {
  cluster: KubeObject;
  namespace: string;
  name: string;
  creds: ClusterCredentials;
  views: NodeView[];
  /** the cluster's etcd members, as a control plane running etcd reports them */
  members?: EtcdMember[];
  bootstrap: ClusterBootstrapStatus;
  conditions: Partial<Record<LifecycleCondition, ConditionUpdate>>;
  /** a step failed: look again after the key's backoff */
  failed: boolean;
  deps: LifecycleDeps;
}

const indexOf = (name: string) => Number(/-(?:ctp|wrk)(\d+)$/.exec(name)?.[1] ?? 1e9);

export const live = (r: Round) => r.views.filter((v) => !v.deleting);
export const controlPlanes = (views: readonly NodeView[]) => views.filter((v) => v.role === 'controlplane');
export const ordered = (views: readonly NodeView[]) =>
  [...views].sort((a, b) => (a.role === b.role ? a.index - b.index : a.role === 'controlplane' ? -1 : 1));
export const hasLeaveFinalizer = (m: KubeObject) => (m.metadata.finalizers ?? []).includes(machineLeaveFinalizer);

export function event(r: Round, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
  return r.deps.events.record(r.cluster, type, reason, message);
}

export function isMember(r: Round, v: NodeView): boolean {
  const host = v.sighting?.hostname ?? v.record.hostname;
  return !!host && !!r.members?.some((m) => m.hostname === host && !m.isLearner);
}

/** the etcd members, asked of the first control plane whose etcd runs (undefined: none could tell) */
export async function etcdMembers(r: Round, except?: NodeView): Promise<EtcdMember[] | undefined> {
  for (const v of ordered(controlPlanes(r.views))) {
    if (v === except || v.sighting?.mode !== 'configured' || v.sighting.etcd !== 'running') continue;
    try {
      return await using(r.deps.nodes.configured(v.endpoint!, r.creds), (c) => c.etcdMemberList());
    } catch (e) {
      if (!(e instanceof TalosError)) throw e;
    }
  }
  return undefined;
}

/** the cluster's Machines and their nodes, as they are now */
export async function startRound(
  deps: LifecycleDeps,
  cluster: KubeObject,
  machines: readonly KubeObject[],
  creds: ClusterCredentials,
): Promise<Round> {
  const status = (cluster.status ?? {}) as KubernetesClusterStatus;
  const records = new Map((status.nodes ?? []).map((n) => [n.machine, n]));
  const views: NodeView[] = machines
    .filter((m) => machineRole(m))
    .map((m) => {
      const name = m.metadata.name!;
      const endpoint = machineEndpoint(m, deps.nodes.talosApiPort);
      const desiredHash = m.metadata.annotations?.[CONFIG_HASH_ANNOTATION];
      return {
        machine: m,
        name,
        role: machineRole(m)!,
        index: indexOf(name),
        deleting: !!m.metadata.deletionTimestamp,
        ...(endpoint ? { endpoint } : {}),
        ...(desiredHash ? { desiredHash } : {}),
        record: { ...(records.get(name) ?? { machine: name }), role: machineRole(m)! },
        previousState: records.get(name)?.state,
      };
    });
  await Promise.all(
    views
      .filter((v) => v.endpoint)
      .map(async (v) => {
        v.sighting = await sightNode(deps.nodes, v.endpoint!, creds);
      }),
  );
  const r: Round = {
    cluster,
    namespace: cluster.metadata.namespace!,
    name: cluster.metadata.name!,
    creds,
    views,
    bootstrap: { ...(status.bootstrap ?? {}) },
    conditions: {},
    failed: false,
    deps,
  };
  r.members = await etcdMembers(r);
  for (const v of views) noteSighting(r, v);
  return r;
}

/** what the node said goes into its record */
export function noteSighting(r: Round, v: NodeView): void {
  const rec = v.record;
  const s = v.sighting;
  if (v.endpoint) rec.address = v.endpoint;
  if (!s) {
    rec.state = 'WaitingForNode';
    return;
  }
  if (s.hostname) rec.hostname = s.hostname;
  if (s.talosVersion && s.mode === 'configured') rec.talosVersion = s.talosVersion;
  if (v.role === 'controlplane' && r.members) rec.etcdMember = isMember(r, v);
  switch (s.mode) {
    case 'configured':
      rec.state = rec.etcdMember ? 'Member' : 'Configured';
      delete rec.lastError;
      break;
    case 'maintenance':
      // just given its config, it may answer once more before it installs and reboots (apply.ts
      // gives it a while); otherwise it was reset or replaced behind our back and runs nothing of ours
      if (rec.state === 'Applying') break;
      delete rec.configHash;
      delete rec.appliedAt;
      delete rec.etcdMember;
      rec.state = 'Maintenance';
      delete rec.lastError;
      break;
    case 'foreign':
      rec.state = 'ConfiguredElsewhere';
      rec.lastError = s.error;
      break;
    case 'unreachable':
      // a node rebooting into the config just applied says nothing for a while
      if (rec.state !== 'Applying') rec.state = 'Unreachable';
      rec.lastError = s.error;
      break;
  }
  if (v.deleting) rec.state = 'Leaving';
}

export const now = () => rfc3339();
