// Talos decodes a patched config into its structs and writes it again, so a patched v1alpha1
// document comes out in struct order (the v1alpha1 key order) whatever order the patch used. This
// puts a Map-based v1alpha1 document into that order; keys the table does not know keep their
// relative order after the known ones (the validator reports them; reordering must not hide them).
import type { ConfigDocument } from '../configstream.js';

interface KeyOrder {
  keys: readonly string[];
  children?: Readonly<Record<string, KeyOrder>>;
}

const pair: KeyOrder = { keys: ['crt', 'key'] };
const component: KeyOrder = { keys: ['image', 'extraArgs', 'extraVolumes', 'env', 'resources', 'config'] };

const MACHINE: KeyOrder = {
  keys: [
    'type',
    'token',
    'ca',
    'acceptedCAs',
    'certSANs',
    'controlPlane',
    'kubelet',
    'pods',
    'network',
    'disks',
    'install',
    'files',
    'env',
    'time',
    'sysctls',
    'sysfs',
    'registries',
    'systemDiskEncryption',
    'features',
    'udev',
    'logging',
    'kernel',
    'seccompProfiles',
    'baseRuntimeSpecOverrides',
    'nodeLabels',
    'nodeAnnotations',
    'nodeTaints',
  ],
  children: {
    ca: pair,
    kubelet: {
      keys: [
        'image',
        'clusterDNS',
        'extraArgs',
        'extraMounts',
        'extraConfig',
        'credentialProviderConfig',
        'defaultRuntimeSeccompProfileEnabled',
        'registerWithFQDN',
        'nodeIP',
        'skipNodeRegistration',
        'disableManifestsDirectory',
      ],
    },
    network: {
      keys: [
        'hostname',
        'interfaces',
        'nameservers',
        'searchDomains',
        'extraHostEntries',
        'kubespan',
        'disableSearchDomain',
      ],
    },
    install: {
      keys: [
        'disk',
        'diskSelector',
        'extraKernelArgs',
        'image',
        'extensions',
        'bootloader',
        'wipe',
        'legacyBIOSSupport',
        'grubUseUKICmdline',
      ],
    },
    features: {
      keys: [
        'rbac',
        'stableHostname',
        'kubernetesTalosAPIAccess',
        'apidCheckExtKeyUsage',
        'diskQuotaSupport',
        'kubePrism',
        'hostDNS',
        'imageCache',
        'nodeAddressSortAlgorithm',
      ],
      children: {
        kubernetesTalosAPIAccess: { keys: ['enabled', 'allowedRoles', 'allowedKubernetesNamespaces'] },
        kubePrism: { keys: ['enabled', 'port'] },
        hostDNS: { keys: ['enabled', 'forwardKubeDNSToHost', 'resolveMemberNames'] },
      },
    },
  },
};

const CLUSTER: KeyOrder = {
  keys: [
    'id',
    'secret',
    'controlPlane',
    'clusterName',
    'network',
    'token',
    'aescbcEncryptionSecret',
    'secretboxEncryptionSecret',
    'ca',
    'acceptedCAs',
    'aggregatorCA',
    'serviceAccount',
    'apiServer',
    'controllerManager',
    'proxy',
    'scheduler',
    'discovery',
    'etcd',
    'coreDNS',
    'externalCloudProvider',
    'extraManifests',
    'extraManifestHeaders',
    'inlineManifests',
    'adminKubeconfig',
    'allowSchedulingOnMasters',
    'allowSchedulingOnControlPlanes',
  ],
  children: {
    controlPlane: { keys: ['endpoint', 'localAPIServerPort'] },
    network: {
      keys: ['cni', 'dnsDomain', 'podSubnets', 'serviceSubnets'],
      children: { cni: { keys: ['name', 'urls', 'flannel'] } },
    },
    ca: pair,
    aggregatorCA: pair,
    serviceAccount: { keys: ['key'] },
    apiServer: {
      keys: [
        'image',
        'extraArgs',
        'extraVolumes',
        'env',
        'certSANs',
        'disablePodSecurityPolicy',
        'admissionControl',
        'auditPolicy',
        'resources',
        'authorizationConfig',
      ],
    },
    controllerManager: component,
    scheduler: component,
    proxy: { keys: ['disabled', 'image', 'mode', 'extraArgs'] },
    discovery: {
      keys: ['enabled', 'registries'],
      children: {
        registries: { keys: ['kubernetes', 'service'], children: { service: { keys: ['disabled', 'endpoint'] } } },
      },
    },
    etcd: {
      keys: ['image', 'ca', 'extraArgs', 'subnet', 'advertisedSubnets', 'listenSubnets'],
      children: { ca: pair },
    },
    coreDNS: { keys: ['disabled', 'image'] },
    adminKubeconfig: { keys: ['certLifetime'] },
  },
};

const V1ALPHA1: KeyOrder = {
  keys: ['version', 'debug', 'persist', 'machine', 'cluster'],
  children: { machine: MACHINE, cluster: CLUSTER },
};

function reorder(map: Map<string, unknown>, order: KeyOrder): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const place = (key: string, value: unknown) => {
    const child = order.children?.[key];
    out.set(key, child && value instanceof Map ? reorder(value as Map<string, unknown>, child) : value);
  };
  for (const key of order.keys) if (map.has(key)) place(key, map.get(key));
  for (const [key, value] of map) if (!out.has(key)) place(key, value);
  return out;
}

/** The document with its known keys in Talos's struct order; a new Map, the input is not changed. */
export function inV1Alpha1KeyOrder(doc: ConfigDocument): ConfigDocument {
  return reorder(doc, V1ALPHA1);
}

/** Other documents: apiVersion, kind and name first, as Talos writes every document's header. */
export function withHeaderFirst(doc: ConfigDocument): ConfigDocument {
  return reorder(doc, { keys: ['apiVersion', 'kind', 'name'] });
}
