// Everything a clone holds must make sense with only the clone: no file may point at documents
// outside the repository (a sibling "shared" folder, section numbers of documents that are not
// here) or at the "seeds" the project was started from. Comments, docs, OpenAPI descriptions and
// error messages state the fact itself; a link to public upstream documentation is fine. The one
// exception is the test helper that reads the upstream Talos schemas from outside the repository.
// Patterns are assembled from pieces so that this file does not match them itself.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

const SECTION_SIGN = '\u00a7';
const SIBLING_DIR = ['..', 'shared'].join('/');
const SEED = 'see' + 'd';

/** The one file allowed to name the upstream schema folder, and the only text it may name. */
const SCHEMA_HELPER = 'test/helpers/talos-schemas.ts';
const SCHEMA_DIR = [SIBLING_DIR, 'reference', 'talos-schemas', ''].join('/');

/** What points outside the repository, each with the reason a hit is reported. */
const FORBIDDEN: { pattern: RegExp; why: string }[] = [
  { pattern: new RegExp(SECTION_SIGN), why: 'a section number of a document that is not in the repository' },
  { pattern: new RegExp(`${SIBLING_DIR.replaceAll('.', '\\.')}\\b`), why: 'a path outside the repository' },
  { pattern: /\bshared\/(?:reference|design|seeds|hooks)\b/i, why: 'a path outside the repository' },
  {
    pattern: /\b(?:design|resources|reference|aggregated-apiserver|talos-machine-api)\.md\b/i,
    why: 'a document that is not in the repository',
  },
  // a number after the word names a seed document; with "--" before it, it is a PRNG seed flag
  { pattern: new RegExp(`(?<![-\\w])${SEED}s? \\d+\\b`, 'i'), why: 'a seed by number' },
  { pattern: new RegExp(`(?<![-\\w])${SEED}s?'`, 'i'), why: 'the content of a seed document' },
  { pattern: new RegExp(`\\b${SEED}s/`, 'i'), why: 'a seeds folder' },
  {
    pattern: new RegExp(`\\b(?:the ${SEED}s|${SEED} (?:material|manifests?|examples?|objects?|endpoints?))\\b`, 'i'),
    why: 'seed documents as a source',
  },
];

/** One finding per line of `text` (a file's content, or a path) that refers outside: `where:line: why: text`. */
function findings(where: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const checked = where === SCHEMA_HELPER ? line.replaceAll(SCHEMA_DIR, '') : line;
    const hit = FORBIDDEN.find(({ pattern }) => pattern.test(checked));
    if (hit) found.push(`${where}:${i + 1}: ${hit.why}: ${line.trim().slice(0, 160)}`);
  });
  return found;
}

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter((path) => path !== '');
}

function isText(bytes: Buffer): boolean {
  return !bytes.subarray(0, 8192).includes(0);
}

describe('the detector', () => {
  const md = (name: string) => `${name}.md`;

  it('reports each kind of outside reference', () => {
    const bad = [
      `// see ${SIBLING_DIR}/${md('design')}, "Layout"`,
      `// Wire identity per ${['shared', 'reference', md('talos-machine-api')].join('/')}`,
      `// as the Viti Talos operator does it (${md('resources')})`,
      `// kube-apiserver's start positions (${SECTION_SIGN}6.2)`,
      `// The AdoptedServer controller (${SEED} 000)`,
      `describe('${SEED} 3: worker pools')`,
      `// the ${SEED}'s four condition types`,
      `const CLUSTER = join(FIXTURES, '${SEED}s/cluster.yaml');`,
      `// The example manifests of the ${SEED}s apply unchanged`,
      `it('calls the ${SEED} endpoints')`,
    ];
    for (const line of bad) expect(findings('x.ts', line), line).toHaveLength(1);
  });

  it('leaves ordinary words and PRNG seeds alone', () => {
    const fine = [
      '// whose reference sets blockOwnerDeletion (an ownerReference)',
      '// is not a valid image reference',
      `npm run fuzz -- --${SEED} 3 --requests 10000`,
      `// a ${SEED}ed PRNG: the same ${SEED} draws the same numbers`,
      `let ${SEED} = 7;`,
      `const args = ['--${SEED}', '3'];`,
      '// docs/architecture.md describes every folder',
      '// RFC 9113 section 8.1',
    ];
    for (const line of fine) expect(findings('x.ts', line), line).toEqual([]);
  });

  it('lets only the schema helper name the upstream schema folder, and nothing else outside', () => {
    const line = `const DIR = resolve(ROOT, '${SCHEMA_DIR}');`;
    expect(findings(SCHEMA_HELPER, line)).toEqual([]);
    expect(findings('test/helpers/other.ts', line)).toHaveLength(1);
    expect(findings(SCHEMA_HELPER, `// ${SIBLING_DIR}/${md('design')}`)).toHaveLength(1);
  });
});

describe('the repository', () => {
  it('refers to nothing outside itself: no file or path names a sibling folder, an outside section or a seed document', () => {
    const files = trackedFiles();
    expect(files.length).toBeGreaterThan(100);
    const found: string[] = [];
    for (const path of files) {
      found.push(...findings(`(path) ${path}`, path));
      const bytes = readFileSync(join(ROOT, path));
      if (isText(bytes)) found.push(...findings(path, bytes.toString('utf8')));
    }
    expect(found).toEqual([]);
  });
});
