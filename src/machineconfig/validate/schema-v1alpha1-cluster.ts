// cluster of the v1alpha1 document. Talos 1.14 keeps only token, etcd, externalCloudProvider and
// adminKubeconfig here; every other setting moved to a Kube*Config or discovery document.
import {
  args,
  bool,
  int,
  list,
  map,
  mapping,
  obj,
  oneOf,
  since,
  str,
  until,
  withAdvice,
  type Shape,
} from './schema.js';

const certAndKey = obj({ crt: str, key: str });

const extraVolume = obj({ hostPath: str, mountPath: str, readonly: bool });

const apiServer = obj({
  admissionControl: list(obj({ configuration: mapping, name: str })),
  auditPolicy: mapping,
  authorizationConfig: since(1, 9, list(obj({ name: str, type: str, webhook: mapping }))),
  certSANs: list(str),
  disablePodSecurityPolicy: until(1, 11, bool),
  env: map(str),
  extraArgs: args,
  extraVolumes: list(extraVolume),
  image: str,
  resources: mapping,
});

const controllerManager = obj({
  env: map(str),
  extraArgs: args,
  extraVolumes: list(extraVolume),
  image: str,
  resources: mapping,
});

const scheduler = obj({
  config: mapping,
  env: map(str),
  extraArgs: args,
  extraVolumes: list(extraVolume),
  image: str,
  resources: mapping,
});

const discovery = obj({
  enabled: bool,
  registries: obj({
    kubernetes: obj({ disabled: bool }),
    service: obj({ disabled: bool, endpoint: str }),
  }),
});

const network = obj({
  cni: obj({
    flannel: obj({ extraArgs: list(str), kubeNetworkPoliciesEnabled: since(1, 13, bool) }),
    name: withAdvice(
      oneOf('flannel', 'custom', 'none'),
      (v) =>
        `to run ${JSON.stringify(v)}, use none and install it yourself once the cluster is up, or custom with the URLs of its manifests in cluster.network.cni.urls`,
    ),
    urls: list(str),
  }),
  dnsDomain: str,
  podSubnets: list(str),
  serviceSubnets: list(str),
});

const etcd = obj({
  advertisedSubnets: list(str),
  ca: certAndKey,
  extraArgs: args,
  image: str,
  listenSubnets: list(str),
});

/** Kept in cluster by 1.14: the rest is gone from the section after 1.13. */
const movedIn114 = (shape: Shape, replacedBy: string) => until(1, 13, shape, replacedBy);

export const clusterSection: Shape = obj({
  // the schema describes acceptedCAs as one {crt} object; Talos decodes a list of them
  acceptedCAs: movedIn114(list(obj({ crt: str })), 'a KubeAPIServerCAConfig document'),
  adminKubeconfig: obj({ certLifetime: str }),
  aescbcEncryptionSecret: movedIn114(str, 'a KubeEtcdEncryptionConfig document'),
  aggregatorCA: movedIn114(certAndKey, 'a KubeAggregatorCAConfig document'),
  allowSchedulingOnControlPlanes: until(1, 13, bool, 'the taints of a KubeNodeConfig document'),
  apiServer: movedIn114(apiServer, 'KubeAPIServerConfig and the other KubeAPIServer*/KubeAuth*/KubeAudit* documents'),
  ca: movedIn114(certAndKey, 'a KubeAPIServerCAConfig document'),
  clusterName: movedIn114(str, 'a KubeClusterConfig document'),
  controlPlane: movedIn114(obj({ endpoint: str, localAPIServerPort: int }), 'a KubeClusterConfig document'),
  controllerManager: movedIn114(controllerManager, 'a KubeControllerManagerConfig document'),
  coreDNS: movedIn114(obj({ disabled: bool, image: str }), 'a KubeCoreDNSConfig document'),
  discovery: movedIn114(discovery, 'a DiscoveryServiceConfig document'),
  etcd,
  externalCloudProvider: obj({ enabled: bool, manifests: list(str) }),
  extraManifestHeaders: movedIn114(map(str), 'KubeExternalManifestConfig documents'),
  extraManifests: movedIn114(list(str), 'KubeExternalManifestConfig documents'),
  id: movedIn114(str, 'a DiscoveryIdentityConfig document'),
  inlineManifests: movedIn114(list(obj({ contents: str, name: str })), 'KubeInlineManifestConfig documents'),
  network: movedIn114(network, 'a KubeNetworkConfig document (and KubeFlannelCNIConfig for flannel)'),
  proxy: movedIn114(obj({ disabled: bool, extraArgs: args, image: str, mode: str }), 'a KubeProxyConfig document'),
  scheduler: movedIn114(scheduler, 'a KubeSchedulerConfig document'),
  secret: movedIn114(str, 'a DiscoveryIdentityConfig document'),
  secretboxEncryptionSecret: movedIn114(str, 'a KubeEtcdEncryptionConfig document'),
  serviceAccount: movedIn114(obj({ key: str }), 'a KubeServiceAccountConfig document'),
  token: str,
});
