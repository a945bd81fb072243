// Where a field of a Kubernetes object stands in the YAML it was read from: a field path as the
// API prints it (`spec.topology.workers[1].name`, `metadata.labels["a.b/c"]`) mapped onto the
// parsed document's nodes, so `kubectl talos validate` can point an editor at file:line:column.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export interface Position {
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
}

/**
 * `spec.workers[1].name` -> ['spec', 'workers', 1, 'name']; `labels["a.b"]` keeps the quoted key
 * whole. Anything after a space (`spec.topology.controlplane (patched config) machine.install`)
 * is not a path into the object and is left out.
 */
export function fieldSegments(field: string): (string | number)[] {
  const path = field.split(' ')[0]!;
  const out: (string | number)[] = [];
  const re = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\.?([^.[\]]+)/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(m[2].replace(/\\(.)/g, '$1'));
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}

/**
 * The position of the field's key (a list item: its first character), or of the deepest part of
 * the path the document has (a missing required field: the map it belongs in), or of the
 * document itself.
 */
export function positionOf(doc: Document, lines: LineCounter, field: string | undefined): Position {
  const at = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  let node: unknown = doc.contents;
  let best = at(doc.contents?.range?.[0] ?? doc.range?.[0] ?? 0);
  for (const seg of field ? fieldSegments(field) : []) {
    if (isMap(node)) {
      // a key written twice: the last one is the value read
      const pair = node.items.findLast((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === String(seg));
      if (!pair) break;
      const key = pair.key as Node | null;
      if (key?.range) best = at(key.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item?.range) break;
      best = at(item.range[0]);
      node = item;
    } else break;
  }
  return best;
}
