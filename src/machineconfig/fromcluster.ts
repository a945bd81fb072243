// From a KubernetesCluster (and one of its Machines) to generator inputs and config patches
// (pure). The cluster name is metadata.name; spec.talos holds the Talos settings; a Machine names
// its cluster and role by labels and its pool by an annotation (as talos-operator labels them).
import type { Operation } from 'fast-json-patch';
import type { KubernetesClusterSpec, MachineSpec, WorkerPool } from '../api/index.js';
import type { KubeObject } from '../machinery/kind.js';
import type { CniRequest, ConfigInputs } from './generate/inputs.js';
import type { MachineRole } from './generate/v1alpha1.js';
import { orderedPatches } from './patch/order.js';
import type { Patch } from './patch/apply.js';

import { CLUSTER_LABEL } from '../api/machine.js';

export { CLUSTER_LABEL, ROLE_LABEL, machineRole } from '../api/machine.js';
export const POOL_ANNOTATION = 'vitistack.io/nodepool';
export const MACHINECONFIG_SECRET_ANNOTATION = 'talos.vitistack.io/machineconfig-secret';
export const CONFIG_HASH_ANNOTATION = 'talos.vitistack.io/config-hash';
export const TALOS_VERSION_ANNOTATION = 'talos.vitistack.io/talos-version';

type PatchFields = Pick<WorkerPool, 'configPatches' | 'strategicPatches'>;
type Pool = KubernetesClusterSpec['topology']['controlplane'] | WorkerPool;
type TalosSettings = NonNullable<KubernetesClusterSpec['talos']>;

/**
 * The cluster's spec as the kind declares it. Readers still go with `?.` below the top: `gen
 * config` reads manifests that no server has checked.
 */
export const clusterSpec = (c: KubeObject): KubernetesClusterSpec => (c.spec ?? {}) as KubernetesClusterSpec;

export function machineCluster(m: KubeObject): string | undefined {
  return m.metadata.labels?.[CLUSTER_LABEL] || undefined;
}

/** a URL in `cni` itself is a custom CNI deployed from that manifest (before cniURLs existed) */
export const isCniURL = (cni: string): boolean => /^https?:\/\//i.test(cni);

/** spec.talos.network's cni and cniURLs; a name Talos does not know is passed on to be refused */
function cniOf(network: NonNullable<TalosSettings['network']>): CniRequest | undefined {
  const { cni, cniURLs } = network;
  if (cni && isCniURL(cni)) return { name: 'custom', urls: [cni, ...(cniURLs ?? [])] };
  if (!cni) return undefined;
  return cni === 'custom' ? { name: cni, urls: cniURLs ?? [] } : { name: cni };
}

function poolOf(cluster: KubeObject, m: KubeObject | undefined, role: MachineRole): Pool | undefined {
  const t = clusterSpec(cluster).topology;
  if (role === 'controlplane') return t?.controlplane;
  const name = m?.metadata.annotations?.[POOL_ANNOTATION];
  return (
    t?.workers?.find((w) => w.name === name) ??
    (name === undefined && t?.workers?.length === 1 ? t.workers[0] : undefined)
  );
}

/** generator inputs for one role (and pool, when a Machine names one); `endpoint` overrides the spec's */
export function clusterConfigInputs(
  cluster: KubeObject,
  role: MachineRole,
  machine?: KubeObject,
  endpoint?: string,
): ConfigInputs {
  const spec = clusterSpec(cluster);
  const talos: TalosSettings = spec.talos ?? {};
  const pool = poolOf(cluster, machine, role);
  const poolTaints = pool && 'taints' in pool ? pool.taints : undefined;
  const taints = Object.fromEntries(
    (poolTaints ?? []).map((t) => [t.key, t.value ? `${t.value}:${t.effect}` : t.effect]),
  );
  const inputs: ConfigInputs = {
    clusterName: cluster.metadata.name!,
    endpoint: endpoint ?? talos.endpoint ?? '',
    kubernetesVersion: pool?.version ?? spec.topology?.version,
  };
  if (talos.version) inputs.talosVersion = talos.version;
  if (talos.installDisk) inputs.installDisk = talos.installDisk;
  if (talos.installImage) inputs.installImage = talos.installImage;
  if (talos.certSANs?.length) inputs.certSANs = talos.certSANs;
  const cni = talos.network ? cniOf(talos.network) : undefined;
  if (talos.network)
    inputs.network = {
      podSubnets: talos.network.podSubnets,
      serviceSubnets: talos.network.serviceSubnets,
      ...(cni ? { cni } : {}),
    };
  if (pool?.metadata?.labels && Object.keys(pool.metadata.labels).length) inputs.nodeLabels = pool.metadata.labels;
  if (Object.keys(taints).length) inputs.nodeTaints = taints;
  return inputs;
}

function patchesOf(fields: PatchFields | undefined, where: string): Patch[] {
  const out: Patch[] = [];
  if (fields?.configPatches?.length)
    out.push({ name: `${where}.configPatches`, jsonPatch: fields.configPatches as Operation[] });
  (fields?.strategicPatches ?? []).forEach((text, i) =>
    out.push({ name: `${where}.strategicPatches[${i}]`, strategic: text }),
  );
  return out;
}

/** cluster patches, then the control plane's or the pool's, then the machine's (spec.talos of a Machine) */
export function clusterPatches(cluster: KubeObject, role: MachineRole, machine?: KubeObject): Patch[] {
  const spec = clusterSpec(cluster);
  const pool = poolOf(cluster, machine, role);
  const poolWhere =
    role === 'controlplane'
      ? 'spec.topology.controlplane'
      : `spec.topology.workers[name=${pool && 'name' in pool ? pool.name : '?'}]`;
  const machineTalos = (machine?.spec as MachineSpec | undefined)?.talos;
  return orderedPatches({
    cluster: patchesOf(spec.talos, `KubernetesCluster ${cluster.metadata.name} spec.talos`),
    role: patchesOf(pool, `KubernetesCluster ${cluster.metadata.name} ${poolWhere}`),
    machine: machine ? patchesOf(machineTalos, `Machine ${machine.metadata.name} spec.talos`) : [],
  });
}
