// Field selectors (`fieldSelector=`), with the grammar and error texts of k8s.io/apimachinery/pkg/fields.
// Which fields a kind supports is the caller's business (see fieldLabelNotSupported).
import { badRequest, type StatusError } from './errors.js';

export interface FieldRequirement {
  field: string;
  /** `==` is folded into `=` as kube does */
  op: '=' | '!=';
  /** unescaped */
  value: string;
}

export interface FieldSelector {
  /** no requirements: selects everything */
  empty: boolean;
  requirements: FieldRequirement[];
  /** `get` returns a field's string value; a missing field compares as "" */
  matches(get: (field: string) => string | undefined): boolean;
  toString(): string;
}

/** splitTerms: split on commas that are not escaped. */
function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** splitTerm: the first operator occurrence wins, trying `!=`, `==`, `=` at each position. */
function splitTerm(term: string): [string, '!=' | '==' | '=', string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '='] as const) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/** UnescapeValue; kube prints an unescaped rune as its code point (Go's %v of a rune). */
function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') out += c;
      else throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=')
      throw badRequest(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** EscapeValue, for printing a selector back. */
function escapeValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** Parses a `fieldSelector=` query value; syntax errors are 400 with kube's text. */
export function parseFieldSelector(s: string): FieldSelector {
  const parts = splitTerms(s).sort();
  const requirements: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const split = splitTerm(part);
    if (!split) throw badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    const [field, op, rhs] = split;
    requirements.push({ field, op: op === '!=' ? '!=' : '=', value: unescapeValue(rhs) });
  }
  return {
    empty: requirements.length === 0,
    requirements,
    matches: (get) => requirements.every((r) => ((get(r.field) ?? '') === r.value) === (r.op === '=')),
    toString: () => requirements.map((r) => `${r.field}${r.op}${escapeValue(r.value)}`).join(','),
  };
}

/** The 400 a list/watch gets for a field the resource does not make selectable. */
export function fieldLabelNotSupported(field: string): StatusError {
  return badRequest(`field label not supported: ${field}`);
}
