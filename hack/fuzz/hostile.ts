// Hostile values: strings, numbers, names and query parameter values that are borderline or wrong,
// next to valid ones, so each parameter is tried on both sides of its rules.
import type { Rng } from './rng.js';

/** strings that have broken parsers, encoders and header writers before */
export function hostileString(rng: Rng): string {
  return rng.pick<() => string>([
    () => '',
    () => ' ',
    () => '\u0000',
    () => 'a\u0000b',
    () => '\uFFFD',
    () => 'bad\uFFFDname',
    () => '\uD800', // a lone surrogate: UTF-8 encoding turns it into U+FFFD
    () => '\uDC00x\uD83D',
    () => '\u202Eevil\u202C', // right-to-left override
    () => '\u0645\u0631\u062D\u0628\u0627', // Arabic
    () => 'e\u0301\u0301\u0301', // combining marks
    () => '\u200B\u200D\uFEFF',
    () => '😀'.repeat(rng.range(1, 40)),
    () => 'x'.repeat(rng.pick([63, 64, 253, 254, 1024, 70_000])),
    () => '"quoted" \\ back\\slash',
    () => '\r\nInjected: header',
    () => '${jndi:ldap://127.0.0.1/x}',
    () => '../../etc/passwd',
    () => '%00%2F%2e%2e',
    () => '<script>alert(1)</script>',
    () => '-1',
    () => '1e309',
    () => 'null',
    () => 'true',
    () => '{"a":1}',
    () => '!!binary aGVsbG8=',
    () => '*alias',
    () => '&anchor x',
    () => 'a'.repeat(rng.range(1, 8)) + '/' + 'b',
    () => String.fromCharCode(...Array.from({ length: rng.range(1, 12) }, () => rng.int(0x80))),
  ])();
}

/** numbers at and past the edges JSON, JS and Go disagree on */
export function hostileNumber(rng: Rng): number | string {
  return rng.pick<number | string>([
    0,
    -0,
    -1,
    1,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53),
    2 ** 63,
    1e308,
    -1e308,
    5e-324,
    0.5,
    1.5,
    3.14159,
    // raw number texts: spliced into JSON as written (precision and range are the parser's problem)
    '9007199254740993',
    '123456789012345678901234567890',
    '1e309',
    '-1e309',
    '1E+2',
    '0.0000000000000000000001',
    '-0.0',
  ]);
}

/** object names: mostly from a small pool (so writes collide), else invalid or odd */
export function objectName(rng: Rng, pool: readonly string[]): string {
  if (rng.chance(0.85)) return rng.pick(pool);
  return rng.pick([
    'UPPER',
    'under_score',
    '-lead',
    'trail-',
    'a..b',
    '.',
    '..',
    'a.b.c',
    'x'.repeat(253),
    'x'.repeat(254),
    'x'.repeat(64),
    '1',
    'with space',
    'é',
    'a/b',
    'a%b',
    'fuzz-\u0000',
    '\uFFFD',
    'name:colon',
    '~tilde',
    '',
  ]);
}

/** a path segment for `name`: percent-encoded, except sometimes raw or double-encoded */
export function pathSegment(rng: Rng, name: string): string {
  const enc = percentEncode(name);
  return rng.weighted<string>([
    [10, enc],
    [1, encodeURIComponent(enc)], // double encoding
    [1, name.replace(/[^\x21-\x7e]/g, (c) => percentEncode(c))], // raw where the client allows it
    [
      1,
      [...name]
        .map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
        .join('')
        .slice(0, 600),
    ], // every byte escaped
  ]);
}

/**
 * Percent-encoding that also takes lone surrogates, as their WTF-8 bytes (%ED%A0%80 for U+D800):
 * escapes that decode to no valid UTF-8, which servers have choked on.
 */
export function percentEncode(v: string): string {
  return v
    .replace(/[\uD800-\uDFFF]/g, (c, i: number) => {
      const code = c.charCodeAt(0);
      const pairedHigh = code < 0xdc00 && /[\uDC00-\uDFFF]/.test(v[i + 1] ?? '');
      const pairedLow = code >= 0xdc00 && /[\uD800-\uDBFF]/.test(v[i - 1] ?? '');
      if (pairedHigh || pairedLow) return c;
      return `\uE000${[0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('')}\uE000`;
    })
    .split('\uE000')
    .map((part, i) => (i % 2 === 1 ? part : encodeURIComponent(part)))
    .join('');
}

/** a query value the client can send (percent-encoded) */
export function q(v: string): string {
  return percentEncode(v);
}

/** base64url JSON: a continue token the server might have made, or close to one */
export function continueToken(rng: Rng): string {
  const shapes: unknown[] = [
    { v: 'meta.k8s.io/v1', rv: rng.range(1, 50), start: rng.pick(['', 'default/', 'default/a', 'fuzz-a/x\u0000']) },
    { v: 'meta.k8s.io/v1', rv: rng.pick([0, -1, 1.5, 2 ** 53, 1e300, 9007199254740993]), start: '' },
    { v: 'meta.k8s.io/v1', rv: 3, start: rng.pick(['../../x', '/abs', '..', '\uFFFD', 'x'.repeat(5000)]) },
    { v: 'meta.k8s.io/v2', rv: 3, start: '' },
    { rv: '3', start: 3 },
    [1, 2, 3],
    'str',
    null,
  ];
  const raw = rng.chance(0.8) ? JSON.stringify(rng.pick(shapes)) : hostileString(rng);
  return Buffer.from(raw).toString(rng.chance(0.8) ? 'base64url' : 'base64');
}
