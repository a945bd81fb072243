// KubernetesCluster (vitistack.io/v1alpha1): a declared Talos Kubernetes cluster. The example in
// the Viti Talos operator's README (vitistack/talos-operator) is the authority for the shape:
// spec.topology.workers is a LIST of pools keyed by name, and exactly the example's fields are
// required; the other fields of talos-operator's KubernetesCluster CRD are optional. KubeDC's
// per-pool `infrastructureProvider` (KdcCluster worker pools) is our `provider`, and its
// provider-specific block (`cloudsigma: {...}`) goes into the free-form `providerConfig`.
import { fieldErr, type FieldError } from '../machinery/errors.js';
import type { KindDefinition, KubeObject } from '../machinery/kind.js';
import {
  Bool,
  ConfigPatches,
  Conditions,
  DateTime,
  Enum,
  FreeFormObject,
  Int,
  List,
  Obj,
  Opt,
  Str,
  StrategicPatches,
  StringList,
  StringMap,
  Type,
  ageColumn,
  atomicList,
  column,
  kindSchema,
  mapList,
  setList,
  type Static,
} from './schema.js';
import { dns1123LabelRule, dns1123SubdomainRule, duplicateKeyErrors, isRecord, valueAt } from './validate.js';

export const architectures = ['amd64', 'arm64', 'x86_64'] as const;
export const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

const ClusterData = Obj(
  {
    clusterUid: Str('Unique identifier (UUID) of the cluster.'),
    clusterId: Str(
      "Primary, human-readable cluster id; names and labels of the cluster's machines derive from it. Immutable.",
      { minLength: 1 },
    ),
    provider: Str('Kubernetes provider, e.g. talos.'),
    environment: Str('Deployment environment, e.g. dev, staging, prod.'),
    datacenter: Str('Datacenter, e.g. no-west-az1.'),
    project: Str('Project the cluster belongs to.'),
    region: Str('Geographical region.'),
    workorder: Str('Work order the cluster was created under.'),
    zone: Str('Availability zone.'),
    workspace: Str('Workspace the cluster belongs to.'),
    networkNamespaceName: Opt(Str('NetworkNamespace, in the same namespace, the machines are attached to.')),
  },
  'Identity and placement of the cluster.',
);

const NodeMetadata = Obj(
  {
    labels: Opt(StringMap('Labels for the machines and nodes.')),
    annotations: Opt(StringMap('Annotations for the machines and nodes.')),
  },
  'Labels and annotations applied to the machines and nodes.',
);

const Storage = List(
  Obj(
    {
      class: Str('Storage class of the disk.'),
      path: Str('Mount path of the disk.'),
      size: Str('Size of the disk, e.g. 50Gi.'),
    },
    'One disk.',
  ),
  'Disks of each machine; the first one is the boot disk.',
  atomicList,
);

const patchFields = (scope: string) => ({
  configPatches: Opt(ConfigPatches(`RFC 6902 patches applied to the generated Talos machine config of ${scope}.`)),
  strategicPatches: Opt(
    StrategicPatches(`Talos strategic merge patches (YAML documents) applied to ${scope}, after configPatches.`),
  ),
});

const Architecture = Enum(architectures, 'CPU architecture: amd64, arm64 or x86_64 (amd64 when unset).', {
  default: 'amd64',
});
// Worker pools are list items: a server-side default inside them makes every client-side
// `kubectl apply` of an unchanged manifest report "configured" (JSON merge patch resends lists the
// server changed), so the pool's architecture is not defaulted in storage; unset means amd64.
const PoolArchitecture = Enum(architectures, 'CPU architecture: amd64, arm64 or x86_64; amd64 when unset.');

/** a pool's bare-metal ServerClass: a cluster-scoped object's name (DNS-1123 subdomain) */
const ServerClassName = () =>
  Str(
    'ServerClass (metal.sidero.dev) whose Servers the machines run on: each gets the first free, clean Server of the class.',
    {
      minLength: 1,
      maxLength: 253,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
      'x-pattern-rule': dns1123SubdomainRule,
    },
  );

