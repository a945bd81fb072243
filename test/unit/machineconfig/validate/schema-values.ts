// Documents built from an upstream Talos schema definition, for the agreement test: every property
// of a kind at once with a value the schema accepts, and a record of where the objects, leaves and
// required keys are, so that the test can mutate all of them and know where a complaint belongs.
// Paths are spelled as the validator spells them (problem.ts).
import { joinIndex, joinKey } from '../../../../src/machineconfig/validate/problem.js';
import type { SchemaNode, TalosSchema } from '../../../helpers/talos-schemas.js';

/** No Talos definition nests this deep; the bound only guards the walk. */
const MAX_DEPTH = 16;

/** Strings that satisfy the patterns the schemas use (durations, CIDRs, addresses, URL schemes, MACs). */
const PATTERN_CANDIDATES = [
  'text',
  '10s',
  '10.0.0.0/8',
  '10.0.0.1',
  '00:11:22:33:44:55',
  '10.0.0.1:51820',
  'https://example.com',
  'tcp://10.0.0.1:514',
];

/**
 * Where upstream's schema describes a field differently from what Talos decodes (and the
 * validator follows Talos): the schema's form is refused by the validator, Talos's form (given
 * here) by the schema. Keys are paths with `[]` for list items; `when` says whether the schema at
 * hand describes the field in its own form (later releases fixed some of them).
 */
export const SCHEMA_QUIRKS: Record<string, { why: string; talosForm: unknown; when: (n: SchemaNode) => boolean }> = {
  'machine.acceptedCAs': {
    why: 'a list of {crt} certificates; the schema shows one object',
    talosForm: [{ crt: 'text' }],
    when: (n) => n.type === 'object',
  },
  'cluster.acceptedCAs': {
    why: 'a list of {crt} certificates; the schema shows one object',
    talosForm: [{ crt: 'text' }],
    when: (n) => n.type === 'object',
  },
  'machine.logging.destinations[].endpoint': {
    why: 'a URL string (udp://host:port); the schema shows an empty object',
    talosForm: 'udp://10.0.0.1:514',
    when: (n) => n.type === 'object',
  },
  'machine.systemDiskEncryption.ephemeral.options': listOfEnum(),
  'machine.systemDiskEncryption.state.options': listOfEnum(),
  'encryption.options': listOfEnum(),
  'dependsOn.networks': listOfEnum(),
  'mounts[].userVolume.options': listOfEnum(),
};

function listOfEnum(): (typeof SCHEMA_QUIRKS)[string] {
  return {
    why: 'a list of these values; the schema shows one value',
    talosForm: undefined,
    when: (n) => n.type !== 'array' && Array.isArray(n.enum),
  };
}

/** `a.b[3].c` -> `a.b[].c`: the generic spelling SCHEMA_QUIRKS uses. */
export function genericPath(path: string): string {
  return path.replace(/\[\d+\]/g, '[]');
}

export type LeafKind = 'string' | 'enum' | 'bool' | 'int' | 'intOrString';

export interface BuiltDocument {
  /** the document with Talos's form at the quirks */
  value: Record<string, unknown>;
  /** the same in the schema's own form (what the schema accepts) */
  schemaValue: Record<string, unknown>;
  /** closed objects (additionalProperties false), by path */
  objects: string[];
  leaves: { path: string; kind: LeafKind; node: SchemaNode }[];
  containers: { path: string; depth: number }[];
  /** required keys below the document root, by the key's path */
  required: { path: string; depth: number }[];
  /** every property path of the document */
  keys: Set<string>;
  /** quirk paths this schema describes in its own form */
  quirks: string[];
}

interface Build {
  schema: TalosSchema;
  out: BuiltDocument;
  /** the value an enum leaf gets: its values[index], or its first when it has fewer */
  enumIndex: number;
}

function quirkAt(path: string, node: SchemaNode): (typeof SCHEMA_QUIRKS)[string] | undefined {
  const generic = genericPath(path);
  const key = Object.keys(SCHEMA_QUIRKS).find((k) => generic === k || generic.endsWith(`.${k}`));
  const quirk = key === undefined ? undefined : SCHEMA_QUIRKS[key];
  return quirk?.when(node) ? quirk : undefined;
}

function stringFor(node: SchemaNode): string {
  if (!node.pattern) return 'text';
  const pattern = new RegExp(node.pattern);
  const value = PATTERN_CANDIDATES.find((c) => pattern.test(c));
  if (value === undefined) throw new Error(`no test string for pattern ${node.pattern}`);
  return value;
}

