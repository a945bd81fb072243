// A set of field paths, as structured-merge-diff keeps them for server-side apply, and its
// FieldsV1 wire form. A path is a list of path elements, each written the way FieldsV1 spells it:
//   f:<field>       a field of an object or a key of a map
//   k:<json>        a list-map item, by its key fields ({"name":"pool-a"}, fields sorted by name)
//   v:<json>        a set item, by its value
//   i:<index>       a list item by position (decoded for completeness; never produced here)
// The set is a trie: at each level, `members` are the path elements that are themselves in the
// set and `children` hold the deeper paths. A path element can be both (FieldsV1's `".":{}`).

export type PathElement = string;
export type FieldPath = readonly PathElement[];

/** A FieldsV1 document that does not decode. */
export class FieldsV1Error extends Error {}

const KIND_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** FieldsV1 order: fields, then keys, then values, then indices (as structured-merge-diff sorts). */
export function comparePathElements(a: PathElement, b: PathElement): number {
  const ka = KIND_ORDER[a[0]!] ?? 9;
  const kb = KIND_ORDER[b[0]!] ?? 9;
  if (ka !== kb) return ka - kb;
  if (a[0] === 'i') return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

export function fieldPE(name: string): PathElement {
  return `f:${name}`;
}

/** the key of a list-map item: its key fields, sorted by name, as compact JSON */
export function keyPE(fields: Record<string, unknown>): PathElement {
  const sorted = Object.keys(fields)
    .sort()
    .map((k) => [k, fields[k]] as const);
  return `k:${JSON.stringify(Object.fromEntries(sorted))}`;
}

export function valuePE(value: unknown): PathElement {
  return `v:${JSON.stringify(value)}`;
}

export class FieldSet {
  readonly members = new Set<PathElement>();
  readonly children = new Map<PathElement, FieldSet>();

  static of(paths: FieldPath[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: FieldPath): void {
    if (path.length === 0) return;
    let cur: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) cur = cur.child(path[i]!);
    cur.members.add(path[path.length - 1]!);
  }

  /** the subset under `pe` (created on demand) */
  child(pe: PathElement): FieldSet {
    let c = this.children.get(pe);
    if (!c) {
      c = new FieldSet();
      this.children.set(pe, c);
    }
    return c;
  }

  has(path: FieldPath): boolean {
    let cur: FieldSet | undefined = this;
    for (let i = 0; i < path.length - 1 && cur; i++) cur = cur.children.get(path[i]!);
    return !!cur && path.length > 0 && cur.members.has(path[path.length - 1]!);
  }

  /** the deeper paths under `pe`, or undefined when there are none */
  under(pe: PathElement): FieldSet | undefined {
    const c = this.children.get(pe);
    return c && !c.empty() ? c : undefined;
  }

  empty(): boolean {
    if (this.members.size > 0) return false;
    for (const c of this.children.values()) if (!c.empty()) return false;
    return true;
  }

  union(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) out.members.add(m);
    for (const m of o.members) out.members.add(m);
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      out.setChild(pe, oc ? c.union(oc) : c.copy());
    }
    for (const [pe, c] of o.children) if (!this.children.has(pe)) out.setChild(pe, c.copy());
    return out;
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (o.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      if (oc) out.setChild(pe, c.intersection(oc));
    }
    return out;
  }

  /** members of this set that are not members of `o` (deeper paths of o's members stay) */
  difference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!o.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      out.setChild(pe, oc ? c.difference(oc) : c.copy());
    }
    return out;
  }

  /** like difference, but a member of `o` also removes every path below it */
  recursiveDifference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!o.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      if (o.members.has(pe)) continue;
      const oc = o.children.get(pe);
      out.setChild(pe, oc ? c.recursiveDifference(oc) : c.copy());
    }
    return out;
  }

  copy(): FieldSet {
    return this.union(new FieldSet());
  }

  equals(o: FieldSet): boolean {
    return JSON.stringify(this.toFieldsV1()) === JSON.stringify(o.toFieldsV1());
  }

  /** every member path: the members of a level first, then the levels below, in FieldsV1 order */
  paths(prefix: FieldPath = []): PathElement[][] {
    const out: PathElement[][] = [];
    for (const m of [...this.members].sort(comparePathElements)) out.push([...prefix, m]);
    for (const pe of [...this.children.keys()].sort(comparePathElements)) {
      out.push(...this.children.get(pe)!.paths([...prefix, pe]));
    }
    return out;
  }

  toFieldsV1(): Record<string, unknown> {
    const keys = new Set<PathElement>(this.members);
    for (const [pe, c] of this.children) if (!c.empty()) keys.add(pe);
    const out: Record<string, unknown> = {};
    for (const pe of [...keys].sort(comparePathElements)) {
      const c = this.children.get(pe);
      if (c && !c.empty()) {
        out[pe] = this.members.has(pe) ? { '.': {}, ...c.toFieldsV1() } : c.toFieldsV1();
      } else {
        out[pe] = {};
      }
    }
    return out;
  }

  static fromFieldsV1(doc: unknown): FieldSet {
    if (!isPlainObject(doc)) throw new FieldsV1Error('fieldsV1 must be an object');
    const s = new FieldSet();
    decodeLevel(doc, s, 0);
    return s;
  }

  private setChild(pe: PathElement, c: FieldSet): void {
    if (!c.empty()) this.children.set(pe, c);
  }
}

