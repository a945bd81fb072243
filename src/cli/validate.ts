// kubectl talos validate: the server's checks on the objects of our kinds and Talos's own checks on
// raw Talos machine configs (machineconfigfiles.ts), with no cluster, over a file or a GitOps
// repository. Each file is one or the other, told apart by its content; objects of other kinds
// (Deployments, Kustomizations, CRDs) and documents that are no objects (Helm values) are counted
// and skipped, or with --strict refused.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { MAX_YAML_DEPTH, yamlTooDeep } from '../machinery/yamldepth.js';
import { CLIError } from './kubeclient.js';
import { EXIT } from './exitcodes.js';
import { checkMachineConfig, isTalosMachineConfig, type ValidateMode } from './machineconfigfiles.js';
import { judgeDocument } from './manifestcheck.js';
import { positionOf } from './yamlposition.js';

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

export type OutputFormat = 'text' | 'json';

export interface ValidateFlags {
  /** the Talos version raw machine configs are checked for; default: detected from each file */
  talosVersion?: string;
  mode: ValidateMode;
  /**
   * warnings of machine configs, objects of kinds this tool does not check and documents that
   * are not Kubernetes objects all count as problems
   */
  strict: boolean;
  output?: OutputFormat;
}

/** One problem, as `-o json` prints it (for CI annotations). */
export interface Finding {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
  /** the object's kind, `MachineConfig` for a Talos machine config, empty for a file that does not parse */
  kind: string;
  name: string;
  /** the field, as the API (or talosctl) names it; empty for the object or document as a whole */
  path: string;
  message: string;
  /** errors fail the run; warnings (a machine config's, without --strict) do not */
  severity: 'error' | 'warning';
}

interface Tally {
  objects: number;
  configs: number;
  otherKinds: number;
  notObjects: number;
  templates: number;
  findings: Finding[];
}

/** a Helm or other template: `{{ ... }}` that does not parse as YAML is not for us to read */
const TEMPLATE = /\{\{.*\}\}/;

/** a machine config problem's column: where its line's text starts (the key, or a list item's dash) */
function columnOfLine(text: string, line: number | undefined): number {
  if (line === undefined) return 1;
  const l = text.split('\n')[line - 1] ?? '';
  return l.length - l.trimStart().length + 1;
}

function checkConfigFile(
  shown: string,
  text: string,
  docs: unknown[],
  flags: ValidateFlags,
  print: (s: string) => void,
  tally: Tally,
): void {
  tally.configs++;
  const report = checkMachineConfig(text, docs, flags);
  print(`${shown}: ${report.header}\n`);
  // in the file's order, as a compiler lists them (problems without a line, about the whole file, first)
  for (const p of [...report.problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))) {
    tally.findings.push({
      file: shown,
      line: p.line ?? 1,
      column: columnOfLine(text, p.line),
      kind: 'MachineConfig',
      name: '',
      path: p.path,
      message: p.message,
      severity: p.severity === 'warning' ? 'warning' : 'error',
    });
    // `file:line: path: message`, as talosctl's users know it
    const where = p.line === undefined ? shown : `${shown}:${p.line}`;
    print(`${where}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.path}: ${p.message}\n`);
  }
}

/** a document's plain value; a problem when it cannot be had (too many aliases) */
function valueOf(doc: Document.Parsed): { value: unknown } | { problem: string } {
  try {
    return { value: doc.toJS({ maxAliasCount: 1000 }) };
  } catch (e) {
    return { problem: (e as Error).message.split('\n')[0]! };
  }
}

