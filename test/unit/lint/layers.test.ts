// The layer rules of eslint.config.js hold: lint run on temporary files fails a forbidden import
// and a file in a folder the allow-list does not declare, and passes an allowed import. The
// allow-list is acyclic and every folder that holds code is declared in it.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error eslint.config.js is plain JavaScript without declarations
import { LAYERS, layerCycle, roomOf } from '../../../eslint.config.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const layers = LAYERS as Record<string, string[]>;
const room = roomOf as (p: string) => string;
const cycleOf = layerCycle as (l: Record<string, string[]>) => string[] | undefined;
const tag = `lintprobe${process.pid}`;
const created: string[] = [];

function probe(relPath: string, text: string): string {
  const file = join(ROOT, relPath);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  created.push(file);
  return file;
}

afterAll(() => {
  for (const f of created) rmSync(f, { force: true });
  rmSync(join(ROOT, 'src', tag), { recursive: true, force: true });
});

async function layerMessages(file: string): Promise<string[]> {
  const [result] = await new ESLint({ cwd: ROOT }).lintFiles([file]);
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layer rules', () => {
  it('fail an import the importing folder is not allowed, and pass one it is', async () => {
    const forbidden = probe(
      `src/machinery/${tag}.ts`,
      "import { allKinds } from '../api/index.js';\nexport const n = allKinds.length;\n",
    );
    const nodes = probe(
      `src/api/${tag}.ts`,
      "import type { NodeAccess } from '../nodeaccess/connect.js';\nexport type N = NodeAccess;\n",
    );
    const allowed = probe(
      `src/admission/${tag}.ts`,
      "import { allKinds } from '../api/index.js';\nexport const n = allKinds.length;\n",
    );
    expect(await layerMessages(forbidden)).toEqual([
      expect.stringMatching(/^layers\/allowed-imports: src\/machinery may not import src\/api/),
    ]);
    expect(await layerMessages(nodes)).toEqual([
      expect.stringMatching(/^layers\/allowed-imports: src\/api may not import src\/nodeaccess/),
    ]);
    expect(await layerMessages(allowed)).toEqual([]);
  }, 120_000);

  it('fail a file in a folder the allow-list does not declare', async () => {
    const stray = probe(`src/${tag}/probe.ts`, 'export const n = 1;\n');
    expect(await layerMessages(stray)).toEqual([
      expect.stringMatching(/^layers\/allowed-imports: .*a folder eslint.config.js's LAYERS does not declare/),
    ]);
  }, 120_000);

  it('the allow-list is acyclic, and a cycle would be found', () => {
    expect(cycleOf(layers)).toBeUndefined();
    expect(cycleOf({ a: ['b'], b: ['c'], c: ['a'] })).toEqual(['a', 'b', 'c', 'a']);
  });

  it('every folder holding code is declared', () => {
    const rooms = new Set<string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.name.includes('lintprobe')) continue; // this test's own temporary files
        if (e.isDirectory()) {
          if (p !== join(ROOT, 'src/talos/gen')) walk(p);
        } else if (/\.(ts|js)$/.test(e.name)) rooms.add(room(relative(ROOT, p)));
      }
    };
    for (const top of ['src', 'apiservice', 'webhooks', 'hack', 'test']) walk(join(ROOT, top));
    expect([...rooms].filter((r) => !(r in layers))).toEqual([]);
  });

  it('docs/architecture.md states the same import rules for every production folder', () => {
    const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    const documented = new Map<string, string[]>();
    for (const line of doc.split('\n')) {
      const row = /^\| `([^`]+)` \| [^|]+ \| ([^|]+) \|$/.exec(line);
      if (!row || row[1]!.startsWith('test/')) continue;
      const names = [...row[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      documented.set(row[1]!, row[2]!.trim() === 'nothing of ours' ? [] : names);
    }
    const production = Object.keys(layers).filter((r) => !r.startsWith('test/') && r !== '.');
    expect(Object.fromEntries([...documented].sort())).toEqual(
      Object.fromEntries(production.map((r) => [r, [...layers[r]!].sort()]).sort()),
    );
  });
});
