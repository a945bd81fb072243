// The multi-document level: known kinds and apiVersion for the target, each document's fields
// against its kind's table, no duplicate (apiVersion, kind, name), and HostnameConfig's own rule
// and its conflicts with v1alpha1. A setting cannot be written both in v1alpha1 and in the typed
// document that replaced it: the release that added the document dropped the v1alpha1 key.
import type { RuleContext } from './context.js';
import { DOCUMENT_API_VERSION, kindVerdict } from './kinds.js';
import { show } from './problem.js';
import { checkShape } from './shapecheck.js';
import { boolAt, isNonEmpty, mapAt } from './values.js';

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
    } else checkShape(doc.value, verdict.shape, '', { contract: ctx.contract, scope: doc.scope });
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
