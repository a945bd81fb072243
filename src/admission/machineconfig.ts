// Talos machine-config admission for the vitistack kinds, as two plugins. KubernetesClusterInputs
// (validating, needs nothing but the object, so the AdmissionReview endpoints run it too): a
// cluster's Talos inputs resolve (Kubernetes versions inside the target Talos version's range and
// within the version skew of each other (versionskew.ts), endpoint, subnets) and its patches apply. TalosConfigGeneration (in-process only: it reads and
// writes Secrets): a Machine gets its machine config generated, the object recording only
// annotations; after the write (never on a dry run) a KubernetesCluster gets its secrets bundle
// and talosconfig Secrets, a Machine its machine-config Secret.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { kubernetesClusterKind, machineKind, type KubernetesClusterSpec } from '../api/index.js';
import {
  MACHINE_CONFIG_ERROR_ANNOTATION,
  MACHINE_SERVER_ANNOTATION,
  MACHINE_SERVER_PATCHES_ANNOTATION,
  MACHINE_SERVERCLASS_ANNOTATION,
  serverKind,
  type ServerSpec,
} from '../api/server.js';
import { serverClassKind, type ServerClassSpec } from '../api/serverclass.js';
import { fieldErr, invalid, StatusError, type FieldError } from '../machinery/errors.js';
import { groupVersion, type KindDefinition, type KubeObject } from '../machinery/kind.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { generateSecretsBundle, type SecretsBundle } from '../machineconfig/bundle.js';
import { parseContract } from '../machineconfig/contract.js';
import {
  CLUSTER_LABEL,
  CONFIG_HASH_ANNOTATION,
  MACHINECONFIG_SECRET_ANNOTATION,
  POOL_ANNOTATION,
  TALOS_VERSION_ANNOTATION,
  clusterConfigInputs,
  clusterPatches,
  clusterSpec,
  isCniURL,
  machineCluster,
  machineRole,
} from '../machineconfig/fromcluster.js';
import { machineFacts } from '../machineconfig/frommachine.js';
import { generateMachineConfig } from '../machineconfig/generate/generate.js';
import { checkEndpoint } from '../machineconfig/generate/inputcheck.js';
import {
  ConfigInputError,
  resolveConfigInputs,
  resolveTalosVersion,
  unsupportedCniReason,
} from '../machineconfig/generate/inputs.js';
import type { MachineRole } from '../machineconfig/generate/v1alpha1.js';
import { applyPatches, type Patch } from '../machineconfig/patch/apply.js';
import { PatchError } from '../machineconfig/patch/patcherror.js';
import { parseSecretsYaml, secretsToYaml } from '../machineconfig/secretsyaml.js';
import { serverPatches, serverPatchesStamp } from '../machineconfig/serverpatches.js';
import { generateTalosconfig, talosconfigToYaml } from '../machineconfig/talosconfig.js';
import { configErrors, validateMachineConfig } from '../machineconfig/validate/index.js';
import {
  MACHINECONFIG_KEY,
  machineconfigSecretName,
  SECRET_ROLE_LABEL,
  SECRETS_KEY,
  secretsSecretName,
  TALOSCONFIG_KEY,
  talosconfigSecretName,
} from '../secrets/clustersecrets.js';
import type { SecretStore } from '../secrets/secretstore.js';
import type { AdmissionPlugin } from './plugin.js';
import { versionChangeProblems } from './versionchange.js';
import { versionSkewProblems } from '../machineconfig/versionskew.js';
import type { TalosLine } from '../machineconfig/generate/versions.js';

type TalosNetwork = NonNullable<NonNullable<KubernetesClusterSpec['talos']>['network']>;

const isKind = (o: KubeObject, kind: KindDefinition) => o.kind === kind.kind && o.apiVersion === groupVersion(kind);
const CLUSTER_REF = { group: kubernetesClusterKind.group, kind: kubernetesClusterKind.kind };
const MACHINE_REF = { group: machineKind.group, kind: machineKind.kind };
/** an endpoint only to check the other inputs with when the cluster names none yet */
const PLACEHOLDER_ENDPOINT = 'https://cluster.invalid:6443';

