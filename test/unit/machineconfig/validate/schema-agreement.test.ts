// The validator's field tables against upstream Talos's own schemas, both ways, for every kind of
// every release 1.8 to 1.14: each document is built from the schema with every property at once
// (schema-values.ts), and then
//   - with schema-valid values (every enum value in turn) the validator refuses nothing as unknown,
//     mistyped, out of its enum or missing;
//   - an unknown key in every object, a wrong type at every leaf and container, a value outside
//     every enum and every required key missing: the validator refuses each at its path, and the
//     schema refuses each too;
//   - the next release's document on this release: exactly the keys this release's schema lacks are
//     refused as added later; the previous release's document: exactly the keys this schema dropped
//     get a deprecation warning (Talos still decodes them, so configs written for an older release
//     keep loading after an upgrade) and nothing else.
// Where the schema describes a field differently from what Talos decodes (SCHEMA_QUIRKS), the
// validator follows Talos; a test below pins each such difference in both directions.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { validateMachineConfig, type ConfigProblem } from '../../../../src/machineconfig/validate/index.js';
import { joinKey, joinPath } from '../../../../src/machineconfig/validate/problem.js';
import { describeWithTalosSchemas, type TalosSchema } from '../../../helpers/talos-schemas.js';
import { buildDocument, genericPath, pathSteps, SCHEMA_QUIRKS, setAt } from './schema-values.js';

/** The validator's messages about shape: unknown or deprecated keys and kinds, types, enums, required keys. */
const SHAPE_MESSAGE =
  /^(unknown key |unknown document kind |deprecated key |required: Talos |must be (a string|a boolean|an integer|a list|a mapping|one of: |between )|must have at least |"[^"]*" needs Talos |a list of values per flag needs Talos )/;

/** The validator's type messages (rules have messages of their own that start with "must be"). */
const TYPE_MESSAGE =
  /^must be (a string|a boolean \(true or false\)|an integer|an integer or a string|a list|a mapping|a mapping of flag names to values|a string or a list of strings)$/;

const UNKNOWN_KEY = 'zzUnknownKey';

function validate(doc: unknown, version: string): ConfigProblem[] {
  const problems = validateMachineConfig(stringify(doc), { talosVersion: `v${version}.0` });
  const crash = problems.find((p) => p.message.startsWith('the validator failed'));
  expect(crash, 'the validator must not fail on any input').toBeUndefined();
  return problems;
}

/** Where the validator reports a problem at `rel` of a lone document of `kind`. */
function reported(kind: string, rel: string): string {
  const label = kind === 'v1alpha1' ? '' : `documents[0] (${kind})`;
  const full = rel === '' ? label : label === '' ? rel : joinPath(label, rel);
  return full === '' ? '(config)' : full;
}

function shapeProblems(problems: ConfigProblem[]): string[] {
  return problems.filter((p) => SHAPE_MESSAGE.test(p.message)).map((p) => `${p.severity} ${p.path}: ${p.message}`);
}

function pathsOf(problems: ConfigProblem[], severity: 'error' | 'warning', message: RegExp): string[] {
  return [
    ...new Set(problems.filter((p) => p.severity === severity && message.test(p.message)).map((p) => p.path)),
  ].sort();
}

