import { describe, it, expect } from 'vitest';
import { parseContentType, parseMediaTypes } from '../../src/machinery/negotiate.js';

describe('parseMediaTypes', () => {
  it('absent or empty header is []', () => {
    expect(parseMediaTypes(undefined)).toEqual([]);
    expect(parseMediaTypes('')).toEqual([]);
    expect(parseMediaTypes('  ')).toEqual([]);
  });

  it("parses kubectl get's Table Accept header in order", () => {
    const h =
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    expect(parseMediaTypes(h)).toEqual([
      { type: 'application', subtype: 'json', params: { as: 'Table', v: 'v1', g: 'meta.k8s.io' }, q: 1 },
      { type: 'application', subtype: 'json', params: { as: 'Table', v: 'v1beta1', g: 'meta.k8s.io' }, q: 1 },
      { type: 'application', subtype: 'json', params: {}, q: 1 },
    ]);
  });

  it('parses the metadata client header, protobuf included', () => {
    const h =
      'application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
    const r = parseMediaTypes(h);
    expect(r.map((c) => `${c.type}/${c.subtype}`)).toEqual([
      'application/vnd.kubernetes.protobuf',
      'application/json',
      'application/json',
    ]);
    expect(r[1].params).toEqual({ as: 'PartialObjectMetadata', g: 'meta.k8s.io', v: 'v1' });
  });

  it('sorts by q, keeping the client order for ties', () => {
    const r = parseMediaTypes('text/plain;q=0.5, application/yaml, application/json;q=0.9, */*;q=0.1, application/xml');
    expect(r.map((c) => [`${c.type}/${c.subtype}`, c.q])).toEqual([
      ['application/yaml', 1],
      ['application/xml', 1],
      ['application/json', 0.9],
      ['text/plain', 0.5],
      ['*/*', 0.1],
    ]);
  });

  it('is whitespace tolerant, lower-cases names, keeps values', () => {
    expect(parseMediaTypes(' Application/JSON ; AS = Table ; g=meta.k8s.io ')).toEqual([
      { type: 'application', subtype: 'json', params: { as: 'Table', g: 'meta.k8s.io' }, q: 1 },
    ]);
  });

  it('handles quoted values containing separators', () => {
    expect(parseMediaTypes('a/b;x="1,2;3";y="q\\"uote",c/d')).toEqual([
      { type: 'a', subtype: 'b', params: { x: '1,2;3', y: 'q"uote' }, q: 1 },
      { type: 'c', subtype: 'd', params: {}, q: 1 },
    ]);
  });

  it('wildcards, bad q values and malformed alternatives', () => {
    expect(parseMediaTypes('*')).toEqual([{ type: '*', subtype: '*', params: {}, q: 1 }]);
    expect(parseMediaTypes('application/*')[0]).toMatchObject({ type: 'application', subtype: '*' });
    expect(parseMediaTypes('a/b;q=abc')[0].q).toBe(0);
    expect(parseMediaTypes('a/b;q=7')[0].q).toBe(1);
    expect(parseMediaTypes('a/b;q=0')[0].q).toBe(0);
    expect(parseMediaTypes('garbage, a/b/c, /x, y/, ,a/b;novalue')).toEqual([
      { type: 'a', subtype: 'b', params: {}, q: 1 },
    ]);
  });

  it('keeps __proto__ as a plain parameter', () => {
    const r = parseMediaTypes('a/b;__proto__=x');
    expect(Object.getPrototypeOf(r[0].params)).toBe(Object.prototype);
    expect(Object.keys(r[0].params)).toEqual(['__proto__']);
  });
});

describe('parseContentType', () => {
  it('returns the lower-cased media type and params', () => {
    expect(parseContentType('application/json')).toEqual({ mediaType: 'application/json', params: {} });
    expect(parseContentType('Application/Merge-Patch+JSON; charset=UTF-8')).toEqual({
      mediaType: 'application/merge-patch+json',
      params: { charset: 'UTF-8' },
    });
    expect(parseContentType('application/apply-patch+yaml')).toEqual({
      mediaType: 'application/apply-patch+yaml',
      params: {},
    });
  });

  it("absent is '' and malformed comes back as text", () => {
    expect(parseContentType(undefined)).toEqual({ mediaType: '', params: {} });
    expect(parseContentType('')).toEqual({ mediaType: '', params: {} });
    expect(parseContentType('Nonsense;x=1')).toEqual({ mediaType: 'nonsense', params: { x: '1' } });
  });
});
