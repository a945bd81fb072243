// The one rule of which upgrades are allowed (pure): a node's upgrade (adoptedservers/{name}/upgrade)
// and a cluster's version change (admission of spec.talos.version / spec.topology.version) are both
// judged here, before anything is started, so a refused upgrade changes nothing.
//
// Talos: each line names the oldest line a node may upgrade from (TALOS_LINES.upgradeFromMinor);
// going further needs a stop on a line in between. A downgrade only with allowDowngrade, and only as
// far back as the running line may itself be upgraded from, so the way back is a path Talos
// supports forwards. Kubernetes: the version must lie in the target Talos line's range (a node
// refuses any other kubelet image), and the control plane moves at most one minor at a time (the
// Kubernetes version skew policy; talosctl upgrade-k8s refuses more).
import { fieldErr, type FieldError } from '../machinery/errors.js';
import { compareSemver, talosLine, TALOS_LINES, type Semver, type TalosLine } from './generate/versions.js';

/** where each version of an ask came from, so a refusal names the field the user wrote */
export interface UpgradeFields {
  talos: string;
  kubernetes?: string;
}

export interface TalosUpgradeAsk {
  /** the Talos version running now (a node's report, or the cluster's current spec) */
  from: string;
  /** the Talos version asked for */
  to: string;
  /** the Kubernetes version the nodes will run at the target, when known */
  kubernetes?: string;
  allowDowngrade?: boolean;
}

export interface KubernetesUpgradeAsk {
  from: string;
  to: string;
  /** the Talos version the nodes run (or will run) while on the new Kubernetes version */
  talos: string;
  allowDowngrade?: boolean;
}

const VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+)(?:-([0-9A-Za-z.-]+))?)?$/;

/** a version as written in specs and reported by nodes: v1.13.9, 1.13.9, 1.13 (a bare minor is its .0) */
function parse(text: string): Semver | undefined {
  const m = VERSION.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), prerelease: m[4] ?? '' };
}

/** semver order of two versions as written (v prefix or not); unparseable ones compare equal */
export function compareVersions(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  return x && y ? compareSemver(x, y) : 0;
}

const show = (v: Semver) => `${v.major}.${v.minor}`;

/** the newest line one may upgrade to from `fromMinor` on the way to `toMinor`, if any */
function stepTowards(fromMinor: number, toMinor: number): TalosLine | undefined {
  return [...TALOS_LINES]
    .reverse()
    .find((l) => l.newestTag && l.minor > fromMinor && l.minor < toMinor && l.upgradeFromMinor <= fromMinor);
}

function kubernetesInRange(k: Semver, line: TalosLine, field: string, value: string): FieldError[] {
  const { minMinor, maxMinor } = line.kubernetes;
  if (k.major === 1 && k.minor >= minMinor && k.minor <= maxMinor) return [];
  return [
    fieldErr.invalid(
      field,
      value,
      `Talos 1.${line.minor} runs Kubernetes 1.${minMinor} to 1.${maxMinor}; Kubernetes ${show(k)} is outside that range`,
    ),
  ];
}

/** why the Talos upgrade `ask` is not allowed; empty when it is (the same version included) */
export function talosUpgradeProblems(ask: TalosUpgradeAsk, fields: UpgradeFields): FieldError[] {
  const to = parse(ask.to);
  if (!to) return [fieldErr.invalid(fields.talos, ask.to, 'is not a Talos version such as v1.13.9')];
  const toLine = to.major === 1 ? talosLine(to.minor) : undefined;
  if (!toLine?.newestTag)
    return [fieldErr.invalid(fields.talos, ask.to, `Talos ${show(to)} is not a known release line`)];
  const from = parse(ask.from);
  if (!from)
    return [
      fieldErr.invalid(fields.talos, ask.to, `the running Talos version "${ask.from}" is not one that can be judged`),
    ];
  const errors: FieldError[] = [];
  const order = compareSemver(to, from);
  if (order < 0) {
    const fromLine = talosLine(from.minor);
    if (!ask.allowDowngrade) {
      errors.push(
        fieldErr.invalid(
          fields.talos,
          ask.to,
          `is older than the running ${ask.from}: a downgrade is refused unless allowDowngrade is set`,
        ),
      );
    } else if (from.major !== to.major || (fromLine && to.minor < fromLine.upgradeFromMinor)) {
      errors.push(
        fieldErr.invalid(
          fields.talos,
          ask.to,
          `a downgrade from ${ask.from} may go back only as far as Talos 1.${fromLine?.upgradeFromMinor ?? from.minor} (the oldest line 1.${from.minor} upgrades from)`,
        ),
      );
    }
  } else if (order > 0 && (from.major !== 1 || from.minor < toLine.upgradeFromMinor)) {
    const step = from.major === 1 ? stepTowards(from.minor, to.minor) : undefined;
    errors.push(
      fieldErr.invalid(
        fields.talos,
        ask.to,
        `Talos 1.${toLine.minor} upgrades only from Talos 1.${toLine.upgradeFromMinor} or newer, not from ${ask.from}` +
          (step ? `: upgrade to ${step.newestTag} first` : ''),
      ),
    );
  }
  if (ask.kubernetes !== undefined) {
    const k = parse(ask.kubernetes);
    const field = fields.kubernetes ?? fields.talos;
    if (!k) errors.push(fieldErr.invalid(field, ask.kubernetes, 'is not a Kubernetes version such as 1.36.3'));
    else errors.push(...kubernetesInRange(k, toLine, field, fields.kubernetes ? ask.kubernetes : ask.to));
  }
  return errors;
}

/** why the Kubernetes upgrade `ask` is not allowed; empty when it is (the same version included) */
export function kubernetesUpgradeProblems(ask: KubernetesUpgradeAsk, fields: UpgradeFields): FieldError[] {
  const field = fields.kubernetes ?? fields.talos;
  const to = parse(ask.to);
  if (!to || to.major !== 1) return [fieldErr.invalid(field, ask.to, 'is not a Kubernetes version such as 1.36.3')];
  const errors: FieldError[] = [];
  const from = parse(ask.from);
  if (from) {
    const order = compareSemver(to, from);
    if (order < 0 && !ask.allowDowngrade) {
      errors.push(
        fieldErr.invalid(
          field,
          ask.to,
          `is older than the running ${ask.from}: a downgrade is refused unless allowDowngrade is set`,
        ),
      );
    } else if (order > 0 && to.minor > from.minor + 1) {
      errors.push(
        fieldErr.invalid(
          field,
          ask.to,
          `Kubernetes upgrades one minor version at a time: from ${ask.from} to 1.${from.minor + 1} first`,
        ),
      );
    }
  }
  const talos = parse(ask.talos);
  const line = talos?.major === 1 ? talosLine(talos.minor) : undefined;
  if (line) errors.push(...kubernetesInRange(to, line, field, ask.to));
  return errors;
}
