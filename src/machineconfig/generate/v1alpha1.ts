// The legacy v1alpha1 document, as `gen config` writes it for each contract. Objects are built key
// by key in Talos's struct order, which is the order the YAML shows; certificates are base64 of the
// PEM.
import { base64OfText } from '../base64.js';
import type { SecretsBundle } from '../bundle.js';
import { contractAtLeast } from '../contract.js';
import type { CertAndKeyPem } from '../pki.js';
import type { ResolvedConfigInputs } from './inputs.js';
import { v1alpha1NetworkSection } from './nodenetwork.js';
import {
  componentImage,
  defaultAuditPolicy,
  EXCLUDE_FROM_EXTERNAL_LB_LABEL,
  KUBEPRISM_PORT,
  POD_SECURITY_PLUGIN,
  podSecurityConfiguration,
} from './kubedefaults.js';

export type MachineRole = 'controlplane' | 'worker';

type Fields = Record<string, unknown>;

/** {crt, key}; a worker gets the certificate with `key: ""` so it can verify but never sign. */
function pemPair(pair: CertAndKeyPem, withKey: boolean): Fields {
  return { crt: base64OfText(pair.crt), key: withKey ? base64OfText(pair.key) : '' };
}

/**
 * The node labels: control planes carry the exclude-from-external-LB label; the input labels
 * are added (winning on the same key). Sorted by key, as Go writes a map. A Map keeps the order
 * even for keys that look like integers, which a plain object would move to the front.
 */
