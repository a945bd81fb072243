// The live subresources of KubernetesCluster: the whole cluster's health and its admin kubeconfig,
// asked of the cluster's nodes at request time. Declarations only: src/nodeaccess asks the nodes,
// src/subresources serves them. The kinds they answer with are AdoptedServer's (live.ts), but for
// the cluster's UpgradeRequest, which records a target in the cluster's spec instead of asking a node.
import { fieldErr, type FieldError } from '../machinery/errors.js';
import type { CustomSubresource } from '../machinery/discovery.js';
import type { JSONSchema } from '../machinery/kind.js';
import { HealthReportSchema } from './live.js';
import { Bool, Enum, Int, Obj, Opt, Str, Type, kindSchema, type Static } from './schema.js';

const ClusterUpgradeRequestSpec = Obj(
  {
    talosVersion: Opt(
      Str('Talos version to roll the cluster to, e.g. v1.13.10 (becomes spec.talos.version).', {
        pattern: '^v?[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$',
      }),
    ),
    kubernetesVersion: Opt(
      Str('Kubernetes version to move the cluster to, e.g. 1.36.3 (becomes spec.topology.version).', {
        pattern: '^v?[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$',
      }),
    ),
    strategy: Opt(
      Enum(['Rolling'] as const, 'How the nodes are upgraded: Rolling (the only one).', { default: 'Rolling' }),
    ),
    maxUnavailable: Opt(
      Int('Worker nodes upgraded at once (becomes spec.upgradeStrategy.maxUnavailable).', { minimum: 1 }),
    ),
    allowDowngrade: Opt(
      Bool('Allow an older version (becomes spec.upgradeStrategy.allowDowngrade).', { default: false }),
    ),
  },
  'What to move the cluster to and how.',
);

const ClusterUpgradeRequestStatus = Obj(
  {
    phase: Opt(Str('Recorded when the target was written into the cluster, Unchanged when it was there already.')),
    fromTalosVersion: Opt(Str('The Talos version the cluster asked for before.')),
    fromKubernetesVersion: Opt(Str('The Kubernetes version the cluster asked for before.')),
    resourceVersion: Opt(Str("The cluster's resourceVersion after the target was recorded.")),
    message: Opt(Str('What was recorded.')),
  },
  'What was recorded.',
);

export const ClusterUpgradeRequestSchema = Type.Object(
  { spec: ClusterUpgradeRequestSpec, status: Opt(ClusterUpgradeRequestStatus) },
  {
    description:
      "UpgradeRequest records a cluster's upgrade target in its spec; the rollout then shows in the cluster's status.upgrade.",
  },
);
export type ClusterUpgradeRequestSpec = Static<typeof ClusterUpgradeRequestSpec>;

/** the object schema request bodies are checked with (compileKindSchema) */
export const clusterUpgradeRequestBodySchema = { schema: kindSchema(ClusterUpgradeRequestSchema) };

/** a target of some kind is asked */
export function validateClusterUpgradeRequest(spec: ClusterUpgradeRequestSpec): FieldError[] {
  if (!spec.talosVersion && !spec.kubernetesVersion)
    return [fieldErr.required('spec.talosVersion', 'spec.talosVersion or spec.kubernetesVersion is required')];
  return [];
}

type TargetSpec = {
  talos?: { version?: string };
  topology?: { version?: string; controlplane?: { version?: string }; workers?: { version?: string }[] };
};

/**
 * writes a Talos and/or Kubernetes target into a cluster's spec (in place): the Kubernetes version
 * goes to the cluster's, the control plane's and every worker pool's that followed the cluster's
 * (a pool pinned to another version stays). One place for the target annotations and the request.
 */
export function retargetClusterSpec(spec: TargetSpec, target: { talos?: string; kubernetes?: string }): void {
  if (target.talos) spec.talos = { ...(spec.talos ?? {}), version: target.talos };
  const topology = spec.topology;
  if (target.kubernetes && topology) {
    const was = topology.version;
    topology.version = target.kubernetes;
    if (topology.controlplane && (topology.controlplane.version === was || !topology.controlplane.version))
      topology.controlplane.version = target.kubernetes;
    for (const pool of topology.workers ?? []) if (pool.version === was) pool.version = target.kubernetes;
  }
}

export const kubernetesClusterSubresources: CustomSubresource[] = [
  {
    resource: 'kubernetesclusters',
    name: 'health',
    kind: 'HealthReport',
    verbs: ['get'],
    schema: HealthReportSchema as { description?: string } as JSONSchema,
    description:
      "asks the cluster's nodes now: each node's services, etcd membership and quorum, versions, and a control plane's cluster health check",
  },
  {
    resource: 'kubernetesclusters',
    name: 'kubeconfig',
    kind: 'Kubeconfig',
    verbs: ['get'],
    secretMaterial: true,
    schema: {
      type: 'string',
      description: "The cluster's admin kubeconfig, as YAML (application/yaml), fetched from a control plane now.",
    },
    description: 'streams the admin kubeconfig from a control plane of the cluster as application/yaml',
  },
  {
    resource: 'kubernetesclusters',
    name: 'upgrade',
    kind: 'UpgradeRequest',
    verbs: ['create'],
    schema: ClusterUpgradeRequestSchema as { description?: string } as JSONSchema,
    description:
      "records a Talos and/or Kubernetes target in the cluster's spec, judged by the upgrade rule; the rollout shows in status.upgrade",
  },
];
