// YAML request bodies as JSON values. A body is YAML only as a way to write JSON (kube-apiserver
// converts it to JSON before decoding), so whatever JSON cannot hold is a client error, not a value:
// tags such as !!binary, !!set, !!omap or !!timestamp (the yaml library would hand back a Buffer, a
// Set, a Map or a Date), .inf/.nan, and mapping keys that are collections.
import { parse } from 'yaml';
import { badRequest } from './errors.js';
import { MAX_YAML_DEPTH, yamlTooDeep } from './yamldepth.js';

/** Parses one YAML document into a plain JSON value; anything JSON cannot represent is a 400. */
export function parseYamlAsJson(text: string): unknown {
  // measured first: the yaml library recurses per level, and too deep a document aborts the process
  if (yamlTooDeep(text))
    throw badRequest(`error decoding YAML body: nesting exceeds the maximum depth of ${MAX_YAML_DEPTH}`);
  let parsed: unknown;
  try {
    parsed = parse(text, {
      uniqueKeys: true,
      maxAliasCount: 100,
      prettyErrors: false,
      mapAsMap: true,
      logLevel: 'error',
    });
  } catch (e) {
    throw badRequest(`error decoding YAML body: ${firstLine(e)}`);
  }
  try {
    return toJson(parsed, '');
  } catch (e) {
    if (e instanceof RangeError) throw badRequest('error decoding YAML body: the document is nested too deeply');
    throw e;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

function notJson(path: string, what: string) {
  return badRequest(
    `error converting YAML to JSON: ${what} at ${path || 'the top level'} cannot be represented in JSON`,
  );
}

function keyString(k: unknown, path: string): string {
  if (typeof k === 'string') return k;
  if (k === null) return 'null';
  if (typeof k === 'number' || typeof k === 'boolean') return String(k);
  throw notJson(path, 'a mapping key that is not a scalar');
}

function toJson(v: unknown, path: string): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw notJson(path, `the number ${v}`);
    return v;
  }
  if (Array.isArray(v)) return v.map((e, i) => toJson(e, `${path}[${i}]`));
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of v) {
      const key = keyString(k, path);
      // defineProperty: a "__proto__" key stays an ordinary member, as JSON.parse makes it
      Object.defineProperty(out, key, {
        value: toJson(e, `${path}.${key}`),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (v === undefined) throw notJson(path, 'an empty value');
  if (v instanceof Uint8Array) throw notJson(path, 'a !!binary value');
  if (v instanceof Set) throw notJson(path, 'a !!set value');
  if (v instanceof Date) throw notJson(path, 'a !!timestamp value');
  throw notJson(path, `a value of type ${typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v}`);
}
