// Every regular expression a request reaches, run with V8 compiling each to native code at once
// (--regexp-tier-up-ticks=1; normally it tiers up only after some runs, which is why a regexp
// that blows up then shows only after thousands of requests). The kinds' schema patterns and
// formats run through the compiled validators on every string field of valid objects set to
// long and hostile values; label and field selectors, names and label keys/values likewise.
// The child must finish: no abort, and no catastrophic backtracking (it takes seconds; with the
// quadratic host:port pattern it ran for hours, which only the time limit can tell from a hang).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { hostPortPattern } from '../../src/api/validate.js';
import { isSizeCriterion } from '../../src/machineconfig/validate/rules-mode.js';
import { parseMediaTypes } from '../../src/machinery/negotiate.js';
import { ROOT } from '../helpers/server.js';

const dist = (p: string) => JSON.stringify(join(ROOT, 'dist', p));

const script = `
  const { allKinds, coreKinds } = await import(${dist('src/api/index.js')});
  const { compileKindSchema } = await import(${dist('src/machinery/schema.js')});
  const { parseLabelSelector, validateLabelKey, validateLabelValue, isDNS1123Subdomain, isDNS1123Label } = await import(${dist('src/machinery/labels.js')});
  const { parseFieldSelector } = await import(${dist('src/machinery/fields.js')});
  const { parseMediaTypes } = await import(${dist('src/machinery/negotiate.js')});
  const { isSizeCriterion } = await import(${dist('src/machineconfig/validate/rules-mode.js')});
  const { decodeBase64Strict } = await import(${dist('src/machineconfig/base64.js')});
  const { exampleObject } = await import(${dist('hack/fuzz/examples.js')});
  const { Rng } = await import(${dist('hack/fuzz/rng.js')});
  const hostile = [
    'a'.repeat(100_000), '1.'.repeat(50_000), 'a-'.repeat(50_000), 'a.'.repeat(50_000) + '-', '0'.repeat(100_000) + 'x',
    '1'.repeat(30) + ':' + '9'.repeat(30), '['.repeat(10_000), 'v1.' + '1'.repeat(50_000) + '.x', '\\uFFFD'.repeat(10_000),
    ('a'.repeat(63) + '.').repeat(1000), '127.0.0.1:' + '5'.repeat(50_000), 'aGVsbG8='.repeat(10_000) + '=',
  ];
  let runs = 0;
  const rng = new Rng(1);
  for (const kind of [...allKinds, ...coreKinds]) {
    const schema = compileKindSchema(kind);
    for (let i = 0; i < 5; i++) {
      const obj = exampleObject(kind, 'x', 'ns', rng);
      // every string leaf, in turn, set to each hostile value
      const leaves = [];
      const walk = (v, set) => {
        if (typeof v === 'string') leaves.push(set);
        else if (Array.isArray(v)) v.forEach((c, j) => walk(c, (x) => { v[j] = x; }));
        else if (v && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k], (x) => { v[k] = x; });
      };
      walk(obj, () => {});
      for (const set of leaves) for (const h of hostile) { set(h); schema.validate(obj); runs++; }
    }
  }
  for (const h of hostile) {
    for (const f of [validateLabelKey, validateLabelValue, isDNS1123Subdomain, isDNS1123Label]) { f(h); runs++; }
    for (const s of [h, 'a in (' + h + ')', h + '=' + h, 'metadata.name=' + h]) {
      try { parseLabelSelector(s); } catch {}
      try { parseFieldSelector(s); } catch {}
      runs++;
    }
  }
  // an Accept header's q and a disk selector's size, which were quadratic in a run of digits or spaces
  for (const h of ['1'.repeat(1_000_000) + 'x', ' '.repeat(1_000_000) + 'x', '1' + ' '.repeat(1_000_000) + 'x', '.'.repeat(1_000_000)]) {
    parseMediaTypes('application/json;q=' + h);
    isSizeCriterion(h);
    isSizeCriterion('>=' + h);
    runs++;
  }
  // base64 from Secrets and config patches: a run of "=" not at the end was quadratic
  for (const h of ['='.repeat(1_000_000) + 'x', 'QQ' + '='.repeat(1_000_000), '='.repeat(1_000_000) + 'A'.repeat(3)]) {
    decodeBase64Strict(h, ['standard', 'url']);
    runs++;
  }
  process.stdout.write(String(runs));
`;

it('every schema pattern and format, selector and name check runs compiled to native code on long hostile input', () => {
  const child = spawnSync(process.execPath, ['--regexp-tier-up-ticks=1', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(child.stderr).not.toContain('FATAL ERROR');
  expect(child.signal, child.stderr).toBeNull();
  expect(child.status, child.stderr).toBe(0);
  expect(Number(child.stdout)).toBeGreaterThan(1000);
});

it('the host:port pattern accepts exactly what it did before its top label was made linear', () => {
  // the old top label, quadratic on a long host with no port; the new one must match the same strings
  const before = new RegExp('^([a-zA-Z0-9][-a-zA-Z0-9]*)?[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?:1$');
  const now = new RegExp(hostPortPattern);
  let compared = 0;
  const each = (s: string): void => {
    if (!s.includes('.')) {
      expect(now.test(`${s}:1`), s).toBe(before.test(`${s}:1`));
      compared++;
    }
    if (s.length < 7) for (const c of ['a', 'Z', '0', '9', '-', '_']) each(s + c);
  };
  each('');
  expect(compared).toBeGreaterThan(300_000);
});

/** every string up to `max` characters over `alphabet` */
function* strings(alphabet: string[], max: number, prefix = ''): Generator<string> {
  yield prefix;
  if (prefix.length < max) for (const c of alphabet) yield* strings(alphabet, max, prefix + c);
}

it('the disk selector size and the Accept q value, now linear, accept what they did before', () => {
  const sizeBefore = /^\s*(<=|>=|<|>|==)?\s*\d+(\.\d+)?\s*([kmgtpe]i?b?|b)?\s*$/i;
  let compared = 0;
  for (const s of strings([' ', '1', '.', '>', '=', 'g', 'i', 'B', 'x'], 6)) {
    expect(isSizeCriterion(s), JSON.stringify(s)).toBe(sizeBefore.test(s));
    compared++;
  }
  const qBefore = /^\s*[0-9]*\.?[0-9]+\s*$/;
  for (const s of strings([' ', '0', '1', '.', 'x'], 6)) {
    const t = s.trim(); // as the parameter parser hands it over
    const before = qBefore.test(t) ? Math.min(1, Math.max(0, Number(t))) : 0;
    expect(parseMediaTypes(`application/json;q=${s}`)[0]!.q, JSON.stringify(s)).toBe(before);
    compared++;
  }
  expect(compared).toBeGreaterThan(500_000);
});
