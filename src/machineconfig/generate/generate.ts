// `talosctl gen config` as a pure function: a role, the inputs and a secrets bundle in, the
// machine config YAML stream for the target contract out (its layout per Talos release). Same
// inputs and bundle, same bytes.
import type { SecretsBundle } from '../bundle.js';
import { stringifyConfigStream } from '../configstream.js';
import { contractAtLeast } from '../contract.js';
import { hostnameConfigDocument, machineDocuments } from './documents.js';
import { resolveConfigInputs, type ConfigInputs, type ResolvedConfigInputs } from './inputs.js';
import { kubernetesDocuments } from './kubedocuments.js';
import { linkDocuments } from './nodenetwork.js';
import { fullV1Alpha1Document, reducedV1Alpha1Document, type MachineRole } from './v1alpha1.js';

/** The documents of the config, v1alpha1 first, as plain values in emission order. */
export function machineConfigDocuments(
  role: MachineRole,
  inputs: ResolvedConfigInputs,
  bundle: SecretsBundle,
): unknown[] {
  const c = inputs.contract;
  // a node's links come last, where a per-node patch's new documents would be appended
  if (contractAtLeast(c, 1, 14)) {
    return [
      reducedV1Alpha1Document(role, inputs, bundle),
      hostnameConfigDocument(inputs.hostname),
      ...kubernetesDocuments(role, inputs, bundle),
      ...machineDocuments(inputs, bundle),
      ...linkDocuments(inputs),
    ];
  }
  // 1.12 and 1.13 append HostnameConfig; up to 1.11 the config is the v1alpha1 document alone
  if (!contractAtLeast(c, 1, 12)) return [fullV1Alpha1Document(role, inputs, bundle)];
  return [
    fullV1Alpha1Document(role, inputs, bundle),
    hostnameConfigDocument(inputs.hostname),
    ...linkDocuments(inputs),
  ];
}

/**
 * The machine config for `role` as a YAML stream. Throws ConfigInputError for unusable inputs.
 * The bundle is used as given: it should have been generated for (or checked against) the same
 * contract, e.g. its cluster id alphabet and service-account key type follow the contract.
 */
export function generateMachineConfig(role: MachineRole, inputs: ConfigInputs, bundle: SecretsBundle): string {
  return stringifyConfigStream(machineConfigDocuments(role, resolveConfigInputs(inputs), bundle));
}
