// Machine-level documents appended after the v1alpha1 document, as `talosctl gen config` writes
// them: HostnameConfig from contract 1.12, and the 1.14 documents that replace v1alpha1 machine
// sections, with the field names and required fields of Talos 1.14's schema. Where the schema
// does not say what gen config writes, the choice is written at the builder (and in
// docs/talos-configs.md).
import type { SecretsBundle } from '../bundle.js';
import type { ResolvedConfigInputs } from './inputs.js';
import { DEFAULT_DISCOVERY_ENDPOINT } from './kubedefaults.js';

/** The name of the one discovery service a generated 1.14 config configures. */
export const DISCOVERY_SERVICE_NAME = 'default';

/** The apiVersion of every non-legacy Talos config document. */
export const DOCUMENT_API_VERSION = 'v1alpha1';

type Fields = Record<string, unknown>;

/** A document: apiVersion and kind first, then name for the named kinds, then its fields. */
export function configDocument(kind: string, fields: Fields = {}, name?: string): Fields {
  return { apiVersion: DOCUMENT_API_VERSION, kind, ...(name === undefined ? {} : { name }), ...fields };
}

/**
 * Contract ≥1.12: the stable hostname, formerly machine.features.stableHostname; a node's own
 * hostname instead when it has one (the document takes exactly one of the two).
 */
export function hostnameConfigDocument(hostname?: string): Fields {
  return configDocument('HostnameConfig', hostname === undefined ? { auto: 'stable' } : { hostname });
}

/**
 * 1.14: machine.install, as the `UnattendedInstall` kind (the schema's own kind name). The disk is
 * chosen by a CEL expression on its device path; `wipe: false` is written because the document's
 * default is to wipe, which the v1alpha1 install section never did.
 */
function unattendedInstallDocument(inputs: ResolvedConfigInputs): Fields {
  return configDocument('UnattendedInstall', {
    installer: { image: inputs.installImage },
    provisioning: { diskSelector: { match: installDiskMatch(inputs.installDisk) }, wipe: false },
  });
}

/** The CEL expression selecting the install disk by its device path, e.g. `disk.dev_path == "/dev/sda"`. */
export function installDiskMatch(disk: string): string {
  return `disk.dev_path == ${JSON.stringify(disk)}`;
}

/** 1.14: machine.features.hostDNS, under the same `hostDNS` key. */
function resolverDocument(): Fields {
  return configDocument('ResolverConfig', { hostDNS: { enabled: true, forwardKubeDNSToHost: true } });
}

/**
 * 1.14: cluster.discovery. The service registry gets its endpoint written out (v1alpha1 left it
 * to the default) under the name `default` (the schema requires a name and names no default);
 * the Kubernetes registry, off by default, has no document at all. The cluster id and secret
 * (cluster.id/secret, which identify the cluster to the discovery service) move to
 * DiscoveryIdentityConfig as `clusterID` and `clusterSecret`.
 */
function discoveryDocuments(bundle: SecretsBundle): Fields[] {
  return [
    configDocument('DiscoveryServiceConfig', { endpoint: DEFAULT_DISCOVERY_ENDPOINT }, DISCOVERY_SERVICE_NAME),
    configDocument('DiscoveryIdentityConfig', { clusterID: bundle.cluster.id, clusterSecret: bundle.cluster.secret }),
  ];
}

/** 1.14 additions: EPHEMERAL mounted with secure options, weekly fstrim, workload isolation. */
function securityDefaultDocuments(): Fields[] {
  return [
    configDocument('VolumeConfig', { mount: { secure: true } }, 'EPHEMERAL'),
    configDocument('FilesystemTrimConfig', { interval: '168h' }),
    configDocument('SecurityProfileConfig', { workloadIsolation: true }),
  ];
}

/**
 * The 1.14 machine documents, in the order Talos 1.14 writes them. No SysctlConfig: `gen config`
 * writes no sysctls, so there is nothing to move there.
 */
export function machineDocuments(inputs: ResolvedConfigInputs, bundle: SecretsBundle): Fields[] {
  return [
    unattendedInstallDocument(inputs),
    resolverDocument(),
    ...discoveryDocuments(bundle),
    ...securityDefaultDocuments(),
  ];
}
