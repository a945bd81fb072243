// The two HTTP-facing folders import each other one way only: apiservice/ (sockets, HTTP) uses
// webhooks/ (the AdmissionReview envelope), and webhooks/ never reaches back into apiservice/.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

function importsOf(dir: string): { file: string; from: string }[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) =>
      [...readFileSync(join(ROOT, dir, f), 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => ({
        file: `${dir}/${f}`,
        from: m[1]!,
      })),
    );
}

describe('apiservice and webhooks', () => {
  it('webhooks/ imports nothing from apiservice/', () => {
    const back = importsOf('webhooks').filter((i) => /(^|\/)apiservice\//.test(i.from));
    expect(back).toEqual([]);
  });

  it('apiservice/ serves the webhooks (the one direction)', () => {
    expect(importsOf('apiservice').some((i) => /(^|\/)webhooks\//.test(i.from))).toBe(true);
  });
});
