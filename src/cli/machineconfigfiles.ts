// Raw Talos machine configs (what `talosctl gen config` writes, single or multi-document) among the
// files `kubectl talos validate` reads: telling them from Kubernetes manifests by their content,
// finding the Talos version they are for, and reporting their problems like `talosctl validate`.
import { parseContract, type TalosContract } from '../machineconfig/contract.js';
import { resolveTalosVersion } from '../machineconfig/generate/inputs.js';
import { DEFAULT_TALOS_VERSION, targetableTalosLines } from '../machineconfig/generate/versions.js';
import { kindVerdict } from '../machineconfig/validate/kinds.js';
import { validateMachineConfig, type ConfigProblem, type Mode } from '../machineconfig/validate/index.js';

/** `talosctl validate --mode`: metal adds the install rules, container the host DNS rules, cloud none */
import type { ValidateMode } from './validatemodes.js';

export { MODES, type ValidateMode } from './validatemodes.js';

type Doc = Record<string, unknown>;

const isMap = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Talos's typed documents say `apiVersion: v1alpha1` with no group: no Kubernetes object does */
const isTypedTalosDocument = (d: Doc): boolean => d.apiVersion === 'v1alpha1' && typeof d.kind === 'string';

/** the legacy config document: `version: v1alpha1` with a machine or cluster section */
const isV1alpha1Document = (d: Doc): boolean =>
  d.version === 'v1alpha1' && d.apiVersion === undefined && ('machine' in d || 'cluster' in d);

/** A file is a Talos machine config when one of its documents is a Talos config document. */
export function isTalosMachineConfig(docs: readonly unknown[]): boolean {
  return docs.some((d) => isMap(d) && (isV1alpha1Document(d) || isTypedTalosDocument(d)));
}

export interface TalosTarget {
  /** `v1.13.9`; undefined when the file names a version this tool cannot check */
  version?: string;
  /** where the version came from, printed with it */
  source: string;
  /** why the file cannot be checked (its installer names an unsupported Talos) */
  problem?: string;
}

/** the tag of an image reference (`repo:tag`, digest ignored), if it has one */
function imageTag(image: string): string | undefined {
  const name = image.split('@')[0]!;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined;
}

/** the installer image: machine.install.image, or the image of a 1.14 UnattendedInstallConfig */
function installerImage(docs: readonly unknown[]): { image: string; field: string } | undefined {
  for (const d of docs) {
    if (!isMap(d)) continue;
    const install = isV1alpha1Document(d) && isMap(d.machine) ? d.machine.install : undefined;
    if (isMap(install) && typeof install.image === 'string')
      return { image: install.image, field: 'machine.install.image' };
    if (isTypedTalosDocument(d) && d.kind === 'UnattendedInstallConfig' && typeof d.image === 'string')
      return { image: d.image, field: 'UnattendedInstallConfig image' };
  }
  return undefined;
}

const SUPPORTED = () => {
  const lines = targetableTalosLines();
  return `1.${lines[0]!.minor} to 1.${lines.at(-1)!.minor}`;
};

/**
 * The Talos version a config is checked for: the installer image's tag (the version the node will
 * run); when no image names one, the newest stable release, or the oldest newer supported release
 * that knows every document kind the config holds (a config with Kube*Config documents is for 1.14).
 */
export function detectTalosVersion(docs: readonly unknown[]): TalosTarget {
  const installer = installerImage(docs);
  const tag = installer ? imageTag(installer.image) : undefined;
  const m = tag ? /^v?(\d+)\.(\d+)\.\d+(?:-[0-9A-Za-z.-]+)?$/.exec(tag) : null;
  if (installer && tag && m) {
    const source = `the tag of ${installer.field}`;
    try {
      return { version: resolveTalosVersion(tag).tag, source };
    } catch {
      return {
        source,
        problem: `${installer.field} is Talos ${m[1]}.${m[2]}, which this validator does not check (${SUPPORTED()}): give --talos-version to check it for a supported release`,
      };
    }
  }
  const kinds = docs.filter((d): d is Doc => isMap(d) && isTypedTalosDocument(d)).map((d) => String(d.kind));
  const knowsAll = (c: TalosContract) => kinds.every((k) => kindVerdict(k, c).known);
  const fallback = parseContract(DEFAULT_TALOS_VERSION);
  const nothing = installer ? `${installer.field} has no release tag` : 'no installer image names a version';
  if (knowsAll(fallback)) return { version: DEFAULT_TALOS_VERSION, source: `${nothing}: the newest stable release` };
  const newer = targetableTalosLines().find((l) => l.minor > fallback.minor && knowsAll({ major: 1, minor: l.minor }));
  if (newer)
    return {
      version: newer.newestTag!,
      source: `${nothing}: the oldest release that knows its document kinds`,
    };
  return { version: DEFAULT_TALOS_VERSION, source: `${nothing}: the newest stable release` };
}

export interface MachineConfigReport {
  /** printed first: what the file was checked as */
  header: string;
  problems: ConfigProblem[];
}

/**
 * Every problem of one machine-config file, as `talosctl validate --config FILE --mode MODE`
 * would find them for that Talos version. `talosVersion` (the flag) wins over what the content says.
 */
export function checkMachineConfig(
  text: string,
  docs: readonly unknown[],
  opts: { talosVersion?: string; mode: ValidateMode; strict: boolean },
): MachineConfigReport {
  const target: TalosTarget = opts.talosVersion
    ? { version: resolveTalosVersion(opts.talosVersion).tag, source: '--talos-version' }
    : detectTalosVersion(docs);
  if (!target.version) {
    return {
      header: `Talos machine config, not checked (version: ${target.source})`,
      problems: [{ path: '(config)', message: target.problem!, severity: 'error' }],
    };
  }
  const mode: Mode | undefined = opts.mode === 'cloud' ? undefined : opts.mode;
  const problems = validateMachineConfig(text, {
    talosVersion: target.version,
    ...(mode ? { mode } : {}),
    strict: opts.strict,
  });
  return {
    header: `Talos machine config, checked for Talos ${target.version} in ${opts.mode} mode (version: ${target.source})`,
    problems,
  };
}
