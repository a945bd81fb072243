// The v1alpha1 document and its machine section as data, per Talos release 1.8 to 1.14 (keys
// without since/until are known to all of them). Sections other releases moved to typed documents
// name the document that configures them instead. Where upstream's schema describes a field
// differently from what Talos decodes (a list written as one value), the table follows Talos and
// says so.
import { clusterSection } from './schema-v1alpha1-cluster.js';
import { machineNetwork } from './schema-v1alpha1-network.js';
import {
  args,
  bool,
  deprecatedAlias,
  int,
  list,
  map,
  mapping,
  obj,
  oneOf,
  since,
  str,
  until,
  type Shape,
} from './schema.js';

const certAndKey = obj({ crt: str, key: str });

const idMapping = obj({ containerID: int, hostID: int, size: int });

const kubelet = obj({
  clusterDNS: list(str),
  credentialProviderConfig: mapping,
  defaultRuntimeSeccompProfileEnabled: bool,
  disableManifestsDirectory: bool,
  extraArgs: args,
  extraConfig: mapping,
  extraMounts: list(
    obj({
      destination: str,
      gidMappings: list(idMapping),
      options: list(str),
      source: str,
      type: str,
      uidMappings: list(idMapping),
    }),
  ),
  image: str,
  nodeIP: obj({ validSubnets: list(str) }),
  registerWithFQDN: bool,
  skipNodeRegistration: bool,
});

const install = obj({
  disk: str,
  diskSelector: obj({
    busPath: str,
    modalias: str,
    model: str,
    name: str,
    serial: str,
    size: str,
    type: oneOf('ssd', 'hdd', 'nvme', 'sd'),
    uuid: str,
    wwid: str,
  }),
  extensions: until(1, 9, list(obj({ image: str }))),
  extraKernelArgs: until(1, 11, list(str)),
  grubUseUKICmdline: since(1, 12, bool),
  image: str,
  legacyBIOSSupport: bool,
  wipe: bool,
});

const features = obj({
  apidCheckExtKeyUsage: until(1, 11, bool),
  diskQuotaSupport: bool,
  hostDNS: until(
    1,
    13,
    obj({ enabled: bool, forwardKubeDNSToHost: bool, resolveMemberNames: bool }),
    'a ResolverConfig document (hostDNS)',
  ),
  imageCache: since(1, 9, until(1, 13, obj({ localEnabled: bool }), 'an ImageCacheConfig document')),
  kubePrism: until(1, 13, obj({ enabled: bool, port: int }), 'a KubePrismConfig document'),
  kubernetesTalosAPIAccess: until(
    1,
    13,
    obj({ allowedKubernetesNamespaces: list(str), allowedRoles: list(str), enabled: bool }),
    'a KubeTalosAPIAccessConfig document',
  ),
  nodeAddressSortAlgorithm: since(1, 9, str),
  rbac: until(1, 11, bool),
  stableHostname: until(1, 11, bool, 'a HostnameConfig document (auto: stable)'),
});

// systemDiskEncryption's `options` is a list of these; the schema describes it as one value
const diskEncryption = obj({
  blockSize: int,
  cipher: oneOf('aes-xts-plain64', 'xchacha12,aes-adiantum-plain64', 'xchacha20,aes-adiantum-plain64'),
  keySize: int,
  keys: list(
    obj({
      kms: obj({ endpoint: str }),
      nodeID: obj({}),
      slot: int,
      static: obj({ passphrase: str }),
      tpm: obj({ checkSecurebootStatusOnEnroll: bool }),
    }),
  ),
  options: list(oneOf('no_read_workqueue', 'no_write_workqueue', 'same_cpu_crypt')),
  provider: str,
});

const registries = obj({
  config: map(
    obj({
      auth: obj({ auth: str, identityToken: str, password: str, username: str }),
      tls: obj({ ca: str, clientIdentity: certAndKey, insecureSkipVerify: bool }),
    }),
  ),
  mirrors: map(obj({ endpoints: list(str), overridePath: bool, skipFallback: since(1, 9, bool) })),
});

/** Moved to a typed document from 1.14 on. */
const movedIn114 = (shape: Shape, replacedBy: string) => until(1, 13, shape, replacedBy);

const machine = obj({
  // the schema describes acceptedCAs as one {crt} object; Talos decodes a list of them
  acceptedCAs: list(obj({ crt: str })),
  baseRuntimeSpecOverrides: since(1, 9, movedIn114(mapping, 'a CRIBaseRuntimeSpecConfig document')),
  ca: certAndKey,
  certSANs: list(str),
  controlPlane: movedIn114(
    obj({ controllerManager: obj({ disabled: bool }), scheduler: obj({ disabled: bool }) }),
    'the KubeControllerManagerConfig and KubeSchedulerConfig documents (enabled)',
  ),
  disks: until(
    1,
    9,
    list(obj({ device: str, partitions: list(obj({ mountpoint: str, size: int })) })),
    'UserVolumeConfig documents',
  ),
  env: until(1, 12, map(str), 'an EnvironmentConfig document'),
  features,
  files: movedIn114(
    list(obj({ content: str, op: oneOf('create', 'append', 'overwrite'), path: str, permissions: int })),
    'EtcFileConfig documents',
  ),
  install: movedIn114(install, 'an UnattendedInstall document'),
  kernel: movedIn114(obj({ modules: list(obj({ name: str, parameters: list(str) })) }), 'KernelModuleConfig documents'),
  kubelet: movedIn114(kubelet, 'a KubeletConfig document'),
  // a destination's endpoint is a URL such as udp://10.0.0.1:514 (the schema shows an empty object)
  logging: obj({ destinations: list(obj({ endpoint: str, extraTags: map(str), format: oneOf('json_lines') })) }),
  network: until(1, 12, machineNetwork, 'typed network documents'),
  nodeAnnotations: movedIn114(map(str), 'a KubeNodeConfig document (annotations)'),
  nodeLabels: movedIn114(map(str), 'a KubeNodeConfig document (labels)'),
  nodeTaints: movedIn114(map(str), 'a KubeNodeConfig document (taints)'),
  pods: movedIn114(list(mapping), 'KubeStaticPodConfig documents'),
  registries: until(1, 11, registries, 'RegistryMirrorConfig, RegistryAuthConfig and RegistryTLSConfig documents'),
  seccompProfiles: list(obj({ name: str, value: mapping })),
  sysctls: movedIn114(map(str), 'a SysctlConfig document'),
  sysfs: movedIn114(map(str), 'a SysfsConfig document'),
  systemDiskEncryption: until(
    1,
    10,
    obj({ ephemeral: diskEncryption, state: diskEncryption }),
    'VolumeConfig documents (encryption)',
  ),
  time: until(1, 11, obj({ bootTimeout: str, disabled: bool, servers: list(str) }), 'a TimeSyncConfig document'),
  token: str,
  // Talos still parses the older names of the two types
  type: oneOf(
    'controlplane',
    'worker',
    deprecatedAlias('init', 'controlplane'),
    deprecatedAlias('join', 'worker'),
    deprecatedAlias('', 'worker'),
  ),
  udev: movedIn114(obj({ rules: list(str) }), 'a UdevRulesConfig document'),
});

/**
 * The legacy v1alpha1 Config document. `persist` is not in upstream's schema, but talosctl writes
 * `persist: true` and Talos decodes it (rules-structure.ts refuses `false`).
 */
export const V1ALPHA1_DOCUMENT: Shape = obj({
  cluster: clusterSection,
  debug: bool,
  machine,
  persist: bool,
  version: str,
});
