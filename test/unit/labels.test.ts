import { describe, it, expect } from 'vitest';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  labelSelectorFromLabelSelectorObject,
  parseLabelSelector,
  validateLabelKey,
  validateLabelValue,
} from '../../src/machinery/labels.js';
import { StatusError } from '../../src/machinery/errors.js';

function parseError(s: string): StatusError {
  try {
    parseLabelSelector(s);
  } catch (e) {
    expect(e).toBeInstanceOf(StatusError);
    return e as StatusError;
  }
  throw new Error(`selector ${JSON.stringify(s)} parsed but should not`);
}

const NAME_PART_REGEX =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_REGEX =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe('parseLabelSelector: matching', () => {
  const labels = { app: 'web', tier: 'front', count: '7', empty: '' };
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['', labels, true],
    ['   ', undefined, true],
    ['app=web', labels, true],
    ['app==web', labels, true],
    ['app=db', labels, false],
    ['app!=db', labels, true],
    ['app!=web', labels, false],
    ['missing!=x', labels, true],
    ['app in (web,db)', labels, true],
    ['app in (db)', labels, false],
    ['missing in (a)', labels, false],
    ['app notin (db)', labels, true],
    ['app notin (web)', labels, false],
    ['missing notin (a)', labels, true],
    ['app', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['count>5', labels, true],
    ['count>7', labels, false],
    ['count<8', labels, true],
    ['app>1', labels, false], // value not an integer -> no match
    ['missing<1', labels, false],
    ['empty=', labels, true],
    ['empty in ()', labels, true],
    ['app=web,tier=front', labels, true],
    ['app=web,tier=back', labels, false],
    ['  app = web ,  tier in ( front , back ) ', labels, true],
    ['in=x', { in: 'x' }, true], // keywords are identifiers in key position
    ['k=in', { k: 'in' }, true],
    ['x in (a,,b)', { x: '' }, true],
    ['x in (,a)', { x: '' }, true],
    ['x in (a,)', { x: '' }, true],
    ['app', undefined, false],
    ['!app', undefined, true],
  ];
  for (const [sel, ls, want] of cases) {
    it(`${JSON.stringify(sel)} on ${JSON.stringify(ls)} -> ${want}`, () => {
      expect(parseLabelSelector(sel).matches(ls)).toBe(want);
    });
  }

  it('does not match inherited properties', () => {
    expect(parseLabelSelector('toString').matches({})).toBe(false);
    expect(parseLabelSelector('!constructor').matches({})).toBe(true);
  });

  it('reports empty and requirements sorted by key with sorted unique values', () => {
    expect(parseLabelSelector('').empty).toBe(true);
    const s = parseLabelSelector('z=1,a in (c,b,c),!m');
    expect(s.empty).toBe(false);
    expect(s.requirements).toEqual([
      { key: 'a', operator: 'in', values: ['b', 'c'] },
      { key: 'm', operator: '!', values: [] },
      { key: 'z', operator: '=', values: ['1'] },
    ]);
    expect(s.toString()).toBe('a in (b,c),!m,z=1');
  });

  it('prints every operator like kube', () => {
    expect(parseLabelSelector('a==1,b!=2,c notin (x),d,e>3,f<4').toString()).toBe('a==1,b!=2,c notin (x),d,e>3,f<4');
  });

  it('compares Gt/Lt as 64-bit integers', () => {
    expect(parseLabelSelector('n>9007199254740992').matches({ n: '9007199254740993' })).toBe(true);
    expect(parseLabelSelector('n<10').matches({ n: '007' })).toBe(true);
  });
});