const ControlPlane = Obj(
  {
    replicas: Int('Number of control-plane machines; odd, at least 1.', { minimum: 1 }),
    version: Str('Kubernetes version of the control plane.'),
    provider: Opt(Str('Machine provider, e.g. kubevirt or proxmox.')),
    machineClass: Opt(Str('MachineClass of the machines.')),
    metadata: Opt(NodeMetadata),
    storage: Opt(Storage),
    architecture: Opt(Architecture),
    serverClass: Opt(ServerClassName()),
    ...patchFields('control-plane machines'),
  },
  'The control plane.',
);

const WorkerPool = Obj(
  {
    name: Str('Name of the pool, unique in the cluster (an RFC 1123 label).', {
      minLength: 1,
      maxLength: 63,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      'x-pattern-rule': dns1123LabelRule,
    }),
    replicas: Int('Number of machines in the pool.', { minimum: 0 }),
    version: Str('Kubernetes version of the pool.'),
    provider: Opt(
      Str(
        "Machine provider for the pool, e.g. kubevirt, proxmox, cloudsigma (a KubeDC worker pool's infrastructureProvider).",
      ),
    ),
    providerConfig: Opt(
      FreeFormObject(
        "Provider-specific settings for the pool, kept as sent (e.g. a KubeDC worker pool's cloudsigma block).",
      ),
    ),
    machineClass: Opt(Str('MachineClass of the machines.')),
    metadata: Opt(NodeMetadata),
    taints: Opt(
      List(
        Obj(
          {
            key: Str('Taint key.'),
            value: Opt(Str('Taint value.')),
            effect: Enum(taintEffects, 'NoSchedule, PreferNoSchedule or NoExecute.'),
          },
          'A node taint.',
        ),
        "Taints for the pool's nodes.",
        atomicList,
      ),
    ),
    storage: Opt(Storage),
    architecture: Opt(PoolArchitecture),
    serverClass: Opt(ServerClassName()),
    autoscaling: Opt(
      Obj(
        {
          enabled: Opt(Bool('Scale the pool automatically.', { default: false })),
          minReplicas: Opt(Int('Lower bound when autoscaling.', { minimum: 0 })),
          maxReplicas: Opt(Int('Upper bound when autoscaling.', { minimum: 0 })),
          scalingRules: Opt(StringList('Scaling rules.')),
        },
        'Autoscaling of the pool.',
      ),
    ),
    ...patchFields("the pool's machines"),
  },
  'A pool of worker machines.',
);

const TalosSettings = Obj(
  {
    version: Opt(Str('Talos version to install, e.g. v1.10.3.')),
    endpoint: Opt(Str('Kubernetes API endpoint of the cluster, e.g. https://10.0.0.10:6443.')),
    installDisk: Opt(Str('Disk Talos installs to, e.g. /dev/sda.')),
    installImage: Opt(Str('Talos installer image.')),
    certSANs: Opt(StringList('Extra SANs for the Kubernetes API and Talos API certificates.', setList)),
    network: Opt(
      Obj(
        {
          podSubnets: Opt(StringList('Pod CIDRs.')),
          serviceSubnets: Opt(StringList('Service CIDRs.')),
          cni: Opt(
            Str(
              'CNI Talos deploys: flannel (the default), none (install one yourself) or custom (from cniURLs). A URL here is a custom CNI with that manifest.',
            ),
          ),
          cniURLs: Opt(StringList('Manifest URLs of a custom CNI, applied by Talos at bootstrap.')),
        },
        'Cluster networking.',
      ),
    ),
    ...patchFields('every machine'),
  },
  'Talos settings for the generated machine configs.',
);

