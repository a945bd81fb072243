// Which admission plugins run where. In-process, every write goes through admissionFor's chain;
// the AdmissionReview endpoints serve reviewedPlugins, the plugins that need nothing but the
// request and change nothing else (no store, no Secrets).
import type { AdmissionHooks } from '../machinery/registry/store.js';
import { clusterInputsAdmission, talosConfigAdmission, type TalosConfigAdmissionOptions } from './machineconfig.js';
import { namespaceLifecycleAdmission } from './namespacelifecycle.js';
import { admissionChain, type AdmissionPlugin } from './plugin.js';
import { serverCredentialsAdmission } from './servercredentials.js';
import { upgradeTargetAdmission } from './upgradetarget.js';

export const reviewedPlugins: readonly AdmissionPlugin[] = [clusterInputsAdmission, serverCredentialsAdmission];

export interface AdmissionOptions extends TalosConfigAdmissionOptions {
  /** standalone mode guards its own namespaces; in cluster mode kube-apiserver does */
  ownNamespaces: boolean;
}

export function admissionFor(o: AdmissionOptions): AdmissionHooks {
  return admissionChain([
    ...(o.ownNamespaces ? [namespaceLifecycleAdmission] : []),
    upgradeTargetAdmission,
    ...reviewedPlugins,
    talosConfigAdmission(o),
  ]);
}
