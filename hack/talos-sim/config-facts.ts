// What a node learns from the machine config it installs: its role, its cluster (id, name,
// control-plane endpoint, OS and Kubernetes CAs), its hostname and the Talos version of its
// installer image. Reads both layouts: v1alpha1 alone (≤1.13, CAs as base64 of PEM) and the 1.14
// documents (KubeClusterConfig, KubeAPIServerCAConfig with plain PEM, UnattendedInstall,
// DiscoveryIdentityConfig). A config that lacks what a node needs is refused as Talos refuses it.
import { createHash, X509Certificate } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { parseAllDocuments } from 'yaml';
import { isTalosVersion, type Role } from './node.js';
import { RpcError } from './rpc-error.js';

export interface CertAndKey {
  crt: string;
  /** absent where the config carries only the certificate (a worker) */
  key?: string;
}

export interface ConfigFacts {
  role: Role;
  /** cluster.id, or DiscoveryIdentityConfig.clusterID; else a digest of the OS CA */
  clusterId: string;
  clusterName: string;
  /** the Kubernetes control-plane endpoint, https://host:port */
  endpoint: string;
  osCA: CertAndKey;
  k8sCA?: CertAndKey;
  /** set by HostnameConfig.hostname or machine.network.hostname; otherwise the node picks a stable one */
  hostname?: string;
  installImage?: string;
}

type Doc = Record<string, unknown>;

function invalid(why: string): RpcError {
  return new RpcError(status.INVALID_ARGUMENT, `invalid machine config: ${why}`);
}

