// Kubernetes settings `gen config` writes the same way for every contract: the
// component images for a Kubernetes version, the PodSecurity admission plugin configuration and
// the audit policy. v1alpha1.ts and the 1.14 Kube*Config documents both take them from here.
import type { SecretsBundle } from '../bundle.js';
import { IMAGE_REPOSITORIES } from './versions.js';

export type KubernetesComponent = keyof typeof IMAGE_REPOSITORIES;

/** `<repository>:v<K>`: Talos writes component images with a v before the Kubernetes version. */
export function componentImage(component: KubernetesComponent, kubernetesVersion: string): string {
  return `${IMAGE_REPOSITORIES[component]}:v${kubernetesVersion}`;
}

export const POD_SECURITY_PLUGIN = 'PodSecurity';

/**
 * The PodSecurity plugin configuration: enforce baseline, audit and warn restricted, all at the
 * latest policy version, kube-system exempt. Talos holds it as a free-form map, and Go writes a
 * map's keys sorted, so the keys here are in sorted order.
 */
export function podSecurityConfiguration(): Record<string, unknown> {
  return {
    apiVersion: 'pod-security.admission.config.k8s.io/v1alpha1',
    defaults: {
      audit: 'restricted',
      'audit-version': 'latest',
      enforce: 'baseline',
      'enforce-version': 'latest',
      warn: 'restricted',
      'warn-version': 'latest',
    },
    exemptions: { namespaces: ['kube-system'], runtimeClasses: [], usernames: [] },
    kind: 'PodSecurityConfiguration',
  };
}

/** Audit policy: every request logged at Metadata level (also a free-form map, keys sorted). */
export function defaultAuditPolicy(): Record<string, unknown> {
  return { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata' }] };
}

/** Every control-plane node carries this label from contract 1.8 on, so cloud load balancers skip it. */
export const EXCLUDE_FROM_EXTERNAL_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

/** KubePrism, the node-local apiserver load balancer (contract ≥1.6). */
export const KUBEPRISM_PORT = 7445;

/** Talos's own discovery service, the default service registry endpoint of a node. */
export const DEFAULT_DISCOVERY_ENDPOINT = 'https://discovery.talos.dev/';

/** The taint that keeps workloads off a control plane (a bare effect: the taint has no value). */
export const CONTROL_PLANE_TAINT: readonly [string, string] = ['node-role.kubernetes.io/control-plane', 'NoSchedule'];

/** Flannel's backend as Talos 1.14's schema documents gen config's default: VXLAN on UDP 4789. */
export const FLANNEL_BACKEND = { backendType: 'vxlan', backendPort: 4789 } as const;

/**
 * kube-apiserver's EncryptionConfiguration for secrets without apiVersion and kind (Talos 1.14
 * adds them): the bundle's key first, so new writes use it, then identity to read what was stored
 * unencrypted. The key names are the ones Talos gives each provider's key. A free-form map, so
 * keys are sorted as Go writes them.
 */
export function etcdEncryptionConfiguration(bundle: SecretsBundle): Record<string, unknown> {
  const { aescbcencryptionsecret, secretboxencryptionsecret } = bundle.secrets;
  const keyProvider =
    aescbcencryptionsecret !== undefined
      ? { aescbc: { keys: [{ name: 'key1', secret: aescbcencryptionsecret }] } }
      : { secretbox: { keys: [{ name: 'key2', secret: secretboxencryptionsecret }] } };
  return { resources: [{ providers: [keyProvider, { identity: {} }], resources: ['secrets'] }] };
}
