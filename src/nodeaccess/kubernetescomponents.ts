// Which Kubernetes component versions a node runs, read as `talosctl get kubeletspec` and `talosctl
// get staticpodstatus` read them: the kubelet's image from its KubeletSpec, and each control-plane
// static pod's image and readiness from the PodStatus the kubelet reported. A node whose Talos does
// not know one of the types (NotFound or Unimplemented) yields what the other type told.
import { versionOfImage } from '../api/live.js';
import type { CallOptions, TalosClient } from '../talos/client.js';
import { isTalosError } from '../talos/errors.js';
import type { TalosResource } from '../talos/resources.js';

export const K8S_NAMESPACE = 'k8s';
export const KUBELET_SPEC_TYPE = 'KubeletSpecs.kubernetes.talos.dev';
export const STATIC_POD_STATUS_TYPE = 'StaticPodStatuses.kubernetes.talos.dev';

export const CONTROL_PLANE_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
export type ControlPlaneComponent = (typeof CONTROL_PLANE_COMPONENTS)[number];

export interface ComponentImage {
  image: string;
  /** `1.31.4`, from the image tag (no leading v); absent when the tag names no version */
  version?: string;
}

export interface ControlPlanePod extends ComponentImage {
  component: ControlPlaneComponent;
  /** the pod is Running, its Ready condition True and its container ready */
  ready: boolean;
}

export interface KubernetesComponents {
  /** absent when the node has no KubeletSpec (not configured yet, or too old a Talos to say) */
  kubelet?: ComponentImage;
  /** the control-plane static pods, in CONTROL_PLANE_COMPONENTS order; empty on a worker */
  controlPlane: ControlPlanePod[];
}

/** What is asked of the node (a TalosClient, or a stand-in in tests). */
export type ResourceReader = Pick<TalosClient, 'getResource' | 'listResources'>;

/** `registry.k8s.io/kube-apiserver:v1.31.4` (optionally `@sha256:...`) -> `1.31.4` */
export function kubernetesVersionOfImage(image: string): string | undefined {
  return versionOfImage(image.split('@')[0] ?? '')?.slice(1);
}

function withVersion(image: string): ComponentImage {
  const version = kubernetesVersionOfImage(image);
  return version ? { image, version } : { image };
}

/** NotFound and Unimplemented mean "this node does not serve that" rather than a failure. */
async function unlessAbsent<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (e) {
    if (isTalosError(e) && (e.failure === 'NotFound' || e.failure === 'Unimplemented')) return undefined;
    throw e;
  }
}

type Fields = Record<string, unknown>;
const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

function componentOf(id: string): ControlPlaneComponent | undefined {
  const pod = id.startsWith('kube-system/') ? id.slice('kube-system/'.length) : undefined;
  return CONTROL_PLANE_COMPONENTS.find((c) => pod?.startsWith(`${c}-`));
}

/**
 * One control-plane pod from its StaticPodStatus. Talos writes the PodStatus itself as the spec;
 * a `podStatus:` wrapper is read too.
 */
function controlPlanePod(r: TalosResource): ControlPlanePod | undefined {
  const component = componentOf(r.metadata.id);
  if (!component || !isFields(r.spec)) return undefined;
  const status = isFields(r.spec['podStatus']) ? r.spec['podStatus'] : r.spec;
  const containers = Array.isArray(status['containerStatuses']) ? status['containerStatuses'].filter(isFields) : [];
  const container = containers.find((c) => c['name'] === component) ?? containers[0];
  const conditions = Array.isArray(status['conditions']) ? status['conditions'].filter(isFields) : [];
  const readyCondition = conditions.find((c) => c['type'] === 'Ready');
  const ready =
    status['phase'] === 'Running' &&
    container?.['ready'] === true &&
    (readyCondition === undefined || readyCondition['status'] === 'True');
  const image = typeof container?.['image'] === 'string' ? container['image'] : '';
  return { component, ...withVersion(image), ready };
}

/** The Kubernetes components the node runs and the versions their images carry. */
export async function kubernetesComponents(client: ResourceReader, call?: CallOptions): Promise<KubernetesComponents> {
  const [kubeletSpec, pods] = await Promise.all([
    unlessAbsent(client.getResource(K8S_NAMESPACE, KUBELET_SPEC_TYPE, 'kubelet', call)),
    unlessAbsent(client.listResources(K8S_NAMESPACE, STATIC_POD_STATUS_TYPE, call)),
  ]);
  const kubeletImage = isFields(kubeletSpec?.spec) ? kubeletSpec.spec['image'] : undefined;
  const controlPlane = (pods ?? [])
    .map(controlPlanePod)
    .filter((p): p is ControlPlanePod => p !== undefined)
    .sort((a, b) => CONTROL_PLANE_COMPONENTS.indexOf(a.component) - CONTROL_PLANE_COMPONENTS.indexOf(b.component));
  return {
    ...(typeof kubeletImage === 'string' && kubeletImage !== '' ? { kubelet: withVersion(kubeletImage) } : {}),
    controlPlane,
  };
}