const MAX_DEPTH = 100;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeLevel(doc: Record<string, unknown>, into: FieldSet, depth: number): void {
  if (depth > MAX_DEPTH) throw new FieldsV1Error('fieldsV1 is nested too deeply');
  for (const [raw, sub] of Object.entries(doc)) {
    if (raw === '.') continue; // handled by the parent
    if (!isPlainObject(sub)) throw new FieldsV1Error(`the value of ${JSON.stringify(raw)} must be an object`);
    const pe = canonicalPE(raw);
    const rest = Object.keys(sub).filter((k) => k !== '.');
    if (rest.length === 0 || Object.hasOwn(sub, '.')) into.members.add(pe);
    if (Object.hasOwn(sub, '.') && (!isPlainObject(sub['.']) || Object.keys(sub['.']).length > 0)) {
      throw new FieldsV1Error(`"." must map to an empty object`);
    }
    if (rest.length > 0) {
      const c = new FieldSet();
      decodeLevel(sub, c, depth + 1);
      const seen = into.children.get(pe);
      if (!c.empty()) into.children.set(pe, seen ? seen.union(c) : c);
    }
  }
}

/** checks one FieldsV1 key and writes it the way this module produces keys */
function canonicalPE(raw: string): PathElement {
  const kind = raw.slice(0, 2);
  const body = raw.slice(2);
  switch (kind) {
    case 'f:':
      return raw;
    case 'k:': {
      const fields = parseJSON(raw, body);
      if (!isPlainObject(fields) || Object.keys(fields).length === 0)
        throw new FieldsV1Error(`${raw}: a key must be a non-empty JSON object`);
      return keyPE(fields);
    }
    case 'v:':
      return valuePE(parseJSON(raw, body));
    case 'i:':
      if (!/^(0|[1-9][0-9]*)$/.test(body)) throw new FieldsV1Error(`${raw}: an index must be a non-negative integer`);
      return raw;
    default:
      throw new FieldsV1Error(`unknown path element ${JSON.stringify(raw)}: expected f:, k:, v: or i:`);
  }
}

function parseJSON(raw: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new FieldsV1Error(`${raw}: not valid JSON`);
  }
}

/** a path as conflict messages print it: .spec.topology.workers[name="pool-a"].replicas, .spec.tags[="blue"] */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const pe of path) {
    const body = pe.slice(2);
    switch (pe[0]) {
      case 'f':
        out += `.${body}`;
        break;
      case 'k': {
        const fields = JSON.parse(body) as Record<string, unknown>;
        out += `[${Object.keys(fields)
          .map((k) => `${k}=${JSON.stringify(fields[k])}`)
          .join(',')}]`;
        break;
      }
      case 'v':
        out += `[=${body}]`;
        break;
      default:
        out += `[${body}]`;
    }
  }
  return out;
}
