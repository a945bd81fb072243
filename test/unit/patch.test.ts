import { describe, it, expect } from 'vitest';
import {
  applyJsonPatch,
  applyMergePatch,
  jsonSizeUpTo,
  MAX_JSON_PATCH_COPY_BYTES,
  MAX_JSON_PATCH_OPERATIONS,
} from '../../src/machinery/patch.js';
import { StatusError } from '../../src/machinery/errors.js';
import { parseJsonStrict } from '../../src/machinery/json.js';

function failure(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StatusError);
    return e as StatusError;
  }
  throw new Error('expected a StatusError');
}

interface Case {
  name: string;
  doc: unknown;
  patch: unknown[];
  expected?: unknown;
  /** status code when the patch must fail */
  error?: number;
}

// RFC 6902 appendix A, plus the edge cases the RFC text implies.
const cases: Case[] = [
  {
    name: 'A.1 add an object member',
    doc: { foo: 'bar' },
    patch: [{ op: 'add', path: '/baz', value: 'qux' }],
    expected: { baz: 'qux', foo: 'bar' },
  },
  {
    name: 'A.2 add an array element',
    doc: { foo: ['bar', 'baz'] },
    patch: [{ op: 'add', path: '/foo/1', value: 'qux' }],
    expected: { foo: ['bar', 'qux', 'baz'] },
  },
  {
    name: 'A.3 remove an object member',
    doc: { baz: 'qux', foo: 'bar' },
    patch: [{ op: 'remove', path: '/baz' }],
    expected: { foo: 'bar' },
  },
  {
    name: 'A.4 remove an array element',
    doc: { foo: ['bar', 'qux', 'baz'] },
    patch: [{ op: 'remove', path: '/foo/1' }],
    expected: { foo: ['bar', 'baz'] },
  },
  {
    name: 'A.5 replace a value',
    doc: { baz: 'qux', foo: 'bar' },
    patch: [{ op: 'replace', path: '/baz', value: 'boo' }],
    expected: { baz: 'boo', foo: 'bar' },
  },
  {
    name: 'A.6 move a value',
    doc: { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
    patch: [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
    expected: { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
  },
  {
    name: 'A.7 move an array element',
    doc: { foo: ['all', 'grass', 'cows', 'eat'] },
    patch: [{ op: 'move', from: '/foo/1', path: '/foo/3' }],
    expected: { foo: ['all', 'cows', 'eat', 'grass'] },
  },
  {
    name: 'A.8 test a value: success',
    doc: { baz: 'qux', foo: ['a', 2, 'c'] },
    patch: [
      { op: 'test', path: '/baz', value: 'qux' },
      { op: 'test', path: '/foo/1', value: 2 },
    ],
    expected: { baz: 'qux', foo: ['a', 2, 'c'] },
  },
  {
    name: 'A.9 test a value: error',
    doc: { baz: 'qux' },
    patch: [{ op: 'test', path: '/baz', value: 'bar' }],
    error: 422,
  },
  {
    name: 'A.10 add a nested member object',
    doc: { foo: 'bar' },
    patch: [{ op: 'add', path: '/child', value: { grandchild: {} } }],
    expected: { foo: 'bar', child: { grandchild: {} } },
  },
  {
    name: 'A.11 ignore unrecognized elements',
    doc: { foo: 'bar' },
    patch: [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }],
    expected: { foo: 'bar', baz: 'qux' },
  },
  {
    name: 'A.12 add to a nonexistent target',
    doc: { foo: 'bar' },
    patch: [{ op: 'add', path: '/baz/bat', value: 'qux' }],
    error: 422,
  },
  {
    name: 'A.14 ~ escape ordering',
    doc: { '/': 9, '~1': 10 },
    patch: [{ op: 'test', path: '/~01', value: 10 }],
    expected: { '/': 9, '~1': 10 },
  },
  {
    name: 'A.15 comparing strings and numbers',
    doc: { '/': 9, '~1': 10 },
    patch: [{ op: 'test', path: '/~01', value: '10' }],
    error: 422,
  },
  {
    name: 'A.16 add an array value',
    doc: { foo: ['bar'] },
    patch: [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }],
    expected: { foo: ['bar', ['abc', 'def']] },
  },
  {
    name: '~1 addresses a key with a slash',
    doc: {},
    patch: [{ op: 'add', path: '/a~1b', value: 1 }],
    expected: { 'a/b': 1 },
  },
  {
    name: '~0 addresses a key with a tilde',
    doc: { 'm~n': 8 },
    patch: [{ op: 'replace', path: '/m~0n', value: 9 }],
    expected: { 'm~n': 9 },
  },
  {
    name: 'copy',
    doc: { a: { b: [1] } },
    patch: [
      { op: 'copy', from: '/a', path: '/c' },
      { op: 'add', path: '/c/b/-', value: 2 },
    ],
    expected: { a: { b: [1] }, c: { b: [1, 2] } },
  },
  { name: 'copy from a missing path', doc: { a: 1 }, patch: [{ op: 'copy', from: '/x', path: '/c' }], error: 422 },
  { name: 'move from a missing path', doc: { a: 1 }, patch: [{ op: 'move', from: '/x', path: '/c' }], error: 422 },
  {
    name: 'move into its own child',
    doc: { a: { b: 1 } },
    patch: [{ op: 'move', from: '/a', path: '/a/b/c' }],
    error: 400,
  },
  {
    name: 'move onto itself is a no-op',
    doc: { a: 1 },
    patch: [{ op: 'move', from: '/a', path: '/a' }],
    expected: { a: 1 },
  },
  {
    name: 'move to a missing parent fails',
    doc: { a: 1 },
    patch: [{ op: 'move', from: '/a', path: '/x/y' }],
    error: 422,
  },
  { name: 'remove a missing member', doc: { a: 1 }, patch: [{ op: 'remove', path: '/b' }], error: 422 },
  { name: 'replace a missing member', doc: { a: 1 }, patch: [{ op: 'replace', path: '/b', value: 2 }], error: 422 },
  {
    name: 'replace the whole document',
    doc: { a: 1 },
    patch: [{ op: 'replace', path: '', value: [1] }],
    expected: [1],
  },
  {
    name: 'add at the end index of an array',
    doc: { a: [1] },
    patch: [{ op: 'add', path: '/a/1', value: 2 }],
    expected: { a: [1, 2] },
  },
  { name: 'add past the end of an array', doc: { a: [1] }, patch: [{ op: 'add', path: '/a/2', value: 2 }], error: 422 },
  { name: 'replace out of bounds', doc: { a: [1] }, patch: [{ op: 'replace', path: '/a/1', value: 2 }], error: 422 },
  {
    name: 'leading zero index rejected',
    doc: { a: [1, 2] },
    patch: [{ op: 'replace', path: '/a/01', value: 3 }],
    error: 422,
  },
  {
    name: 'leading zero key is fine on objects',
    doc: { a: { '01': 1 } },
    patch: [{ op: 'replace', path: '/a/01', value: 3 }],
    expected: { a: { '01': 3 } },
  },
  { name: '- is only for add', doc: { a: [1] }, patch: [{ op: 'replace', path: '/a/-', value: 3 }], error: 422 },
  { name: 'remove with - fails', doc: { a: [1] }, patch: [{ op: 'remove', path: '/a/-' }], error: 422 },
  { name: 'non-numeric array index', doc: { a: [1] }, patch: [{ op: 'add', path: '/a/x', value: 3 }], error: 422 },
  { name: 'negative array index', doc: { a: [1] }, patch: [{ op: 'add', path: '/a/-1', value: 3 }], error: 422 },
  {
    name: 'test numbers 1 and 1.0 are equal',
    doc: { n: 1 },
    patch: [{ op: 'test', path: '/n', value: 1.0 }],
    expected: { n: 1 },
  },
  {
    name: 'test objects ignore member order',
    doc: { o: { a: 1, b: [1, { c: 2 }] } },
    patch: [{ op: 'test', path: '/o', value: { b: [1, { c: 2 }], a: 1 } }],
    expected: { o: { a: 1, b: [1, { c: 2 }] } },
  },
  {
    name: 'test arrays are ordered',
    doc: { a: [1, 2] },
    patch: [{ op: 'test', path: '/a', value: [2, 1] }],
    error: 422,
  },
  { name: 'test null vs missing', doc: { a: null }, patch: [{ op: 'test', path: '/b', value: null }], error: 422 },
  { name: 'test null', doc: { a: null }, patch: [{ op: 'test', path: '/a', value: null }], expected: { a: null } },
  {
    name: 'test the whole document',
    doc: { a: 1 },
    patch: [{ op: 'test', path: '', value: { a: 1 } }],
    expected: { a: 1 },
  },
  {
    name: 'a value with a hasOwnProperty member',
    doc: { a: { hasOwnProperty: 1 } },
    patch: [{ op: 'test', path: '/a', value: { hasOwnProperty: 1 } }],
    expected: { a: { hasOwnProperty: 1 } },
  },
  {
    name: 'inherited members do not exist',
    doc: { a: {} },
    patch: [{ op: 'remove', path: '/a/toString' }],
    error: 422,
  },
  {
    name: 'inherited members cannot be tested',
    doc: {},
    patch: [{ op: 'test', path: '/valueOf', value: {} }],
    error: 422,
  },
  { name: 'add into a primitive', doc: { a: 'x' }, patch: [{ op: 'add', path: '/a/b', value: 1 }], error: 422 },
  {
    name: 'add replaces an existing member',
    doc: { a: 1 },
    patch: [{ op: 'add', path: '/a', value: 2 }],
    expected: { a: 2 },
  },
  { name: 'removing the document is refused', doc: { a: 1 }, patch: [{ op: 'remove', path: '' }], error: 422 },
  { name: 'empty patch', doc: { a: 1 }, patch: [], expected: { a: 1 } },
  {
    name: 'a later failure fails the whole patch',
    doc: { a: 1 },
    patch: [
      { op: 'add', path: '/b', value: 2 },
      { op: 'test', path: '/a', value: 2 },
    ],
    error: 422,
  },
  { name: 'unknown op', doc: {}, patch: [{ op: 'frobnicate', path: '/a' }], error: 400 },
  { name: 'missing op', doc: {}, patch: [{ path: '/a' }], error: 400 },
  { name: 'missing path', doc: {}, patch: [{ op: 'add', value: 1 }], error: 400 },
  { name: 'missing value', doc: {}, patch: [{ op: 'add', path: '/a' }], error: 400 },
  { name: 'missing from', doc: { a: 1 }, patch: [{ op: 'copy', path: '/b' }], error: 400 },
  { name: 'path without leading slash', doc: {}, patch: [{ op: 'add', path: 'a', value: 1 }], error: 400 },
  { name: 'bad ~ escape', doc: {}, patch: [{ op: 'add', path: '/a~2', value: 1 }], error: 400 },
  { name: 'trailing ~', doc: {}, patch: [{ op: 'add', path: '/a~', value: 1 }], error: 400 },
  { name: 'non-string path', doc: {}, patch: [{ op: 'add', path: 1, value: 1 }], error: 400 },
  { name: 'op that is not an object', doc: {}, patch: ['add'], error: 400 },
  {
    name: 'syntax errors win over failing earlier ops',
    doc: {},
    patch: [
      { op: 'test', path: '/x', value: 1 },
      { op: 'nope', path: '' },
    ],
    error: 400,
  },
];

describe('applyJsonPatch conformance', () => {
  for (const c of cases) {
    it(c.name, () => {
      const before = structuredClone(c.doc);
      if (c.error) {
        const e = failure(() => applyJsonPatch(c.doc, c.patch));
        expect(e.code).toBe(c.error);
        expect(e.reason).toBe(c.error === 400 ? 'BadRequest' : 'Invalid');
      } else {
        expect(applyJsonPatch(c.doc, c.patch)).toEqual(c.expected);
      }
      expect(c.doc).toEqual(before);
    });
  }
});

describe('applyJsonPatch behaviour', () => {
  it('never mutates the document or aliases the patch values', () => {
    const doc = Object.freeze({ spec: Object.freeze({ list: Object.freeze([1]) }) });
    const value = { deep: { x: 1 } };
    const out = applyJsonPatch(doc, [
      { op: 'add', path: '/spec/v', value },
      { op: 'add', path: '/spec/list/-', value: 2 },
    ]) as {
      spec: { v: { deep: { x: number } }; list: number[] };
    };
    expect(out.spec.list).toEqual([1, 2]);
    expect(doc.spec.list).toEqual([1]);
    out.spec.v.deep.x = 5;
    expect(value.deep.x).toBe(1);
  });

  it('bodies that are not arrays are 400', () => {
    expect(failure(() => applyJsonPatch({}, { op: 'add' })).code).toBe(400);
    expect(failure(() => applyJsonPatch({}, null)).code).toBe(400);
  });

  it(`more than ${MAX_JSON_PATCH_OPERATIONS} operations is 413`, () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '', value: {} }));
    const e = failure(() => applyJsonPatch({}, ops));
    expect(e.code).toBe(413);
    expect(e.reason).toBe('RequestEntityTooLarge');
    expect(e.message).toBe('The allowed maximum operations in a JSON patch is 10000, got 10001');
    expect(applyJsonPatch({}, ops.slice(1))).toEqual({});
  });

  it('names the operation index and path in 422 messages', () => {
    expect(
      failure(() =>
        applyJsonPatch({ spec: {} }, [
          { op: 'test', path: '/spec', value: {} },
          { op: 'remove', path: '/spec/x' },
        ]),
      ).message,
    ).toBe('jsonpatch remove operation [1] does not apply: doc is missing path: "/spec/x"');
    expect(failure(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).message).toBe(
      'jsonpatch test operation [0] failed: the value at "/a" is not equal to the given value',
    );
  });

  for (const path of [
    '/__proto__/polluted',
    '/constructor/prototype/polluted',
    '/a/prototype',
    '/constructor',
    '/__proto__',
  ]) {
    it(`refuses ${path} and does not pollute Object.prototype`, () => {
      for (const op of [
        { op: 'add', path, value: 'yes' },
        { op: 'replace', path, value: 'yes' },
        { op: 'copy', from: '/a', path },
        { op: 'move', from: path, path: '/b' },
      ]) {
        const e = failure(() => applyJsonPatch({ a: { prototype: {} } }, [op]));
        expect(e.code).toBe(400);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });
  }

  it('keeps documents with own __proto__ members safe', () => {
    const { value } = parseJsonStrict('{"__proto__":{"polluted":1},"a":1}');
    const out = applyJsonPatch(value, [{ op: 'add', path: '/b', value: 2 }]) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('applyJsonPatch copy budget', () => {
  const doubling = (n: number) => [
    { op: 'add', path: '/z', value: ['x'.repeat(1000)] },
    ...Array.from({ length: n }, () => ({ op: 'copy', from: '/z', path: '/z/-' })),
  ];

  it('refuses copies that together pass the limit with 413, before building the result', () => {
    const e = failure(() => applyJsonPatch({}, doubling(40)));
    expect(e.code).toBe(413);
    expect(e.reason).toBe('RequestEntityTooLarge');
    expect(e.message).toContain(`exceeds the limit of ${MAX_JSON_PATCH_COPY_BYTES} bytes`);
    // each copy nests /z into itself, doubling it: 11 doublings of 1 KB is about 2 MB, under the limit
    expect(JSON.stringify(applyJsonPatch({}, doubling(11))).length).toBeGreaterThan(2_000_000);
  });

  it('counts every copy, small ones included, against a configurable limit', () => {
    const ops = Array.from({ length: 20 }, (_, i) => ({ op: 'copy', from: '/a', path: `/b${i}` }));
    expect(() => applyJsonPatch({ a: 'x'.repeat(8) }, ops, 200)).not.toThrow();
    expect(failure(() => applyJsonPatch({ a: 'x'.repeat(8) }, ops, 150)).code).toBe(413);
  });

  it('sizes values as their JSON encoding, stopping at the cap', () => {
    expect(jsonSizeUpTo({ a: [1, 'bc', null, true] }, 1e9)).toBe(JSON.stringify({ a: [1, 'bc', null, true] }).length);
    const huge = Array.from({ length: 100_000 }, () => 'x'.repeat(10));
    expect(jsonSizeUpTo(huge, 1000)).toBeGreaterThan(1000);
    expect(jsonSizeUpTo(huge, 1e9)).toBe(JSON.stringify(huge).length);
  });
});

describe('applyMergePatch (RFC 7386)', () => {
  // RFC 7386 appendix A
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  cases.forEach(([doc, patch, want], i) => {
    it(`RFC 7386 example ${i + 1}`, () => {
      const d0 = structuredClone(doc);
      const p0 = structuredClone(patch);
      expect(applyMergePatch(doc, patch)).toEqual(want);
      expect(doc).toEqual(d0);
      expect(patch).toEqual(p0);
    });
  });

  it('keeps nulls inside arrays and does not alias the patch', () => {
    const patch = { a: [null, { x: 1 }] };
    const out = applyMergePatch({}, patch) as { a: [null, { x: number }] };
    expect(out).toEqual({ a: [null, { x: 1 }] });
    out.a[1].x = 2;
    expect(patch.a[1]).toEqual({ x: 1 });
  });

  it('works on frozen documents', () => {
    const doc = Object.freeze({ metadata: Object.freeze({ labels: Object.freeze({ a: '1' }) }) });
    expect(applyMergePatch(doc, { metadata: { labels: { a: null, b: '2' } } })).toEqual({
      metadata: { labels: { b: '2' } },
    });
  });

  it('refuses __proto__ keys without polluting', () => {
    const { value } = parseJsonStrict('{"__proto__":{"polluted":1}}');
    const e = failure(() => applyMergePatch({}, value));
    expect(e.code).toBe(400);
    const nested = parseJsonStrict('{"a":{"__proto__":{"polluted":1}}}').value;
    expect(failure(() => applyMergePatch({ a: {} }, nested)).code).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('treats constructor and other inherited names as plain members', () => {
    expect(applyMergePatch({}, { constructor: 'x', toString: null })).toEqual({ constructor: 'x' });
  });
});
