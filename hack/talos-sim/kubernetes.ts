// The Kubernetes components a configured node runs, kept in step with its applied config: the
// kubelet everywhere, kube-apiserver, kube-controller-manager and kube-scheduler on control planes,
// each at the image the config names (or the simulator's default Kubernetes version). A config
// changing an image takes effect at once, the component restarting at the new image; with the
// failKubernetesUpgrade fault it restarts but never gets ready, until the faults are cleared. Every
// change of a version a node reports is appended to the fleet's log, which tests read for order.
import { versionOfImage } from '../../src/api/live.js';
import { kubernetesImages } from './config-facts.js';
import type { SimNode } from './node.js';

export const NODE_COMPONENTS = ['kubelet', 'apiServer', 'controllerManager', 'scheduler'] as const;
export type NodeComponent = (typeof NODE_COMPONENTS)[number];
export type ControlPlaneComponent = Exclude<NodeComponent, 'kubelet'>;

/** the static pod (and its container) of each control-plane component */
export const STATIC_POD_NAMES: Record<ControlPlaneComponent, string> = {
  apiServer: 'kube-apiserver',
  controllerManager: 'kube-controller-manager',
  scheduler: 'kube-scheduler',
};

export interface KubernetesChange {
  /** the node's name */
  node: string;
  component: NodeComponent;
  /** versions as `1.31.4`; null for an image whose tag names no version */
  from: string | null;
  to: string | null;
  /** ISO time */
  at: string;
}

/** `registry.k8s.io/kube-apiserver:v1.31.4` -> `1.31.4`; null without a version tag */
export function versionOf(image: string): string | null {
  return versionOfImage(image.split('@')[0] ?? '')?.slice(1) ?? null;
}

/** What the node should run now; nothing before it is configured. */
export function wantedImages(node: SimNode, defaultVersion: string): Partial<Record<NodeComponent, string>> {
  if (!node.configured) return {};
  const named = node.config ? kubernetesImages(node.config.data) : {};
  const want: Partial<Record<NodeComponent, string>> = {
    kubelet: named.kubelet ?? `ghcr.io/siderolabs/kubelet:v${defaultVersion}`,
  };
  if (node.isControlPlane) {
    for (const c of ['apiServer', 'controllerManager', 'scheduler'] as const)
      want[c] = named[c] ?? `registry.k8s.io/${STATIC_POD_NAMES[c]}:v${defaultVersion}`;
  }
  return want;
}

/** Brings the node's components in line with its config and faults; logs version changes. */
export function followKubernetes(node: SimNode, defaultVersion: string, log: KubernetesChange[]): void {
  const want = wantedImages(node, defaultVersion);
  const failing = node.faults.failKubernetesUpgrade;
  const now = new Date();
  for (const component of NODE_COMPONENTS) {
    const image = want[component];
    const running = node.kubernetes.get(component);
    if (image === undefined) {
      node.kubernetes.delete(component);
    } else if (!running) {
      // first start (installed, or the simulator starting): not a version change
      node.kubernetes.set(component, { image, ready: true, created: now, since: now, version: 1 });
    } else if (running.image !== image) {
      const [from, to] = [versionOf(running.image), versionOf(image)];
      Object.assign(running, { image, ready: !failing, since: now, version: running.version + 1 });
      if (from !== to) log.push({ node: node.name, component, from, to, at: now.toISOString() });
    } else if (!running.ready && !failing) {
      Object.assign(running, { ready: true, since: now, version: running.version + 1 });
    }
  }
}

/** The versions a node reports, for /state (null: not running, or no version tag). */
export function reportedVersions(node: SimNode): Record<NodeComponent, string | null> {
  const version = (c: NodeComponent) => {
    const running = node.kubernetes.get(c);
    return running ? versionOf(running.image) : null;
  };
  return {
    kubelet: version('kubelet'),
    apiServer: version('apiServer'),
    controllerManager: version('controllerManager'),
    scheduler: version('scheduler'),
  };
}
