// The Kubernetes versions one KubernetesCluster names must describe a cluster its Talos line can
// run (pure). A cluster names up to three kinds of version: spec.topology.version (the cluster's;
// pools without a version of their own follow it), spec.topology.controlplane.version (what the
// control plane's kube-apiserver runs) and each worker pool's. The rule:
//
// 1. Every version named lies in the target Talos line's Kubernetes range (TALOS_LINES), also a
//    cluster version no pool follows today: a pool added later would follow it, and a node refuses
//    any kubelet image outside its range.
// 2. The control plane's version and the cluster's are the same minor or one apart: kube-apiserver
//    instances may be one minor apart while a control plane is upgraded, and a rollout moves one
//    minor at a time (upgradepolicy.ts), so more than one apart is a typo, not a state in between.
// 3. A worker pool's kubelet (its version, or the cluster's) is never newer than the control plane
//    and at most three minors older (Kubernetes' version skew policy for the kubelet; every
//    Kubernetes a supported Talos line runs is 1.25 or newer, where three applies).
import { fieldErr, type FieldError } from '../machinery/errors.js';
import type { TalosLine } from './generate/versions.js';

/** the kubelet may lag kube-apiserver by this many minors (never lead it) */
export const KUBELET_MAX_MINORS_BEHIND = 3;
/** the control plane and the cluster's version may be this many minors apart */
export const CONTROL_PLANE_MAX_MINORS_APART = 1;

export interface ClusterVersions {
  /** spec.topology.version */
  cluster?: unknown;
  /** spec.topology.controlplane.version */
  controlPlane?: unknown;
  /** spec.topology.workers[i].version, by index (undefined: the pool follows the cluster's) */
  pools: unknown[];
}

const MINOR = /^v?1\.(\d+)(?:\.\d+(?:-[0-9A-Za-z.-]+)?)?$/;

/** 33 for `1.33`, `v1.33.6`, `1.33.0-rc.1`; undefined when it is no Kubernetes 1.x version */
function minorOf(v: unknown): number | undefined {
  const m = typeof v === 'string' ? MINOR.exec(v.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

interface Named {
  field: string;
  value: string;
  minor: number;
}

/**
 * Every violation of the rule above, one field error per field. `line` is the target Talos line,
 * undefined when the spec names none that resolves (that is reported on spec.talos.version): the
 * range is then not judged, the skew still is. Versions that do not parse are left to the checks
 * that say what a version looks like, except the cluster's, which no other check reads when every
 * role has its own.
 */
export function versionSkewProblems(v: ClusterVersions, line: TalosLine | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const reported = new Set<string>();
  const report = (e: FieldError) => {
    if (reported.has(e.field)) return;
    reported.add(e.field);
    errors.push(e);
  };
  const named = (field: string, value: unknown): Named | undefined => {
    if (value === undefined || value === null || value === '') return undefined;
    const minor = minorOf(value);
    if (minor !== undefined) return { field, value: String(value), minor };
    if (field === 'spec.topology.version')
      report(fieldErr.invalid(field, value, 'is not a Kubernetes version such as 1.33 or 1.33.6'));
    return undefined;
  };
  const cluster = named('spec.topology.version', v.cluster);
  const controlPlane = named('spec.topology.controlplane.version', v.controlPlane) ?? cluster;
  const pools = v.pools.map((p, i) => named(`spec.topology.workers[${i}].version`, p) ?? cluster);

  // a version outside the range is wrong on its own: it is not also compared with the others
  const outside = new Set<Named>();
  if (line) {
    const { minMinor, maxMinor } = line.kubernetes;
    for (const n of [cluster, controlPlane, ...pools]) {
      if (!n || (n.minor >= minMinor && n.minor <= maxMinor)) continue;
      outside.add(n);
      report(
        fieldErr.invalid(
          n.field,
          n.value,
          // the generator's words (resolveKubernetesVersion) for the roles it reads
          `Kubernetes ${n.value} is outside 1.${minMinor} – 1.${maxMinor}, the range Talos 1.${line.minor} accepts`,
        ),
      );
    }
  }
  if (cluster && controlPlane && controlPlane !== cluster && !outside.has(cluster) && !outside.has(controlPlane)) {
    if (Math.abs(controlPlane.minor - cluster.minor) > CONTROL_PLANE_MAX_MINORS_APART)
      report(
        fieldErr.invalid(
          cluster.field,
          cluster.value,
          `must be within one minor of the control plane's ${controlPlane.value} (spec.topology.controlplane.version)`,
        ),
      );
  }
  if (controlPlane && !outside.has(controlPlane)) {
    for (const pool of pools) {
      if (!pool || pool === controlPlane || outside.has(pool)) continue;
      if (pool.minor > controlPlane.minor)
        report(
          fieldErr.invalid(
            pool.field,
            pool.value,
            `a kubelet must not be newer than the control plane's ${controlPlane.value} (${controlPlane.field})`,
          ),
        );
      else if (controlPlane.minor - pool.minor > KUBELET_MAX_MINORS_BEHIND)
        report(
          fieldErr.invalid(
            pool.field,
            pool.value,
            `a kubelet may be at most ${KUBELET_MAX_MINORS_BEHIND} minors older than the control plane's ${controlPlane.value} (${controlPlane.field})`,
          ),
        );
    }
  }
  return errors;
}
