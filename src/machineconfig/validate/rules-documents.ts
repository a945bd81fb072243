// The multi-document level: known kinds and apiVersion for the target, no duplicate
// (apiVersion, kind, name), HostnameConfig's own rule and its conflicts with v1alpha1, and
// settings written both in v1alpha1 and in the typed document that replaced them.
import type { RuleContext, TypedDocument } from './context.js';
import { DOCUMENT_API_VERSION, kindVerdict } from './kinds.js';
import { boolAt, isNonEmpty, isSet, mapAt } from './values.js';
import type { PlainMap } from './yamltree.js';
import { show } from './problem.js';

export function checkDocumentKinds(ctx: RuleContext): void {
  const seen = new Map<string, string>();
  for (const doc of ctx.typed) {
    if (doc.apiVersion !== DOCUMENT_API_VERSION)
      doc.scope.error(
        'apiVersion',
        `unknown apiVersion ${show(doc.apiVersion)}: typed documents use ${DOCUMENT_API_VERSION}`,
      );
    const verdict = kindVerdict(doc.kind, ctx.contract);
    if (!verdict.known) {
      if (verdict.severity === 'error') doc.scope.error('', verdict.message);
      else doc.scope.warning('', verdict.message);
    }
    const identity = JSON.stringify([doc.apiVersion, doc.kind, doc.name ?? '']);
    const first = seen.get(identity);
    if (first !== undefined) {
      doc.scope.error(
        '',
        `duplicate document: ${first} has the same apiVersion, kind${doc.name === undefined ? '' : ' and name'}`,
      );
    } else seen.set(identity, doc.label);
  }
}

/** HostnameConfig: exactly one of auto/hostname, and the hostname is not also set in v1alpha1. */
export function checkHostnameConfig(ctx: RuleContext): void {
  for (const doc of ctx.documentsOf('HostnameConfig')) {
    const auto = isNonEmpty(doc.value, 'auto');
    const hostname = isNonEmpty(doc.value, 'hostname');
    if (auto === hostname) doc.scope.error('', `must set exactly one of auto and hostname${auto ? ', not both' : ''}`);
    const network = mapAt(ctx.machine, 'network');
    if (isNonEmpty(network, 'hostname'))
      doc.scope.error(
        '',
        `conflicts with machine.network.hostname in the v1alpha1 document: set the hostname in one place`,
      );
    if (boolAt(mapAt(ctx.machine, 'features'), 'stableHostname') === true) {
      doc.scope.error(
        '',
        'conflicts with machine.features.stableHostname in the v1alpha1 document (HostnameConfig auto: stable replaces it)',
      );
    }
  }
}

/** Whether the v1alpha1 document sets the dotted `path` (plain keys only) to something not null. */
function isConfiguredAt(config: PlainMap, path: string): boolean {
  const keys = path.split('.');
  let node: PlainMap | undefined = config;
  for (const key of keys.slice(0, -1)) node = mapAt(node, key);
  return isSet(node, keys[keys.length - 1] ?? '');
}

/**
 * v1alpha1 settings and the typed documents that replaced them. Strict decoding calls
 * conflicting documents errors, but which of these pairs a node rejects is not known here, so
 * they are warnings: configure each setting in one place.
 */
const REPLACED_BY: [path: string, kind: string][] = [
  ['machine.network.kubespan', 'KubeSpanConfig'],
  ['machine.registries.mirrors', 'RegistryMirrorConfig'],
  ['machine.install', 'UnattendedInstallConfig'],
  ['machine.sysctls', 'SysctlConfig'],
  ['machine.features.hostDNS', 'ResolverConfig'],
  ['machine.features.kubePrism', 'KubePrismConfig'],
  ['machine.kubelet', 'KubeletConfig'],
  ['cluster.discovery', 'DiscoveryServiceConfig'],
  ['cluster.controlPlane', 'KubeClusterConfig'],
  ['cluster.clusterName', 'KubeClusterConfig'],
  ['cluster.ca', 'KubeAPIServerCAConfig'],
  ['cluster.aggregatorCA', 'KubeAggregatorCAConfig'],
  ['cluster.serviceAccount', 'KubeServiceAccountConfig'],
  ['cluster.apiServer', 'KubeAPIServerConfig'],
  ['cluster.controllerManager', 'KubeControllerManagerConfig'],
  ['cluster.scheduler', 'KubeSchedulerConfig'],
  ['cluster.proxy', 'KubeProxyConfig'],
  ['cluster.coreDNS', 'KubeCoreDNSConfig'],
];

export function checkReplacedSettings(ctx: RuleContext): void {
  for (const [path, kind] of REPLACED_BY) {
    const docs: TypedDocument[] = ctx.documentsOf(kind);
    if (docs.length === 0 || !isConfiguredAt(ctx.config, path)) continue;
    ctx.v1.warning(
      path,
      `also configured by ${docs.map((d) => d.label).join(', ')} (${kind}): configure it in one place; Talos may reject the pair as conflicting`,
    );
  }
}
