// kubectl talos gen config | gen secrets: the server's own generators, run on files with no
// cluster, for GitOps pipelines (`validate` is validate.ts).
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kubernetesClusterKind, machineKind } from '../api/index.js';
import { groupVersion, type KubeObject } from '../machinery/kind.js';
import { generateSecretsBundle, type SecretsBundle } from '../machineconfig/bundle.js';
import { parseContract } from '../machineconfig/contract.js';
import { POOL_ANNOTATION, clusterConfigInputs, clusterPatches, clusterSpec } from '../machineconfig/fromcluster.js';
import { generateMachineConfig } from '../machineconfig/generate/generate.js';
import { ConfigInputError, resolveTalosVersion } from '../machineconfig/generate/inputs.js';
import { applyPatches } from '../machineconfig/patch/apply.js';
import { PatchError } from '../machineconfig/patch/patcherror.js';
import { parseSecretsYaml, secretsToYaml } from '../machineconfig/secretsyaml.js';
import { generateTalosconfig, talosconfigToYaml } from '../machineconfig/talosconfig.js';
import { clusterProblems } from '../admission/machineconfig.js';
import { qualifiedKind, type FieldError, type KindRef } from '../machinery/errors.js';
import { CLIError } from './kubeclient.js';
import { EXIT } from './exitcodes.js';

async function readBundle(file: string): Promise<SecretsBundle> {
  const parsed = parseSecretsYaml(await readFile(file, 'utf8'));
  if (!parsed.ok) throw new CLIError(`${file}: ${parsed.error.problems.map((p) => p.message).join('; ')}`, EXIT.usage);
  return parsed.bundle;
}

async function writeNew(path: string, text: string, mode: number, force: boolean): Promise<void> {
  if (existsSync(path) && !force) throw new CLIError(`${path} exists; use --force to overwrite it`, EXIT.usage);
  await writeFile(path, text, { mode });
}

export interface GenSecretsFlags {
  output: string;
  talosVersion?: string;
  force: boolean;
}

export async function genSecrets(flags: GenSecretsFlags, out: NodeJS.WritableStream): Promise<number> {
  const tag = versionTag(flags.talosVersion);
  const bundle = await generateSecretsBundle({ contract: parseContract(tag) });
  await writeNew(flags.output, secretsToYaml(bundle), 0o600, flags.force);
  out.write(`wrote ${flags.output} (secrets bundle for Talos ${tag})\n`);
  return EXIT.ok;
}

/** a `--talos-version` (or spec.talos.version) as the tag it targets; a usage error (exit 2) when unsupported */
export function versionTag(v: string | undefined): string {
  try {
    return resolveTalosVersion(v).tag;
  } catch (e) {
    throw new CLIError(`--talos-version: ${(e as Error).message}`, EXIT.usage);
  }
}

/**
 * kube-apiserver's naming of a refused object (`KubernetesCluster.vitistack.io "x" is invalid: ...`),
 * several problems one per line as kubectl lists them
 */
export function invalidObjectMessage(kind: KindRef, name: string, problems: FieldError[]): string {
  const head = `${qualifiedKind(kind)} "${name}" is invalid:`;
  return problems.length === 1
    ? `${head} ${problems[0]!.message}`
    : `${head}\n${problems.map((p) => `* ${p.message}`).join('\n')}`;
}

export interface GenConfigFlags {
  file: string;
  output: string;
  endpoint?: string;
  secrets?: string;
  talosVersion?: string;
  force: boolean;
}

/** controlplane.yaml, worker.yaml and talosconfig from a KubernetesCluster manifest, like talosctl gen config */
export async function genConfig(flags: GenConfigFlags, out: NodeJS.WritableStream): Promise<number> {
  const docs = parseAllDocuments(await readFile(flags.file, 'utf8')).map((d) => d.toJS() as KubeObject | null);
  const apiVersion = groupVersion(kubernetesClusterKind);
  const cluster = docs.find((d) => d?.kind === kubernetesClusterKind.kind && d.apiVersion === apiVersion);
  if (!cluster) throw new CLIError(`${flags.file} has no ${apiVersion} ${kubernetesClusterKind.kind}`, EXIT.usage);
  const spec = clusterSpec(cluster);
  if (flags.talosVersion) (spec.talos ??= {}).version = flags.talosVersion;
  const endpoint = flags.endpoint ?? spec.talos?.endpoint;
  if (!endpoint)
    throw new CLIError(
      `KubernetesCluster ${cluster.metadata?.name} has no spec.talos.endpoint: pass --endpoint https://HOST:6443`,
      EXIT.usage,
    );
  const tag = versionTag(spec.talos?.version);
  // the validating admission's judgement first: its problems name the manifest's fields
  const judged = { ...cluster, spec: { ...spec, talos: { ...spec.talos, endpoint } } };
  const problems = await clusterProblems(judged);
  if (problems.length > 0)
    throw new CLIError(
      invalidObjectMessage(kubernetesClusterKind, String(cluster.metadata?.name ?? ''), problems),
      EXIT.unhealthy,
    );
  const bundle = flags.secrets
    ? await readBundle(flags.secrets)
    : await generateSecretsBundle({ contract: parseContract(tag) });
  const pools = spec.topology?.workers ?? [];
  // a worker config for the first pool (or the cluster's defaults): talosctl writes one worker.yaml
  const worker = pools[0]
    ? {
        apiVersion: groupVersion(machineKind),
        kind: machineKind.kind,
        metadata: { name: 'worker', annotations: { [POOL_ANNOTATION]: pools[0].name } },
      }
    : undefined;
  const files: [string, string][] = [];
  try {
    for (const [role, machine, name] of [
      ['controlplane', undefined, 'controlplane.yaml'],
      ['worker', worker, 'worker.yaml'],
    ] as const) {
      const inputs = clusterConfigInputs(cluster, role, machine, endpoint);
      files.push([
        name,
        applyPatches(generateMachineConfig(role, inputs, bundle), clusterPatches(cluster, role, machine)),
      ]);
    }
  } catch (e) {
    if (e instanceof ConfigInputError || e instanceof PatchError) throw new CLIError(e.message, EXIT.usage);
    throw e;
  }
  const host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  const talosconfig = await generateTalosconfig({
    clusterName: cluster.metadata.name!,
    osCA: bundle.certs.os,
    endpoints: [host],
  });
  files.push(['talosconfig', talosconfigToYaml(talosconfig)]);
  await mkdir(flags.output, { recursive: true });
  for (const [name, text] of files) await writeNew(join(flags.output, name), text, 0o600, flags.force);
  out.write(`generated ${files.map(([n]) => n).join(', ')} in ${flags.output} for Talos ${tag}\n`);
  return EXIT.ok;
}
