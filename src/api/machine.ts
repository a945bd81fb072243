// Machine (vitistack.io/v1alpha1): one virtual or physical machine of a KubernetesCluster,
// provisioned by a machine provider (as talos-operator's Machine CRD has it). Only spec.provider is
// required.
import type { KindDefinition, KubeObject } from '../machinery/kind.js';
import {
  Bool,
  ConfigPatches,
  Conditions,
  DateTime,
  Enum,
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
  type Static,
} from './schema.js';
import { architectures } from './kubernetescluster.js';

export const machinePhases = [
  'Pending',
  'Creating',
  'Running',
  'Stopping',
  'Stopped',
  'Terminating',
  'Terminated',
  'Failed',
] as const;

const KeyRef = (what: string, defaultKey: string) =>
  Obj(
    {
      name: Str(`Name of the ${what}.`),
      key: Opt(Str(`Key in the ${what}.`, { default: defaultKey })),
    },
    `${what} holding the data.`,
  );

const MachineSpec = Obj(
  {
    name: Opt(Str('Machine name; talos-operator sets it to metadata.name.', { minLength: 1 })),
    machineClass: Opt(Str('MachineClass of the machine, e.g. medium or large.', { minLength: 1 })),
    machineType: Opt(Str('Provider-specific machine type override.')),
    cpu: Opt(
      Obj(
        {
          cores: Opt(Int('CPU cores.', { minimum: 1, maximum: 256 })),
          threadsPerCore: Opt(Int('Threads per core.', { minimum: 1, maximum: 8 })),
          sockets: Opt(Int('CPU sockets.', { minimum: 1, maximum: 16 })),
        },
        'CPU topology.',
      ),
    ),
    memory: Opt(Int('Memory in bytes.', { minimum: 0 })),
    disks: Opt(
      List(
        Obj(
          {
            name: Opt(Str('Disk name, e.g. disk-0.')),
            sizeGB: Opt(Int('Size in GB.', { minimum: 1, maximum: 65536 })),
            type: Opt(Str('Disk type or storage class.')),
            boot: Opt(Bool('This is the boot disk.')),
            device: Opt(Str('Device path.')),
            encrypted: Opt(Bool('The disk is encrypted.')),
            iops: Opt(Int('Provisioned IOPS.', { minimum: 100, maximum: 64000 })),
            throughput: Opt(Int('Provisioned throughput in MB/s.', { minimum: 125, maximum: 4000 })),
          },
          'One disk.',
        ),
        'Disks of the machine.',
        atomicList,
      ),
    ),
    network: Opt(
      Obj(
        {
          networkNamespaceName: Opt(Str('NetworkNamespace the machine is attached to.')),
          vpc: Opt(Str('VPC.')),
          subnet: Opt(Str('Subnet.')),
          assignPublicIP: Opt(Bool('Assign a public IP.')),
          privateIP: Opt(Str('Requested private IP.')),
          publicIP: Opt(Str('Requested public IP.')),
          interfaces: Opt(
            List(
              Obj(
                {
                  name: Opt(Str('Interface name.')),
                  subnet: Opt(Str('Subnet of the interface.')),
                  securityGroups: Opt(StringList('Security groups of the interface.')),
                  primary: Opt(Bool('This is the primary interface.')),
                },
                'A network interface.',
              ),
              'Network interfaces.',
              atomicList,
            ),
          ),
        },
        'Network settings.',
      ),
    ),
    os: Opt(
      Obj(
        {
          family: Opt(Str('OS family, e.g. linux.')),
          distribution: Opt(Str('Distribution, e.g. talos.')),
          version: Opt(Str('OS version.')),
          architecture: Opt(Enum(architectures, 'CPU architecture: amd64, arm64 or x86_64.')),
          imageID: Opt(Str('Boot image id or URL.')),
          isoUri: Opt(Str('ISO URI.')),
          imageFamily: Opt(Str('Image family.')),
        },
        'Operating system to boot.',
      ),
    ),
    provider: Str('Machine provider that creates the machine, e.g. kubevirt or proxmox.'),
    providerConfig: Opt(
      Obj(
        {
          name: Opt(Str('Provider instance name.')),
          region: Opt(Str('Region.')),
          zone: Opt(Str('Zone.')),
          config: Opt(StringMap('Provider-specific settings.')),
          credentialsRef: Opt(
            Obj(
              { secretName: Opt(Str('Secret name.')), namespace: Opt(Str('Secret namespace.')) },
              'Secret with the provider credentials.',
            ),
          ),
        },
        'Provider settings.',
      ),
    ),
    sshKeys: Opt(StringList('SSH public keys.')),
    userData: Opt(Str('User data for the machine.')),
    tags: Opt(StringMap('Tags, e.g. cluster, role, nodepool.')),
    securityGroups: Opt(StringList('Security groups.')),
    monitoring: Opt(Bool('Enable provider monitoring.')),
    backup: Opt(
      Obj(
        {
          enabled: Opt(Bool('Back the machine up.')),
          schedule: Opt(Str('Cron schedule.')),
          retentionDays: Opt(Int('Days to keep backups.', { minimum: 0 })),
        },
        'Backup settings.',
      ),
    ),
    cloudInit: Opt(
      Obj(
        {
          type: Opt(
            Enum(['noCloud', 'configDrive'] as const, 'Cloud-init datasource: noCloud or configDrive.', {
              default: 'noCloud',
            }),
          ),
          userData: Opt(Str('Inline user data.')),
          userDataBase64: Opt(Str('Inline user data, base64.')),
          networkData: Opt(Str('Inline network data.')),
          networkDataBase64: Opt(Str('Inline network data, base64.')),
          userDataSecretRef: Opt(KeyRef('Secret', 'userdata')),
          networkDataSecretRef: Opt(KeyRef('Secret', 'networkdata')),
          userDataConfigMapRef: Opt(KeyRef('ConfigMap', 'userdata')),
          networkDataConfigMapRef: Opt(KeyRef('ConfigMap', 'networkdata')),
        },
        'Cloud-init settings.',
      ),
    ),
    talos: Opt(
      Obj(
        {
          configPatches: Opt(
            ConfigPatches(
              "RFC 6902 patches applied to this machine's generated Talos config, after the cluster's and its pool's.",
            ),
          ),
          strategicPatches: Opt(
            StrategicPatches(
              "Talos strategic merge patches (YAML documents) applied to this machine's config, after configPatches.",
            ),
          ),
        },
        'Talos settings of this machine: the last patches applied to its generated config.',
      ),
    ),
  },
  'Desired state of the machine.',
);

