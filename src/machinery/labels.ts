// Label selectors and label key/value validation, with the grammar, semantics and error texts of
// k8s.io/apimachinery/pkg/labels (clients see these messages in 400 responses).
import { badRequest } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Name validation (k8s.io/apimachinery/pkg/util/validation), shared with metavalidation.ts.

const QNAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QNAME_RE = new RegExp(`^${QNAME_FMT}$`);
const QNAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/** Go's len(): kube limits count UTF-8 bytes, not UTF-16 units. */
function byteLen(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** validation.RegexError: the exact detail text kube prints for a pattern mismatch. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

/** validation.MaxLenError. */
export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

/** IsDNS1123Subdomain: object names (CRD default), label-key prefixes. */
export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    errs.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  }
  return errs;
}

/** IsDNS1123Label: namespace names. */
export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 63) errs.push(maxLenError(63));
  if (!DNS1123_LABEL_RE.test(value)) {
    if (DNS1123_SUBDOMAIN_RE.test(value)) errs.push('must not contain dots');
    else errs.push(regexError(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  }
  return errs;
}

/** IsQualifiedName: label keys, annotation keys, finalizers. Returns kube's detail strings. */
export function validateLabelKey(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      `a qualified name ${regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc')}` +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (byteLen(name) > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!QNAME_RE.test(name)) errs.push(`name part ${regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

/** IsValidLabelValue: label values (may be empty). Returns kube's detail strings. */
export function validateLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(value))
    errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Requirements and selectors.

/** selection.Operator spellings, as kube prints them. */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: LabelOperator;
  /** sorted, unique; empty for exists / ! */
  values: string[];
}

export interface LabelSelector {
  /** true when the selector has no requirements (selects everything) */
  empty: boolean;
  requirements: Requirement[];
  matches(labels: Record<string, string> | undefined): boolean;
  toString(): string;
}

/** field.Error text with the value printed the way Go's %q / %#v would roughly show it. */
function invalidText(path: string, value: unknown, detail: string): string {
  const v = Array.isArray(value)
    ? `[]string{${value.map((x) => JSON.stringify(x)).join(', ')}}`
    : JSON.stringify(value);
  return `${path}: Invalid value: ${v}: ${detail}`;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64); undefined when Go would fail. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/** labels.NewRequirement: validates and builds; errors are joined like an errors.Aggregate. */
function newRequirement(key: string, operator: LabelOperator, values: string[]): Requirement {
  const errs: string[] = [];
  const keyErrs = validateLabelKey(key);
  if (keyErrs.length) errs.push(invalidText('key', key, keyErrs.join('; ')));
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0)
        errs.push(invalidText('values', values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1)
        errs.push(invalidText('values', values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0)
        errs.push(invalidText('values', values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1)
        errs.push(invalidText('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined)
          errs.push(invalidText(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const msgs = validateLabelValue(v);
    if (msgs.length) errs.push(invalidText(`values[${i}][${key}]`, v, msgs.join('; ')));
  });
  if (errs.length > 0) {
    const uniq = [...new Set(errs)];
    throw new SelectorSyntaxError(uniq.length === 1 ? uniq[0] : `[${uniq.join(', ')}]`);
  }
  return { key, operator, values };
}

class SelectorSyntaxError extends Error {}

function requirementMatches(r: Requirement, labels: Record<string, string> | undefined): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, r.key);
  const value = has ? labels![r.key] : undefined;
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(value!);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(value!);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const lv = parseInt64(value!);
      const rv = parseInt64(r.values[0]);
      if (lv === undefined || rv === undefined) return false;
      return r.operator === 'gt' ? lv > rv : lv < rv;
    }
  }
}

function requirementString(r: Requirement): string {
  const ops: Record<LabelOperator, string> = {
    '=': '=',
    '==': '==',
    '!=': '!=',
    in: ' in ',
    notin: ' notin ',
    gt: '>',
    lt: '<',
    exists: '',
    '!': '',
  };
  const head = (r.operator === '!' ? '!' : '') + r.key;
  if (r.operator === 'exists' || r.operator === '!') return head;
  const vals = [...r.values].sort().join(',');
  return r.operator === 'in' || r.operator === 'notin'
    ? `${head}${ops[r.operator]}(${vals})`
    : `${head}${ops[r.operator]}${vals}`;
}

function makeSelector(requirements: Requirement[], nothing = false): LabelSelector {
  // kube sorts by key so that String() is deterministic.
  const reqs = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    empty: !nothing && reqs.length === 0,
    requirements: reqs,
    matches: (labels) => !nothing && reqs.every((r) => requirementMatches(r, labels)),
    toString: () => reqs.map(requirementString).join(','),
  };
}

// ---------------------------------------------------------------------------------------------
// Lexer and parser (labels.Parse).

type Tok = 'id' | 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'in' | '<' | '!=' | 'notin' | '(';
interface Item {
  tok: Tok;
  lit: string;
}

const SYMBOL_TOKENS: Record<string, Tok> = {
  ')': ')',
  ',': ',',
  '!': '!',
  '==': '==',
  '=': '=',
  '>': '>',
  '<': '<',
  '!=': '!=',
  '(': '(',
};
const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string) => '=!(),><'.includes(c);

function lex(s: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isWhitespace(s[i])) i++;
    if (i >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (isSpecial(s[i])) {
      // Longest run of symbols that is still a token ("!=" but "=" then "!" for "=!").
      let buf = s[i];
      let last: Item = { tok: SYMBOL_TOKENS[buf], lit: buf };
      i++;
      while (i < s.length && isSpecial(s[i]) && SYMBOL_TOKENS[buf + s[i]] !== undefined) {
        buf += s[i];
        last = { tok: SYMBOL_TOKENS[buf], lit: buf };
        i++;
      }
      items.push(last);
      continue;
    }
    const start = i;
    while (i < s.length && !isWhitespace(s[i]) && !isSpecial(s[i])) i++;
    const word = s.slice(start, i);
    items.push({ tok: word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'id', lit: word });
  }
}

const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';
const BINARY_TOKENS: Partial<Record<Tok, LabelOperator>> = {
  in: 'in',
  notin: 'notin',
  '=': '=',
  '==': '==',
  '!=': '!=',
  '>': 'gt',
  '<': 'lt',
};

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  /** "Values" context: the keywords in/notin are plain identifiers there. */
  private peek(values = true): Item {
    const it = this.items[this.pos];
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id', lit: it.lit } : it;
  }

  private next(values = true): Item {
    const it = this.peek(values);
    if (this.pos < this.items.length - 1) this.pos++;
    return it;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const { tok, lit } = this.peek();
      if (tok === 'eos') return reqs;
      if (tok !== 'id' && tok !== '!')
        throw new SelectorSyntaxError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.parseRequirement());
      } catch (e) {
        if (e instanceof SelectorSyntaxError)
          throw new SelectorSyntaxError(`unable to parse requirement: ${e.message}`);
        throw e;
      }
      const after = this.next();
      if (after.tok === 'eos') return reqs;
      if (after.tok !== ',') throw new SelectorSyntaxError(`found '${after.lit}', expected: ',' or 'end of string'`);
      const t2 = this.peek();
      if (t2.tok !== 'id' && t2.tok !== '!')
        throw new SelectorSyntaxError(`found '${t2.lit}', expected: identifier after ','`);
    }
  }

  private parseRequirement(): Requirement {
    let unary: LabelOperator | undefined;
    let it = this.next();
    if (it.tok === '!') {
      unary = '!';
      it = this.next();
    }
    if (it.tok !== 'id') throw new SelectorSyntaxError(`found '${it.lit}', expected: identifier`);
    const key = it.lit;
    const keyErrs = validateLabelKey(key);
    if (keyErrs.length) throw new SelectorSyntaxError(invalidText('<nil>', key, keyErrs.join('; ')));
    const la = this.peek().tok;
    if (unary === undefined && (la === 'eos' || la === ',')) unary = 'exists';
    if (unary !== undefined) return newRequirement(key, unary, []);

    const opItem = this.next(false);
    const op = BINARY_TOKENS[opItem.tok];
    if (op === undefined) throw new SelectorSyntaxError(`found '${opItem.lit}', expected: ${BINARY_OPERATORS}`);
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, op, [...new Set(values)].sort());
  }

  private parseValues(): string[] {
    const open = this.next();
    if (open.tok !== '(') throw new SelectorSyntaxError(`found '${open.lit}' expected: '('`);
    const la = this.peek();
    if (la.tok === ')') {
      this.next();
      return [''];
    }
    if (la.tok !== 'id' && la.tok !== ',')
      throw new SelectorSyntaxError(`found '${la.lit}', expected: ',', ')' or identifier`);
    const vals: string[] = [];
    for (;;) {
      const it = this.next();
      if (it.tok === 'id') {
        vals.push(it.lit);
        const t2 = this.peek();
        if (t2.tok === ',') continue;
        if (t2.tok === ')') {
          this.next();
          return vals;
        }
        throw new SelectorSyntaxError(`found '${t2.lit}', expected: ',' or ')'`);
      } else if (it.tok === ',') {
        // "(,a)", "(a,,b)" and "(a,)" all contribute the empty value.
        if (vals.length === 0) vals.push('');
        const t2 = this.peek();
        if (t2.tok === ')') {
          vals.push('');
          this.next();
          return vals;
        }
        if (t2.tok === ',') {
          this.next();
          vals.push('');
        }
      } else {
        throw new SelectorSyntaxError(`found '${it.lit}', expected: ',', or identifier`);
      }
    }
  }

  private parseExactValue(): string[] {
    const la = this.peek();
    if (la.tok === 'eos' || la.tok === ',') return [''];
    const it = this.next();
    if (it.tok === 'id') return [it.lit];
    throw new SelectorSyntaxError(`found '${it.lit}', expected: identifier`);
  }
}

/** Parses a `labelSelector=` query value; syntax or validation failures are 400 with kube's text. */
export function parseLabelSelector(s: string): LabelSelector {
  try {
    return makeSelector(new Parser(lex(s)).parse());
  } catch (e) {
    if (e instanceof SelectorSyntaxError) throw badRequest(e.message);
    throw e;
  }
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

const EXPRESSION_OPERATORS: Record<string, LabelOperator> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/**
 * metav1.LabelSelectorAsSelector for selectors held in objects (ServerClass): null/undefined
 * selects nothing, `{}` selects everything. Invalid content is a 400.
 */
export function labelSelectorFromLabelSelectorObject(sel: LabelSelectorObject | null | undefined): LabelSelector {
  if (sel === null || sel === undefined) return makeSelector([], true);
  try {
    const reqs: Requirement[] = [];
    for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push(newRequirement(k, '=', [v]));
    for (const expr of sel.matchExpressions ?? []) {
      const op = Object.hasOwn(EXPRESSION_OPERATORS, expr.operator) ? EXPRESSION_OPERATORS[expr.operator] : undefined;
      if (op === undefined)
        throw new SelectorSyntaxError(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
      reqs.push(newRequirement(expr.key, op, [...(expr.values ?? [])]));
    }
    return makeSelector(reqs);
  } catch (e) {
    if (e instanceof SelectorSyntaxError) throw badRequest(e.message);
    throw e;
  }
}
