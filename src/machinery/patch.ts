// JSON patch (RFC 6902) and JSON merge patch (RFC 7386) over plain JSON values.
//
// fast-json-patch applies the operations, but every operation is first checked here against the
// current document, because on its own the library (3.1.1) gets these wrong:
//  - it finds members through the prototype chain (`remove /toString` "succeeds", `test` and
//    `copy` can read inherited functions);
//  - it accepts array indices with leading zeros (`/a/01`) and `-` for remove/replace/test;
//  - it does not reject a move into a child of its own source (it then throws a TypeError);
//  - its deep-equal calls `b.hasOwnProperty`, which throws when the value has an own member
//    named "hasOwnProperty" (so `test` is done here);
//  - it only bans `__proto__` and `constructor/prototype`; we refuse every segment named
//    `__proto__`, `constructor` or `prototype`, in `path` and in `from`.
// Kind of failure -> status: a malformed patch is 400, more than 10000 operations is 413 (both as
// kube-apiserver), `copy` operations that together copy more than MAX_JSON_PATCH_COPY_BYTES is 413
// (kube-apiserver bounds the same sum: each copy can double a subtree, so a 2 KB patch of a few
// dozen copies would otherwise build gigabytes before anything looks at the result), an operation that does not apply to this document is 422 (kube says only "the
// server rejected our request due to an error in our request"; we name the operation and path).
import jsonpatch, { type Operation } from 'fast-json-patch';
import { badRequest, invalidWithMessage, StatusError, tooLarge } from './errors.js';

/** kube-apiserver's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;
/** kube-apiserver's JSONPatchMaxCopyBytes: the most a patch's `copy` operations may add, together. */
export const MAX_JSON_PATCH_COPY_BYTES = 3 * 1024 * 1024;

type OpName = 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
const OP_NAMES: readonly string[] = ['add', 'remove', 'replace', 'move', 'copy', 'test'];
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

interface DecodedOp {
  index: number;
  op: OpName;
  path: string;
  tokens: string[];
  from?: string;
  fromTokens?: string[];
  value?: unknown;
}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unprocessable(message: string): StatusError {
  return invalidWithMessage(message);
}

