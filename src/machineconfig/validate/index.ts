// Validation of a full Talos machine config for a target Talos version, as the node would decode
// and validate it (strict decoding, then Talos's validation rules). Pure: no I/O, no clock. Every
// problem is listed with its path (and line), and no input makes it throw.
import { parseContract, type TalosContract } from '../contract.js';
import { checkCertificates } from './certs.js';
import { checkDocumentCertificates } from './certs-documents.js';
import { RuleContext, roleOf, type Mode, type TypedDocument } from './context.js';
import { decodeStream, type DecodedDocument } from './decode.js';
import { DocumentScope, show, type ConfigProblem } from './problem.js';
import {
  checkAPIServerAuthorization,
  checkAPIServerCertSANs,
  checkCNI,
  checkComponentResources,
} from './rules-components.js';
import {
  checkClusterNetwork,
  checkControlPlaneEndpoint,
  checkDiscovery,
  checkEtcd,
  checkInlineManifests,
  checkManifests,
} from './rules-cluster.js';
import { checkDocumentKinds, checkHostnameConfig } from './rules-documents.js';
import { checkImages } from './rules-images.js';
import { checkNodeMetadata } from './rules-labels.js';
import {
  checkCertSANs,
  checkDiskEncryption,
  checkDisks,
  checkHostDNS,
  checkInstallExtensions,
  checkKubelet,
  checkLogging,
  checkRuntimeAndRegistries,
  checkTalosAPIAccess,
} from './rules-machine.js';
import { checkContainerDNS, checkMetalInstall } from './rules-mode.js';
import { checkInterfaces, checkKubeSpan, checkNetworkEntries } from './rules-network.js';
import { checkClusterName, checkSecrets, checkStructure } from './rules-structure.js';
import { kindVerdict } from './kinds.js';
import { checkShape } from './shapecheck.js';
import { V1ALPHA1_DOCUMENT } from './schema-v1alpha1.js';
import { mapAt, strAt } from './values.js';
import { kubernetesRange, SUPPORTED_TALOS } from './versions.js';
import type { PlainMap } from './yamltree.js';

export type { ConfigProblem, Severity } from './problem.js';
export type { Mode } from './context.js';

export interface ValidateOptions {
  /** the Talos version the config is for: `v1.13.9`, `1.12`, ... (patch and pre-release are ignored) */
  talosVersion: string;
  /**
   * `metal` adds the install rules, `container` the container rules; none = mode-independent rules
   * only, like `cloud`
   */
  mode?: Mode;
  /** `talosctl validate --strict`: every warning is an error */
  strict?: boolean;
}

/** Rules in the order their problems are listed; each reads the context and reports through its scopes. */
const RULES: ((ctx: RuleContext) => void)[] = [
  checkStructure,
  checkSecrets,
  checkClusterName,
  checkControlPlaneEndpoint,
  checkClusterNetwork,
  checkEtcd,
  checkInlineManifests,
  checkManifests,
  checkDiscovery,
  checkAPIServerAuthorization,
  checkComponentResources,
  checkAPIServerCertSANs,
  checkCNI,
  checkCertificates,
  checkCertSANs,
  checkHostDNS,
  checkDisks,
  checkKubelet,
  checkDiskEncryption,
  checkLogging,
  checkInstallExtensions,
  checkTalosAPIAccess,
  checkRuntimeAndRegistries,
  checkNodeMetadata,
  checkInterfaces,
  checkKubeSpan,
  checkNetworkEntries,
  checkMetalInstall,
  checkContainerDNS,
  checkImages,
];

/** Rules for typed documents, which also run when the stream has no v1alpha1 document. */
const DOCUMENT_RULES: ((ctx: RuleContext) => void)[] = [
  checkDocumentKinds,
  checkHostnameConfig,
  checkDocumentCertificates,
];

function optionProblem(path: string, message: string): ConfigProblem[] {
  return [{ path, message, severity: 'error' }];
}

function labelOf(doc: DecodedDocument): string {
  const position = `documents[${doc.index}]`;
  if (doc.class.type === 'typed') return `${position} (${doc.class.kind.slice(0, 100)})`;
  if (doc.class.type === 'v1alpha1') return `${position} (v1alpha1)`;
  return position;
}