const MachineStatus = Obj(
  {
    observedGeneration: Opt(Int('The metadata.generation this status was computed from.')),
    phase: Opt(Str(`Lifecycle phase: ${machinePhases.join(', ')}.`)),
    message: Opt(Str('Human-readable status.')),
    state: Opt(Str('Provider-reported state.')),
    providerID: Opt(Str('Provider id of the machine.')),
    machineID: Opt(Str('Machine id.')),
    region: Opt(Str('Region.')),
    zone: Opt(Str('Zone.')),
    hostname: Opt(Str('Hostname.')),
    architecture: Opt(Str('CPU architecture.')),
    operatingSystem: Opt(Str('Operating system.')),
    operatingSystemVersion: Opt(Str('Operating system version.')),
    kernelVersion: Opt(Str('Kernel version.')),
    provider: Opt(Str('Provider that created the machine.')),
    lastUpdated: Opt(DateTime('When the status was last updated.')),
    bootTime: Opt(DateTime('When the machine booted.')),
    creationTime: Opt(DateTime('When the machine was created.')),
    ipAddresses: Opt(StringList('IPv4 addresses.')),
    ipv6Addresses: Opt(StringList('IPv6 addresses.')),
    publicIPAddresses: Opt(StringList('Public IP addresses; Talos is reached at the first IPv4 one.')),
    privateIPAddresses: Opt(StringList('Private IP addresses.')),
    cpus: Opt(Int('Number of CPUs.')),
    memory: Opt(Int('Memory in bytes.')),
    disks: Opt(
      List(
        Obj(
          {
            name: Opt(Str('Disk name.')),
            size: Opt(Int('Size in bytes.')),
            type: Opt(Str('Disk type.')),
            mountPoint: Opt(Str('Mount point.')),
            pvcName: Opt(Str('PersistentVolumeClaim backing the disk.')),
            volumeMode: Opt(Str('Volume mode.')),
            accessModes: Opt(StringList('Access modes.')),
            filesystemType: Opt(Str('Filesystem type.')),
            uuid: Opt(Str('Disk UUID.')),
            label: Opt(Str('Disk label.')),
            serialNumber: Opt(Str('Serial number.')),
            device: Opt(Str('Device path in the guest.')),
            usedBytes: Opt(Int('Used bytes.')),
            availableBytes: Opt(Int('Available bytes.')),
            usagePercent: Opt(Type.Number({ description: 'Usage in percent.' })),
          },
          'An observed disk.',
        ),
        'Observed disks.',
        atomicList,
      ),
    ),
    networkInterfaces: Opt(
      List(
        Obj(
          {
            name: Opt(Str('Interface name.')),
            macAddress: Opt(Str('MAC address.')),
            ipAddresses: Opt(StringList('IPv4 addresses.')),
            ipv6Addresses: Opt(StringList('IPv6 addresses.')),
            state: Opt(Str('Link state.')),
            mtu: Opt(Int('MTU.')),
            type: Opt(Str('Interface type.')),
          },
          'An observed network interface.',
        ),
        'Observed network interfaces.',
        atomicList,
      ),
    ),
    conditions: Opt(
      Conditions('Ready, NetworkReady, BootstrapReady, InfrastructureReady, DrainReady and BackupReady conditions.'),
    ),
    failureReason: Opt(Str('Machine-readable reason of a terminal failure.')),
    failureMessage: Opt(Str('Human-readable message of a terminal failure.')),
  },
  'Observed state of the machine.',
);

