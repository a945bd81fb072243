// `npm run bench -- --quick` end to end: it starts etcd and the server, runs every measure, prints
// the table and writes the JSON report with every figure. Only that it works and reports is
// checked here; how fast anything is belongs to the benchmark itself, never to a test.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'tfa-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/hack/bench/main.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    const timer = setTimeout(() => child.kill('SIGINT'), 170_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const EXPECTED_ROWS = [
  'heap.listed.bytesPerObject', 'heap.watched.bytesPerObject', 'heap.gcGraph.bytesPerObject',
  'create.opsPerSec', 'create.http2.opsPerSec', 'create.txn.opsPerSec', 'create.p99Ms',
  'get.opsPerSec', 'get.cache.opsPerSec', 'get.p50Ms', 'get.p99Ms', 'get.serial.p50Ms', 'get.serial.p99Ms',
  'update.opsPerSec', 'update.txn.opsPerSec', 'update.p99Ms',
  'apply.update.opsPerSec', 'apply.update.p99Ms', 'apply.change.opsPerSec', 'apply.change.p99Ms',
  'apply.noop.opsPerSec', 'apply.noop.p99Ms', 'apply.create.opsPerSec', 'apply.create.p99Ms',
  'list.cache.ms', 'list.consistent.ms', 'list.paged.ms',
  'watch.p50Ms', 'watch.p99Ms', 'watch.first.p99Ms', 'watch.spread.p99Ms', 'watch.http1.p99Ms',
  'snapshot.stallMs', 'snapshot.baselineGapMs', 'snapshot.durationMs',
  'load.closed.opsPerSec', 'load.closed.p50', 'load.closed.p99', 'load.closed.max', 'load.closed.errors', 'load.closed.shed',
  'load.rss.peak', 'load.rss.settled', 'load.open.p50', 'load.open.p99', 'load.open.max',
];
/** counts of what went wrong: zero is the expected figure */
const MAY_BE_ZERO = new Set(['heap.gcGraph.bytesPerObject', 'load.closed.errors', 'load.closed.shed']);

describe('npm run bench -- --quick', () => {
  it('runs every measure against the server and raw etcd and writes the report', async () => {
    const out = join(dir, 'quick.json');
    const r = await runBench(['--quick', '--out', out]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/^\| measure +\| server +\| raw etcd +\| server \/ etcd +\| target +\|$/m);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.machine.etcd).toMatch(/^3\.\d+\.\d+$/);
    expect(report.results.map((x: { id: string }) => x.id)).toEqual(EXPECTED_ROWS);
    for (const row of report.results) {
      // the graph's ~60 B per object is ~60 KB at --quick's 1,000 objects: within the heap's own
      // noise, so only a number is expected there
      const positive = !MAY_BE_ZERO.has(row.id);
      expect(Number.isFinite(row.server) && (!positive || row.server > 0), `${row.id}: ${row.server}`).toBe(true);
      if (row.etcd !== undefined) expect(Number.isFinite(row.etcd) && row.etcd > 0, `${row.id} (etcd): ${row.etcd}`).toBe(true);
    }
    // every event reached every watcher on both sides
    for (const side of ['server', 'serverHttp1', 'etcd']) expect(report.details.watch[side].lost, side).toBeUndefined();
    // under the quick load nothing fails and nothing is shed
    expect(report.details.load.errors).toEqual({});
  }, 180_000);

  it('refuses an unknown measure with usage', async () => {
    const r = await runBench(['--only', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--only: unknown measure "nope"');
    expect(r.stderr).toContain('usage: npm run bench');
  });
});
