// A strict JSON parser for request bodies. JSON.parse cannot tell us about duplicate keys, which
// kube reports under fieldValidation=Strict/Warn (`duplicate field "spec.bar"`), so this is a small
// linear-time recursive-descent parser with a nesting limit and prototype-safe objects.
import { badRequest } from './errors.js';

/** Nesting limit for request bodies: real objects stay far below it, hostile ones do not. */
export const DEFAULT_MAX_JSON_DEPTH = 100;

export interface ParsedJson {
  value: unknown;
  /** paths of keys that appeared more than once in one object: `spec.workers[0].name` (last wins) */
  duplicates: string[];
}

class JsonParser {
  private i = 0;
  readonly duplicates: string[] = [];
  /** keys and indices from the root to the value being parsed; turned into a path only on a duplicate */
  private readonly stack: (string | number)[] = [];
  private static readonly NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
  ) {}

  parseDocument(): unknown {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i < this.s.length) this.fail(`unexpected ${this.describe()} after top-level value`);
    return v;
  }

  private fail(msg: string, at = this.i): never {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < at && k < this.s.length; k++) {
      if (this.s.charCodeAt(k) === 10) {
        line++;
        lineStart = k + 1;
      }
    }
    throw badRequest(`invalid JSON: ${msg} at line ${line}, column ${at - lineStart + 1} (offset ${at})`);
  }

  private describe(): string {
    if (this.i >= this.s.length) return 'end of input';
    return `character ${JSON.stringify(this.s[this.i])}`;
  }

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  private value(depth: number): unknown {
    const c = this.s[this.i];
    switch (c) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        return this.fail(`unexpected ${this.describe()}, expected a value`);
    }
  }

  private literal<T>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.i)) this.fail(`unexpected ${this.describe()}, expected a value`);
    this.i += word.length;
    return v;
  }

  private number(): number {
    const re = JsonParser.NUMBER;
    re.lastIndex = this.i;
    const m = re.exec(this.s);
    if (!m) return this.fail('invalid number');
    const text = m[0];
    const next = this.s[this.i + text.length];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) this.fail('invalid number', this.i + text.length);
    this.i += text.length;
    return Number(text);
  }

  private string(): string {
    const s = this.s;
    const start = ++this.i; // past the opening quote
    let i = start;
    // Fast path: no escapes.
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        this.i = i + 1;
        return s.slice(start, i);
      }
      if (c === 92) break;
      if (c < 32) this.fail('control character in string', i);
    }
    let out = s.slice(start, i);
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        this.i = i + 1;
        return out;
      }
      if (c < 32) this.fail('control character in string', i);
      if (c !== 92) {
        // copy a run of plain characters at once
        let j = i + 1;
        while (j < s.length) {
          const d = s.charCodeAt(j);
          if (d === 34 || d === 92 || d < 32) break;
          j++;
        }
        out += s.slice(i, j);
        i = j;
        continue;
      }
      const e = s[i + 1];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = s.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape in string', i);
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
          continue;
        }
        default:
          this.fail('invalid escape in string', i);
      }
      i += 2;
    }
    return this.fail('unterminated string', start - 1);
  }

  private currentPath(): string {
    let p = '';
    for (const seg of this.stack) p += typeof seg === 'number' ? `[${seg}]` : p ? `.${seg}` : seg;
    return p;
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) this.fail(`JSON body exceeds maximum nesting depth of ${this.maxDepth}`);
  }

  private object(depth: number): Record<string, unknown> {
    this.enter(depth);
    this.i++;
    const obj: Record<string, unknown> = {};
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return obj;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail(`unexpected ${this.describe()}, expected a string key`);
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail(`unexpected ${this.describe()}, expected ':'`);
      this.i++;
      this.ws();
      this.stack.push(key);
      const v = this.value(depth);
      if (Object.hasOwn(obj, key)) this.duplicates.push(this.currentPath());
      this.stack.pop();
      if (key === '__proto__') {
        // an own data property, never the prototype setter
        Object.defineProperty(obj, key, { value: v, writable: true, enumerable: true, configurable: true });
      } else {
        obj[key] = v;
      }
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        this.ws();
      } else if (c === '}') {
        this.i++;
        return obj;
      } else {
        this.fail(`unexpected ${this.describe()}, expected ',' or '}'`);
      }
    }
  }

  private array(depth: number): unknown[] {
    this.enter(depth);
    this.i++;
    const arr: unknown[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return arr;
    }
    for (;;) {
      this.stack.push(arr.length);
      arr.push(this.value(depth));
      this.stack.pop();
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        this.ws();
      } else if (c === ']') {
        this.i++;
        return arr;
      } else {
        this.fail(`unexpected ${this.describe()}, expected ',' or ']'`);
      }
    }
  }
}

/**
 * Parses a request body, reporting duplicate keys (the last value wins, as in Go). Invalid JSON or
 * nesting deeper than `maxDepth` is a 400.
 */
export function parseJsonStrict(text: string, opts: { maxDepth?: number } = {}): ParsedJson {
  const p = new JsonParser(text, opts.maxDepth ?? DEFAULT_MAX_JSON_DEPTH);
  const value = p.parseDocument();
  return { value, duplicates: p.duplicates };
}

/**
 * Whether a decoded value nests deeper than `max` (an object or array is one level, as the parser
 * counts). Iterative, so any depth is measured safely: a JSON patch can build an object deeper
 * than any body it came in, and every recursive step after it would run out of stack.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}