const UpgradeStrategy = Obj(
  {
    maxUnavailable: Opt(
      Int('Worker nodes upgraded at once (control planes always go one at a time); 1 when unset.', { minimum: 1 }),
    ),
    allowDowngrade: Opt(
      Bool('Allow changing a version to an older one (not further back than Talos supports going forwards).'),
    ),
  },
  'How a change of the Talos or Kubernetes version rolls out.',
);

const KubernetesClusterSpec = Obj(
  {
    data: ClusterData,
    topology: Obj(
      {
        version: Str('Kubernetes version of the cluster.'),
        controlplane: ControlPlane,
        workers: Opt(List(WorkerPool, 'Worker pools, keyed by name.', mapList('name'))),
      },
      'Machines that make up the cluster.',
    ),
    talos: Opt(TalosSettings),
    upgradeStrategy: Opt(UpgradeStrategy),
  },
  'Desired state of the cluster.',
);

export const nodeStates = [
  'WaitingForNode',
  'Maintenance',
  'Applying',
  'Configured',
  'Member',
  'Unreachable',
  'ConfiguredElsewhere',
  'Leaving',
] as const;

const ClusterNode = Obj(
  {
    machine: Str('The Machine this node serves.'),
    address: Opt(Str("The node's Talos API endpoint, host:port.")),
    role: Opt(Str('controlplane or worker.')),
    state: Opt(Enum(nodeStates, `Where the node is: ${nodeStates.join(', ')}.`)),
    configHash: Opt(Str('sha256 of the machine config last applied to the node.')),
    talosVersion: Opt(Str('Talos version the node runs.')),
    kubernetesVersion: Opt(Str('Kubernetes version of the config applied to the node.')),
    hostname: Opt(Str('Hostname the node reports.')),
    etcdMember: Opt(Bool('The node is a member of the cluster etcd (control planes).')),
    lastError: Opt(Str('The last failure talking to the node, empty once it succeeds again.')),
    appliedAt: Opt(
      DateTime('When the config was applied to the node in maintenance mode: it installs and reboots after that.'),
    ),
    skippedUpgrades: Opt(
      List(
        Str('A rollout target, as `Talos v1.9.6` or `Kubernetes 1.32.4`.'),
        'Rollout targets this node was left out of (skip-failed-nodes): it is not asked again for them.',
        atomicList,
      ),
    ),
    resetAt: Opt(
      DateTime(
        'When the node acknowledged a reset (leaving the cluster, or the cluster deleted): it is waited for until it is back in maintenance mode, and not reset again.',
      ),
    ),
  },
  "One node's progress in the cluster.",
);

const ClusterBootstrap = Obj(
  {
    machine: Opt(Str('The control plane Bootstrap is (or was) called on.')),
    requestedAt: Opt(DateTime('When the call was decided, written before it was made.')),
    completedAt: Opt(DateTime('When the node confirmed it (or answered that etcd already was bootstrapped).')),
    lastError: Opt(Str('Why the last Bootstrap call failed, until one succeeds.')),
  },
  'Bootstrap of the cluster etcd: it takes effect exactly once.',
);

export const upgradeNodePhases = ['pending', 'upgrading', 'rebooting', 'done', 'failed', 'skipped'] as const;
/** a Kubernetes rollout's two steps: a control plane's components, then every node's kubelet */
export const kubernetesUpgradeSteps = ['components', 'kubelet'] as const;

const UpgradeNode = Obj(
  {
    machine: Str('The Machine whose node this is.'),
    role: Opt(Str('controlplane or worker.')),
    phase: Enum(upgradeNodePhases, `Where the node is in the rollout: ${upgradeNodePhases.join(', ')}.`),
    step: Opt(
      Enum(
        kubernetesUpgradeSteps,
        'Kubernetes rollouts: the step the phase is about, the control-plane components (kube-apiserver, kube-controller-manager, kube-scheduler) or the kubelet.',
      ),
    ),
    from: Opt(Str('The version the node ran when the rollout started.')),
    to: Opt(Str("The version this node goes to, when it is not the rollout's (a worker pool with its own version).")),
    attempts: Opt(Int('How often the node was asked to upgrade in this rollout.', { minimum: 0 })),
    requestedAt: Opt(DateTime('When the node was to be asked (written before the call).')),
    acceptedAt: Opt(DateTime('When the node accepted the upgrade.')),
    finishedAt: Opt(DateTime('When the node was seen done, or failed.')),
    message: Opt(Str('What was seen last, or why it failed.')),
  },
  "One node's progress in a rollout.",
);

