// A KubernetesCluster's version change is an upgrade: the spec change itself is judged by the one
// upgrade rule (src/machineconfig/upgradepolicy.ts), so a refused upgrade (a downgrade without
// spec.upgradeStrategy.allowDowngrade, a skip Talos does not support, a Kubernetes version the
// target Talos does not run or more than one minor ahead) changes nothing: the write is refused
// before any Machine's config follows it.
import type { KubeObject } from '../machinery/kind.js';
import type { FieldError } from '../machinery/errors.js';
import { clusterSpec } from '../machineconfig/fromcluster.js';
import { ConfigInputError, resolveTalosVersion } from '../machineconfig/generate/inputs.js';
import { kubernetesUpgradeProblems, talosUpgradeProblems } from '../machineconfig/upgradepolicy.js';

/** the Talos version a cluster's spec resolves to, or undefined when it does not (reported elsewhere) */
function talosOf(cluster: KubeObject): ReturnType<typeof resolveTalosVersion> | undefined {
  try {
    return resolveTalosVersion(clusterSpec(cluster).talos?.version);
  } catch (e) {
    if (e instanceof ConfigInputError) return undefined;
    throw e;
  }
}

/** every Kubernetes version the spec names, by field: the cluster's and each pool's */
function kubernetesVersions(cluster: KubeObject): Map<string, { field: string; version: string }> {
  const topology = clusterSpec(cluster).topology;
  const out = new Map<string, { field: string; version: string }>();
  if (typeof topology?.version === 'string') out.set('', { field: 'spec.topology.version', version: topology.version });
  (topology?.workers ?? []).forEach((pool, i) => {
    if (typeof pool?.version === 'string')
      out.set(pool.name, { field: `spec.topology.workers[${i}].version`, version: pool.version });
  });
  return out;
}

/** why changing `old` into `obj` is not an allowed upgrade; empty when it is or changes no version */
export function versionChangeProblems(obj: KubeObject, old: KubeObject): FieldError[] {
  const allowDowngrade = clusterSpec(obj).upgradeStrategy?.allowDowngrade === true;
  const fromTalos = talosOf(old);
  const toTalos = talosOf(obj);
  if (!fromTalos || !toTalos) return [];
  const [from, to] = [fromTalos.tag, toTalos.tag];
  const errors: FieldError[] = [];
  const clusterKubernetes = kubernetesVersions(obj).get('');
  if (from !== to) {
    errors.push(
      ...talosUpgradeProblems(
        { from, to, allowDowngrade, ...(clusterKubernetes ? { kubernetes: clusterKubernetes.version } : {}) },
        { talos: 'spec.talos.version', ...(clusterKubernetes ? { kubernetes: clusterKubernetes.field } : {}) },
      ),
    );
  }
  const before = kubernetesVersions(old);
  for (const [key, now] of kubernetesVersions(obj)) {
    const was = before.get(key)?.version;
    if (was === undefined || was.replace(/^v/, '') === now.version.replace(/^v/, '')) continue;
    // a version the old spec's Talos could not run never ran: there is no step to judge from
    const wasMinor = /^v?1\.(\d+)/.exec(was)?.[1];
    const { minMinor, maxMinor } = fromTalos.line.kubernetes;
    if (wasMinor === undefined || Number(wasMinor) < minMinor || Number(wasMinor) > maxMinor) continue;
    errors.push(
      ...kubernetesUpgradeProblems(
        { from: was, to: now.version, talos: to, allowDowngrade },
        { talos: 'spec.talos.version', kubernetes: now.field },
      ),
    );
  }
  const seen = new Set<string>();
  return errors.filter((e) => !seen.has(e.message) && !!seen.add(e.message));
}
