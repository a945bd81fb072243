// Typed document kinds: the Talos release that added each and the fields it takes. The table holds
// every kind of Talos 1.8 to 1.14, so for those targets a kind missing here is unknown to the node
// (strict decoding rejects it); for a newer target it may be new and gets a warning.
import { contractAtLeast, formatContract, type TalosContract } from '../contract.js';
import * as kube from './documents-kube.js';
import * as network from './documents-network.js';
import * as runtime from './documents-runtime.js';
import * as storage from './documents-storage.js';
import { show } from './problem.js';
import { NEWEST_KNOWN_SCHEMA, str, type Shape, type Since } from './schema.js';
import { beyondKnownSchemas } from './shapecheck.js';

/** The only apiVersion typed documents use. */
export const DOCUMENT_API_VERSION = 'v1alpha1';

const KINDS_BY_RELEASE: [minor: number, kinds: Record<string, Shape>][] = [
  [
    8,
    {
      VolumeConfig: storage.volumeConfig,
      ExtensionServiceConfig: runtime.extensionServiceConfig,
      NetworkDefaultActionConfig: network.networkDefaultActionConfig,
      KubeSpanEndpoints: network.kubeSpanEndpoints,
      NetworkRuleConfig: network.networkRuleConfig,
      EventSinkConfig: runtime.eventSinkConfig,
      KmsgLogConfig: runtime.kmsgLogConfig,
      WatchdogTimerConfig: runtime.watchdogTimerConfig,
      TrustedRootsConfig: runtime.trustedRootsConfig,
      SideroLinkConfig: runtime.sideroLinkConfig,
    },
  ],
  [
    10,
    {
      UserVolumeConfig: storage.userVolumeConfig,
      PCIDriverRebindConfig: runtime.pciDriverRebindConfig,
      EthernetConfig: network.ethernetConfig,
    },
  ],
  [
    11,
    {
      ExistingVolumeConfig: storage.existingVolumeConfig,
      RawVolumeConfig: storage.rawVolumeConfig,
      SwapVolumeConfig: storage.rawVolumeConfig,
      ZswapConfig: storage.zswapConfig,
    },
  ],
  [
    12,
    {
      RegistryAuthConfig: runtime.registryAuthConfig,
      RegistryMirrorConfig: runtime.registryMirrorConfig,
      RegistryTLSConfig: runtime.registryTLSConfig,
      BondConfig: network.bondConfig,
      BridgeConfig: network.bridgeConfig,
      DHCPv4Config: network.dhcpv4Config,
      DHCPv6Config: network.dhcpv6Config,
      DummyLinkConfig: network.dummyLinkConfig,
      HCloudVIPConfig: network.hcloudVIPConfig,
      HostnameConfig: network.hostnameConfig,
      Layer2VIPConfig: network.layer2VIPConfig,
      LinkAliasConfig: network.linkAliasConfig,
      LinkConfig: network.linkConfig,
      ResolverConfig: network.resolverConfig,
      StaticHostConfig: network.staticHostConfig,
      TimeSyncConfig: network.timeSyncConfig,
      VLANConfig: network.vlanConfig,
      WireguardConfig: network.wireguardConfig,
      OOMConfig: runtime.oomConfig,
    },
  ],
  [
    13,
    {
      ExternalVolumeConfig: storage.externalVolumeConfig,
      BlackholeRouteConfig: network.blackholeRouteConfig,
      KubeSpanConfig: network.kubeSpanConfig,
      RoutingRuleConfig: network.routingRuleConfig,
      TCPProbeConfig: network.tcpProbeConfig,
      VRFConfig: network.vrfConfig,
      EnvironmentConfig: runtime.environmentConfig,
    },
  ],
  [
    14,
    {
      FilesystemScrubConfig: storage.filesystemScheduleConfig,
      FilesystemTrimConfig: storage.filesystemScheduleConfig,
      LVMLogicalVolumeConfig: storage.lvmLogicalVolumeConfig,
      LVMVolumeGroupConfig: storage.lvmVolumeGroupConfig,
      RAIDArrayConfig: storage.raidArrayConfig,
      DiscoveryIdentityConfig: runtime.discoveryIdentityConfig,
      DiscoveryServiceConfig: runtime.discoveryServiceConfig,
      ContainerConfig: runtime.containerConfig,
      CRIBaseRuntimeSpecConfig: runtime.criBaseRuntimeSpecConfig,
      CRICustomizationConfig: runtime.criCustomizationConfig,
      ImageCacheConfig: runtime.imageCacheConfig,
      KubeAPIServerCAConfig: kube.kubeCAConfig,
      KubeAPIServerConfig: kube.kubeAPIServerConfig,
      KubeAdmissionControlConfig: kube.kubeAdmissionControlConfig,
      KubeAggregatorCAConfig: kube.kubeCAConfig,
      KubeAuditPolicyConfig: kube.kubeLiteralConfig,
      KubeAuthenticationConfig: kube.kubeLiteralConfig,
      KubeAuthorizerConfig: kube.kubeAuthorizerConfig,
      KubeClusterConfig: kube.kubeClusterConfig,
      KubeControllerManagerConfig: kube.kubeControllerManagerConfig,
      KubeCoreDNSConfig: kube.kubeCoreDNSConfig,
      KubeCredentialProviderConfig: kube.kubeLiteralConfig,
      KubeEtcdEncryptionConfig: kube.kubeEtcdEncryptionConfig,
      KubeExternalManifestConfig: kube.kubeExternalManifestConfig,
      KubeFlannelCNIConfig: kube.kubeFlannelCNIConfig,
      KubeInlineManifestConfig: kube.kubeInlineManifestConfig,
      KubeNetworkConfig: kube.kubeNetworkConfig,
      KubeNodeConfig: kube.kubeNodeConfig,
      KubePrismConfig: kube.kubePrismConfig,
      KubeProxyConfig: kube.kubeProxyConfig,
      KubeSchedulerConfig: kube.kubeSchedulerConfig,
      KubeServiceAccountConfig: kube.kubeServiceAccountConfig,
      KubeStaticPodConfig: kube.kubeStaticPodConfig,
      KubeTalosAPIAccessConfig: kube.kubeTalosAPIAccessConfig,
      KubeletConfig: kube.kubeletConfig,
      BGPInstanceConfig: network.bgpInstanceConfig,
      HTTPProbeConfig: network.httpProbeConfig,
      VethConfig: network.vethConfig,
      EtcFileConfig: runtime.etcFileConfig,
      KernelModuleConfig: runtime.kernelModuleConfig,
      SecurityProfileConfig: runtime.securityProfileConfig,
      SysctlConfig: runtime.paramsConfig,
      SysfsConfig: runtime.paramsConfig,
      UdevRulesConfig: runtime.udevRulesConfig,
      UnattendedInstall: runtime.unattendedInstall,
    },
  ],
];