/** [Talos form, schema form] of the value at `path`. */
function build(b: Build, raw: SchemaNode, path: string, depth: number): [unknown, unknown] {
  if (depth > MAX_DEPTH) throw new Error(`schema nests deeper than ${MAX_DEPTH} at ${path}`);
  const node = b.schema.resolve(raw);
  const quirk = path === '' ? undefined : quirkAt(path, node);
  if (quirk) {
    b.out.quirks.push(path);
    // the schema's form is built aside: nothing under a quirk is recorded for mutation
    const aside: Build = { ...b, out: emptyDocument() };
    const [, schemaForm] = build(aside, { ...node, $ref: undefined }, `${path}.aside`, depth);
    return [quirk.talosForm ?? [node.enum?.[0]], schemaForm];
  }
  if (node.properties) {
    if (node.additionalProperties === false) b.out.objects.push(path);
    if (path !== '') b.out.containers.push({ path, depth });
    const talos: Record<string, unknown> = {};
    const plain: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node.properties)) {
      const childPath = joinKey(path, key);
      if (key === 'apiVersion' || key === 'kind' || (path === '' && key === 'version')) {
        talos[key] = plain[key] = b.schema.resolve(child).enum?.[0];
        continue;
      }
      b.out.keys.add(childPath);
      if (node.required?.includes(key)) b.out.required.push({ path: childPath, depth: depth + 1 });
      [talos[key], plain[key]] = build(b, child, childPath, depth + 1);
    }
    return [talos, plain];
  }
  if (node.patternProperties) {
    b.out.containers.push({ path, depth });
    const [valueNode] = Object.values(node.patternProperties);
    const [talos, plain] = build(b, valueNode ?? {}, joinKey(path, 'example.com/key'), depth + 1);
    return [{ 'example.com/key': talos }, { 'example.com/key': plain }];
  }
  if (node.type === 'array' && node.items) {
    b.out.containers.push({ path, depth });
    const [talos, plain] = build(b, node.items, joinIndex(path, 0), depth + 1);
    return [[talos], [plain]];
  }
  const value = buildPlain(b, node, path, depth);
  return [value, value];
}

/** A value for a node without properties, items or pattern properties (leaves and free-form mappings). */
function buildPlain(b: Build, node: SchemaNode, path: string, depth: number): unknown {
  if (node.type === 'object') {
    b.out.containers.push({ path, depth });
    // a free-form mapping, or extraArgs (additionalProperties: string or list of strings)
    return { flag: 'value' };
  }
  if (node.type === 'array') return [];
  if (node.oneOf) {
    b.out.leaves.push({ path, kind: 'intOrString', node });
    return 1;
  }
  if (Array.isArray(node.enum)) {
    b.out.leaves.push({ path, kind: 'enum', node });
    return node.enum[b.enumIndex] ?? node.enum[0];
  }
  switch (node.type) {
    case 'boolean':
      b.out.leaves.push({ path, kind: 'bool', node });
      return true;
    case 'integer':
      b.out.leaves.push({ path, kind: 'int', node });
      return node.minimum ?? 1;
    case 'string':
      b.out.leaves.push({ path, kind: 'string', node });
      return stringFor(node);
    default:
      throw new Error(`no test value for the schema node at ${path}: ${JSON.stringify(node).slice(0, 120)}`);
  }
}

function emptyDocument(): BuiltDocument {
  return {
    value: {},
    schemaValue: {},
    objects: [],
    leaves: [],
    containers: [],
    required: [],
    keys: new Set(),
    quirks: [],
  };
}

/** Every property of `kind` (a document kind, or `v1alpha1`) at once, as Talos's `schema` describes it. */
export function buildDocument(schema: TalosSchema, kind: string, enumIndex = 0): BuiltDocument {
  const definition = schema.definitionOfKind.get(kind);
  if (!definition) throw new Error(`Talos ${schema.version} has no kind ${kind}`);
  const out = emptyDocument();
  const [value, schemaValue] = build({ schema, out, enumIndex }, schema.definition(definition), '', 0);
  out.value = value as Record<string, unknown>;
  out.schemaValue = schemaValue as Record<string, unknown>;
  return out;
}

/** Sets `value` at `path` (problem.ts spelling) in `doc`, which must hold every parent. */
export function setAt(doc: unknown, path: string, value: unknown): void {
  const steps = pathSteps(path);
  let node = doc as Record<string | number, unknown>;
  for (const step of steps.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  const last = steps[steps.length - 1];
  if (last === undefined) throw new Error('setAt needs a non-empty path');
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** The keys and indices of a path: `a["x.y"][0].b` -> ['a', 'x.y', 0, 'b']. */
export function pathSteps(path: string): (string | number)[] {
  const steps: (string | number)[] = [];
  const step = /\.?([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  while (step.lastIndex < path.length) {
    const m = step.exec(path);
    if (!m) throw new Error(`cannot read path ${path}`);
    steps.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3] ?? '""') as string)));
  }
  return steps;
}
