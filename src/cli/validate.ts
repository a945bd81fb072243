// kubectl talos validate: the server's schema and validating admission on Kubernetes manifests,
// and Talos's own checks on raw Talos machine configs (machineconfigfiles.ts), with no cluster.
// Each file is one or the other, told apart by its content.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { allKinds, kubernetesClusterKind } from '../api/index.js';
import { clusterProblems } from '../admission/machineconfig.js';
import { StatusError, type FieldError } from '../machinery/errors.js';
import type { KindDefinition, KubeObject } from '../machinery/kind.js';
import { systemContext } from '../machinery/registry/context.js';
import { decodeBody, defaultAndValidate } from '../machinery/registry/prepare.js';
import { MAX_YAML_DEPTH, yamlTooDeep } from '../machinery/yamldepth.js';
import type { ConfigProblem } from '../machineconfig/validate/index.js';
import { CLIError } from './kubeclient.js';
import { EXIT } from './exitcodes.js';
import { checkMachineConfig, isTalosMachineConfig, type ValidateMode } from './machineconfigfiles.js';

const MANIFEST = /\.(ya?ml|json)$/i;

async function manifestFiles(path: string, recursive: boolean): Promise<string[]> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new CLIError(`the path "${path}" does not exist`, EXIT.usage);
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

export interface ValidateFlags {
  /** the Talos version raw machine configs are checked for; default: detected from each file */
  talosVersion?: string;
  mode: ValidateMode;
  /** warnings of machine configs count as problems, as `talosctl validate --strict` */
  strict: boolean;
}

interface Tally {
  problems: number;
  objects: number;
  configs: number;
}

/** `file:line: path: message`, `file:line: warning: ...` for what does not count as a problem */
function machineConfigLine(shown: string, p: ConfigProblem): string {
  const where = p.line === undefined ? shown : `${shown}:${p.line}`;
  return `${where}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.path}: ${p.message}\n`;
}

function checkConfigFile(
  shown: string,
  text: string,
  docs: unknown[],
  flags: ValidateFlags,
  out: NodeJS.WritableStream,
  tally: Tally,
): void {
  tally.configs++;
  const report = checkMachineConfig(text, docs, flags);
  out.write(`${shown}: ${report.header}\n`);
  // in the file's order, as a compiler lists them (problems without a line, about the whole file, first)
  const byLine = [...report.problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  for (const p of byLine) {
    out.write(machineConfigLine(shown, p));
    if (p.severity === 'error') tally.problems++;
  }
}

async function checkManifestFile(
  shown: string,
  parsed: Document.Parsed[],
  lines: LineCounter,
  out: NodeJS.WritableStream,
  tally: Tally,
): Promise<void> {
  for (const doc of parsed) {
    if (doc.errors.length > 0) {
      for (const err of doc.errors)
        out.write(`${shown}:${lines.linePos(err.pos[0]).line}: ${err.message.split('\n')[0]}\n`);
      tally.problems += doc.errors.length;
      continue;
    }
    const obj = doc.toJS() as KubeObject | null;
    if (obj === null || obj === undefined) continue;
    tally.objects++;
    const id = `${String(obj.kind ?? '?')}/${String(obj.metadata?.name ?? '?')}`;
    for (const p of await problemsOf(obj)) {
      tally.problems++;
      out.write(
        `${shown}:${lineOf(doc, lines, p.field)}: ${id}: ${p.field ? `${p.field}: ` : ''}${p.message.replace(`${p.field}: `, '')}\n`,
      );
    }
  }
}

/** a document's plain value for telling a machine config from a manifest; undefined when it does not convert */
function plainValue(doc: Document.Parsed): unknown {
  if (doc.errors.length > 0) return undefined;
  try {
    return doc.toJS({ maxAliasCount: 1000 });
  } catch {
    return undefined;
  }
}

function what(t: Tally): string {
  const parts = [
    ...(t.configs > 0 ? [`${t.configs} machine config(s)`] : []),
    ...(t.objects > 0 || t.configs === 0 ? [`${t.objects} object(s)`] : []),
  ];
  return parts.join(' and ');
}

/**
 * Prints `file:line: kind/name: path: message` per problem of a manifest and `file:line: path:
 * message` per problem of a machine config (a header line first says which Talos version and mode
 * it was checked for); 1 when there is any problem.
 */
export async function validateFiles(
  path: string,
  recursive: boolean,
  out: NodeJS.WritableStream,
  flags: ValidateFlags = { mode: 'metal', strict: false },
): Promise<number> {
  const tally: Tally = { problems: 0, objects: 0, configs: 0 };
  for (const file of await manifestFiles(path, recursive)) {
    const text = await readFile(file, 'utf8');
    const shown = relative(process.cwd(), file) || file;
    // the yaml library recurses per level: a file nested deeper than any manifest would abort it
    if (yamlTooDeep(text)) {
      out.write(`${shown}:1: nests deeper than ${MAX_YAML_DEPTH} levels; not read\n`);
      tally.problems++;
      continue;
    }
    // told apart leniently (a duplicate key must not hide what the file is), then read strictly
    const docs = parseAllDocuments(text, { uniqueKeys: false }).map(plainValue);
    if (isTalosMachineConfig(docs)) {
      checkConfigFile(shown, text, docs, flags, out, tally);
      continue;
    }
    const lines = new LineCounter();
    await checkManifestFile(
      shown,
      parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true }),
      lines,
      out,
      tally,
    );
  }
  out.write(tally.problems === 0 ? `${what(tally)} valid\n` : `${tally.problems} problem(s) in ${what(tally)}\n`);
  return tally.problems === 0 ? EXIT.ok : EXIT.unhealthy;
}