/** RFC 6901 pointer -> reference tokens; undefined when the syntax is wrong. */
function parsePointer(p: string): string[] | undefined {
  if (p === '') return [];
  if (p[0] !== '/') return undefined;
  const raw = p.slice(1).split('/');
  const tokens: string[] = [];
  for (const t of raw) {
    if (/~(?![01])/.test(t)) return undefined;
    tokens.push(t.replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  return tokens;
}

function decodePointer(p: unknown, i: number, member: 'path' | 'from'): string[] {
  if (typeof p !== 'string') throw badRequest(`json patch operation [${i}]: "${member}" must be a string`);
  const tokens = parsePointer(p);
  if (!tokens)
    throw badRequest(`json patch operation [${i}]: ${member} ${JSON.stringify(p)} is not a valid JSON pointer`);
  for (const t of tokens) {
    if (FORBIDDEN_SEGMENTS.has(t))
      throw badRequest(`json patch operation [${i}]: ${member} ${JSON.stringify(p)} uses the forbidden segment "${t}"`);
  }
  return tokens;
}

function decodeOps(ops: unknown): DecodedOp[] {
  if (!Array.isArray(ops)) throw badRequest('json patch must be a JSON array of operation objects');
  ops.forEach((o, i) => {
    if (!isObject(o)) throw badRequest(`json patch operation [${i}] must be a JSON object`);
  });
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw tooLarge(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`);
  }
  return (ops as JsonObject[]).map((o, i) => {
    const op = o.op;
    if (typeof op !== 'string' || !OP_NAMES.includes(op)) {
      throw badRequest(
        op === undefined
          ? `json patch operation [${i}]: missing "op"`
          : `json patch operation [${i}]: unsupported op ${JSON.stringify(op)}`,
      );
    }
    if (!Object.hasOwn(o, 'path')) throw badRequest(`json patch operation [${i}] (${op}): missing "path"`);
    const d: DecodedOp = {
      index: i,
      op: op as OpName,
      path: o.path as string,
      tokens: decodePointer(o.path, i, 'path'),
    };
    if (op === 'move' || op === 'copy') {
      if (!Object.hasOwn(o, 'from')) throw badRequest(`json patch operation [${i}] (${op}): missing "from"`);
      d.from = o.from as string;
      d.fromTokens = decodePointer(o.from, i, 'from');
      if (op === 'move' && d.fromTokens.length < d.tokens.length && d.fromTokens.every((t, k) => t === d.tokens[k])) {
        throw badRequest(
          `json patch operation [${i}] (move): "from" ${JSON.stringify(d.from)} is a proper prefix of "path" ${JSON.stringify(d.path)}`,
        );
      }
    }
    if (op === 'add' || op === 'replace' || op === 'test') {
      if (!Object.hasOwn(o, 'value') || o.value === undefined)
        throw badRequest(`json patch operation [${i}] (${op}): missing "value"`);
      // Own copy, so the result never aliases the request body.
      d.value = structuredClone(o.value);
    }
    return d;
  });
}

function pointerOf(tokens: string[]): string {
  return tokens.map((t) => '/' + t.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

function notApplicable(d: DecodedOp, why: string): StatusError {
  return unprocessable(`jsonpatch ${d.op} operation [${d.index}] does not apply: ${why}`);
}

/** The value at `tokens`, looking only at own members and valid in-range array indices. */
function resolve(doc: unknown, tokens: string[], d: DecodedOp, pointer: string): unknown {
  let cur = doc;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (Array.isArray(cur)) {
      if (!ARRAY_INDEX.test(t))
        throw notApplicable(
          d,
          `invalid array index ${JSON.stringify(t)} at ${JSON.stringify(pointerOf(tokens.slice(0, k + 1)))}`,
        );
      if (Number(t) >= cur.length)
        throw notApplicable(d, `doc is missing path: ${JSON.stringify(pointer)}: index ${t} out of bounds`);
      cur = cur[Number(t)];
    } else if (isObject(cur) && Object.hasOwn(cur, t)) {
      cur = cur[t];
    } else {
      throw notApplicable(d, `doc is missing path: ${JSON.stringify(pointer)}`);
    }
  }
  return cur;
}

/** Checks that `add` at d.path can happen: the parent exists and the last token fits it. */
function checkAddTarget(doc: unknown, d: DecodedOp): void {
  if (d.tokens.length === 0) return;
  const parent = resolve(doc, d.tokens.slice(0, -1), d, d.path);
  const last = d.tokens[d.tokens.length - 1];
  if (Array.isArray(parent)) {
    if (last === '-') return;
    if (!ARRAY_INDEX.test(last))
      throw notApplicable(d, `invalid array index ${JSON.stringify(last)} at ${JSON.stringify(d.path)}`);
    if (Number(last) > parent.length)
      throw notApplicable(
        d,
        `index ${last} is out of bounds for an array of length ${parent.length} at ${JSON.stringify(d.path)}`,
      );
  } else if (!isObject(parent)) {
    throw notApplicable(d, `doc is missing path: ${JSON.stringify(d.path)}: parent is not an object or array`);
  }
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Runs one already-checked operation through fast-json-patch (validation and proto ban on). */
function libApply(
  doc: unknown,
  op: { op: 'add' | 'remove' | 'replace'; path: string; value?: unknown },
  d: DecodedOp,
): unknown {
  try {
    return jsonpatch.applyOperation(doc, op as Operation, true, true, true, d.index).newDocument;
  } catch (e) {
    const name = (e as { name?: unknown }).name;
    if (e instanceof TypeError) throw badRequest(`json patch operation [${d.index}]: ${e.message}`);
    if (
      typeof name === 'string' &&
      /^(SEQUENCE|OPERATION_(NOT|OP|PATH_INVALID|FROM_REQUIRED|VALUE_REQUIRED|VALUE_CANNOT))/.test(name)
    ) {
      throw badRequest(`json patch operation [${d.index}] is invalid: ${name}`);
    }
    throw notApplicable(d, typeof name === 'string' ? name : String(e));
  }
}

interface CopyBudget {
  copied: number;
  readonly limit: number;
}

/**
 * The size of `v` encoded as JSON (strings counted without escapes); stops counting once it passes
 * `cap`, so measuring a huge subtree costs no more than the budget it would overrun.
 */
export function jsonSizeUpTo(v: unknown, cap: number): number {
  let size = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0 && size <= cap) {
    const x = stack.pop();
    if (typeof x === 'string') size += x.length + 2;
    else if (x === null || typeof x !== 'object') size += String(x).length;
    else {
      const entries = Array.isArray(x) ? x.map((e) => ['', e] as const) : Object.entries(x);
      // brackets, commas, and per member its quoted key and colon
      size += 2 + Math.max(0, entries.length - 1);
      for (const [k, e] of entries) {
        if (!Array.isArray(x)) size += k.length + 3;
        stack.push(e);
      }
    }
  }
  return size;
}

function applyOne(doc: unknown, d: DecodedOp, budget: CopyBudget): unknown {
  switch (d.op) {
    case 'test': {
      const actual = resolve(doc, d.tokens, d, d.path);
      if (!jsonEqual(actual, d.value)) {
        throw unprocessable(
          `jsonpatch test operation [${d.index}] failed: the value at ${JSON.stringify(d.path)} is not equal to the given value`,
        );
      }
      return doc;
    }
    case 'add':
      checkAddTarget(doc, d);
      return libApply(doc, { op: 'add', path: d.path, value: d.value }, d);
    case 'replace':
      resolve(doc, d.tokens, d, d.path);
      return libApply(doc, { op: 'replace', path: d.path, value: d.value }, d);
    case 'remove':
      if (d.tokens.length === 0) throw notApplicable(d, 'cannot remove the whole document');
      resolve(doc, d.tokens, d, d.path);
      return libApply(doc, { op: 'remove', path: d.path }, d);
    case 'copy': {
      const source = resolve(doc, d.fromTokens!, d, d.from!);
      budget.copied += jsonSizeUpTo(source, budget.limit - budget.copied + 1);
      if (budget.copied > budget.limit) {
        throw tooLarge(
          `Unable to complete the copy of json patch operation [${d.index}]: the accumulated size increase of copy operations exceeds the limit of ${budget.limit} bytes`,
        );
      }
      const value = structuredClone(source);
      checkAddTarget(doc, d);
      return libApply(doc, { op: 'add', path: d.path, value }, d);
    }
    case 'move': {
      // remove then add, each checked against the document as it is at that moment (RFC 6902 4.4)
      const value = resolve(doc, d.fromTokens!, d, d.from!);
      if (d.fromTokens!.length === d.tokens.length && d.fromTokens!.every((t, k) => t === d.tokens[k])) return doc;
      // (a non-empty "from" is guaranteed: "" is a proper prefix of every other path)
      const cur = libApply(doc, { op: 'remove', path: d.from! }, d);
      checkAddTarget(cur, d);
      return libApply(cur, { op: 'add', path: d.path, value }, d);
    }
  }
}

/** RFC 6902 JSON patch (application/json-patch+json); returns a new document, `doc` is untouched. */
export function applyJsonPatch(doc: unknown, ops: unknown, maxCopyBytes = MAX_JSON_PATCH_COPY_BYTES): unknown {
  const decoded = decodeOps(ops);
  const budget: CopyBudget = { copied: 0, limit: maxCopyBytes };
  let cur = structuredClone(doc);
  for (const d of decoded) cur = applyOne(cur, d, budget);
  return cur;
}

function mergeValue(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? target : {};
  for (const key of Object.keys(patch)) {
    if (key === '__proto__') throw badRequest('merge patch: the key "__proto__" is not allowed');
    const v = patch[key];
    if (v === null) {
      if (Object.hasOwn(out, key)) delete out[key];
    } else {
      out[key] = mergeValue(Object.hasOwn(out, key) ? out[key] : undefined, v);
    }
  }
  return out;
}

/** RFC 7386 JSON merge patch (application/merge-patch+json); inputs are never mutated. */
export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  return mergeValue(structuredClone(doc), patch);
}