const ClusterUpgrade = Obj(
  {
    kind: Enum(['Talos', 'Kubernetes'], 'What is rolled out: Talos or Kubernetes.'),
    from: Opt(Str('The version the nodes ran when the rollout started.')),
    to: Str('The version rolled out.'),
    image: Opt(Str('The installer image of a Talos rollout.')),
    rollback: Opt(Bool('The target is older than what the nodes ran: a roll back.')),
    startedAt: Opt(DateTime('When the rollout started.')),
    finishedAt: Opt(DateTime('When every node was done or skipped, or the rollout was superseded.')),
    supersededBy: Opt(Str('The rollout that replaced this one before it finished, as `Talos v1.9.6`.')),
    nodes: Opt(List(UpgradeNode, 'Per-node progress, control planes first.', mapList('machine'))),
  },
  'The rollout of a version change, resumable from here.',
);

const KubernetesClusterStatus = Obj(
  {
    observedGeneration: Opt(Int('The metadata.generation this status was computed from.')),
    phase: Opt(
      Str(
        'Lifecycle phase: ValidationError, Pending, ConfigGenerated, WaitingForNodes, Bootstrapping, Configuring, Bootstrapped, Unhealthy, Ready, Deleting.',
      ),
    ),
    message: Opt(Str('Current activity, e.g. "Scaling down".')),
    workers: Opt(Int('Number of worker machines.')),
    conditions: Opt(Conditions()),
    nodes: Opt(List(ClusterNode, 'Per-node progress, one entry per Machine with a node.', mapList('machine'))),
    bootstrap: Opt(ClusterBootstrap),
    upgrade: Opt(ClusterUpgrade),
    state: Opt(
      Obj(
        {
          cluster: Opt(FreeFormObject('Resources, price, control plane and node pool state.')),
          versions: Opt(
            List(
              Obj(
                { name: Str('Component.'), version: Opt(Str('Version.')), branch: Opt(Str('Branch.')) },
                'A component version.',
              ),
              'Component versions.',
              atomicList,
            ),
          ),
          endpoints: Opt(
            List(
              Obj({ name: Str('Endpoint name.'), address: Opt(Str('Endpoint address.')) }, 'An endpoint.'),
              'Cluster endpoints.',
              atomicList,
            ),
          ),
          egressIP: Opt(Str('Egress IP of the cluster.')),
          created: Opt(DateTime('When the cluster was created.')),
          lastUpdated: Opt(DateTime('When the state was last updated.')),
          lastUpdatedBy: Opt(Str('Who last updated the state.')),
        },
        'Detailed cluster state.',
      ),
    ),
  },
  'Observed state of the cluster.',
);

export const KubernetesClusterSchema = Type.Object(
  {
    spec: KubernetesClusterSpec,
    status: Opt(KubernetesClusterStatus),
  },
  { description: 'KubernetesCluster declares a Talos Kubernetes cluster and the machines it is made of.' },
);

export type WorkerPool = Static<typeof WorkerPool>;
export type KubernetesClusterSpec = Static<typeof KubernetesClusterSpec>;
export type KubernetesClusterStatus = Static<typeof KubernetesClusterStatus>;
export type ClusterNodeStatus = Static<typeof ClusterNode>;
export type ClusterBootstrapStatus = Static<typeof ClusterBootstrap>;
export type ClusterUpgradeStatus = Static<typeof ClusterUpgrade>;
export type UpgradeNodeStatus = Static<typeof UpgradeNode>;
export type KubernetesCluster = Static<typeof KubernetesClusterSchema> & KubeObject;

