// The subset of kubectl's JSONPath that printer columns use (k8s.io/client-go/util/jsonpath):
// `.a.b`, escaped dots in names (`.metadata.labels.cluster\.x-k8s\.io/cluster-name`), `.*`,
// `[0]`, `[-1]`, `[*]`, `['key']`, and filters `[?(@.type=="Ready")]` with == != < > <= >= or
// a bare `[?(@.x)]` existence test. Columns are declared by us, so a bad expression is a
// programming error and compileJsonPath throws a plain Error.

type Literal = string | number | boolean | null;
type CompareOp = '==' | '!=' | '<' | '>' | '<=' | '>=';

type Step =
  | { k: 'field'; name: string }
  | { k: 'wildcard' }
  | { k: 'index'; index: number }
  | { k: 'filter'; left: Step[]; op: CompareOp | 'exists'; right?: Literal };

const TERMINATORS = new Set([
  ' ',
  '\t',
  '\n',
  '\r',
  '.',
  '[',
  ']',
  ',',
  '$',
  '@',
  '{',
  '}',
  '(',
  ')',
  '=',
  '!',
  '<',
  '>',
]);

class PathParser {
  i = 0;
  constructor(private readonly src: string) {}

  fail(msg: string): never {
    throw new Error(`invalid JSONPath ${JSON.stringify(this.src)}: ${msg} at offset ${this.i}`);
  }

  peek(): string | undefined {
    return this.src[this.i];
  }

  ws(): void {
    while (this.i < this.src.length && /\s/.test(this.src[this.i])) this.i++;
  }

  expect(c: string): void {
    if (this.src[this.i] !== c) this.fail(`expected '${c}'`);
    this.i++;
  }

  /** steps until something that is not '.' or '[' */
  steps(): Step[] {
    const steps: Step[] = [];
    for (;;) {
      const c = this.peek();
      if (c === '.') {
        this.i++;
        if (this.peek() === '.') this.fail('recursive descent (..) is not supported');
        steps.push(this.field());
      } else if (c === '[') {
        this.i++;
        steps.push(this.bracket());
      } else {
        return steps;
      }
    }
  }

  field(): Step {
    let name = '';
    while (this.i < this.src.length && !TERMINATORS.has(this.src[this.i])) {
      if (this.src[this.i] === '\\') {
        this.i++;
        if (this.i >= this.src.length) this.fail('dangling backslash');
      }
      name += this.src[this.i++];
    }
    if (name === '') this.fail('empty field name');
    return name === '*' ? { k: 'wildcard' } : { k: 'field', name };
  }

  bracket(): Step {
    this.ws();
    const c = this.peek();
    let step: Step;
    if (c === '*') {
      this.i++;
      step = { k: 'wildcard' };
    } else if (c === '?') {
      this.i++;
      step = this.filter();
    } else if (c === "'" || c === '"') {
      step = { k: 'field', name: this.quoted() };
    } else {
      const m = /^-?[0-9]+/.exec(this.src.slice(this.i));
      if (!m) this.fail('expected an index, *, a quoted key or a filter');
      this.i += m[0].length;
      step = { k: 'index', index: Number(m[0]) };
    }
    this.ws();
    if (this.peek() === ':') this.fail('slices are not supported');
    this.expect(']');
    return step;
  }

  quoted(): string {
    const q = this.src[this.i++];
    let s = '';
    while (this.i < this.src.length && this.src[this.i] !== q) {
      if (this.src[this.i] === '\\' && this.i + 1 < this.src.length) this.i++;
      s += this.src[this.i++];
    }
    this.expect(q);
    return s;
  }

  filter(): Step {
    this.expect('(');
    this.ws();
    this.expect('@');
    const left = this.steps();
    this.ws();
    if (this.peek() === ')') {
      this.i++;
      return { k: 'filter', left, op: 'exists' };
    }
    const m = /^(==|!=|<=|>=|<|>)/.exec(this.src.slice(this.i));
    if (!m) this.fail('expected a comparison operator');
    this.i += m[0].length;
    this.ws();
    const right = this.literal();
    this.ws();
    this.expect(')');
    return { k: 'filter', left, op: m[0] as CompareOp, right };
  }

  literal(): Literal {
    const c = this.peek();
    if (c === "'" || c === '"') return this.quoted();
    const rest = this.src.slice(this.i);
    const num = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(rest);
    if (num) {
      this.i += num[0].length;
      return Number(num[0]);
    }
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (rest.startsWith(word)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail('expected a string, number, boolean or null literal');
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function compare(left: unknown, op: CompareOp, right: Literal): boolean {
  // Like kube, values of different types never compare (kube fails the whole evaluation).
  if (left === null || right === null) {
    if (op === '==') return left === right;
    if (op === '!=') return left !== right;
    return false;
  }
  if (typeof left !== typeof right) return false;
  switch (op) {
    case '==':
      return left === right;
    case '!=':
      return left !== right;
  }
  if (typeof left === 'boolean') return false;
  const l = left as string | number;
  const r = right as string | number;
  switch (op) {
    case '<':
      return l < r;
    case '>':
      return l > r;
    case '<=':
      return l <= r;
    case '>=':
      return l >= r;
  }
}

function evaluate(steps: Step[], roots: unknown[]): unknown[] {
  let cur = roots;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      switch (step.k) {
        case 'field':
          if (isObject(v) && Object.hasOwn(v, step.name)) next.push(v[step.name]);
          break;
        case 'wildcard':
          if (Array.isArray(v)) next.push(...v);
          else if (isObject(v)) next.push(...Object.values(v));
          break;
        case 'index':
          if (Array.isArray(v)) {
            const idx = step.index < 0 ? v.length + step.index : step.index;
            if (idx >= 0 && idx < v.length) next.push(v[idx]);
          }
          break;
        case 'filter':
          if (!Array.isArray(v)) break;
          for (const el of v) {
            const lefts = evaluate(step.left, [el]);
            if (step.op === 'exists') {
              if (lefts.length > 0) next.push(el);
            } else if (lefts.length === 1 && compare(lefts[0], step.op, step.right!)) {
              next.push(el);
            }
          }
          break;
      }
    }
    cur = next;
  }
  return cur;
}

/** Compiles a printer column's jsonPath into a function returning every matched value. */
export function compileJsonPath(expr: string): (obj: unknown) => unknown[] {
  let src = expr.trim();
  if (src.startsWith('{') && src.endsWith('}')) src = src.slice(1, -1).trim();
  const p = new PathParser(src);
  if (p.peek() === '$') p.i++;
  const steps = p.steps();
  if (p.i !== src.length) p.fail('unexpected character');
  if (steps.length === 0 && src !== '$') p.fail('empty expression');
  return (obj) => evaluate(steps, [obj]);
}
