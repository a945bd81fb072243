// kubectl talos validate | gen config | gen secrets: the server's own checks and generators, run
// on files with no cluster, for GitOps pipelines.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { allKinds, kubernetesClusterKind, machineKind } from '../api/index.js';
import { StatusError, type FieldError } from '../machinery/errors.js';
import { groupVersion, type KindDefinition, type KubeObject } from '../machinery/kind.js';
import { systemContext } from '../machinery/registry/context.js';
import { decodeBody, defaultAndValidate } from '../machinery/registry/prepare.js';
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
import { CLIError } from './kubeclient.js';

const MANIFEST = /\.(ya?ml|json)$/i;

async function manifestFiles(path: string, recursive: boolean): Promise<string[]> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new CLIError(`the path "${path}" does not exist`, 2);
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  for (const e of (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(path, e.name);
    if (e.isDirectory() && recursive) out.push(...(await manifestFiles(p, true)));
    else if (e.isFile() && MANIFEST.test(e.name)) out.push(p);
  }
  return out;
}

/** `spec.workers[1].name` -> the YAML node's line, or the document's line */
function lineOf(doc: Document, lines: LineCounter, field: string | undefined): number {
  const docLine = lines.linePos(doc.range?.[0] ?? 0).line;
  if (!field) return docLine;
  const path = field.split('.').flatMap((seg) => {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(seg);
    if (!m) return [seg];
    return [m[1]!, ...[...m[2]!.matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]))].filter((x) => x !== '');
  });
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return docLine;
}

function kindOf(obj: KubeObject): KindDefinition | undefined {
  return allKinds.find((k) => `${k.group}/${k.version}` === obj.apiVersion && k.kind === obj.kind);
}

/** the schema, the kinds' rules and the validating admission of one object */
async function problemsOf(obj: KubeObject): Promise<{ field?: string; message: string }[]> {
  if (typeof obj !== 'object' || Array.isArray(obj) || !obj.apiVersion || !obj.kind)
    return [{ message: 'not a Kubernetes object: apiVersion and kind are required' }];
  const kind = kindOf(obj);
  if (!kind) return [{ message: `${obj.apiVersion} ${obj.kind} is not a kind this server serves` }];
  try {
    // kubectl fills in the namespace from the context when a manifest has none
    if (kind.namespaced && obj.metadata && typeof obj.metadata === 'object' && !obj.metadata.namespace)
      obj.metadata.namespace = 'default';
    const decoded = decodeBody(kind, { value: obj, duplicates: [] }, { ...systemContext(), fieldValidation: 'Strict' });
    defaultAndValidate(kind, decoded);
    if (kind === kubernetesClusterKind) {
      return (await clusterProblems(decoded)).map((e: FieldError) => ({ field: e.field, message: e.message }));
    }
    return [];
  } catch (e) {
    if (!(e instanceof StatusError)) throw e;
    const causes = e.details?.causes ?? [];
    return causes.length > 0
      ? causes.map((c) => ({ field: c.field, message: c.message ?? e.message }))
      : [{ message: e.message }];
  }
}

/** prints `file:line: kind/name: path: message` per problem; 1 when there is any */
export async function validateFiles(path: string, recursive: boolean, out: NodeJS.WritableStream): Promise<number> {
  let problems = 0;
  let objects = 0;
  for (const file of await manifestFiles(path, recursive)) {
    const text = await readFile(file, 'utf8');
    const lines = new LineCounter();
    const shown = relative(process.cwd(), file) || file;
    for (const doc of parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true })) {
      if (doc.errors.length > 0) {
        for (const err of doc.errors)
          out.write(`${shown}:${lines.linePos(err.pos[0]).line}: ${err.message.split('\n')[0]}\n`);
        problems += doc.errors.length;
        continue;
      }
      const obj = doc.toJS() as KubeObject | null;
      if (obj === null || obj === undefined) continue;
      objects++;
      const id = `${String(obj.kind ?? '?')}/${String(obj.metadata?.name ?? '?')}`;
      for (const p of await problemsOf(obj)) {
        problems++;
        out.write(
          `${shown}:${lineOf(doc, lines, p.field)}: ${id}: ${p.field ? `${p.field}: ` : ''}${p.message.replace(`${p.field}: `, '')}\n`,
        );
      }
    }
  }
  out.write(problems === 0 ? `${objects} object(s) valid\n` : `${problems} problem(s) in ${objects} object(s)\n`);
  return problems === 0 ? 0 : 1;
}

async function readBundle(file: string): Promise<SecretsBundle> {
  const parsed = parseSecretsYaml(await readFile(file, 'utf8'));
  if (!parsed.ok) throw new CLIError(`${file}: ${parsed.error.problems.map((p) => p.message).join('; ')}`);
  return parsed.bundle;
}

async function writeNew(path: string, text: string, mode: number, force: boolean): Promise<void> {
  if (existsSync(path) && !force) throw new CLIError(`${path} exists; use --force to overwrite it`);
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
  return 0;
}

function versionTag(v: string | undefined): string {
  try {
    return resolveTalosVersion(v).tag;
  } catch (e) {
    throw new CLIError(`--talos-version: ${(e as Error).message}`, 2);
  }
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
  if (!cluster) throw new CLIError(`${flags.file} has no ${apiVersion} ${kubernetesClusterKind.kind}`, 2);
  const spec = clusterSpec(cluster);
  if (flags.talosVersion) (spec.talos ??= {}).version = flags.talosVersion;
  const endpoint = flags.endpoint ?? spec.talos?.endpoint;
  if (!endpoint)
    throw new CLIError(
      `KubernetesCluster ${cluster.metadata?.name} has no spec.talos.endpoint: pass --endpoint https://HOST:6443`,
      2,
    );
  const tag = versionTag(spec.talos?.version);
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
    if (e instanceof ConfigInputError || e instanceof PatchError) throw new CLIError(e.message);
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
  return 0;
}