async function checkManifestFile(shown: string, text: string, flags: ValidateFlags, tally: Tally): Promise<Finding[]> {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true });
  const found: Finding[] = [];
  const finding = (at: { line: number; column: number }, f: Partial<Finding> & { message: string }): void => {
    const { kind = '', name = '', path = '', message, severity = 'error' } = f;
    found.push({ file: shown, line: at.line, column: at.column, kind, name, path, message, severity });
  };
  const broken = parsed.flatMap((d) => d.errors.filter((e) => e.code !== 'DUPLICATE_KEY'));
  if (broken.length > 0 && TEMPLATE.test(text)) {
    tally.templates++;
    if (flags.strict) finding({ line: 1, column: 1 }, { message: 'a template ({{ }}), not YAML this tool can read' });
    return found;
  }
  for (const doc of parsed) {
    const at = (offset: number) => {
      const p = lines.linePos(offset);
      return { line: p.line, column: p.col };
    };
    const fatal = doc.errors.filter((e) => e.code !== 'DUPLICATE_KEY');
    for (const e of fatal) finding(at(e.pos[0]), { message: e.message.split('\n')[0]! });
    if (fatal.length > 0) continue;
    const got = valueOf(doc);
    if ('problem' in got) {
      finding(at(doc.range[0]), { message: got.problem });
      continue;
    }
    if (got.value === null || got.value === undefined) continue; // an empty document
    const verdict = await judgeDocument(got.value);
    const docStart = positionOf(doc, lines, undefined);
    if (verdict.what === 'not-an-object') {
      tally.notObjects++;
      if (flags.strict) finding(docStart, { message: 'not a Kubernetes object (no apiVersion and kind)' });
      continue;
    }
    const who = { kind: verdict.kind, name: verdict.name };
    if (verdict.what === 'other') {
      tally.otherKinds++;
      if (flags.strict)
        finding(docStart, { ...who, message: `${verdict.apiVersion} ${verdict.kind} is not a kind this tool checks` });
      continue;
    }
    tally.objects++;
    // a key written twice: the server refuses the object for it (strict field validation)
    for (const e of doc.errors) {
      const key = /^\s*(\S+?):/.exec(text.slice(e.pos[0], e.pos[0] + 300))?.[1] ?? '';
      finding(at(e.pos[0]), { ...who, message: `duplicate field${key ? ` "${key}"` : ''}` });
    }
    for (const p of verdict.problems)
      finding(positionOf(doc, lines, p.field), { ...who, path: p.field ?? '', message: p.message });
  }
  return found.sort((a, b) => a.line - b.line || a.column - b.column);
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function summary(t: Tally, problems: number, strict: boolean): string {
  const what = [
    ...(t.configs > 0 ? [`${t.configs} machine config(s)`] : []),
    ...(t.objects > 0 || t.configs === 0 ? [`${t.objects} object(s)`] : []),
  ].join(' and ');
  const skipped = [
    ...(t.otherKinds > 0 ? [plural(t.otherKinds, 'object of another kind', 'objects of other kinds')] : []),
    ...(t.notObjects > 0
      ? [plural(t.notObjects, 'document that is not a Kubernetes object', 'documents that are not Kubernetes objects')]
      : []),
    ...(t.templates > 0 ? [plural(t.templates, 'template file', 'template files')] : []),
  ];
  const verdict = problems === 0 ? `${what} valid` : `${problems} problem(s) in ${what}`;
  if (skipped.length === 0) return verdict;
  // with --strict they are among the problems, and still counted here
  return `${verdict}; ${strict ? 'not checked' : 'skipped'} ${skipped.join(', ')}`;
}

function textLine(f: Finding): string {
  const who = f.kind ? `${f.kind}/${f.name || '?'}: ` : '';
  return `${f.file}:${f.line}:${f.column}: ${who}${f.path ? `${f.path}: ` : ''}${f.message}\n`;
}

/**
 * Text: `file:line:column: Kind/name: path: message` per problem of an object, `file:line: path:
 * message` per problem of a machine config (a header line first says which Talos version and
 * mode it was checked for), then one summary line. JSON (`-o json`): an array of Finding on
 * standard output, the summary on standard error. Exit code 0 when there is no problem, 1 when
 * there is (a usage error, such as a path that does not exist, is 2, thrown as a CLIError).
 */
export async function validateFiles(
  path: string,
  recursive: boolean,
  out: NodeJS.WritableStream,
  flags: ValidateFlags = { mode: 'metal', strict: false },
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const json = flags.output === 'json';
  const print = (s: string) => {
    if (!json) out.write(s);
  };
  const tally: Tally = { objects: 0, configs: 0, otherKinds: 0, notObjects: 0, templates: 0, findings: [] };
  const wholeFileProblem = (file: string, message: string) => {
    const f: Finding = { file, line: 1, column: 1, kind: '', name: '', path: '', message, severity: 'error' };
    tally.findings.push(f);
    print(textLine(f));
  };
  for (const file of await manifestFiles(path, recursive)) {
    const shown = relative(process.cwd(), file) || file;
    const text = await readFile(file, 'utf8').catch((e: Error) => e);
    if (text instanceof Error) {
      wholeFileProblem(shown, `cannot be read: ${text.message}`);
      continue;
    }
    // the yaml library recurses per level: a file nested deeper than any manifest would abort it
    if (yamlTooDeep(text)) {
      wholeFileProblem(shown, `nests deeper than ${MAX_YAML_DEPTH} levels; not read`);
      continue;
    }
    // told apart leniently (a duplicate key must not hide what the file is), then read strictly
    const docs = parseAllDocuments(text, { uniqueKeys: false }).map((d) => {
      const v = d.errors.length > 0 ? undefined : valueOf(d);
      return v && 'value' in v ? v.value : undefined;
    });
    if (isTalosMachineConfig(docs)) {
      checkConfigFile(shown, text, docs, flags, print, tally);
      continue;
    }
    const found = await checkManifestFile(shown, text, flags, tally);
    tally.findings.push(...found);
    for (const f of found) print(textLine(f));
  }
  const problems = tally.findings.filter((f) => f.severity === 'error').length;
  if (json) {
    out.write(`${JSON.stringify(tally.findings, null, 2)}\n`);
    err.write(`${summary(tally, problems, flags.strict)}\n`);
  } else out.write(`${summary(tally, problems, flags.strict)}\n`);
  return problems === 0 ? EXIT.ok : EXIT.unhealthy;
}
