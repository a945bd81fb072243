// kubernetesclusters/{name}/health and /kubeconfig: each asks the cluster's nodes at request time
// (never the cluster's Kubernetes endpoint), within the probe budget. The nodes are the
// cluster's Machines' (their addresses from the Machines' status), reached with the cluster's
// talosconfig.
import { kubernetesClusterSubresources } from '../api/clusterlive.js';
import { kubernetesClusterKind, machineKind } from '../api/index.js';
import { CLUSTER_LABEL, machineRole } from '../api/machine.js';
import { serviceUnavailable } from '../machinery/errors.js';
import { groupVersion, type KubeObject } from '../machinery/kind.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { listObjects } from '../machinery/registry/list.js';
import { parseSelection } from '../machinery/registry/selection.js';
import type { SubresourceCall, SubresourceHandler, SubresourceReply } from '../machinery/registry/subresource.js';
import { clusterHealth } from '../nodeaccess/clusterhealth.js';
import { PROBE_BUDGET_MS } from '../nodeaccess/health.js';
import {
  clusterCredentials,
  machineEndpoint,
  using,
  type ClusterCredentials,
  type MachineNodes,
} from '../nodeaccess/machinenode.js';
import type { SecretStore } from '../secrets/secretstore.js';
import { TalosError } from '../talos/errors.js';
import { nodeFailureStatus } from './failures.js';

const GROUP = kubernetesClusterKind.group;

export interface ClusterLiveDeps {
  registry: APIRegistry;
  secrets: SecretStore;
  nodes: MachineNodes;
  /** the wait a control plane's cluster health check may take (--cluster-health-timeout) */
  healthTimeoutMs: number;
}

const declaration = (name: string) => kubernetesClusterSubresources.find((s) => s.name === name)!;
const controlledBy = (m: KubeObject, cluster: KubeObject) =>
  (m.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === cluster.metadata.uid);

interface ClusterNodes {
  creds: ClusterCredentials;
  machines: { machine: string; role: 'controlplane' | 'worker'; endpoint?: string }[];
}

async function nodesOf(deps: ClusterLiveDeps, cluster: KubeObject): Promise<ClusterNodes> {
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name!;
  const creds = await clusterCredentials(deps.secrets, ns, name);
  if (!creds) throw serviceUnavailable(`KubernetesCluster ${name} has no talosconfig yet: its nodes cannot be asked`);
  const store = deps.registry.storeOf(machineKind)!;
  const { items } = await listObjects(store, ns, {
    selection: parseSelection(machineKind, `${CLUSTER_LABEL}=${name}`),
  });
  const machines = items
    .filter((m) => controlledBy(m, cluster) && !m.metadata.deletionTimestamp && machineRole(m))
    .map((m) => ({
      machine: m.metadata.name!,
      role: machineRole(m)!,
      endpoint: machineEndpoint(m, deps.nodes.talosApiPort),
    }))
    .sort((a, b) => (a.role === b.role ? a.machine.localeCompare(b.machine) : a.role === 'controlplane' ? -1 : 1));
  return { creds, machines };
}

async function health(deps: ClusterLiveDeps, call: SubresourceCall): Promise<SubresourceReply> {
  const cluster = call.parent;
  const { creds, machines } = await nodesOf(deps, cluster);
  const report = await clusterHealth(deps.nodes, creds, machines, {
    // the node's own check gets what the budget leaves after the nodes were asked
    waitMs: Math.min(deps.healthTimeoutMs, PROBE_BUDGET_MS / 2),
    budgetMs: PROBE_BUDGET_MS,
    signal: call.signal,
  });
  return {
    type: 'object',
    code: 200,
    object: {
      apiVersion: groupVersion(kubernetesClusterKind),
      kind: 'HealthReport',
      metadata: {
        name: cluster.metadata.name,
        namespace: cluster.metadata.namespace,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
      status: report.status,
      checks: report.checks,
    },
  };
}

async function kubeconfig(deps: ClusterLiveDeps, call: SubresourceCall): Promise<SubresourceReply> {
  const { creds, machines } = await nodesOf(deps, call.parent);
  const cps = machines.filter((m) => m.role === 'controlplane' && m.endpoint);
  if (!cps.length)
    throw serviceUnavailable(`KubernetesCluster ${call.parent.metadata.name} has no control plane with a node yet`);
  let failure: unknown;
  for (const m of cps) {
    try {
      const bytes = await using(deps.nodes.configured(m.endpoint!, creds), (c) =>
        c.kubeconfig({ timeoutMs: PROBE_BUDGET_MS / cps.length, signal: call.signal }),
      );
      return { type: 'text', code: 200, contentType: 'application/yaml', text: bytes.toString('utf8') };
    } catch (e) {
      if (!(e instanceof TalosError)) throw e;
      failure = e;
    }
  }
  throw nodeFailureStatus(failure) ?? failure;
}

export function kubernetesClusterHandlers(deps: ClusterLiveDeps): SubresourceHandler[] {
  return [
    { group: GROUP, declaration: declaration('health'), serve: (call) => health(deps, call) },
    { group: GROUP, declaration: declaration('kubeconfig'), serve: (call) => kubeconfig(deps, call) },
  ];
}