describe('parseLabelSelector: errors', () => {
  const cases: [string, string][] = [
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['foo=bar=42', "found '=', expected: ',' or 'end of string'"],
    [',', "found ',', expected: !, identifier, or 'end of string'"],
    ['a=b,', "found '', expected: identifier after ','"],
    ['a=b,,c', "found ',', expected: identifier after ','"],
    ['e!!!!!ss', "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"],
    ['a x', "unable to parse requirement: found 'x', expected: in, notin, =, ==, !=, gt, lt"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['a in (b,=)', "unable to parse requirement: found '=', expected: ',', or identifier"],
    ['a=(b)', "unable to parse requirement: found '(', expected: identifier"],
    ['! =a', "unable to parse requirement: found '=', expected: identifier"],
    ['!=a', "found '!=', expected: !, identifier, or 'end of string'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['app: nginx', `unable to parse requirement: <nil>: Invalid value: "app:": ${NAME_PART_REGEX}`],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a=b@c', `unable to parse requirement: values[0][a]: Invalid value: "b@c": ${LABEL_VALUE_REGEX}`],
    [
      'a>b',
      `unable to parse requirement: values[0]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
    [
      'a>b@',
      `unable to parse requirement: [values[0]: Invalid value: "b@": for 'Gt', 'Lt' operators, the value must be an integer, values[0][a]: Invalid value: "b@": ${LABEL_VALUE_REGEX}]`,
    ],
    [
      'a/b/c',
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
  ];
  for (const [sel, msg] of cases) {
    it(JSON.stringify(sel), () => {
      const e = parseError(sel);
      expect(e.code).toBe(400);
      expect(e.reason).toBe('BadRequest');
      expect(e.message).toBe(msg);
    });
  }
});

describe('validateLabelKey / validateLabelValue', () => {
  it('accepts qualified names with DNS prefixes', () => {
    for (const k of [
      'a',
      'A_b.c-d',
      'example.com/Name',
      'cluster.x-k8s.io/cluster-name',
      'x'.repeat(63),
      `${'a'.repeat(253)}/b`,
    ]) {
      expect(validateLabelKey(k)).toEqual([]);
    }
  });

  it('rejects bad keys with kube details', () => {
    expect(validateLabelKey('')).toEqual(['name part must be non-empty', NAME_PART_REGEX]);
    expect(validateLabelKey('x'.repeat(64))).toEqual(['name part must be no more than 63 characters']);
    expect(validateLabelKey('/a')).toEqual(['prefix part must be non-empty']);
    expect(validateLabelKey('Example.com/a')).toEqual([
      "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]);
    expect(validateLabelKey(`${'a'.repeat(254)}/b`)).toEqual(['prefix part must be no more than 253 characters']);
    expect(validateLabelKey('-a')).toEqual([NAME_PART_REGEX]);
  });

  it('values may be empty, <= 63, alnum at both ends', () => {
    expect(validateLabelValue('')).toEqual([]);
    expect(validateLabelValue('v1.2_3-x')).toEqual([]);
    expect(validateLabelValue('a'.repeat(64))).toEqual(['must be no more than 63 characters']);
    expect(validateLabelValue('a-')).toEqual([LABEL_VALUE_REGEX]);
    expect(validateLabelValue('a b')).toEqual([LABEL_VALUE_REGEX]);
  });

  it('DNS label and subdomain helpers', () => {
    expect(isDNS1123Subdomain('a.b-c')).toEqual([]);
    expect(isDNS1123Label('a-b')).toEqual([]);
    expect(isDNS1123Label('a.b')).toEqual(['must not contain dots']);
    expect(isDNS1123Label('a'.repeat(64))).toEqual(['must be no more than 63 characters']);
    expect(isDNS1123Label('A')[0]).toMatch(/^a lowercase RFC 1123 label must consist/);
  });
});

describe('labelSelectorFromLabelSelectorObject', () => {
  it('null selects nothing, {} selects everything', () => {
    expect(labelSelectorFromLabelSelectorObject(null).matches({})).toBe(false);
    expect(labelSelectorFromLabelSelectorObject(undefined).matches({ a: 'b' })).toBe(false);
    const all = labelSelectorFromLabelSelectorObject({});
    expect(all.empty).toBe(true);
    expect(all.matches(undefined)).toBe(true);
  });

  it('combines matchLabels and matchExpressions', () => {
    const s = labelSelectorFromLabelSelectorObject({
      matchLabels: { zone: 'a' },
      matchExpressions: [
        { key: 'role', operator: 'In', values: ['cp', 'worker'] },
        { key: 'arch', operator: 'NotIn', values: ['arm64'] },
        { key: 'gpu', operator: 'Exists' },
        { key: 'broken', operator: 'DoesNotExist' },
      ],
    });
    expect(s.toString()).toBe('arch notin (arm64),!broken,gpu,role in (cp,worker),zone=a');
    expect(s.matches({ zone: 'a', role: 'cp', gpu: '' })).toBe(true);
    expect(s.matches({ zone: 'a', role: 'cp', gpu: '', arch: 'arm64' })).toBe(false);
    expect(s.matches({ zone: 'a', role: 'cp', gpu: '', broken: 'x' })).toBe(false);
    expect(s.matches({ zone: 'b', role: 'cp', gpu: '' })).toBe(false);
  });

  it('rejects invalid content with 400', () => {
    const msg = (sel: Parameters<typeof labelSelectorFromLabelSelectorObject>[0]) => {
      try {
        labelSelectorFromLabelSelectorObject(sel);
      } catch (e) {
        expect((e as StatusError).code).toBe(400);
        return (e as StatusError).message;
      }
      return 'no error';
    };
    expect(msg({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] })).toBe(
      '"Gt" is not a valid label selector operator',
    );
    expect(msg({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toBe(
      "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
    );
    expect(msg({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] })).toBe(
      'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
    );
    expect(msg({ matchLabels: { 'a b': 'x' } })).toBe(`key: Invalid value: "a b": ${NAME_PART_REGEX}`);
    expect(msg({ matchLabels: { a: 'x y' } })).toBe(`values[0][a]: Invalid value: "x y": ${LABEL_VALUE_REGEX}`);
  });
});
