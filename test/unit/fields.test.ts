import { describe, it, expect } from 'vitest';
import { fieldLabelNotSupported, parseFieldSelector } from '../../src/machinery/fields.js';
import { StatusError } from '../../src/machinery/errors.js';

const obj: Record<string, string> = { 'metadata.name': 'srv-1', 'metadata.namespace': 'ns', 'spec.x': 'a,b=c\\d' };
const get = (f: string) => obj[f];

function errorOf(s: string): StatusError {
  try {
    parseFieldSelector(s);
  } catch (e) {
    expect(e).toBeInstanceOf(StatusError);
    return e as StatusError;
  }
  throw new Error(`${s} parsed`);
}

describe('parseFieldSelector', () => {
  it('empty selects everything', () => {
    const s = parseFieldSelector('');
    expect(s.empty).toBe(true);
    expect(s.matches(() => undefined)).toBe(true);
    expect(parseFieldSelector(',').empty).toBe(true);
  });

  it('=, == and != with AND semantics', () => {
    expect(parseFieldSelector('metadata.name=srv-1').matches(get)).toBe(true);
    expect(parseFieldSelector('metadata.name==srv-1').matches(get)).toBe(true);
    expect(parseFieldSelector('metadata.name!=srv-1').matches(get)).toBe(false);
    expect(parseFieldSelector('metadata.name=srv-1,metadata.namespace=ns').matches(get)).toBe(true);
    expect(parseFieldSelector('metadata.name=srv-1,metadata.namespace=other').matches(get)).toBe(false);
  });

  it('normalises == to = and sorts terms', () => {
    const s = parseFieldSelector('z==1,a!=2');
    expect(s.requirements).toEqual([
      { field: 'a', op: '!=', value: '2' },
      { field: 'z', op: '=', value: '1' },
    ]);
    expect(s.toString()).toBe('a!=2,z=1');
  });

  it('a missing field compares as the empty string', () => {
    expect(parseFieldSelector('spec.nope=').matches(get)).toBe(true);
    expect(parseFieldSelector('spec.nope!=x').matches(get)).toBe(true);
    expect(parseFieldSelector('spec.nope=x').matches(get)).toBe(false);
  });

  it('unescapes \\, \\= and \\\\ in values', () => {
    const s = parseFieldSelector('spec.x=a\\,b\\=c\\\\d');
    expect(s.requirements[0].value).toBe('a,b=c\\d');
    expect(s.matches(get)).toBe(true);
    expect(s.toString()).toBe('spec.x=a\\,b\\=c\\\\d');
  });

  it('the first operator wins and the field is not trimmed', () => {
    expect(parseFieldSelector('a!=b').requirements[0]).toEqual({ field: 'a', op: '!=', value: 'b' });
    expect(parseFieldSelector('metadata.name = x').requirements[0].field).toBe('metadata.name ');
  });

  it('syntax errors are 400 with kube text', () => {
    let e = errorOf('metadata.name');
    expect(e.code).toBe(400);
    expect(e.reason).toBe('BadRequest');
    expect(e.message).toBe("invalid selector: 'metadata.name'; can't understand 'metadata.name'");
    e = errorOf('a=b,c');
    expect(e.message).toBe("invalid selector: 'a=b,c'; can't understand 'c'");
    expect(errorOf('a=b\\x').message).toBe('invalid field selector: invalid escape sequence: \\x');
    expect(errorOf('a=b\\').message).toBe('invalid field selector: invalid escape sequence: \\');
    expect(errorOf('a=b=c').message).toBe('invalid field selector: unescaped character in value: 61');
  });

  it('fieldLabelNotSupported is a 400', () => {
    const e = fieldLabelNotSupported('spec.foo');
    expect(e.toStatus()).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'field label not supported: spec.foo',
    });
  });
});
