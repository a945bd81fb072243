// Server (metal.sidero.dev/v1alpha2): one physical machine, named by its SMBIOS UUID, as Sidero
// registers it (the Sidero agent calls CreateServer on its first PXE boot). Cluster-scoped.
import type { KindDefinition, KubeObject } from '../machinery/kind.js';
import {
  Bool,
  ConfigPatches,
  Conditions,
  Enum,
  Int,
  List,
  NodeAddresses,
  Obj,
  ObjectReference,
  Opt,
  Str,
  StrategicPatches,
  StringList,
  Type,
  ageColumn,
  atomicList,
  column,
  kindSchema,
  type Static,
} from './schema.js';

/** the binding of a Server to a Machine, `<namespace>/<machine>`; status.inUse is true exactly when it is present */
export const SERVER_MACHINE_ANNOTATION = 'metal.sidero.dev/machine';
/** Sidero's finalizer: holds a deleted Server while it is allocated */
export const SERVER_FINALIZER = 'storage.finalizers.server.k8s.io';
/** on a Machine: the ServerClass its Server comes from (set from its KubernetesCluster pool's serverClass) */
export const MACHINE_SERVERCLASS_ANNOTATION = 'metal.sidero.dev/serverclass';
/** on a Machine: the Server whose patches its config carries (the binding itself is the Server's annotation) */
export const MACHINE_SERVER_ANNOTATION = 'metal.sidero.dev/server';
/** on a bound Machine: why its Server's patches did not apply to its config (which stays as it was) */
export const MACHINE_CONFIG_ERROR_ANNOTATION = 'metal.sidero.dev/config-error';
/** on a bound Machine: which versions of its Server and ServerClass specs its config was last patched from */
export const MACHINE_SERVER_PATCHES_ANNOTATION = 'metal.sidero.dev/server-patches';
/** on a Machine of a ServerClass: its deletion waits until its Server is released (unbound, marked not clean) */
export const SERVER_RELEASE_FINALIZER = 'metal.sidero.dev/server-release';
/** the kubelet node label every bound Machine's config carries: the Server's name (Sidero's) */
export const SERVER_UUID_NODE_LABEL = 'metal.sidero.dev/uuid';

export const bootFromDiskMethods = ['ipxe-exit', 'http-404', 'ipxe-sanboot', ''] as const;
export const pxeModes = ['uefi', 'bios'] as const;
/** how the BMC is spoken to; ipmi when unset (applied at use time, as Sidero applies port and interface) */
export const bmcProtocols = ['ipmi', 'redfish'] as const;

export const HardwareInformation = Obj(
  {
    system: Opt(
      Obj(
        {
          uuid: Opt(Str('SMBIOS UUID.')),
          manufacturer: Opt(Str('System manufacturer.')),
          productName: Opt(Str('System product name.')),
          version: Opt(Str('System version.')),
          serialNumber: Opt(Str('System serial number.')),
          skuNumber: Opt(Str('System SKU number.')),
          family: Opt(Str('System family.')),
        },
        'SMBIOS system information.',
      ),
    ),
    compute: Opt(
      Obj(
        {
          totalCoreCount: Opt(Int('Cores across all processors.')),
          totalThreadCount: Opt(Int('Threads across all processors.')),
          processorCount: Opt(Int('Number of processors.')),
          processors: Opt(
            List(
              Obj(
                {
                  manufacturer: Opt(Str('Processor manufacturer.')),
                  productName: Opt(Str('Processor model.')),
                  serialNumber: Opt(Str('Processor serial number.')),
                  speed: Opt(Int('Speed in MHz.')),
                  coreCount: Opt(Int('Number of cores.')),
                  threadCount: Opt(Int('Number of threads.')),
                },
                'One processor.',
              ),
              'Processors.',
              atomicList,
            ),
          ),
        },
        'Processor information.',
      ),
    ),
    memory: Opt(
      Obj(
        {
          totalSize: Opt(Str('Total memory, e.g. "32 GB".')),
          moduleCount: Opt(Int('Number of memory modules.')),
          modules: Opt(
            List(
              Obj(
                {
                  manufacturer: Opt(Str('Module manufacturer.')),
                  productName: Opt(Str('Module product name.')),
                  serialNumber: Opt(Str('Module serial number.')),
                  type: Opt(Str('Module type, e.g. DDR4.')),
                  size: Opt(Int('Size in MB.')),
                  speed: Opt(Int('Speed in MT/s.')),
                },
                'One memory module.',
              ),
              'Memory modules.',
              atomicList,
            ),
          ),
        },
        'Memory information.',
      ),
    ),
    storage: Opt(
      Obj(
        {
          totalSize: Opt(Str('Total storage size.')),
          deviceCount: Opt(Int('Number of storage devices.')),
          devices: Opt(
            List(
              Obj(
                {
                  type: Opt(Str('Device type, e.g. SSD, HDD, NVMe.')),
                  size: Opt(Int('Size in bytes.')),
                  productName: Opt(Str('Device model.')),
                  serialNumber: Opt(Str('Device serial number.')),
                  name: Opt(Str('Kernel name, e.g. sda.')),
                  deviceName: Opt(Str('Device path, e.g. /dev/sda.')),
                  uuid: Opt(Str('Device UUID.')),
                  wwid: Opt(Str('Device WWID.')),
                },
                'One storage device.',
              ),
              'Storage devices.',
              atomicList,
            ),
          ),
        },
        'Storage information.',
      ),
    ),
    network: Opt(
      Obj(
        {
          interfaceCount: Opt(Int('Number of network interfaces.')),
          interfaces: Opt(
            List(
              Obj(
                {
                  index: Opt(Int('Interface index.')),
                  name: Opt(Str('Interface name.')),
                  flags: Opt(Str('Interface flags.')),
                  mtu: Opt(Int('MTU.')),
                  mac: Opt(Str('Hardware address.')),
                  addresses: Opt(StringList('Addresses on the interface.')),
                },
                'One network interface.',
              ),
              'Network interfaces.',
              atomicList,
            ),
          ),
        },
        'Network information.',
      ),
    ),
  },
  'Hardware inventory reported by the Sidero agent; every field is optional.',
);
export type HardwareInformation = Static<typeof HardwareInformation>;

