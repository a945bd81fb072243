// Typed document kinds and the Talos release that introduced each. The list is not complete, so a
// kind missing here may still be real: it gets a warning, while a kind listed for a release newer
// than the target is an error (strict decoding rejects it). Document contents are not modelled
// here and are accepted as they are; the rules known for some kinds live in rules-documents.ts.
import { contractAtLeast, formatContract, type TalosContract } from '../contract.js';
import type { Since } from './schema.js';
import { show } from './problem.js';

/** The only apiVersion typed documents use. */
export const DOCUMENT_API_VERSION = 'v1alpha1';

const KINDS_BY_RELEASE: [Since, string[]][] = [
  [
    [1, 12],
    [
      'HostnameConfig',
      'RegistryMirrorConfig',
      'ResolverConfig',
      'LinkConfig',
      'LinkAliasConfig',
      'DHCPv4Config',
      'BondConfig',
      'BridgeConfig',
      'VLANConfig',
      'TimeSyncConfig',
      'StaticHostConfig',
    ],
  ],
  [
    [1, 13],
    ['KubeSpanConfig', 'EnvironmentConfig', 'ImageVerificationConfig', 'ExternalVolumeConfig'],
  ],
  [
    [1, 14],
    [
      'KubeClusterConfig',
      'KubeNodeConfig',
      'KubeletConfig',
      'KubeNetworkConfig',
      'KubeAPIServerCAConfig',
      'KubePrismConfig',
      'KubeAggregatorCAConfig',
      'KubeAdmissionControlConfig',
      'KubeAuditPolicyConfig',
      'KubeAuthenticationConfig',
      'KubeAuthorizerConfig',
      'KubeEtcdEncryptionConfig',
      'KubeServiceAccountConfig',
      'KubeAPIServerConfig',
      'KubeControllerManagerConfig',
      'KubeSchedulerConfig',
      'KubeProxyConfig',
      'KubeFlannelCNIConfig',
      'KubeCoreDNSConfig',
      'UnattendedInstallConfig',
      'SysctlConfig',
      'DiscoveryServiceConfig',
      'DiscoveryIdentityConfig',
      'FilesystemTrimConfig',
      'SecurityProfileConfig',
      // emitted by the 1.14 generator; the release that added it is not known here, so
      // before 1.14 it is treated like an unlisted kind (warning), never rejected outright
      'VolumeConfig',
    ],
  ],
];

const KIND_SINCE = new Map<string, Since>(
  KINDS_BY_RELEASE.flatMap(([release, kinds]) => kinds.map((k) => [k, release] as [string, Since])),
);

export type KindVerdict = { known: true } | { known: false; severity: 'error' | 'warning'; message: string };

export function kindVerdict(kind: string, contract: TalosContract): KindVerdict {
  const target = formatContract(contract);
  const release = KIND_SINCE.get(kind);
  if (!release) {
    return {
      known: false,
      severity: 'warning',
      message: `document kind ${show(kind)} is not in this validator's table; if Talos ${target} does not know it the node rejects the config (strict decoding)`,
    };
  }
  if (contractAtLeast(contract, release[0], release[1])) return { known: true };
  const added = formatContract({ major: release[0], minor: release[1] });
  if (kind === 'VolumeConfig') {
    return {
      known: false,
      severity: 'warning',
      message: `document kind ${show(kind)} is known to Talos ${added}; whether Talos ${target} knows it is not recorded here`,
    };
  }
  return {
    known: false,
    severity: 'error',
    message: `unknown document kind ${show(kind)} for Talos ${target}: it was added in Talos ${added}`,
  };
}
