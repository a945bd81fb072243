import { describe, it, expect } from 'vitest';
import { nestsDeeperThan, parseJsonStrict } from '../../src/machinery/json.js';
import { StatusError } from '../../src/machinery/errors.js';

function errorOf(text: string, maxDepth?: number): StatusError {
  try {
    parseJsonStrict(text, maxDepth === undefined ? {} : { maxDepth });
  } catch (e) {
    expect(e).toBeInstanceOf(StatusError);
    expect((e as StatusError).code).toBe(400);
    return e as StatusError;
  }
  throw new Error(`${text} parsed`);
}

describe('parseJsonStrict', () => {
  it('parses the same values as JSON.parse', () => {
    const samples = [
      '{"a":1,"b":[true,false,null],"c":{"d":"e"}}',
      ' [ ] ',
      '{}',
      '"str"',
      '0',
      '-0.5e+10',
      '1E-3',
      '12345678901234567890',
      '"esc \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00"',
      '"plain unicode é 😀"',
      '\n\t{"nested":[[[{"x":[1,2,{"y":null}]}]]]}\r\n',
      '{"a":"x\\ny","b":"tail\\\\"}',
    ];
    for (const s of samples) expect(parseJsonStrict(s).value).toEqual(JSON.parse(s));
  });

  it('reports duplicate keys with dotted paths, last value wins', () => {
    const r = parseJsonStrict('{"spec":{"bar":1,"bar":2,"workers":[{"name":"a","name":"b"}]},"kind":"X","kind":"Y"}');
    expect(r.duplicates).toEqual(['spec.bar', 'spec.workers[0].name', 'kind']);
    expect(r.value).toEqual({ spec: { bar: 2, workers: [{ name: 'b' }] }, kind: 'Y' });
  });

  it('reports duplicates under a root array and in nested arrays', () => {
    expect(parseJsonStrict('[{"a":1,"a":1},[{"b":0,"b":0}]]').duplicates).toEqual(['[0].a', '[1][0].b']);
    expect(parseJsonStrict('{"a":{"x":1},"b":{"x":1}}').duplicates).toEqual([]);
  });

  it('defines __proto__ as an own property, never touching prototypes', () => {
    const r = parseJsonStrict('{"__proto__":{"polluted":true},"a":{"__proto__":[1]},"__proto__":{"again":1}}');
    const v = r.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ again: 1 });
    expect(Object.keys(v)).toEqual(['__proto__', 'a']);
    expect(r.duplicates).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(v)).toBe('{"__proto__":{"again":1},"a":{"__proto__":[1]}}');
  });

  it('constructor and toString are ordinary keys', () => {
    const v = parseJsonStrict('{"constructor":1,"toString":2}').value as Record<string, unknown>;
    expect(v).toEqual({ constructor: 1, toString: 2 });
    expect(parseJsonStrict('{"toString":1,"toString":2}').duplicates).toEqual(['toString']);
  });

  it('rejects invalid JSON with a position', () => {
    expect(errorOf('{"a":1,}').message).toBe(
      'invalid JSON: unexpected character "}", expected a string key at line 1, column 8 (offset 7)',
    );
    expect(errorOf('{\n  "a": tru\n}').message).toBe(
      'invalid JSON: unexpected character "t", expected a value at line 2, column 8 (offset 9)',
    );
    expect(errorOf('').message).toMatch(/^invalid JSON: unexpected end of input, expected a value at line 1, column 1/);
    expect(errorOf('{"a":1} x').message).toMatch(/unexpected character "x" after top-level value/);
    expect(errorOf('[1 2]').message).toMatch(/expected ',' or '\]'/);
    expect(errorOf('{"a" 1}').message).toMatch(/expected ':'/);
  });

  it('rejects what JSON forbids', () => {
    for (const bad of [
      '01',
      '1.',
      '.5',
      '+1',
      '-',
      '1e',
      'NaN',
      "'a'",
      '"a\nb"',
      '"\\x"',
      '"\\u12"',
      '"abc',
      '{"a":1',
      '[1,]',
      'nul',
      '\ufeff{}',
      '{,}',
      '"\t"',
    ]) {
      expect(() => parseJsonStrict(bad), bad).toThrow(StatusError);
      expect(() => JSON.parse(bad), bad).toThrow();
    }
  });

  it('guards the nesting depth', () => {
    expect(parseJsonStrict('['.repeat(100) + ']'.repeat(100)).value).toBeDefined();
    expect(errorOf('['.repeat(101) + ']'.repeat(101)).message).toMatch(/exceeds maximum nesting depth of 100/);
    expect(errorOf('{"a":'.repeat(101) + '1' + '}'.repeat(101)).message).toMatch(/exceeds maximum nesting depth/);
    expect(errorOf('[[[1]]]', 2).message).toMatch(/exceeds maximum nesting depth of 2/);
    // a deep but not too deep document does not blow the stack
    expect(() => parseJsonStrict('['.repeat(100000))).toThrow(StatusError);
  });

  it('parses a 3 MiB body quickly (linear time)', () => {
    const item = {
      name: 'machine-0001',
      labels: { 'cluster.x-k8s.io/cluster-name': 'prod', escaped: 'a\\"b\nc' },
      n: 12345.5,
      ok: true,
    };
    const items = Array.from({ length: 27000 }, (_, i) => ({ ...item, name: `machine-${i}` }));
    const text = JSON.stringify({ kind: 'List', items });
    expect(text.length).toBeGreaterThan(3 * 1024 * 1024);
    const start = performance.now();
    const r = parseJsonStrict(text);
    const ms = performance.now() - start;
    expect(r.duplicates).toEqual([]);
    expect(r.value).toEqual(JSON.parse(text));
    expect(ms).toBeLessThan(2000);
  });
});

describe('nestsDeeperThan', () => {
  it('counts levels as the parser does, at any depth without recursion', () => {
    expect(nestsDeeperThan(1, 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan({ a: [1] }, 2)).toBe(false);
    expect(nestsDeeperThan({ a: [1] }, 1)).toBe(true);
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(nestsDeeperThan(deep, 100)).toBe(true);
    expect(nestsDeeperThan(JSON.parse('['.repeat(100) + ']'.repeat(100)), 100)).toBe(false);
    expect(() => parseJsonStrict('['.repeat(101) + ']'.repeat(101))).toThrow(/maximum nesting depth of 100/);
  });
});
