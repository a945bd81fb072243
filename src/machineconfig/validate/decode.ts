// Strict decoding of a machine-config YAML stream, as Talos decodes it: every document becomes a
// plain value with a line table, and is classified as the legacy v1alpha1 Config (`version:
// v1alpha1`, no apiVersion/kind) or a typed document (`apiVersion` + `kind` [+ `name`]). Problems
// that make a document undecodable are reported here; what a document may contain is the field
// tables' business (shapecheck.ts).
import { LineCounter, parseAllDocuments } from 'yaml';
import { MAX_YAML_DEPTH, yamlTooDeep } from '../../machinery/yamldepth.js';
import type { ConfigProblem } from './problem.js';
import { convertDocument, type Plain, type PlainMap, type TreeProblem } from './yamltree.js';

/** Talos applies configs over gRPC (4 MiB messages); anything larger is not a machine config. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export type DocumentClass =
  | { type: 'v1alpha1' }
  | { type: 'typed'; apiVersion: string; kind: string; name?: string }
  | { type: 'unknown'; reason: string };

export interface DecodedDocument {
  /** position in the stream, counting only non-empty documents */
  index: number;
  value: PlainMap;
  class: DocumentClass;
  lines: Map<string, number>;
  startLine?: number;
  /** duplicate keys, bad aliases, ...: reported through the document's scope once it is labelled */
  problems: TreeProblem[];
}

export interface DecodedStream {
  documents: DecodedDocument[];
  /** problems that stop decoding (size, nesting, syntax, an empty stream); the rest are per document */
  problems: ConfigProblem[];
}

export function isPlainMap(v: Plain | undefined): v is PlainMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function classify(value: PlainMap): DocumentClass {
  const { apiVersion, kind, version } = value;
  if (apiVersion === undefined && kind === undefined) {
    // `version` is how the legacy document identifies itself; machine/cluster alone are accepted
    // as a v1alpha1 document so that its missing `version` is reported by the structure rules
    if (version !== undefined || 'machine' in value || 'cluster' in value) return { type: 'v1alpha1' };
    return {
      type: 'unknown',
      reason:
        'document has neither `version: v1alpha1` (the v1alpha1 config) nor `apiVersion` and `kind` (a typed document)',
    };
  }
  if (version !== undefined) {
    return {
      type: 'unknown',
      reason: 'document mixes the v1alpha1 `version` key with `apiVersion`/`kind`: the kinds it declares conflict',
    };
  }
  if (typeof apiVersion !== 'string')
    return { type: 'unknown', reason: 'typed document without a string `apiVersion`' };
  if (typeof kind !== 'string') return { type: 'unknown', reason: 'typed document without a string `kind`' };
  const name = value.name;
  return { type: 'typed', apiVersion, kind, ...(typeof name === 'string' ? { name } : {}) };
}

export function decodeStream(text: string): DecodedStream {
  const stop = (message: string): DecodedStream => ({
    documents: [],
    problems: [{ path: '(config)', message, severity: 'error' }],
  });

  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES)
    return stop(`config is larger than ${MAX_CONFIG_BYTES} bytes`);
  // the yaml library recurses per level: too deep a stream would abort the process (real configs nest < 20 deep)
  if (yamlTooDeep(text)) return stop(`config nests deeper than ${MAX_YAML_DEPTH} levels`);

  const counter = new LineCounter();
  // prettyErrors off: pretty messages quote the offending source line, which may hold a secret
  const parsed = parseAllDocuments(text, {
    lineCounter: counter,
    uniqueKeys: false,
    prettyErrors: false,
    merge: false,
  });
  const docs = Array.isArray(parsed) ? parsed : [];

  // a stream that does not parse is not decoded at all: rules run on half-read documents would
  // report things that are not wrong
  const syntaxErrors: ConfigProblem[] = docs.flatMap((doc) =>
    doc.errors.map((err) => ({
      path: '(config)',
      message: `YAML syntax: ${firstLine(err.message)}`,
      severity: 'error' as const,
      line: counter.linePos(err.pos[0]).line,
    })),
  );
  if (syntaxErrors.length > 0) return { documents: [], problems: syntaxErrors };

  const documents: DecodedDocument[] = [];
  for (const doc of docs) {
    // the document's first line of content: its range starts at the `---` before it
    const startLine = counter.linePos((doc.contents?.range ?? doc.range)[0]).line;
    const tree = convertDocument(doc, counter);
    for (const w of doc.warnings) {
      tree.problems.push({
        path: '',
        message: `YAML: ${firstLine(w.message)}`,
        severity: 'warning',
        line: counter.linePos(w.pos[0]).line,
      });
    }
    // an empty document (a trailing `---`, a comment-only part) holds nothing to decode
    if (tree.value === null && tree.problems.length === 0) continue;
    const base = { index: documents.length, lines: tree.lines, startLine, problems: tree.problems };
    if (!isPlainMap(tree.value)) {
      documents.push({
        ...base,
        value: Object.create(null) as PlainMap,
        class: { type: 'unknown', reason: 'document must be a mapping' },
      });
      continue;
    }
    documents.push({ ...base, value: tree.value, class: classify(tree.value) });
  }
  if (documents.length === 0) return stop('config is empty: no YAML document found');
  return { documents, problems: [] };
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}