function validate(yamlText: string, opts: ValidateOptions): ConfigProblem[] {
  let contract: TalosContract;
  try {
    contract = parseContract(String(opts.talosVersion));
  } catch {
    return optionProblem(
      'talosVersion',
      `${show(String(opts.talosVersion))} is not a Talos version (expected e.g. v1.13.9)`,
    );
  }
  if (!kubernetesRange(contract))
    return optionProblem(
      'talosVersion',
      `Talos ${contract.major}.${contract.minor} is not supported by this validator (${SUPPORTED_TALOS})`,
    );
  if (opts.mode !== undefined && opts.mode !== 'metal' && opts.mode !== 'container')
    return optionProblem('mode', 'must be metal or container');

  const decoded = decodeStream(yamlText);
  const problems = [...decoded.problems];
  let v1: { doc: DecodedDocument; scope: DocumentScope } | undefined;
  const typed: TypedDocument[] = [];
  for (const doc of decoded.documents) {
    const isFirstV1 = doc.class.type === 'v1alpha1' && v1 === undefined;
    const scope = new DocumentScope(isFirstV1 ? '' : labelOf(doc), doc.lines, doc.startLine, problems);
    for (const p of doc.problems) scope.reportAtLine(p.severity ?? 'error', p.path, p.message, p.line);
    if (doc.class.type === 'unknown') scope.error('', doc.class.reason);
    else if (doc.class.type === 'typed') {
      const { apiVersion, kind, name } = doc.class;
      const verdict = kindVerdict(kind, contract);
      const knownToTarget = verdict.known || verdict.severity === 'warning';
      typed.push({
        label: `documents[${doc.index}]`,
        apiVersion,
        kind,
        ...(name === undefined ? {} : { name }),
        value: doc.value,
        scope,
        knownToTarget,
      });
    } else if (isFirstV1) v1 = { doc, scope };
    else
      scope.error('', `a second v1alpha1 document: a config holds one (the first is documents[${v1?.doc.index ?? 0}])`);
  }
  if (decoded.documents.length === 0) return problems;

  const config: PlainMap = v1?.doc.value ?? (Object.create(null) as PlainMap);
  const v1Scope = v1?.scope ?? new DocumentScope('', new Map(), undefined, problems);
  const ctx = new RuleContext(
    contract,
    opts.mode,
    roleOf(strAt(mapAt(config, 'machine'), 'type')),
    config,
    v1Scope,
    typed,
  );
  if (v1) {
    checkShape(config, V1ALPHA1_DOCUMENT, '', { contract, scope: v1.scope });
    for (const rule of RULES) rule(ctx);
  } else {
    problems.push({
      path: '(config)',
      message:
        'no v1alpha1 document (`version: v1alpha1` with machine and cluster sections): a full machine config needs one',
      severity: 'error',
    });
  }
  for (const rule of DOCUMENT_RULES) rule(ctx);
  return problems;
}

/**
 * Every problem in `yamlText` as a machine config for Talos `opts.talosVersion`: strict decoding
 * (unknown keys and kinds for that version, duplicate keys and documents), Talos's validation rules
 * for the machine's role and mode, certificate/key checks, and the Kubernetes version range the
 * node accepts. Empty when the config is valid. Never throws; never quotes key, token or secret
 * values.
 */
export function validateMachineConfig(yamlText: string, opts: ValidateOptions): ConfigProblem[] {
  let problems: ConfigProblem[];
  try {
    if (typeof yamlText !== 'string') return optionProblem('(config)', 'config must be YAML text');
    problems = validate(yamlText, opts ?? { talosVersion: '' });
  } catch (e) {
    // a bug here must not become a 500 or an unvalidated config; the error's name says enough to report it
    return optionProblem(
      '(config)',
      `the validator failed on this input (${e instanceof Error ? e.name : 'unknown error'}); treat the config as invalid`,
    );
  }
  return opts?.strict ? problems.map((p) => ({ ...p, severity: 'error' })) : problems;
}

/** Only the errors: what makes a node refuse the config. */
export function configErrors(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return problems.filter((p) => p.severity === 'error');
}