/** ajv's instancePath (a JSON pointer, `/a/b/0`) for a validator path relative to the document. */
function instancePath(rel: string): string {
  return pathSteps(rel)
    .map((step) => `/${String(step).replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');
}

function readAt(doc: unknown, path: string): unknown {
  return pathSteps(path).reduce<unknown>((node, step) => (node as Record<string | number, unknown>)[step], doc);
}

/** The schema's complaints, as the instance paths they are about. */
function schemaComplaintPaths(schema: TalosSchema, doc: unknown): string[] {
  return schema.documentErrors(doc).map((e) => e.slice(0, e.indexOf(':')).replace('(document)', ''));
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function byDepth<T extends { depth: number }>(items: T[]): T[][] {
  const levels = new Map<number, T[]>();
  for (const item of items) levels.set(item.depth, [...(levels.get(item.depth) ?? []), item]);
  return [...levels.entries()].sort(([a], [b]) => a - b).map(([, level]) => level);
}

/** The keys of `later` that `earlier` lacks, only the outermost of each branch. */
function outermostAbsent(later: Set<string>, earlier: Set<string>): string[] {
  const absent = [...later].filter((k) => !earlier.has(k));
  return absent.filter((k) => !absent.some((a) => a !== k && (k.startsWith(`${a}.`) || k.startsWith(`${a}[`)))).sort();
}

describeWithTalosSchemas('the validator agrees with upstream Talos schemas', (schemas) => {
  schemas.forEach((schema, index) => {
    const v = schema.version;
    const kinds = ['v1alpha1', ...schema.kinds()];

    describe(`Talos ${v}`, () => {
      it('knows every document kind of the schema, and no other', () => {
        for (const kind of schema.kinds()) {
          const problems = validate({ apiVersion: 'v1alpha1', kind }, v);
          expect(pathsOf(problems, 'error', /^unknown document kind/), kind).toEqual([]);
        }
        const problems = validate({ apiVersion: 'v1alpha1', kind: 'NoSuchConfig' }, v);
        expect(pathsOf(problems, 'error', /^unknown document kind/)).toEqual([reported('NoSuchConfig', '')]);
      });

      for (const kind of kinds) {
        it(`${kind}: accepts every property and every enum value the schema allows`, () => {
          const built = buildDocument(schema, kind);
          expect(schema.documentErrors(built.schemaValue)).toEqual([]);
          const most = Math.max(1, ...built.leaves.map((l) => l.node.enum?.length ?? 0));
          for (let i = 0; i < most; i++) {
            const variant = buildDocument(schema, kind, i);
            expect(schema.documentErrors(variant.schemaValue)).toEqual([]);
            expect(shapeProblems(validate(variant.value, v)), `enum values #${i}`).toEqual([]);
          }
        });

        it(`${kind}: refuses an unknown key in every object, where the schema does too`, () => {
          const built = buildDocument(schema, kind);
          const doc = clone(built.value);
          const schemaDoc = clone(built.schemaValue);
          for (const path of built.objects) {
            const keyPath = joinKey(path, UNKNOWN_KEY);
            setAt(doc, keyPath, 'x');
            setAt(schemaDoc, keyPath, 'x');
          }
          const expected = built.objects.map((p) => reported(kind, joinKey(p, UNKNOWN_KEY))).sort();
          expect(pathsOf(validate(doc, v), 'error', /^unknown key "zzUnknownKey"/)).toEqual(expected);
          const complaints = schema.documentErrors(schemaDoc);
          for (const path of built.objects)
            expect(complaints).toContain(
              `${instancePath(path) || '(document)'}: must NOT have additional properties ("${UNKNOWN_KEY}")`,
            );
        });

        it(`${kind}: refuses a wrong type at every leaf and every container, where the schema does too`, () => {
          const built = buildDocument(schema, kind);
          const wrong = (kindOf: string) => (kindOf === 'string' || kindOf === 'enum' ? { not: 'a scalar' } : 'text');
          const leafDoc = clone(built.value);
          const schemaLeafDoc = clone(built.schemaValue);
          for (const leaf of built.leaves) {
            const value = leaf.kind === 'intOrString' ? true : wrong(leaf.kind);
            setAt(leafDoc, leaf.path, value);
            setAt(schemaLeafDoc, leaf.path, value);
          }
          const leafPaths = built.leaves.map((l) => reported(kind, l.path)).sort();
          expect(pathsOf(validate(leafDoc, v), 'error', TYPE_MESSAGE)).toEqual(leafPaths);
          const leafComplaints = schemaComplaintPaths(schema, schemaLeafDoc);
          for (const leaf of built.leaves) expect(leafComplaints).toContain(instancePath(leaf.path));
          // containers one depth at a time: a replaced container hides what is inside it
          for (const level of byDepth(built.containers)) {
            const doc = clone(built.value);
            const schemaDoc = clone(built.schemaValue);
            for (const c of level) {
              setAt(doc, c.path, 'text');
              setAt(schemaDoc, c.path, 'text');
            }
            expect(pathsOf(validate(doc, v), 'error', TYPE_MESSAGE)).toEqual(
              level.map((c) => reported(kind, c.path)).sort(),
            );
            const complaints = schemaComplaintPaths(schema, schemaDoc);
            for (const c of level) expect(complaints).toContain(instancePath(c.path));
          }
        });

        it(`${kind}: refuses a value outside every enum and a missing required key, where the schema does too`, () => {
          const built = buildDocument(schema, kind);
          const enums = built.leaves.filter((l) => l.kind === 'enum');
          const doc = clone(built.value);
          const schemaDoc = clone(built.schemaValue);
          for (const leaf of enums) {
            setAt(doc, leaf.path, 'zz-not-an-option');
            setAt(schemaDoc, leaf.path, 'zz-not-an-option');
          }
          expect(pathsOf(validate(doc, v), 'error', /^must be one of: /)).toEqual(
            enums.map((l) => reported(kind, l.path)).sort(),
          );
          const complaints = schemaComplaintPaths(schema, schemaDoc);
          for (const leaf of enums) expect(complaints).toContain(instancePath(leaf.path));
          for (const level of byDepth(built.required)) {
            const missing = clone(built.value);
            const schemaMissing = clone(built.schemaValue);
            for (const r of level) {
              setAt(missing, r.path, undefined);
              setAt(schemaMissing, r.path, undefined);
            }
            expect(pathsOf(validate(missing, v), 'error', /^required: /)).toEqual(
              level.map((r) => reported(kind, r.path)).sort(),
            );
            expect(
              schema.documentErrors(schemaMissing).filter((e) => e.includes('must have required property')),
            ).toHaveLength(level.length);
          }
        });
      }

      const next = schemas[index + 1];
      if (next) {
        it(`refuses what Talos ${next.version} added, and nothing else of its documents`, () => {
          for (const kind of ['v1alpha1', ...next.kinds()]) {
            const later = buildDocument(next, kind);
            const problems = validate(later.value, v);
            if (!schema.definitionOfKind.has(kind)) {
              expect(pathsOf(problems, 'error', /^unknown document kind .* it was added in Talos v/), kind).toEqual([
                reported(kind, ''),
              ]);
              continue;
            }
            const expected = outermostAbsent(later.keys, buildDocument(schema, kind).keys).map((k) =>
              reported(kind, k),
            );
            expect(
              shapeProblems(problems).filter((p) => !p.includes(': unknown key ') || !p.includes('added in')),
              kind,
            ).toEqual([]);
            expect(pathsOf(problems, 'error', /^unknown key .* it was added in Talos v/), kind).toEqual(expected);
          }
        });
      }

      const previous = schemas[index - 1];
      if (previous) {
        it(`decodes what Talos ${previous.version} knew, warning where its keys are deprecated here`, () => {
          for (const kind of ['v1alpha1', ...previous.kinds()]) {
            const earlier = buildDocument(previous, kind);
            const problems = validate(earlier.value, v);
            const expected = outermostAbsent(earlier.keys, buildDocument(schema, kind).keys).map((k) =>
              reported(kind, k),
            );
            expect(pathsOf(problems, 'warning', /^deprecated key /), kind).toEqual(expected);
            expect(
              shapeProblems(problems).filter((p) => p.startsWith('error')),
              kind,
            ).toEqual([]);
          }
        });
      }
    });
  });

  describe('where the schema describes a field differently from what Talos decodes', () => {
    for (const schema of schemas) {
      it(`Talos ${schema.version}: the validator takes Talos's form and refuses the schema's, the schema the reverse`, () => {
        for (const kind of ['v1alpha1', ...schema.kinds()]) {
          const built = buildDocument(schema, kind);
          for (const path of built.quirks) {
            const quirk = Object.entries(SCHEMA_QUIRKS).find(([k]) => genericPath(path).endsWith(k))?.[1];
            expect(quirk, path).toBeDefined();
            // Talos's form: the validator is content (the acceptance test above), the schema is not
            expect(schemaComplaintPaths(schema, built.value), `${kind} ${path}`).toContain(instancePath(path));
            // the schema's form: the validator refuses it by type
            const schemaForm = clone(built.value);
            setAt(schemaForm, path, readAt(built.schemaValue, path));
            expect(pathsOf(validate(schemaForm, schema.version), 'error', TYPE_MESSAGE), `${kind} ${path}`).toContain(
              reported(kind, path),
            );
          }
        }
      });
    }
  });
});
