// The kind is the handle: outside src/api, a group, a group/version or one of our resources is
// taken from the kind definitions (adoptedServerKind.group, groupVersion(kind), kind.plural,
// registry.storeOf(kind)), never typed again as a string, so renaming or adding a version is one edit.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allKinds } from '../../../src/api/index.js';
import { groupVersion } from '../../../src/machinery/kind.js';

const ROOT = join(import.meta.dirname, '../../..');

function sources(dir: string): { file: string; text: string }[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.startsWith(`api/`) && !f.includes('talos/gen/'))
    .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(ROOT, dir, f), 'utf8') }));
}

describe('group, version and resource outside src/api', () => {
  const files = ['src', 'apiservice', 'webhooks', 'hack'].flatMap(sources);
  const handles = [...new Set(allKinds.flatMap((k) => [k.group, groupVersion(k), k.plural]))];

  it('no string literal retypes one of our groups, group/versions or resources', () => {
    const found: string[] = [];
    for (const { file, text } of files) {
      for (const h of handles) {
        // a whole string literal, or an API path that spells the group out
        const literal = new RegExp(`['"\`]${h.replace(/\./g, '\\.')}['"\`]|/apis/${h.replace(/\./g, '\\.')}/`);
        if (literal.test(text)) found.push(`${file}: ${h}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('the scan sees the files it guards', () => {
    expect(files.some((f) => f.file === 'src/subresources/adoptedserver.ts')).toBe(true);
    expect(files.some((f) => f.file.startsWith('src/api/'))).toBe(false);
  });
});
