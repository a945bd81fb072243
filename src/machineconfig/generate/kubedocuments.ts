// The 1.14 Kube*Config documents: the Kubernetes settings the v1alpha1 document no longer holds
// from Talos 1.14 on. PEMs are plain multi-line strings here, not base64. Of these kinds only a few
// field names are pinned down by known Talos output; the other field names mirror the v1alpha1 keys
// they replace, and a document whose only job is to switch a component on (flannel, CoreDNS) or to
// keep Talos's defaults (authentication) has no fields: its presence is the setting.
import type { SecretsBundle } from '../bundle.js';
import { configDocument } from './documents.js';
import type { ResolvedConfigInputs } from './inputs.js';
import {
  componentImage,
  defaultAuditPolicy,
  KUBEPRISM_PORT,
  POD_SECURITY_PLUGIN,
  podSecurityConfiguration,
} from './kubedefaults.js';
import { clusterNetworkFields, encryptionSecretFields, nodeLabelsFor, type MachineRole } from './v1alpha1.js';

type Fields = Record<string, unknown>;

/** Settings every node needs: cluster identity, node registration, kubelet, networking, CAs, KubePrism. */
function nodeDocuments(role: MachineRole, inputs: ResolvedConfigInputs, bundle: SecretsBundle): Fields[] {
  const controlPlane = role === 'controlplane';
  const k8sCA = bundle.certs.k8s;
  const labels = nodeLabelsFor(role, inputs);
  return [
    configDocument('KubeClusterConfig', {
      clusterName: inputs.clusterName,
      endpoint: inputs.endpoint,
      // cluster.allowSchedulingOnControlPlanes was a control-plane setting; it stays one here
      ...(controlPlane && inputs.allowSchedulingOnControlPlanes ? { allowSchedulingOnControlPlanes: true } : {}),
    }),
    // machine.nodeLabels / nodeTaints under their v1alpha1 names; an unlabelled worker gets an empty document
    configDocument('KubeNodeConfig', {
      ...(labels.size > 0 ? { nodeLabels: labels } : {}),
      ...(inputs.nodeTaints.length > 0 ? { nodeTaints: new Map(inputs.nodeTaints) } : {}),
    }),
    configDocument('KubeletConfig', {
      image: componentImage('kubelet', inputs.kubernetesVersion),
      defaultRuntimeSeccompProfileEnabled: true,
      disableManifestsDirectory: true,
    }),
    configDocument('KubeNetworkConfig', clusterNetworkFields(inputs)),
    // the control plane signs with the CA; a worker only trusts it (a list of PEM certificates)
    configDocument(
      'KubeAPIServerCAConfig',
      controlPlane ? { issuingCA: { crt: k8sCA.crt, key: k8sCA.key } } : { acceptedCAs: [k8sCA.crt] },
    ),
    configDocument('KubePrismConfig', { port: KUBEPRISM_PORT }),
  ];
}

/** Settings only a control plane has: the apiserver's CAs, policies, keys and the components. */
function controlPlaneDocuments(inputs: ResolvedConfigInputs, bundle: SecretsBundle): Fields[] {
  const k = inputs.kubernetesVersion;
  const aggregator = bundle.certs.k8saggregator;
  return [
    configDocument('KubeAggregatorCAConfig', { issuingCA: { crt: aggregator.crt, key: aggregator.key } }),
    // one named document per admission plugin, replacing the admissionControl list keyed by name
    configDocument('KubeAdmissionControlConfig', { configuration: podSecurityConfiguration() }, POD_SECURITY_PLUGIN),
    configDocument('KubeAuditPolicyConfig', { policy: defaultAuditPolicy() }),
    configDocument('KubeAuthenticationConfig'),
    configDocument('KubeAuthorizerConfig', {
      authorizers: [
        { type: 'Node', name: 'node' },
        { type: 'RBAC', name: 'rbac' },
      ],
    }),
    configDocument('KubeEtcdEncryptionConfig', encryptionSecretFields(bundle)),
    configDocument('KubeServiceAccountConfig', { key: bundle.certs.k8sserviceaccount.key }),
    // as from 1.12, only the additional SANs; omitted when there are none
    configDocument('KubeAPIServerConfig', {
      image: componentImage('apiServer', k),
      ...(inputs.certSANs.length > 0 ? { certSANs: [...inputs.certSANs] } : {}),
    }),
    configDocument('KubeControllerManagerConfig', { image: componentImage('controllerManager', k) }),
    configDocument('KubeSchedulerConfig', { image: componentImage('scheduler', k) }),
    configDocument('KubeProxyConfig', { image: componentImage('proxy', k) }),
    // flannel is deployed when this document is present; `cni: none/custom` leaves it out
    ...(inputs.cni.name === 'flannel' ? [configDocument('KubeFlannelCNIConfig')] : []),
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
