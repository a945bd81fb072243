// Deeply nested YAML from a client must be refused before the yaml library recurses on it. Its
// composer recurses once per level: past about a thousand levels it runs out of stack, and when
// V8 happens to compile a regular expression right at that edge (first use, or the tier-up to
// native code after some runs), the stack check inside the regexp compiler aborts the whole
// process ("FATAL ERROR: RegExpCompiler Allocation failed - process out of memory") instead of
// throwing a RangeError. Whether it aborts depends on which regexps ran before, so the crash is
// reproduced in a child process that feeds every entry point deeper and deeper documents: before
// the depth bound, each of them aborted the child; now every one is refused with its own error.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { yamlNestingDepth, MAX_YAML_DEPTH } from '../../src/machinery/yamldepth.js';
import { decodeText } from '../../apiservice/http.js';
import { StatusError } from '../../src/machinery/errors.js';
import { ROOT } from '../helpers/server.js';

const DIST = join(ROOT, 'dist');

/** documents nested `n` levels deep, in each YAML style that nests */
const shapes: Record<string, (n: number) => string> = {
  flowSeq: (n) => '['.repeat(n) + ']'.repeat(n),
  flowMap: (n) => '{a: '.repeat(n) + '1' + '}'.repeat(n),
  blockMap: (n) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n',
  blockSeqOnOneLine: (n) => '- '.repeat(n) + 'x\n',
  unclosed: (n) => '[{a: '.repeat(n),
};

/** the entry points that parse YAML a client (or a client's object) hands over */
const entryPoints: Record<string, { module: string; call: string }> = {
  'request bodies (decodeText)': { module: 'apiservice/http.js', call: `(t) => m.decodeText(t, 'yaml')` },
  'machine config patches (parseConfigStream)': {
    module: 'src/machineconfig/configstream.js',
    call: 'm.parseConfigStream',
  },
  'secrets.yaml from a Secret (parseSecretsYaml)': {
    module: 'src/machineconfig/secretsyaml.js',
    call: 'm.parseSecretsYaml',
  },
  'talosconfig from a Secret (parseTalosconfig)': { module: 'src/talos/talosconfig.js', call: 'm.parseTalosconfig' },
  'machine config validation (decodeStream)': {
    module: 'src/machineconfig/validate/decode.js',
    call: 'm.decodeStream',
  },
};

function childScript(module: string, call: string): string {
  const shapeSource = Object.entries(shapes)
    .map(([k, f]) => `${JSON.stringify(k)}: ${f.toString()}`)
    .join(',\n');
  return `
    const m = await import(${JSON.stringify(join(DIST, module))});
    const parse = ${call};
    const shapes = {${shapeSource}};
    for (const [name, make] of Object.entries(shapes)) {
      // escalating depths: some level lands the yaml library's recursion on the stack's edge
      // (up to what one request may carry: the default --max-request-bytes)
      for (let n = 500; n <= 60000; n = Math.ceil(n * 1.25)) {
        const text = make(n);
        if (text.length > 3 * 1024 * 1024) break;
        try { parse(text); } catch (e) { if (!(e instanceof Error)) throw e; }
      }
    }
    process.stdout.write('survived');
  `;
}

describe('deeply nested YAML', () => {
  for (const [what, entry] of Object.entries(entryPoints)) {
    it(`is refused without aborting the process: ${what}`, () => {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', childScript(entry.module, entry.call)], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(child.stderr).not.toContain('FATAL ERROR');
      expect(child.signal).toBeNull();
      expect(child.status).toBe(0);
      expect(child.stdout).toBe('survived');
    });
  }

  it('is a 400 naming the limit in request bodies, while documents at the limit parse', () => {
    for (const [name, make] of Object.entries(shapes)) {
      let err: unknown;
      try {
        decodeText(make(MAX_YAML_DEPTH + 1), 'yaml');
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(StatusError);
      expect((err as StatusError).code).toBe(400);
      expect((err as StatusError).message).toBe(
        `error decoding YAML body: nesting exceeds the maximum depth of ${MAX_YAML_DEPTH}`,
      );
    }
    expect(decodeText(shapes.flowSeq!(MAX_YAML_DEPTH), 'yaml').value).toBeInstanceOf(Array);
    expect(decodeText(shapes.blockMap!(MAX_YAML_DEPTH), 'yaml').value).toHaveProperty('a.a.a');
    expect(decodeText(shapes.blockSeqOnOneLine!(MAX_YAML_DEPTH), 'yaml').value).toBeInstanceOf(Array);
  });
});

describe('yamlNestingDepth', () => {
  it('counts collections the way JSON depth counts them', () => {
    expect(yamlNestingDepth('x')).toBe(0);
    expect(yamlNestingDepth('')).toBe(0);
    expect(yamlNestingDepth('[1]')).toBe(1);
    expect(yamlNestingDepth('{"a":{"b":{"c":1}}}')).toBe(3);
    expect(yamlNestingDepth('a:\n  b:\n    c: 1\n')).toBe(3);
    expect(yamlNestingDepth('a:\n- b:\n  - c\n')).toBe(4);
    expect(yamlNestingDepth('- - - x\n')).toBe(3);
    expect(yamlNestingDepth('---\na: 1\n---\n[[[1]]]\n')).toBe(3);
  });

  it('stops reading as soon as the limit is passed', () => {
    expect(yamlNestingDepth('['.repeat(1_000_000), 10)).toBe(11);
    expect(yamlNestingDepth('- '.repeat(1_000_000), 10)).toBe(11);
  });
});