function validate(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const replicas = valueAt(obj, 'spec.topology.controlplane.replicas');
  if (typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 1 && replicas % 2 === 0) {
    errs.push(fieldErr.invalid('spec.topology.controlplane.replicas', replicas, 'must be odd'));
  }
  const workers = valueAt(obj, 'spec.topology.workers');
  // duplicate pool names are reported by the generic list-map check of the schema (workers is a map keyed by name)
  if (Array.isArray(workers)) {
    workers.forEach((pool, i) => {
      const a = isRecord(pool) ? pool.autoscaling : undefined;
      if (
        isRecord(a) &&
        typeof a.minReplicas === 'number' &&
        typeof a.maxReplicas === 'number' &&
        a.minReplicas > a.maxReplicas
      ) {
        errs.push(
          fieldErr.invalid(
            `spec.topology.workers[${i}].autoscaling.maxReplicas`,
            a.maxReplicas,
            'must be greater than or equal to minReplicas',
          ),
        );
      }
    });
  }
  return errs;
}

function validateUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const now = valueAt(obj, 'spec.data.clusterId');
  const before = valueAt(old, 'spec.data.clusterId');
  return before !== undefined && now !== before
    ? [fieldErr.invalid('spec.data.clusterId', now, 'field is immutable')]
    : [];
}

export const kubernetesClusterKind: KindDefinition = {
  group: 'vitistack.io',
  version: 'v1alpha1',
  kind: 'KubernetesCluster',
  listKind: 'KubernetesClusterList',
  plural: 'kubernetesclusters',
  singular: 'kubernetescluster',
  namespaced: true,
  shortNames: ['kc'],
  categories: ['talos'],
  description: KubernetesClusterSchema.description!,
  schema: kindSchema(KubernetesClusterSchema),
  columns: [
    column('Phase', '.status.phase', 'string', 'Lifecycle phase.'),
    column('Provider', '.spec.data.provider', 'string', 'Kubernetes provider.'),
    column('Region', '.spec.data.region', 'string', 'Region.'),
    column('CPs', '.spec.topology.controlplane.replicas', 'integer', 'Control-plane replicas.'),
    column('Workers', '.status.workers', 'integer', 'Worker machines.'),
    column('Ready', '.status.conditions[?(@.type=="Ready")].status', 'string', 'Every step done and healthy.', 1),
    column('Healthy', '.status.conditions[?(@.type=="Healthy")].status', 'string', 'Cluster health check.', 1),
    column('Talos', '.status.nodes[0].talosVersion', 'string', 'Talos version the first control plane runs.', 1),
    column('Target', '.spec.talos.version', 'string', 'Talos version asked for.', 1),
    column(
      'Kubernetes',
      '.status.nodes[0].kubernetesVersion',
      'string',
      'Kubernetes version the first control plane runs.',
      1,
    ),
    column('K8s-Target', '.spec.topology.version', 'string', 'Kubernetes version asked for.', 1),
    column('Message', '.status.message', 'string', 'Current activity.', 1),
    ageColumn,
  ],
  selectableFields: ['spec.data.clusterId', 'spec.data.provider', 'spec.data.environment', 'spec.data.region'],
  statusSubresource: true,
  trackGeneration: true,
  strategy: { validate, validateUpdate },
};

/** held by every provider-talos cluster until its nodes are reset and what it made is gone (talos-operator's name) */
export const kubernetesClusterFinalizer = 'kubernetescluster.vitistack.io/finalizer';
/** any value: a deletion skips nodes that cannot be reached at once, instead of after the unreachable-node timeout */
export const SKIP_UNREACHABLE_ANNOTATION = 'kubernetescluster.vitistack.io/skip-unreachable-nodes';
