// One YAML document's node tree -> plain values, with a line for every key and list item.
// We convert the tree ourselves instead of calling the yaml package's toJS because we need:
// the path of a duplicate key (Go's strict decoder rejects them; the yaml package only knows a
// position), an alias budget counted in nodes (billion-laughs documents), cycles refused,
// merge keys (`<<`, which Go's decoder applies) and no process warnings for odd keys.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import { joinIndex, joinKey, show } from './problem.js';

export type Plain = null | string | number | boolean | Plain[] | PlainMap;
export interface PlainMap {
  [key: string]: Plain;
}

/** Every node converted counts, including each copy an alias makes; real configs have a few thousand. */
export const MAX_NODES = 200_000;

export interface TreeProblem {
  path: string;
  message: string;
  line?: number;
  /** default error; the yaml package's warnings (unresolved tags, ...) are warnings */
  severity?: 'warning';
}

export interface ConvertedTree {
  value: Plain;
  /** relative path -> 1-based line of the key (or list item) */
  lines: Map<string, number>;
  problems: TreeProblem[];
}

class Converter {
  readonly lines = new Map<string, number>();
  readonly problems: TreeProblem[] = [];
  private readonly anchors = new Map<string, Node>();
  private readonly inProgress = new Set<Node>();
  private nodes = 0;
  private exhausted = false;

  constructor(private readonly counter: LineCounter) {}

  lineAt(node: { range?: [number, number, number] | null } | null | undefined): number | undefined {
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : this.counter.linePos(offset).line;
  }

  convert(node: unknown, path: string): Plain {
    if (this.exhausted) return null;
    if (++this.nodes > MAX_NODES) {
      this.exhausted = true;
      this.problems.push({
        path,
        message: `the document expands to more than ${MAX_NODES} nodes (aliases included); refusing to decode it`,
      });
      return null;
    }
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return this.convertAlias(node.source, node, path);
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) this.anchors.set(anchor, node as Node);
    if (isScalar(node)) return scalarValue(node.value);
    if (isMap(node) || isSeq(node)) {
      this.inProgress.add(node);
      try {
        return isMap(node) ? this.convertMap(node.items as Pair[], path) : this.convertSeq(node.items, path);
      } finally {
        this.inProgress.delete(node);
      }
    }
    this.problems.push({ path, message: 'holds a YAML node of an unsupported type' });
    return null;
  }

  private convertAlias(name: string, alias: unknown, path: string): Plain {
    const target = this.anchors.get(name);
    if (!target) {
      this.problems.push({
        path,
        message: `alias *${name} refers to no earlier anchor`,
        ...lineField(this.lineAt(alias as Node)),
      });
      return null;
    }
    if (this.inProgress.has(target)) {
      this.problems.push({
        path,
        message: `alias *${name} refers to a node that contains it (recursive alias)`,
        ...lineField(this.lineAt(alias as Node)),
      });
      return null;
    }
    return this.convert(target, path);
  }

  private convertSeq(items: unknown[], path: string): Plain[] {
    return items.map((item, i) => {
      const itemPath = joinIndex(path, i);
      const line = this.lineAt(item as Node);
      if (line !== undefined) this.lines.set(itemPath, line);
      return this.convert(item, itemPath);
    });
  }

  private convertMap(pairs: Pair[], path: string): PlainMap {
    const out: PlainMap = Object.create(null) as PlainMap;
    const merges: Pair[] = [];
    for (const pair of pairs) {
      const key = this.keyOf(pair, path);
      if (key === undefined) continue;
      if (key === MERGE) {
        merges.push(pair);
        continue;
      }
      const keyPath = joinKey(path, key);
      const line = this.lineAt(pair.key as Node);
      if (Object.prototype.hasOwnProperty.call(out, key)) {
        this.problems.push({ path: keyPath, message: `duplicate key ${show(key)}`, ...lineField(line) });
        continue;
      }
      if (line !== undefined) this.lines.set(keyPath, line);
      out[key] = this.convert(pair.value, keyPath);
    }
    for (const pair of merges) this.applyMerge(out, pair, path);
    return out;
  }

  /** `<<: *base` or `<<: [*a, *b]`: copies keys the mapping does not set itself (explicit keys win). */
  private applyMerge(out: PlainMap, pair: Pair, path: string): void {
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const merged = this.convert(source, path);
      if (merged === null || typeof merged !== 'object' || Array.isArray(merged)) {
        this.problems.push({
          path,
          message: 'a merge key (<<) must refer to a mapping or a list of mappings',
          ...lineField(this.lineAt(pair.key as Node)),
        });
        continue;
      }
      for (const [key, value] of Object.entries(merged)) {
        if (!Object.prototype.hasOwnProperty.call(out, key)) out[key] = value;
      }
    }
  }

  /** The key as a string; Go decodes scalar keys of any type into string map keys, but not collections. */
  private keyOf(pair: Pair, path: string): string | typeof MERGE | undefined {
    const key = pair.key;
    if (isScalar(key)) {
      if (key.value === '<<' && key.type === 'PLAIN') return MERGE;
      const value = scalarValue(key.value);
      return value === null ? '' : String(value);
    }
    if (key === null || key === undefined) return '';
    this.problems.push({
      path,
      message: 'a mapping key must be a scalar, not a collection or alias',
      ...lineField(this.lineAt(key as Node)),
    });
    return undefined;
  }
}

const MERGE = Symbol('merge key');

function scalarValue(value: unknown): Plain {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  // !!binary decodes to bytes; Go puts the decoded bytes into a string field
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}

function lineField(line: number | undefined): { line?: number } {
  return line === undefined ? {} : { line };
}

export function convertDocument(doc: Document.Parsed, counter: LineCounter): ConvertedTree {
  const converter = new Converter(counter);
  const value = converter.convert(doc.contents, '');
  return { value, lines: converter.lines, problems: converter.problems };
}