export const MachineSchema = Type.Object(
  {
    spec: MachineSpec,
    status: Opt(MachineStatus),
  },
  { description: 'Machine is one machine of a KubernetesCluster, created by a machine provider.' },
);

export type MachineSpec = Static<typeof MachineSpec>;
export type MachineStatus = Static<typeof MachineStatus>;
export type Machine = Static<typeof MachineSchema> & KubeObject;

export const machineKind: KindDefinition = {
  group: 'vitistack.io',
  version: 'v1alpha1',
  kind: 'Machine',
  listKind: 'MachineList',
  plural: 'machines',
  singular: 'machine',
  namespaced: true,
  shortNames: ['m'],
  categories: ['talos'],
  description: MachineSchema.description!,
  schema: kindSchema(MachineSchema),
  columns: [
    column('Phase', '.status.phase', 'string', 'Lifecycle phase.'),
    column('State', '.status.state', 'string', 'Provider-reported state.'),
    column('Public IPs', '.status.publicIPAddresses', 'string', 'Public IP addresses.'),
    column('Provider', '.spec.provider', 'string', 'Machine provider.'),
    column('Machine Class', '.spec.machineClass', 'string', 'MachineClass.'),
    ageColumn,
  ],
  selectableFields: ['spec.provider', 'spec.machineClass', 'status.phase'],
  statusSubresource: true,
  trackGeneration: true,
  strategy: {},
};

/** held by a cluster's Machine until its node has left the cluster (etcd, reset) */
export const machineLeaveFinalizer = 'kubernetescluster.vitistack.io/node-leave';

/** the labels a cluster's Machines carry: their cluster (metadata.name) and role (talos-operator's) */
export const CLUSTER_LABEL = 'cluster.vitistack.io/cluster-name';
export const ROLE_LABEL = 'vitistack.io/node-role';

/** the Machine's role: its label, or undefined when it has none we know */
export function machineRole(m: KubeObject): 'controlplane' | 'worker' | undefined {
  const r = m.metadata.labels?.[ROLE_LABEL];
  return r === 'controlplane' || r === 'worker' ? r : undefined;
}
