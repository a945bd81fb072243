// The v1alpha1 key tree as data: one table per section, with the Talos release that added a key
// where that is known. Keys without `since` are known to every supported target (1.8+). `any`
// marks nested content that is not modelled here and `openObj` a section modelled only in part:
// both accept what they do not list instead of inventing rules for it.
import { any, args, bool, int, list, map, obj, openObj, since, str, type Shape } from './schema.js';

/** `{crt, key}` with both as base64 of a PEM */
const certAndKey = obj({ crt: str, key: str });
/** acceptedCAs items: only the certificate (`crt`) is known by name */
const acceptedCA = openObj({ crt: str });
/** control-plane component resources: requests and limits of Kubernetes quantities (rules-cluster.ts checks them) */
const resources = openObj({ requests: map(any), limits: map(any) });

// --- machine -------------------------------------------------------------------------------

const install = obj({
  disk: str,
  // selector criteria are not modelled here: any mapping, checked by rules-metal.ts
  diskSelector: openObj({}),
  extraKernelArgs: list(str),
  image: str,
  extensions: list(openObj({ image: str })),
  bootloader: bool,
  wipe: bool,
  legacyBIOSSupport: bool,
  grubUseUKICmdline: since(1, 12, bool),
});

const kubelet = obj({
  image: str,
  clusterDNS: list(str),
  extraArgs: args,
  extraMounts: list(any),
  extraConfig: openObj({}),
  credentialProviderConfig: openObj({}),
  defaultRuntimeSeccompProfileEnabled: bool,
  registerWithFQDN: bool,
  nodeIP: openObj({ validSubnets: list(str) }),
  skipNodeRegistration: bool,
  disableManifestsDirectory: bool,
});

const features = obj({
  rbac: bool,
  stableHostname: bool,
  kubernetesTalosAPIAccess: obj({ enabled: bool, allowedRoles: list(str), allowedKubernetesNamespaces: list(str) }),
  apidCheckExtKeyUsage: bool,
  diskQuotaSupport: bool,
  kubePrism: obj({ enabled: bool, port: int }),
  hostDNS: obj({ enabled: bool, forwardKubeDNSToHost: bool, resolveMemberNames: bool }),
  imageCache: since(1, 9, openObj({})),
  nodeAddressSortAlgorithm: since(1, 9, str),
});

// Interface entries are modelled only through the keys the interface rules (rules-network.ts) and
// the per-release additions use; the rest of an interface entry is accepted.
const deviceSelector = openObj({ permanentAddr: since(1, 9, str) });
const vip = openObj({ ip: str });
const route = openObj({ network: str, gateway: str, source: str });
const networkInterface = openObj({
  interface: str,
  deviceSelector,
  addresses: list(str),
  cidr: str,
  routes: list(route),
  bond: openObj({ interfaces: list(str), deviceSelectors: list(deviceSelector), mode: str }),
  bridge: openObj({ interfaces: list(str) }),
  bridgePort: since(1, 9, openObj({})),
  vlans: list(openObj({ addresses: list(str), cidr: str, routes: list(route), vip })),
  vip,
  wireguard: openObj({
    privateKey: str,
    peers: list(openObj({ publicKey: str, endpoint: str, allowedIPs: list(str) })),
  }),
  dhcp: bool,
  mtu: int,
});

const network = obj({
  hostname: str,
  interfaces: list(networkInterface),
  nameservers: list(str),
  searchDomains: since(1, 9, list(str)),
  extraHostEntries: list(openObj({ ip: str, aliases: list(str) })),
  kubespan: openObj({
    enabled: bool,
    mtu: int,
    filters: openObj({ endpoints: list(str), excludeAdvertisedNetworks: since(1, 12, list(str)) }),
  }),
  disableSearchDomain: bool,
});

const registries = openObj({
  mirrors: map(openObj({ endpoints: list(str), skipFallback: since(1, 9, bool) })),
  config: map(any),
});

const machine = obj({
  type: str,
  token: str,
  ca: certAndKey,
  acceptedCAs: list(acceptedCA),
  certSANs: list(str),
  controlPlane: any,
  kubelet,
  pods: list(any),
  network,
  disks: list(any),
  install,
  files: list(any),
  env: map(str),
  time: any,
  sysctls: map(str),
  sysfs: map(str),
  registries,
  systemDiskEncryption: any,
  features,
  udev: any,
  logging: any,
  kernel: any,
  seccompProfiles: list(any),
  baseRuntimeSpecOverrides: since(1, 9, any),
  nodeLabels: map(str),
  nodeAnnotations: map(str),
  nodeTaints: map(str),
});

// --- cluster -------------------------------------------------------------------------------

const controlPlaneComponent = {
  image: str,
  extraArgs: args,
  extraVolumes: list(any),
  env: map(str),
  resources,
};

const apiServer = obj({
  ...controlPlaneComponent,
  certSANs: list(str),
  disablePodSecurityPolicy: bool,
  admissionControl: list(obj({ name: str, configuration: openObj({}) })),
  auditPolicy: openObj({}),
  authorizationConfig: since(1, 9, list(any)),
});

const clusterNetwork = obj({
  cni: obj({
    name: str,
    urls: list(str),
    flannel: openObj({ extraArgs: any, kubeNetworkPoliciesEnabled: since(1, 13, bool) }),
  }),
  dnsDomain: str,
  podSubnets: list(str),
  serviceSubnets: list(str),
});

const cluster = obj({
  id: str,
  secret: str,
  controlPlane: obj({ endpoint: str, localAPIServerPort: int }),
  clusterName: str,
  network: clusterNetwork,
  token: str,
  aescbcEncryptionSecret: str,
  secretboxEncryptionSecret: str,
  ca: certAndKey,
  acceptedCAs: list(acceptedCA),
  aggregatorCA: certAndKey,
  serviceAccount: obj({ key: str }),
  apiServer,
  controllerManager: obj(controlPlaneComponent),
  proxy: obj({ disabled: bool, image: str, mode: str, extraArgs: args }),
  scheduler: obj({ ...controlPlaneComponent, config: openObj({}) }),
  discovery: obj({
    enabled: bool,
    registries: obj({ kubernetes: obj({ disabled: bool }), service: obj({ disabled: bool, endpoint: str }) }),
  }),
  etcd: obj({
    image: str,
    ca: certAndKey,
    extraArgs: args,
    subnet: str,
    advertisedSubnets: list(str),
    listenSubnets: list(str),
  }),
  coreDNS: obj({ disabled: bool, image: str }),
  externalCloudProvider: openObj({ enabled: bool, manifests: list(str) }),
  extraManifests: list(str),
  extraManifestHeaders: map(str),
  inlineManifests: list(openObj({ name: str, contents: str })),
  adminKubeconfig: obj({ certLifetime: str }),
  allowSchedulingOnMasters: bool,
  allowSchedulingOnControlPlanes: bool,
});

/** The legacy v1alpha1 Config document. */
export const V1ALPHA1_DOCUMENT: Shape = obj({ version: str, debug: bool, persist: bool, machine, cluster });
