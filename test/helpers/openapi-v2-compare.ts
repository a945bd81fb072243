// Comparing the Swagger 2.0 JSON document with what its protobuf form decodes to. proto3 does not
// write a scalar field at its zero value nor an empty repeated field, so `minimum: 0`,
// `required: false` or `parameters: []` read back as absent: such a key is reported apart
// (`zeros`), everything else must match exactly.

export interface Comparison {
  /** differences that are not proto3's zero rule: must be empty */
  diffs: string[];
  /** JSON paths of zero-valued scalars and empty lists the protobuf form leaves out */
  zeros: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** keys under these are names (of properties, paths, response codes...), not keywords */
const NAME_MAPS = [
  'properties',
  'definitions',
  'paths',
  'responses',
  'securityDefinitions',
  'parameters',
  'headers',
  'scopes',
];
const ANY_KEYWORDS = ['default', 'enum', 'example'];

/** values that carry JSON as YAML text in an openapi.v2.Any: every key of theirs must survive */
function insideAny(path: string): boolean {
  const segments = path.split('/');
  return segments.some(
    (seg, i) => i > 0 && (seg.startsWith('x-') || ANY_KEYWORDS.includes(seg)) && !NAME_MAPS.includes(segments[i - 1]!),
  );
}

export function compareDecoded(
  expected: unknown,
  actual: unknown,
  path = '#',
  out: Comparison = { diffs: [], zeros: [] },
): Comparison {
  if (isObject(expected)) {
    if (!isObject(actual)) {
      out.diffs.push(`${path}: expected an object, got ${JSON.stringify(actual)}`);
      return out;
    }
    for (const [k, v] of Object.entries(expected)) {
      const at = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (Object.hasOwn(actual, k)) compareDecoded(v, actual[k], at, out);
      else if ((v === 0 || v === false || v === '' || (Array.isArray(v) && v.length === 0)) && !insideAny(at))
        out.zeros.push(at);
      else out.diffs.push(`${at}: missing (expected ${JSON.stringify(v)})`);
    }
    for (const k of Object.keys(actual)) {
      if (!Object.hasOwn(expected, k)) out.diffs.push(`${path}/${k}: not in the JSON document`);
    }
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      out.diffs.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
      return out;
    }
    expected.forEach((v, i) => compareDecoded(v, actual[i], `${path}/${i}`, out));
    return out;
  }
  if (!Object.is(expected, actual))
    out.diffs.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  return out;
}
