// manifests/crds is generated from the kinds: the committed files must be what the generator writes
// now, and each must be a structural CRD of the kind as the server serves it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderCRDs } from '../../hack/gen-crds.js';
import { allKinds } from '../../src/api/index.js';

const DIR = join(import.meta.dirname, '../../manifests/crds');

function walk(node: unknown, visit: (key: string, value: unknown) => void): void {
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    visit(k, v);
    walk(v, visit);
  }
}

describe('generated CRDs', () => {
  const rendered = renderCRDs();

  it('are up to date (run `npm run gen:crds` after changing a kind)', () => {
    expect(readdirSync(DIR).sort()).toEqual([...rendered.keys()].sort());
    for (const [name, text] of rendered) expect(readFileSync(join(DIR, name), 'utf8'), name).toBe(text);
  });

  for (const kind of allKinds) {
    it(`${kind.plural}.${kind.group} matches the kind`, () => {
      const crd = parse(rendered.get(`${kind.plural}.${kind.group}.yaml`)!);
      expect(crd.spec).toMatchObject({
        group: kind.group,
        scope: kind.namespaced ? 'Namespaced' : 'Cluster',
        names: { kind: kind.kind, plural: kind.plural },
      });
      const v = crd.spec.versions[0];
      expect(v).toMatchObject({ name: kind.version, served: true, storage: true, subresources: { status: {} } });
      expect(v.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual(kind.columns.map((c) => c.name));
      const schema = v.schema.openAPIV3Schema;
      expect(schema.properties.metadata).toEqual({ type: 'object' });
      expect(Object.keys(schema.properties.spec.properties).sort()).toEqual(
        Object.keys(kind.schema.properties.spec!.properties!).sort(),
      );
      walk(schema, (k) => expect(k.startsWith('x-') ? k.startsWith('x-kubernetes-') : true, k).toBe(true));
    });
  }
});
