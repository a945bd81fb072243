// No generated CRD carries a default that its own schema refuses: the check kube-apiserver makes
// when the CRD is applied (test/helpers/crd-defaults.ts), run offline over what `npm run gen:crds`
// writes and over the committed files, and pinned on schemas built to break each rule.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderCRDs } from '../../hack/gen-crds.js';
import { allKinds } from '../../src/api/index.js';
import { countDefaults, crdDefaultProblems, type Schema } from '../helpers/crd-defaults.js';

const DIR = join(import.meta.dirname, '../../manifests/crds');

function versionsOf(crdText: string): { name: string; schema: Schema }[] {
  const crd = parse(crdText);
  return crd.spec.versions.map((v: any) => ({ name: v.name, schema: v.schema.openAPIV3Schema }));
}

describe('generated CRD defaults are valid against their own schemas (kube-apiserver refuses the CRD otherwise)', () => {
  const rendered = renderCRDs();

  for (const kind of allKinds) {
    const file = `${kind.plural}.${kind.group}.yaml`;
    it(file, () => {
      for (const text of [rendered.get(file)!, readFileSync(join(DIR, file), 'utf8')]) {
        for (const v of versionsOf(text)) {
          const shownProblems = crdDefaultProblems(v.schema).map((p) => `${p.field}: ${p.message}`);
          expect(shownProblems, `${file} ${v.name}`).toEqual([]);
        }
      }
    });
  }

  it('the walk reaches defaults: the kinds carry some, on objects, booleans, strings and enums', () => {
    const total = allKinds.reduce(
      (n, k) =>
        n + versionsOf(rendered.get(`${k.plural}.${k.group}.yaml`)!).reduce((m, v) => m + countDefaults(v.schema), 0),
      0,
    );
    expect(total).toBeGreaterThan(10);
  });

  it('Server: a bare spec defaults to a spec that has its required accepted field', () => {
    const [v] = versionsOf(rendered.get('servers.metal.sidero.dev.yaml')!);
    const spec = v!.schema.properties.spec;
    expect(spec.required).toContain('accepted');
    expect(spec.default).toEqual({ accepted: false });
  });
});

describe('the default check applies kube-apiserver’s rules', () => {
  const at = (schema: Schema) => crdDefaultProblems({ type: 'object', properties: { spec: schema } });

  it('refuses {} on an object that requires a field, even one with a default of its own (the Server bug)', () => {
    expect(
      at({
        type: 'object',
        default: {},
        required: ['accepted'],
        properties: { accepted: { type: 'boolean', default: false }, cordoned: { type: 'boolean', default: false } },
      }),
    ).toEqual([{ field: 'openAPIV3Schema.properties[spec].default.accepted', message: 'Required value' }]);
  });

  it('refuses unknown fields (pruning would drop them), except where the schema preserves them', () => {
    const schema = { type: 'object', default: { known: 'a', extra: 1 }, properties: { known: { type: 'string' } } };
    expect(at(schema)).toEqual([
      {
        field: 'openAPIV3Schema.properties[spec].default',
        message: 'Invalid value: {"known":"a","extra":1}: must not have unknown fields',
      },
    ]);
    expect(at({ ...schema, 'x-kubernetes-preserve-unknown-fields': true })).toEqual([]);
    expect(at({ ...schema, additionalProperties: { type: 'integer' } })).toEqual([]);
    // deep: an unknown field inside a nested object or a list item
    expect(
      at({
        type: 'object',
        default: { list: [{ a: 1, b: 2 }] },
        properties: { list: { type: 'array', items: { type: 'object', properties: { a: { type: 'integer' } } } } },
      }),
    ).toHaveLength(1);
  });

  it('refuses wrong types, null where not nullable, values outside enums, bounds and lengths', () => {
    expect(at({ type: 'boolean', default: 'false' })).toEqual([
      { field: 'openAPIV3Schema.properties[spec].default', message: 'Invalid value: "false": must be of type boolean' },
    ]);
    expect(at({ type: 'integer', default: 1.5 })).toHaveLength(1);
    expect(at({ type: 'string', default: null })).toHaveLength(1);
    expect(at({ type: 'string', nullable: true, default: null })).toEqual([]);
    expect(at({ type: 'string', enum: ['uefi', 'bios'], default: 'efi' })).toEqual([
      {
        field: 'openAPIV3Schema.properties[spec].default',
        message: 'Unsupported value: "efi": supported values: "uefi", "bios"',
      },
    ]);
    expect(at({ type: 'integer', minimum: 1, default: 0 })).toHaveLength(1);
    expect(at({ type: 'string', maxLength: 2, default: 'abc' })).toHaveLength(1);
    expect(at({ type: 'string', pattern: '^[a-z]+$', default: 'A' })).toHaveLength(1);
    expect(at({ type: 'array', items: { type: 'string' }, maxItems: 1, default: ['a', 'b'] })).toHaveLength(1);
    expect(at({ type: 'string', format: 'date-time', default: 'yesterday' })).toHaveLength(1);
    expect(at({ 'x-kubernetes-int-or-string': true, default: 3 })).toEqual([]);
    expect(at({ 'x-kubernetes-int-or-string': true, default: true })).toHaveLength(1);
  });

  it('checks nested defaults on their own, and a default inside a list item or a map value', () => {
    const nested = at({
      type: 'object',
      properties: {
        mode: { type: 'string', enum: ['a'], default: 'b' },
        items: { type: 'array', items: { type: 'object', properties: { n: { type: 'integer', default: 'x' } } } },
        labels: { type: 'object', additionalProperties: { type: 'string', default: 5 } },
      },
    });
    expect(nested.map((p) => p.field)).toEqual([
      'openAPIV3Schema.properties[spec].properties[mode].default',
      'openAPIV3Schema.properties[spec].properties[items].items.properties[n].default',
      'openAPIV3Schema.properties[spec].properties[labels].additionalProperties.default',
    ]);
  });

  it('accepts a default that satisfies its schema, required fields included', () => {
    expect(
      at({
        type: 'object',
        default: { accepted: false },
        required: ['accepted'],
        properties: { accepted: { type: 'boolean', default: false } },
      }),
    ).toEqual([]);
  });
});