const SecretKeyRef = Obj(
  {
    secretKeyRef: Obj(
      {
        namespace: Str('Namespace of the Secret.'),
        name: Str('Name of the Secret.'),
        key: Str('Key in the Secret.'),
      },
      'Key of a Secret.',
    ),
  },
  'Where to read a credential from.',
);

const BMC = Obj(
  {
    endpoint: Str('Host of the BMC; for Redfish also host:port or an http(s):// URL.'),
    port: Opt(Int("BMC port; 623 (IPMI) or the URL scheme's (Redfish) when unset.", { minimum: 0, maximum: 65535 })),
    user: Opt(Str('IPMI user name (inline).')),
    pass: Opt(Str('IPMI password (inline).')),
    userFrom: Opt(SecretKeyRef),
    passFrom: Opt(SecretKeyRef),
    interface: Opt(Str('IPMI interface: lanplus (when unset) or lan.')),
    protocol: Opt(Enum(bmcProtocols, 'How the BMC is spoken to: ipmi (when unset) or redfish.')),
  },
  'Power control of the server through its BMC; credentials from Secrets (userFrom, passFrom).',
);

const ServerSpec = Obj(
  {
    accepted: Bool('Sidero manages the server only when accepted is true.', { default: false }),
    cordoned: Opt(
      Bool('Removes the server from ServerClass availability; an allocated server keeps running.', { default: false }),
    ),
    hostname: Opt(Str('Hostname of the server.')),
    environmentRef: Opt(
      ObjectReference('Environment to boot; takes precedence over the ServerClass environment and "default".'),
    ),
    hardware: Opt(HardwareInformation),
    bmc: Opt(BMC),
    managementApi: Opt(
      Obj(
        { endpoint: Str('host:port of an HTTP power API (POST /poweron, /poweroff, /reboot, /pxeboot).') },
        'Alternative simple HTTP power API, used by test rigs.',
      ),
    ),
    configPatches: Opt(ConfigPatches('RFC 6902 patches applied to the Talos config after the ServerClass patches.')),
    strategicPatches: Opt(StrategicPatches('Talos strategic merge patches, applied after configPatches.')),
    pxeBootAlways: Opt(Bool('Always netboot the environment, even after Talos is installed.', { default: false })),
    bootFromDiskMethod: Opt(
      Enum(
        bootFromDiskMethods,
        'How to boot from disk after install: ipxe-exit, http-404 or ipxe-sanboot; empty uses the controller default.',
      ),
    ),
    pxeMode: Opt(Enum(pxeModes, 'PXE boot mode set over IPMI: uefi or bios.')),
  },
  'Desired state of the server.',
  // Defaulted so spec.accepted (always serialized upstream) appears even on a bare object. The
  // default names accepted itself: kube-apiserver judges a CRD's default as written, without the
  // nested defaults, and refuses `{}` for an object that requires accepted.
  { default: { accepted: false } },
);

const ServerStatus = Obj(
  {
    ready: Opt(Bool('Accepted and in a consistent state.')),
    inUse: Opt(Bool('The server is allocated (a ServerBinding with the same name exists).')),
    isClean: Opt(Bool('The disks have been wiped by the agent.')),
    conditions: Opt(Conditions('PowerCycle and PXEBooted conditions.')),
    addresses: Opt(NodeAddresses('Addresses reported by the agent.')),
    power: Opt(Str('Power state: on, off or unknown.')),
  },
  'Observed state of the server.',
);

export const ServerSchema = Type.Object(
  {
    spec: Opt(ServerSpec),
    status: Opt(ServerStatus),
  },
  { description: 'Server is a bare-metal machine known to Sidero, named by its SMBIOS UUID.' },
);

export type ServerSpec = Static<typeof ServerSpec>;
export type ServerStatus = Static<typeof ServerStatus>;
export type Server = Static<typeof ServerSchema> & KubeObject;

export const serverKind: KindDefinition = {
  group: 'metal.sidero.dev',
  version: 'v1alpha2',
  kind: 'Server',
  listKind: 'ServerList',
  plural: 'servers',
  singular: 'server',
  namespaced: false,
  shortNames: [],
  categories: ['talos'],
  description: ServerSchema.description!,
  schema: kindSchema(ServerSchema),
  columns: [
    column('Hostname', '.spec.hostname', 'string', 'Hostname of the server.'),
    column('BMC IP', '.spec.bmc.endpoint', 'string', 'IPMI host of the BMC.', 1),
    column('Accepted', '.spec.accepted', 'boolean', 'The server is accepted.'),
    column('Cordoned', '.spec.cordoned', 'boolean', 'The server is cordoned.'),
    column('Allocated', '.status.inUse', 'boolean', 'The server is allocated.'),
    column('Clean', '.status.isClean', 'boolean', 'The disks are wiped.'),
    column('Power', '.status.power', 'string', 'Power state.'),
    ageColumn,
  ],
  selectableFields: ['spec.accepted', 'spec.hostname'],
  statusSubresource: true,
  trackGeneration: true,
  strategy: {},
};
