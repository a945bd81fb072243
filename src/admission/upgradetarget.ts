// The talos-operator's target annotations on a KubernetesCluster, as a mutating admission plugin:
// `upgrade.vitistack.io/talos-target` becomes spec.talos.version and
// `upgrade.vitistack.io/kubernetes-target` the cluster's Kubernetes version (and every worker
// pool's that followed it), and the annotation is removed, so both ways of asking are one spec
// change. The validating plugins then judge that change by the upgrade rule: a refused target
// refuses the whole write, and nothing changes.
import { retargetClusterSpec } from '../api/clusterlive.js';
import { kubernetesClusterKind } from '../api/index.js';
import { groupVersion, type KubeObject } from '../machinery/kind.js';
import type { AdmissionPlugin } from './plugin.js';

export const TALOS_TARGET_ANNOTATION = 'upgrade.vitistack.io/talos-target';
export const KUBERNETES_TARGET_ANNOTATION = 'upgrade.vitistack.io/kubernetes-target';

/** moves the target annotations of `obj` into its spec (in place) */
export function applyUpgradeTargets(obj: KubeObject): void {
  const annotations = obj.metadata.annotations;
  if (!annotations) return;
  const spec = (obj.spec ?? {}) as Parameters<typeof retargetClusterSpec>[0];
  const talos = annotations[TALOS_TARGET_ANNOTATION]?.trim();
  const kubernetes = annotations[KUBERNETES_TARGET_ANNOTATION]?.trim();
  retargetClusterSpec(spec, { talos, kubernetes });
  delete annotations[TALOS_TARGET_ANNOTATION];
  delete annotations[KUBERNETES_TARGET_ANNOTATION];
  obj.spec = spec;
}

export const upgradeTargetAdmission: AdmissionPlugin = {
  name: 'KubernetesClusterUpgradeTargets',
  mutate(_op, obj) {
    if (obj.kind === kubernetesClusterKind.kind && obj.apiVersion === groupVersion(kubernetesClusterKind))
      applyUpgradeTargets(obj);
    return Promise.resolve();
  },
};