export interface DocumentKind {
  since: Since;
  /** the document's fields; `apiVersion` and `kind` are added (rules-documents.ts checks their values) */
  shape: Shape;
}

function withIdentity(shape: Shape): Shape {
  if (shape.type !== 'object') return shape;
  return { ...shape, keys: { apiVersion: { shape: str }, kind: { shape: str }, ...shape.keys } };
}

const DOCUMENT_KINDS = new Map<string, DocumentKind>(
  KINDS_BY_RELEASE.flatMap(([minor, kinds]) =>
    Object.entries(kinds).map(([kind, shape]): [string, DocumentKind] => [
      kind,
      { since: [1, minor], shape: withIdentity(shape) },
    ]),
  ),
);

/** Every kind the tables know, with its release and fields. */
export function documentKinds(): ReadonlyMap<string, DocumentKind> {
  return DOCUMENT_KINDS;
}

export type KindVerdict =
  | { known: true; shape: Shape }
  | { known: false; severity: 'error' | 'warning'; message: string };

export function kindVerdict(kind: string, contract: TalosContract): KindVerdict {
  const target = formatContract(contract);
  const entry = DOCUMENT_KINDS.get(kind);
  if (!entry) {
    if (beyondKnownSchemas(contract)) {
      const newest = formatContract({ major: NEWEST_KNOWN_SCHEMA[0], minor: NEWEST_KNOWN_SCHEMA[1] });
      return {
        known: false,
        severity: 'warning',
        message: `document kind ${show(kind)} is not a kind of Talos ${newest}, the newest this validator knows; Talos ${target} rejects it unless it added the kind`,
      };
    }
    return {
      known: false,
      severity: 'error',
      message: `unknown document kind ${show(kind)}: Talos ${target} does not know it`,
    };
  }
  if (contractAtLeast(contract, entry.since[0], entry.since[1])) return { known: true, shape: entry.shape };
  const added = formatContract({ major: entry.since[0], minor: entry.since[1] });
  return {
    known: false,
    severity: 'error',
    message: `unknown document kind ${show(kind)} for Talos ${target}: it was added in Talos ${added}`,
  };
}