export function nodeLabelsFor(role: MachineRole, inputs: ResolvedConfigInputs): Map<string, string> {
  const labels = new Map<string, string>(role === 'controlplane' ? [[EXCLUDE_FROM_EXTERNAL_LB_LABEL, '']] : []);
  for (const [key, value] of inputs.nodeLabels) labels.set(key, value);
  return new Map([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `cluster.network`: `cni` only when it is not the default flannel, then domain and subnets. */
export function clusterNetworkFields(inputs: ResolvedConfigInputs): Fields {
  const { cni } = inputs;
  return {
    ...(cni.name === 'flannel'
      ? {}
      : { cni: cni.name === 'custom' ? { name: 'custom', urls: [...cni.urls] } : { name: 'none' } }),
    dnsDomain: inputs.dnsDomain,
    podSubnets: [...inputs.podSubnets],
    serviceSubnets: [...inputs.serviceSubnets],
  };
}

function machineSection(role: MachineRole, inputs: ResolvedConfigInputs, bundle: SecretsBundle): Fields {
  const c = inputs.contract;
  const contractBefore112 = !contractAtLeast(c, 1, 12);
  const machine: Fields = {
    type: role,
    token: bundle.trustdinfo.token,
    ca: pemPair(bundle.certs.os, role === 'controlplane'),
    certSANs: [...inputs.certSANs],
    kubelet: {
      image: componentImage('kubelet', inputs.kubernetesVersion),
      defaultRuntimeSeccompProfileEnabled: true,
      disableManifestsDirectory: true,
    },
  };
  // an empty network section was written up to 1.12; 1.13 stopped writing it. A node's own
  // hostname and links go here up to 1.11, into documents from 1.12 (nodenetwork.ts)
  if (contractBefore112) machine.network = v1alpha1NetworkSection(inputs);
  else if (!contractAtLeast(c, 1, 13)) machine.network = {};
  machine.install = {
    disk: inputs.installDisk,
    image: inputs.installImage,
    wipe: false,
    ...(contractAtLeast(c, 1, 12) ? { grubUseUKICmdline: true } : {}),
  };
  machine.features = {
    // rbac, stableHostname and apidCheckExtKeyUsage became unconditional (or HostnameConfig) in 1.12
    ...(contractBefore112 ? { rbac: true, stableHostname: true, apidCheckExtKeyUsage: true } : {}),
    diskQuotaSupport: true,
    kubePrism: { enabled: true, port: KUBEPRISM_PORT },
    hostDNS: { enabled: true, forwardKubeDNSToHost: true },
  };
  const labels = nodeLabelsFor(role, inputs);
  if (labels.size > 0) machine.nodeLabels = labels;
  if (inputs.nodeTaints.length > 0) machine.nodeTaints = new Map(inputs.nodeTaints);
  return machine;
}

function apiServerSection(inputs: ResolvedConfigInputs): Fields {
  const contractBefore112 = !contractAtLeast(inputs.contract, 1, 12);
  // up to 1.11 the endpoint's host leads the SANs; from 1.12 only the additional SANs are listed
  const certSANs = contractBefore112 ? [inputs.endpointHost, ...inputs.certSANs] : [...inputs.certSANs];
  const apiServer: Fields = { image: componentImage('apiServer', inputs.kubernetesVersion) };
  // omitempty: an empty SAN list is not written (only machine.certSANs is always written)
  if (certSANs.length > 0) apiServer.certSANs = certSANs;
  if (contractBefore112) apiServer.disablePodSecurityPolicy = true;
  apiServer.admissionControl = [{ name: POD_SECURITY_PLUGIN, configuration: podSecurityConfiguration() }];
  apiServer.auditPolicy = defaultAuditPolicy();
  return apiServer;
}

/** The etcd encryption secret a control plane gets, under its v1alpha1 name: whichever one the bundle holds. */
export function encryptionSecretFields(bundle: SecretsBundle): Fields {
  const { aescbcencryptionsecret, secretboxencryptionsecret } = bundle.secrets;
  return aescbcencryptionsecret !== undefined
    ? { aescbcEncryptionSecret: aescbcencryptionsecret }
    : { secretboxEncryptionSecret: secretboxencryptionsecret };
}

function clusterSection(role: MachineRole, inputs: ResolvedConfigInputs, bundle: SecretsBundle): Fields {
  const controlPlane = role === 'controlplane';
  const cluster: Fields = {
    id: bundle.cluster.id,
    secret: bundle.cluster.secret,
    controlPlane: { endpoint: inputs.endpoint },
    clusterName: inputs.clusterName,
    network: clusterNetworkFields(inputs),
    token: bundle.secrets.bootstraptoken,
    ...(controlPlane ? encryptionSecretFields(bundle) : {}),
    ca: pemPair(bundle.certs.k8s, controlPlane),
  };
  if (controlPlane) {
    cluster.aggregatorCA = pemPair(bundle.certs.k8saggregator, true);
    cluster.serviceAccount = { key: base64OfText(bundle.certs.k8sserviceaccount.key) };
    cluster.apiServer = apiServerSection(inputs);
    cluster.controllerManager = { image: componentImage('controllerManager', inputs.kubernetesVersion) };
    cluster.proxy = { image: componentImage('proxy', inputs.kubernetesVersion) };
    cluster.scheduler = { image: componentImage('scheduler', inputs.kubernetesVersion) };
  }
  // the Kubernetes registry is off by default; an empty service registry means the default endpoint
  cluster.discovery = { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } };
  if (controlPlane) {
    // the etcd image is left empty: the node picks its line's default (versions.ts)
    cluster.etcd = { ca: pemPair(bundle.certs.etcd, true) };
    if (inputs.allowSchedulingOnControlPlanes) cluster.allowSchedulingOnControlPlanes = true;
  }
  return cluster;
}

/** The v1alpha1 document for contracts up to 1.13, which carry every setting in it. */
export function fullV1Alpha1Document(role: MachineRole, inputs: ResolvedConfigInputs, bundle: SecretsBundle): Fields {
  return {
    version: 'v1alpha1',
    debug: false,
    persist: true,
    machine: machineSection(role, inputs, bundle),
    cluster: clusterSection(role, inputs, bundle),
  };
}

/**
 * The v1alpha1 document of the 1.14 layout: only machine.{type, token, ca, certSANs,
 * features.diskQuotaSupport} and cluster.{token, etcd.ca}; everything else lives in documents.
 * `version`, `debug` and `persist` stay: only the sections' keys move to documents, and the
 * document is identified by `version` and rejected with `persist: false`.
 */
export function reducedV1Alpha1Document(
  role: MachineRole,
  inputs: ResolvedConfigInputs,
  bundle: SecretsBundle,
): Fields {
  const controlPlane = role === 'controlplane';
  return {
    version: 'v1alpha1',
    debug: false,
    persist: true,
    machine: {
      type: role,
      token: bundle.trustdinfo.token,
      ca: pemPair(bundle.certs.os, controlPlane),
      certSANs: [...inputs.certSANs],
      features: { diskQuotaSupport: true },
    },
    // etcd runs on control planes only; Talos refuses a worker config with cluster.etcd
    cluster: controlPlane
      ? { token: bundle.secrets.bootstraptoken, etcd: { ca: pemPair(bundle.certs.etcd, true) } }
      : { token: bundle.secrets.bootstraptoken },
  };
}
