// The request fuzzer (hack/fuzz, `npm run fuzz`) in its short form: a fixed seed, 1,200 hostile
// requests with 8 in flight over HTTP/1.1 and HTTP/2, against the built server it starts itself.
// It fails on a dead server, an unexpected 5xx, or a stored change no 2xx write made. The test also
// checks that the run reached every verb with both accepted and refused requests, so a generator
// that stopped producing valid requests cannot pass by asserting nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';

const FUZZ = join(ROOT, 'dist/hack/fuzz/main.js');
const RUN_LIMIT_MS = 240_000;
const dir = mkdtempSync(join(tmpdir(), 'tf-fuzz-test-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Counts {
  requests: number;
  events: number;
  byStatus: Record<string, number>;
  byVerb: Record<string, Record<string, number>>;
  failures: string[];
}

function runFuzzer(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FUZZ, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += String(c)));
    child.stderr.on('data', (c: Buffer) => (output += String(c)));
    // a hung run is stopped by its PID; the fuzzer stops its server on SIGTERM
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_LIMIT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

it('a seeded run of 1,200 hostile requests leaves the server up, with no unexpected 5xx and every stored change made by a 2xx write', async () => {
  const countsFile = join(dir, 'counts.json');
  const run = await runFuzzer([
    '--seed',
    '1',
    '--requests',
    '1200',
    '--quiet',
    '--counts-out',
    countsFile,
    '--replay-out',
    join(dir, 'replay.jsonl'),
  ]);
  expect(run.output).toContain('PASS');
  expect(run.code, run.output).toBe(0);
  const c = JSON.parse(readFileSync(countsFile, 'utf8')) as Counts;
  expect(c.failures).toEqual([]);
  expect(c.requests).toBeGreaterThanOrEqual(1200);
  expect(c.events).toBeGreaterThan(50);
  const accepted = [
    'get',
    'list',
    'watch',
    'create',
    'update',
    'patch:json',
    'patch:merge',
    'patch:apply',
    'delete',
    'deletecollection',
    'webhook',
    'nonresource',
  ];
  for (const verb of accepted) expect(c.byVerb[verb]?.['2xx'] ?? 0, `${verb} never succeeded`).toBeGreaterThan(0);
  for (const verb of [...accepted, 'patch:strategic', 'oddmethod'])
    expect(c.byVerb[verb]?.['4xx'] ?? 0, `${verb} was never refused`).toBeGreaterThan(0);
  const statusWrites = ['status:put', 'status:patch', 'status:deepen'].reduce(
    (n, v) => n + (c.byVerb[v]?.['2xx'] ?? 0),
    0,
  );
  expect(statusWrites, 'no status subresource write succeeded').toBeGreaterThan(0);
});