/** where a CNI input lives: `cni` for the name (and a URL written there), `cniURLs` for the list */
function cniPath(field: string, network: TalosNetwork | undefined): string {
  const base = 'spec.talos.network';
  if (field === 'network.cni.name') return `${base}.cni`;
  const index = /^network\.cni\.urls\[(\d+)\]$/.exec(field);
  if (!index) return `${base}.cniURLs`;
  // a URL in cni itself is the first of the URLs (fromcluster.ts)
  const shift = network?.cni && isCniURL(network.cni) ? 1 : 0;
  const i = Number(index[1]) - shift;
  return i < 0 ? `${base}.cni` : `${base}.cniURLs[${i}]`;
}

/** where a generator input lives in a KubernetesCluster */
function specPath(
  field: string,
  role: MachineRole,
  pool?: { index: number; hasVersion: boolean },
  network?: TalosNetwork,
): string {
  if (field.startsWith('network.cni')) return cniPath(field, network);
  const root = field.split(/[.[]/)[0]!;
  const at = role === 'controlplane' ? 'spec.topology.controlplane' : `spec.topology.workers[${pool?.index ?? 0}]`;
  if (root === 'clusterName') return 'metadata.name';
  if (root === 'kubernetesVersion')
    return role === 'controlplane' || pool?.hasVersion ? `${at}.version` : 'spec.topology.version';
  if (root === 'nodeLabels') return `${at}.metadata.labels`;
  if (root === 'nodeTaints') return `${at}.taints`;
  if (root === 'talosVersion') return 'spec.talos.version';
  return `spec.talos.${field}`;
}

/** a field error whose value is not at hand (the generator names the field and the reason) */
function invalidField(field: string, reason: string): FieldError {
  return { type: 'FieldValueInvalid', field, message: `${field}: Invalid value: ${reason}` };
}

/** a generator's input error as the KubernetesCluster's field error, in kube's words for its type */
function inputFieldError(
  e: ConfigInputError,
  role: MachineRole,
  pool?: { index: number; hasVersion: boolean },
  cluster?: KubeObject,
): FieldError {
  const network = cluster ? clusterSpec(cluster).talos?.network : undefined;
  const field = specPath(e.field, role, pool, network);
  switch (e.type) {
    case 'notSupported': {
      // the generator's advice, with the field the URLs of a custom CNI go to
      const reason =
        e.field === 'network.cni.name' && typeof network?.cni === 'string'
          ? unsupportedCniReason(network.cni, 'spec.talos.network.cniURLs')
          : e.reason;
      return { type: 'FieldValueNotSupported', field, message: `${field}: Unsupported value: ${reason}` };
    }
    case 'required':
      return { type: 'FieldValueRequired', field, message: `${field}: Required value: ${e.reason}` };
    default:
      return invalidField(field, e.reason);
  }
}

/** cniURLs are the manifests of a custom CNI: with flannel or none they would silently do nothing */
function cniURLsProblem(network: TalosNetwork | undefined): FieldError | undefined {
  const cni = network?.cni || 'flannel';
  if (!network?.cniURLs?.length || cni === 'custom' || isCniURL(cni)) return undefined;
  const field = 'spec.talos.network.cniURLs';
  return {
    type: 'FieldValueForbidden',
    field,
    message: `${field}: Forbidden: only a custom CNI is deployed from manifest URLs: set spec.talos.network.cni to "custom" to deploy these, or leave them out (cni is ${JSON.stringify(cni)})`,
  };
}

const ignoreNotFound = (e: unknown): undefined => {
  if (e instanceof StatusError && e.code === 404) return undefined;
  throw e;
};

/** the write binds the Machine to a Server (a new or another name in its server annotation) */
const isBindingWrite = (machine: KubeObject, old: KubeObject | undefined) =>
  machine.metadata.annotations?.[MACHINE_SERVER_ANNOTATION] !== old?.metadata.annotations?.[MACHINE_SERVER_ANNOTATION];

/** patchForServer's answer when the Machine keeps the config it has */
const KEEP_CONFIG = '';

/**
 * The cluster-patched config with the bound Server's patches. When they do not apply, the write
 * that binds the Machine is refused (the allocator then tries the next server); any other write
 * keeps the config the Machine has, whole, and the annotation metal.sidero.dev/config-error says
 * why, so a status write is never refused for a Server's patch.
 */
function patchForServer(
  machine: KubeObject,
  old: KubeObject | undefined,
  config: string,
  metal: { patches: Patch[]; stamp: string },
  ctx: { warnings: string[] },
): string {
  const annotations = (machine.metadata.annotations ??= {});
  // also when they fail: the allocator generates again when the Server or class changes, not before
  annotations[MACHINE_SERVER_PATCHES_ANNOTATION] = metal.stamp;
  try {
    const patched = applyPatches(config, metal.patches);
    delete annotations[MACHINE_CONFIG_ERROR_ANNOTATION];
    return patched;
  } catch (e) {
    if (!(e instanceof PatchError) || isBindingWrite(machine, old)) throw e;
    annotations[MACHINE_CONFIG_ERROR_ANNOTATION] = e.message.slice(0, 1024);
    ctx.warnings.push(`Machine ${machine.metadata.name} keeps its machine config: ${e.message}`);
    return KEEP_CONFIG;
  }
}

/** one bundle per process to try patches on: generating keys is slow, and only the shape matters here */
let scratchBundle: Promise<SecretsBundle> | undefined;

/** every role's config must generate and patch cleanly; problems are field errors on the cluster */
export async function clusterProblems(cluster: KubeObject): Promise<FieldError[]> {
  const spec = clusterSpec(cluster);
  const roles: [MachineRole, KubeObject | undefined, { index: number; hasVersion: boolean } | undefined][] = [
    ['controlplane', undefined, undefined],
  ];
  (spec.topology?.workers ?? []).forEach((pool, index) => {
    const machine = {
      apiVersion: groupVersion(machineKind),
      kind: machineKind.kind,
      metadata: { name: pool.name, annotations: { [POOL_ANNOTATION]: pool.name } },
    };
    roles.push(['worker', machine, { index, hasVersion: !!pool.version }]);
  });
  const errors: FieldError[] = [];
  const urlsProblem = cniURLsProblem(spec.talos?.network);
  if (urlsProblem) errors.push(urlsProblem);
  // the endpoint on its own, so a bad one does not hide the problems after it
  let endpoint = spec.talos?.endpoint || PLACEHOLDER_ENDPOINT;
  const checked = checkEndpoint(endpoint);
  if ('problem' in checked) {
    errors.push(invalidField('spec.talos.endpoint', checked.problem));
    endpoint = PLACEHOLDER_ENDPOINT;
  }
  for (const [role, machine, pool] of roles) {
    const inputs = clusterConfigInputs(cluster, role, machine, endpoint);
    try {
      resolveConfigInputs(inputs);
      const patches = clusterPatches(cluster, role, machine);
      if (patches.length > 0) {
        scratchBundle ??= generateSecretsBundle({
          contract: parseContract(resolveTalosVersion(inputs.talosVersion).tag),
        });
        const patched = applyPatches(generateMachineConfig(role, inputs, await scratchBundle), patches);
        // what the patches made must still be a config the target Talos accepts
        const where =
          role === 'controlplane' ? 'spec.topology.controlplane' : `spec.topology.workers[${pool?.index ?? 0}]`;
        for (const p of configErrors(
          validateMachineConfig(patched, { talosVersion: resolveTalosVersion(inputs.talosVersion).tag, mode: 'metal' }),
        )) {
          errors.push(invalidField(`${where} (patched config) ${p.path}`, p.message));
        }
      }
    } catch (e) {
      if (e instanceof ConfigInputError) errors.push(inputFieldError(e, role, pool, cluster));
      else if (e instanceof PatchError)
        errors.push(invalidField(e.patch.replace(/^KubernetesCluster \S+ /, ''), e.message));
      else throw e;
    }
  }
  // the versions together (versionskew.ts): a field the generator refused already gets no second complaint
  const refused = new Set(errors.map((e) => e.field));
  errors.push(...clusterVersionProblems(spec).filter((e) => !refused.has(e.field)));
  const seen = new Set<string>();
  return errors.filter((e) => !seen.has(e.message) && !!seen.add(e.message));
}

function clusterVersionProblems(spec: KubernetesClusterSpec): FieldError[] {
  let line: TalosLine | undefined;
  try {
    line = resolveTalosVersion(spec.talos?.version).line;
  } catch (e) {
    if (!(e instanceof ConfigInputError)) throw e;
  }
  const topology = spec.topology;
  return versionSkewProblems(
    {
      cluster: topology?.version,
      controlPlane: topology?.controlplane?.version,
      pools: (topology?.workers ?? []).map((p) => p?.version),
    },
    line,
  );
}

/** judges a KubernetesCluster's Talos inputs when its spec is written */
export const clusterInputsAdmission: AdmissionPlugin = {
  name: 'KubernetesClusterInputs',
  async validate(op, obj, old) {
    if (op === 'DELETE' || !isKind(obj, kubernetesClusterKind)) return;
    // a write that leaves the spec as it is (status, labels, finalizers) is not judged by today's
    // rules again: a cluster stored under older ones keeps its status writable (ratcheting)
    if (op === 'UPDATE' && old && JSON.stringify(obj.spec) === JSON.stringify(old.spec)) return;
    const errors = await clusterProblems(obj);
    if (op === 'UPDATE' && old) errors.push(...versionChangeProblems(obj, old));
    if (errors.length > 0) throw invalid(CLUSTER_REF, obj.metadata.name!, errors);
  },
};

export interface TalosConfigAdmissionOptions {
  /** a getter: the hooks are built before the registry they belong to */
  registry: () => APIRegistry;
  secrets: SecretStore;
  log: Logger;
}

export function talosConfigAdmission(o: TalosConfigAdmissionOptions): AdmissionPlugin {
  /** configs generated in mutate, written in committed, by object uid */
  const pending = new Map<string, { config: string; cluster: KubeObject }>();

  const ownerOf = (cluster: KubeObject) => [
    {
      apiVersion: groupVersion(kubernetesClusterKind),
      kind: kubernetesClusterKind.kind,
      name: cluster.metadata.name!,
      uid: cluster.metadata.uid!,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
  const labelsOf = (cluster: KubeObject, kind: string) => ({
    [CLUSTER_LABEL]: cluster.metadata.name!,
    [SECRET_ROLE_LABEL]: kind,
  });

  async function bundleOf(cluster: KubeObject): Promise<SecretsBundle | undefined> {
    const secret = secretsSecretName(cluster.metadata.name!);
    const data = await o.secrets.get(cluster.metadata.namespace!, secret);
    const text = data?.[SECRETS_KEY];
    if (!text) return undefined;
    const parsed = parseSecretsYaml(text);
    if (!parsed.ok) throw parsed.error.toStatusError({ secret, key: SECRETS_KEY });
    return parsed.bundle;
  }

  async function generateFor(
    machine: KubeObject,
    old: KubeObject | undefined,
    ctx: { warnings: string[]; dryRun: boolean },
  ): Promise<void> {
    const clusterName = machineCluster(machine);
    const role = machineRole(machine);
    if (!clusterName || !role) return;
    const facts = machineFacts(machine);
    // a spec fact that cannot be used refuses the write that brings it in; one already stored (a
    // provider's status write, the cluster's regeneration) is only warned about (ratcheting)
    const stored = new Set(old ? machineFacts(old).problems.map((p) => `${p.field}=${p.value}`) : []);
    const refused = facts.problems.filter((p) => p.refusable && !stored.has(`${p.field}=${p.value}`));
    if (refused.length > 0)
      throw invalid(
        MACHINE_REF,
        machine.metadata.name!,
        refused.map((p) => fieldErr.invalid(p.field, p.value, p.message)),
      );
    for (const p of facts.problems)
      ctx.warnings.push(`Machine ${machine.metadata.name} ${p.field}: ${JSON.stringify(p.value)}: ${p.message}`);
    const store = o.registry().storeOf(kubernetesClusterKind)!;
    let cluster: KubeObject;
    try {
      cluster = await store.get(machine.metadata.namespace, clusterName);
    } catch {
      ctx.warnings.push(
        `KubernetesCluster ${clusterName} does not exist (yet): no machine config was generated for ${machine.metadata.name}`,
      );
      return;
    }
    const endpoint = clusterSpec(cluster).talos?.endpoint;
    if (!endpoint) {
      ctx.warnings.push(
        `KubernetesCluster ${clusterName} has no spec.talos.endpoint: no machine config was generated for ${machine.metadata.name}`,
      );
      return;
    }
    const bundle = await bundleOf(cluster);
    if (!bundle) {
      ctx.warnings.push(
        `KubernetesCluster ${clusterName} has no secrets bundle yet: no machine config was generated for ${machine.metadata.name}`,
      );
      return;
    }
    // the Machine's own facts win over the cluster's (a node patch after gen config)
    const inputs = { ...clusterConfigInputs(cluster, role, machine), ...facts.inputs };
    const metal = await boundServerPatches(machine, old, inputs.talosVersion);
    let config: string;
    try {
      const generated = generateMachineConfig(role, inputs, bundle);
      const clusterPatched = applyPatches(generated, clusterPatches(cluster, role, machine));
      config = metal ? patchForServer(machine, old, clusterPatched, metal, ctx) : clusterPatched;
      if (config === KEEP_CONFIG) return;
    } catch (e) {
      if (e instanceof ConfigInputError)
        throw invalid(MACHINE_REF, machine.metadata.name!, [
          fieldErr.invalid(
            `metadata.labels[${CLUSTER_LABEL}]`,
            clusterName,
            `its cluster's ${inputFieldError(e, role, undefined, cluster).message}`,
          ),
        ]);
      if (e instanceof PatchError)
        throw invalid(MACHINE_REF, machine.metadata.name!, [invalidField(e.patch, e.message)]);
      throw e;
    }
    const annotations = (machine.metadata.annotations ??= {});
    annotations[MACHINECONFIG_SECRET_ANNOTATION] = machineconfigSecretName(machine.metadata.name!);
    annotations[CONFIG_HASH_ANNOTATION] = createHash('sha256').update(config).digest('hex');
    annotations[TALOS_VERSION_ANNOTATION] = resolveTalosVersion(inputs.talosVersion).tag;
    if (ctx.dryRun) return; // nothing is written for a dry run
    pending.set(machine.metadata.uid!, { config, cluster });
    // a write that failed after admission never reaches committed: forget the oldest
    if (pending.size > 1000) pending.delete(pending.keys().next().value!);
  }

  /** the bound Server's patches (its class's, its own, the uuid label), when the Machine names one */
  async function boundServerPatches(
    machine: KubeObject,
    old: KubeObject | undefined,
    talosVersion: string | undefined,
  ): Promise<{ patches: Patch[]; stamp: string } | undefined> {
    const name = machine.metadata.annotations?.[MACHINE_SERVER_ANNOTATION];
    if (!name) {
      delete machine.metadata.annotations?.[MACHINE_SERVER_PATCHES_ANNOTATION];
      delete machine.metadata.annotations?.[MACHINE_CONFIG_ERROR_ANNOTATION];
      return undefined;
    }
    const registry = o.registry();
    const server = await registry.storeOf(serverKind)!.get(undefined, name).catch(ignoreNotFound);
    if (!server) {
      // naming a server that is not there is a mistake only when the name is new
      if (isBindingWrite(machine, old))
        throw invalid(MACHINE_REF, machine.metadata.name!, [
          fieldErr.invalid(`metadata.annotations[${MACHINE_SERVER_ANNOTATION}]`, name, `Server ${name} does not exist`),
        ]);
      return undefined;
    }
    const className = machine.metadata.annotations?.[MACHINE_SERVERCLASS_ANNOTATION];
    const cls = className
      ? await registry.storeOf(serverClassKind)!.get(undefined, className).catch(ignoreNotFound)
      : undefined;
    const patches = serverPatches(
      {
        name,
        spec: server.spec as ServerSpec | undefined,
        ...(cls ? { serverClass: { name: className!, spec: cls.spec as ServerClassSpec | undefined } } : {}),
      },
      parseContract(resolveTalosVersion(talosVersion).tag),
    );
    return { patches, stamp: serverPatchesStamp(server, cls) };
  }

  async function ensureClusterSecrets(cluster: KubeObject): Promise<void> {
    const ns = cluster.metadata.namespace!;
    const name = cluster.metadata.name!;
    let bundle = await bundleOf(cluster);
    if (!bundle) {
      // create-only: two writes of a new cluster (its create and a status write, or two replicas)
      // may both get here, and the first bundle stored must stay the cluster's only one
      const fresh = await generateSecretsBundle({
        contract: parseContract(resolveTalosVersion(clusterSpec(cluster).talos?.version).tag),
      });
      const stored = await o.secrets.create(ns, {
        name: secretsSecretName(name),
        labels: labelsOf(cluster, 'secrets'),
        ownerReferences: ownerOf(cluster),
        data: { [SECRETS_KEY]: secretsToYaml(fresh) },
      });
      bundle = stored ? fresh : await bundleOf(cluster);
      if (!bundle) throw new Error(`the secrets bundle of ${ns}/${name} was taken by another write and is unreadable`);
    }
    if (!(await o.secrets.get(ns, talosconfigSecretName(name)))?.[TALOSCONFIG_KEY]) {
      const host = clusterSpec(cluster).talos?.endpoint
        ? new URL(clusterSpec(cluster).talos!.endpoint!).hostname
        : undefined;
      const talosconfig = await generateTalosconfig({
        clusterName: name,
        osCA: bundle.certs.os,
        endpoints: host ? [host] : [],
      });
      await o.secrets.put(ns, {
        name: talosconfigSecretName(name),
        labels: labelsOf(cluster, 'talosconfig'),
        ownerReferences: ownerOf(cluster),
        data: { [TALOSCONFIG_KEY]: talosconfigToYaml(talosconfig) },
      });
    }
  }

  return {
    name: 'TalosConfigGeneration',
    async mutate(_op, obj, old, ctx) {
      if (isKind(obj, machineKind) && !obj.metadata.deletionTimestamp) await generateFor(obj, old, ctx);
    },
    async committed(_op, obj, ctx) {
      try {
        // a cluster being deleted is letting its Secrets go: they are not made again
        if (isKind(obj, kubernetesClusterKind) && !obj.metadata.deletionTimestamp) await ensureClusterSecrets(obj);
        if (isKind(obj, machineKind)) {
          const p = pending.get(obj.metadata.uid!);
          pending.delete(obj.metadata.uid!);
          if (!p) return;
          const name = machineconfigSecretName(obj.metadata.name!);
          const current = await o.secrets.get(obj.metadata.namespace!, name);
          if (current?.[MACHINECONFIG_KEY] === p.config) return;
          await o.secrets.put(obj.metadata.namespace!, {
            name,
            labels: { ...labelsOf(p.cluster, 'machineconfig'), 'vitistack.io/machine': obj.metadata.name! },
            ownerReferences: ownerOf(p.cluster),
            data: { [MACHINECONFIG_KEY]: p.config },
          });
        }
      } catch (err) {
        o.log.error({ err, kind: obj.kind, name: obj.metadata.name }, 'writing the Talos secrets failed');
        ctx.warnings.push(
          `the Talos secrets of ${obj.kind} ${obj.metadata.name} could not be written (${(err as Error).message}); they are written on its next change`,
        );
      }
    },
  };
}
