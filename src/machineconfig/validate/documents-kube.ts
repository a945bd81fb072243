// Fields of the Kube*Config documents (Talos 1.14): the Kubernetes settings the v1alpha1 document
// held up to 1.13. Certificates and keys are plain PEM text here (certs-documents.ts checks them).
import { args, bool, int, intRange, list, map, mapping, obj, oneOf, str, type Shape } from './schema.js';

const caConfig = obj({ acceptedCAs: list(str), issuingCA: obj({ cert: str, key: str }) });

/** KubeAPIServerCAConfig and KubeAggregatorCAConfig have the same fields. */
export const kubeCAConfig: Shape = caConfig;

const staticPodFields = { env: map(str), extraArgs: args, image: str, resources: mapping };

export const kubeAPIServerConfig: Shape = obj(
  { ...staticPodFields, apiPort: int, certExtraSANs: list(str), startupProbes: bool },
  ['image'],
);

export const kubeControllerManagerConfig: Shape = obj({ ...staticPodFields, enabled: bool }, ['image']);

export const kubeSchedulerConfig: Shape = obj({ ...staticPodFields, config: mapping, enabled: bool }, ['image']);

export const kubeProxyConfig: Shape = obj(
  { config: mapping, enabled: bool, extraArgs: args, image: str, mode: str, resources: mapping },
  ['image'],
);

export const kubeletConfig: Shape = obj(
  { clusterDNS: list(str), config: mapping, defaultRuntimeSeccompProfileEnabled: bool, extraArgs: args, image: str },
  ['image'],
);

/** KubeAuditPolicyConfig, KubeAuthenticationConfig, KubeCredentialProviderConfig: one literal configuration. */
export const kubeLiteralConfig: Shape = obj({ configuration: mapping });

export const kubeAdmissionControlConfig: Shape = obj({ configuration: mapping, name: str });

export const kubeAuthorizerConfig: Shape = obj({ name: str, type: oneOf('Node', 'RBAC', 'Webhook'), webhook: mapping });

export const kubeClusterConfig: Shape = obj({ clusterName: str, endpoint: str }, ['clusterName', 'endpoint']);

export const kubeCoreDNSConfig: Shape = obj({ enabled: bool, image: str });

export const kubeEtcdEncryptionConfig: Shape = obj({ config: mapping });

export const kubeExternalManifestConfig: Shape = obj({ headers: map(str), name: str, url: str }, ['name', 'url']);

export const kubeInlineManifestConfig: Shape = obj({ manifest: str, name: str }, ['manifest', 'name']);

export const kubeFlannelCNIConfig: Shape = obj({
  backendExtraConfig: mapping,
  backendMTU: int,
  backendPort: int,
  backendType: str,
  extraArgs: list(str),
  kubeNetworkPoliciesEnabled: bool,
  resources: mapping,
});

export const kubeNetworkConfig: Shape = obj(
  {
    dnsDomain: str,
    nodeCIDRMaskSizeIPv4: intRange(1, 32),
    nodeCIDRMaskSizeIPv6: intRange(1, 128),
    podSubnets: list(str),
    serviceSubnets: list(str),
  },
  ['podSubnets', 'serviceSubnets'],
);

export const kubeNodeConfig: Shape = obj({
  annotations: map(str),
  labels: map(str),
  nodeIP: obj({ validSubnets: list(str) }),
  registerWithFQDN: bool,
  skipNodeRegistration: bool,
  taints: map(str),
});

export const kubePrismConfig: Shape = obj({ port: int, tlsServerName: str }, ['port']);

export const kubeServiceAccountConfig: Shape = obj(
  {
    accepted: obj({ audiences: list(str), issuers: list(str), publicKeys: list(str) }),
    issuer: obj({ issuerURL: str, privateKey: str }, ['issuerURL', 'privateKey']),
  },
  ['issuer'],
);

export const kubeStaticPodConfig: Shape = obj({ name: str, pod: mapping }, ['name', 'pod']);

export const kubeTalosAPIAccessConfig: Shape = obj({ allowedKubernetesNamespaces: list(str), allowedRoles: list(str) });