function at(doc: unknown, ...path: string[]): unknown {
  let v = doc;
  for (const k of path) v = typeof v === 'object' && v !== null ? (v as Doc)[k] : undefined;
  return v;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/** v1alpha1 writes PEMs as base64; the 1.14 documents as plain text. */
function pem(v: unknown, where: string): string | undefined {
  const s = text(v);
  if (s === undefined) return undefined;
  const decoded = s.includes('-----BEGIN ') ? s : Buffer.from(s, 'base64').toString('utf8');
  if (!decoded.includes('-----BEGIN ')) throw invalid(`${where} is not a PEM block (nor base64 of one)`);
  return decoded;
}

function certificate(v: unknown, where: string): string | undefined {
  const crt = pem(v, where);
  if (crt === undefined) return undefined;
  try {
    new X509Certificate(crt);
  } catch {
    throw invalid(`${where} is not a valid certificate`);
  }
  return crt;
}

function documents(data: Buffer): { legacy: Doc | undefined; byKind: Map<string, Doc> } {
  let legacy: Doc | undefined;
  const byKind = new Map<string, Doc>();
  for (const doc of parseAllDocuments(data.toString('utf8'))) {
    const value: unknown = doc.toJS();
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const d = value as Doc;
    if (d['version'] === 'v1alpha1' && d['kind'] === undefined) legacy = d;
    else if (typeof d['kind'] === 'string') byKind.set(d['kind'], d);
  }
  return { legacy, byKind };
}

function roleOf(type: unknown): Role {
  if (type === 'controlplane' || type === 'init') return 'controlplane';
  if (type === 'worker' || type === 'join' || type === '' || type === undefined) return 'worker';
  throw invalid(`unknown machine type ${JSON.stringify(type)}`);
}

/** The facts a node installs from; throws InvalidArgument naming what is missing. */
export function readConfigFacts(data: Buffer): ConfigFacts {
  const { legacy, byKind } = documents(data);
  if (!legacy) throw invalid('the config has no v1alpha1 document (machine and cluster sections)');
  const role = roleOf(at(legacy, 'machine', 'type'));
  const kubeCluster = byKind.get('KubeClusterConfig');
  const osCrt = certificate(at(legacy, 'machine', 'ca', 'crt'), 'machine.ca.crt');
  if (!osCrt) throw invalid('machine.ca.crt is required');
  const osKey = pem(at(legacy, 'machine', 'ca', 'key'), 'machine.ca.key');
  if (role === 'controlplane' && !osKey) throw invalid('machine.ca.key is required on a control plane');
  if (role === 'worker' && osKey) throw invalid('machine.ca.key must be empty on a worker');
  const clusterName = text(at(legacy, 'cluster', 'clusterName')) ?? text(kubeCluster?.['clusterName']);
  if (!clusterName) throw invalid('cluster name is required (cluster.clusterName or KubeClusterConfig)');
  const endpoint = text(at(legacy, 'cluster', 'controlPlane', 'endpoint')) ?? text(kubeCluster?.['endpoint']);
  if (!endpoint) throw invalid('cluster.controlPlane.endpoint is required');
  const k8sCrt =
    certificate(at(legacy, 'cluster', 'ca', 'crt'), 'cluster.ca.crt') ??
    certificate(at(byKind.get('KubeAPIServerCAConfig'), 'issuingCA', 'cert'), 'KubeAPIServerCAConfig.issuingCA.cert');
  const k8sKey =
    pem(at(legacy, 'cluster', 'ca', 'key'), 'cluster.ca.key') ??
    pem(at(byKind.get('KubeAPIServerCAConfig'), 'issuingCA', 'key'), 'KubeAPIServerCAConfig.issuingCA.key');
  const clusterId =
    text(at(legacy, 'cluster', 'id')) ??
    text(byKind.get('DiscoveryIdentityConfig')?.['clusterID']) ??
    createHash('sha256').update(osCrt).digest('base64url');
  const hostname =
    text(byKind.get('HostnameConfig')?.['hostname']) ?? text(at(legacy, 'machine', 'network', 'hostname'));
  const installImage =
    text(at(legacy, 'machine', 'install', 'image')) ?? text(at(byKind.get('UnattendedInstall'), 'installer', 'image'));
  return {
    role,
    clusterId,
    clusterName,
    endpoint,
    osCA: { crt: osCrt, ...(osKey ? { key: osKey } : {}) },
    ...(k8sCrt ? { k8sCA: { crt: k8sCrt, ...(k8sKey ? { key: k8sKey } : {}) } } : {}),
    ...(hostname ? { hostname } : {}),
    ...(installImage ? { installImage } : {}),
  };
}

/** The hostname Talos's `auto: stable` picks: the same for the same machine, `talos-xxx-yyy`. */
export function stableHostname(machineSeed: string): string {
  const h = createHash('sha256').update(machineSeed).digest('hex');
  return `talos-${h.slice(0, 3)}-${h.slice(3, 6)}`;
}

/** `ghcr.io/siderolabs/installer:v1.13.10` (optionally `@sha256:...`) -> `v1.13.10`; undefined without a version tag */
export function imageTag(image: string): string | undefined {
  const ref = image.split('@')[0] ?? '';
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const tag = colon > lastSlash ? ref.slice(colon + 1) : '';
  return isTalosVersion(tag) ? tag : undefined;
}

/** The Kubernetes components a config names images for (kube-proxy runs as a DaemonSet, not on the node). */
export const KUBERNETES_IMAGE_FIELDS = ['kubelet', 'apiServer', 'controllerManager', 'scheduler', 'proxy'] as const;
export type KubernetesImageField = (typeof KUBERNETES_IMAGE_FIELDS)[number];
export type KubernetesImages = Partial<Record<KubernetesImageField, string>>;

/** Where each image lives: the v1alpha1 path (≤1.13), then the 1.14 document kind holding `image`. */
const IMAGE_SOURCES: Record<KubernetesImageField, { legacy: string[]; kind: string }> = {
  kubelet: { legacy: ['machine', 'kubelet', 'image'], kind: 'KubeletConfig' },
  apiServer: { legacy: ['cluster', 'apiServer', 'image'], kind: 'KubeAPIServerConfig' },
  controllerManager: { legacy: ['cluster', 'controllerManager', 'image'], kind: 'KubeControllerManagerConfig' },
  scheduler: { legacy: ['cluster', 'scheduler', 'image'], kind: 'KubeSchedulerConfig' },
  proxy: { legacy: ['cluster', 'proxy', 'image'], kind: 'KubeProxyConfig' },
};

/** The Kubernetes component images a machine config names (a component it names none for is absent). */
export function kubernetesImages(data: Buffer): KubernetesImages {
  const { legacy, byKind } = documents(data);
  const images: KubernetesImages = {};
  for (const field of KUBERNETES_IMAGE_FIELDS) {
    const { legacy: path, kind } = IMAGE_SOURCES[field];
    const image = text(at(legacy, ...path)) ?? text(byKind.get(kind)?.['image']);
    if (image !== undefined) images[field] = image;
  }
  return images;
}
