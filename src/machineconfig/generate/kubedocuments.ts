// The 1.14 Kube*Config documents: the Kubernetes settings the v1alpha1 document no longer holds
// from Talos 1.14 on, with the field names, types and required fields of Talos 1.14's schema. PEMs
// are plain multi-line strings here, not base64. Where the schema does not say what `gen config`
// writes, the choice is written at the builder and in docs/talos-configs.md.
import type { SecretsBundle } from '../bundle.js';
import { configDocument } from './documents.js';
import type { ResolvedConfigInputs } from './inputs.js';
import {
  componentImage,
  CONTROL_PLANE_TAINT,
  defaultAuditPolicy,
  etcdEncryptionConfiguration,
  FLANNEL_BACKEND,
  KUBEPRISM_PORT,
  POD_SECURITY_PLUGIN,
  podSecurityConfiguration,
} from './kubedefaults.js';
import { nodeLabelsFor, type MachineRole } from './v1alpha1.js';

type Fields = Record<string, unknown>;

/**
 * Node taints, sorted by key as Go writes a map. The schema has no allowSchedulingOnControlPlanes:
 * a control plane refuses workloads by carrying the control-plane taint, which the option leaves out.
 */
function nodeTaintsFor(role: MachineRole, inputs: ResolvedConfigInputs): Map<string, string> {
  const taints = new Map<string, string>(
    role === 'controlplane' && !inputs.allowSchedulingOnControlPlanes ? [CONTROL_PLANE_TAINT] : [],
  );
  for (const [key, value] of inputs.nodeTaints) taints.set(key, value);
  return new Map([...taints].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** KubeNodeConfig: labels and taints (an unlabelled, untainted worker gets an empty document). */
function nodeDocument(role: MachineRole, inputs: ResolvedConfigInputs): Fields {
  const labels = nodeLabelsFor(role, inputs);
  const taints = nodeTaintsFor(role, inputs);
  return configDocument('KubeNodeConfig', {
    ...(labels.size > 0 ? { labels } : {}),
    ...(taints.size > 0 ? { taints } : {}),
  });
}

/** Settings every node needs: cluster identity, node registration, kubelet, networking, CAs, KubePrism. */
function nodeDocuments(role: MachineRole, inputs: ResolvedConfigInputs, bundle: SecretsBundle): Fields[] {
  const k8sCA = bundle.certs.k8s;
  return [
    configDocument('KubeClusterConfig', { clusterName: inputs.clusterName, endpoint: inputs.endpoint }),
    nodeDocument(role, inputs),
    // the static-pod manifests directory setting of v1alpha1 has no field here
    configDocument('KubeletConfig', {
      image: componentImage('kubelet', inputs.kubernetesVersion),
      defaultRuntimeSeccompProfileEnabled: true,
    }),
    // the CNI is not a field here: it is the flannel or external-manifest documents below
    configDocument('KubeNetworkConfig', {
      dnsDomain: inputs.dnsDomain,
      podSubnets: [...inputs.podSubnets],
      serviceSubnets: [...inputs.serviceSubnets],
    }),
    // the control plane signs with the CA; a worker only trusts it (a list of PEM certificates)
    configDocument(
      'KubeAPIServerCAConfig',
      role === 'controlplane' ? { issuingCA: { cert: k8sCA.crt, key: k8sCA.key } } : { acceptedCAs: [k8sCA.crt] },
    ),
    configDocument('KubePrismConfig', { port: KUBEPRISM_PORT }),
  ];
}

/**
 * The CNI: flannel is a document of its own with the backend the schema names as gen config's
 * default; a custom CNI is one external manifest per URL, named `custom-cni-<i>` in URL order;
 * `none` writes nothing.
 */
function cniDocuments(inputs: ResolvedConfigInputs): Fields[] {
  const { cni } = inputs;
  if (cni.name === 'flannel') return [configDocument('KubeFlannelCNIConfig', { ...FLANNEL_BACKEND })];
  if (cni.name === 'none') return [];
  return cni.urls.map((url, i) => configDocument('KubeExternalManifestConfig', { url }, `custom-cni-${i}`));
}

/** Settings only a control plane has: the apiserver's CAs, policies, keys and the components. */
function controlPlaneDocuments(inputs: ResolvedConfigInputs, bundle: SecretsBundle): Fields[] {
  const k = inputs.kubernetesVersion;
  const aggregator = bundle.certs.k8saggregator;
  return [
    configDocument('KubeAggregatorCAConfig', { issuingCA: { cert: aggregator.crt, key: aggregator.key } }),
    // one named document per admission plugin, replacing the admissionControl list keyed by name
    configDocument('KubeAdmissionControlConfig', { configuration: podSecurityConfiguration() }, POD_SECURITY_PLUGIN),
    configDocument('KubeAuditPolicyConfig', { configuration: defaultAuditPolicy() }),
    configDocument('KubeAuthenticationConfig'),
    // one document per authorizer, in kube-apiserver's default order Node, RBAC
    configDocument('KubeAuthorizerConfig', { type: 'Node' }, 'node'),
    configDocument('KubeAuthorizerConfig', { type: 'RBAC' }, 'rbac'),
    configDocument('KubeEtcdEncryptionConfig', { config: etcdEncryptionConfiguration(bundle) }),
    // the schema names no default issuer: the control-plane endpoint, where every node and client
    // reaches this apiserver, is the URL tokens are issued for
    configDocument('KubeServiceAccountConfig', {
      issuer: { issuerURL: inputs.endpoint, privateKey: bundle.certs.k8sserviceaccount.key },
    }),
    // as from 1.12, only the additional SANs; omitted when there are none
    configDocument('KubeAPIServerConfig', {
      image: componentImage('apiServer', k),
      ...(inputs.certSANs.length > 0 ? { certExtraSANs: [...inputs.certSANs] } : {}),
    }),
    configDocument('KubeControllerManagerConfig', { image: componentImage('controllerManager', k) }),
    configDocument('KubeSchedulerConfig', { image: componentImage('scheduler', k) }),
    configDocument('KubeProxyConfig', { image: componentImage('proxy', k) }),
    ...cniDocuments(inputs),
    configDocument('KubeCoreDNSConfig'),
  ];
}

/** The Kube*Config documents for a role, in the order Talos 1.14 writes the kinds. */
export function kubernetesDocuments(role: MachineRole, inputs: ResolvedConfigInputs, bundle: SecretsBundle): Fields[] {
  return [
    ...nodeDocuments(role, inputs, bundle),
    ...(role === 'controlplane' ? controlPlaneDocuments(inputs, bundle) : []),
  ];
}
