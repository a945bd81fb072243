// `npm run demo` as a newcomer meets it with another server on its port: the demo serves on a free
// port instead and says which, prints the KUBECONFIG to export as an absolute path (its data
// directory given relative), brings the example cluster to Ready on simulated nodes, and prints
// nothing outside its own lines and the server's JSON log: no stack trace, no Node warning (it
// runs with --trace-deprecation, so a DEP0123 "Setting the TLS ServerName to an IP address" from
// any Talos, etcd or Kubernetes API connection would show with its stack). `kubectl talos status`
// and the dashboard (Debian's chromium) then show the demo fleet. Runs dist/: build first.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/server.js';
import { pluginOnPath } from './kubectl-helpers.js';

const DEMO = join(ROOT, 'dist/hack/demo.js');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const SCREENSHOT = join(ROOT, 'test-output', 'dashboard-demo.png');
const READY_TIMEOUT_MS = 120_000;

let dir: string;
let busy: Server;
let busyPort: number;
let demo: ChildProcess | undefined;
let exited: Promise<number | null>;
let stdout = '';
let stderr = '';
let kubeconfig = '';
let pathWithPlugin = '';

/** kubectl (and the plugin, on PATH in the test's directory) as a user of the demo runs it */
function kubectl(kubeconfig: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      args,
      {
        env: { PATH: pathWithPlugin, HOME: dir, KUBECONFIG: kubeconfig },
        timeout: 30_000,
      },
      (err, out, errOut) => resolve({ code: err ? 1 : 0, stdout: out, stderr: errOut }),
    );
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tfa-demo-'));
  // the port is taken, as by a demo or `npm start` already running
  busy = createServer((s) => s.end());
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  busyPort = (busy.address() as AddressInfo).port;
  pathWithPlugin = pluginOnPath(dir);
});

afterAll(async () => {
  if (demo && demo.exitCode === null && demo.signalCode === null) {
    demo.kill('SIGKILL');
    await exited;
  }
  await new Promise((r) => busy.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run demo on a busy port', () => {
  it(
    'serves on a free port, says which, and prints an absolute KUBECONFIG once the cluster is Ready',
    async () => {
      demo = spawn(
        process.execPath,
        ['--trace-deprecation', DEMO, '--secure-port', String(busyPort), '--data-dir', './data'],
        { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      exited = new Promise((r) => demo!.once('exit', (code) => r(code)));
      demo.stdout!.on('data', (d) => (stdout += String(d)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the demo was not Ready in time:\n${stderr}`)),
          READY_TIMEOUT_MS,
        );
        demo!.stderr!.on('data', (d) => {
          stderr += String(d);
          if (stderr.includes('Ctrl-C stops everything.')) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`the demo exited (${code}):\n${stderr}`));
        });
      });

      const moved = new RegExp(
        `^port ${busyPort} on 127\\.0\\.0\\.1 is in use \\(another demo or server\\?\\): the demo serves on https://127\\.0\\.0\\.1:(\\d+) instead \\(choose one with: npm run demo -- --secure-port N\\)$`,
        'm',
      ).exec(stderr);
      expect(moved, stderr).not.toBeNull();
      const port = Number(moved![1]);
      expect(port).not.toBe(busyPort);

      kubeconfig = /^ {2}export KUBECONFIG=(.+)$/m.exec(stderr)?.[1] ?? '';
      expect(isAbsolute(kubeconfig), stderr).toBe(true);
      expect(kubeconfig).toBe(join(dir, 'data/admin.kubeconfig'));
      expect(parse(readFileSync(kubeconfig, 'utf8')).clusters[0].cluster.server).toBe(`https://127.0.0.1:${port}`);
      expect(stderr).toMatch(/^ {2}\[\d+\.\ds\] Ready$/m);

      // what the demo tells a user to run works from any directory
      const phase = await kubectl(kubeconfig, ['get', 'kc', 'demo-cluster', '-o', 'jsonpath={.status.phase}']);
      expect([phase.code, phase.stdout, phase.stderr]).toEqual([0, 'Ready', '']);
      const adopted = await kubectl(kubeconfig, ['wait', 'adoptedservers', '--all', '--for=condition=Ready']);
      expect([adopted.code, adopted.stdout.match(/condition met/g)?.length, adopted.stderr]).toEqual([0, 3, '']);

      // nothing but the demo's lines on stderr, JSON log lines on stdout
      expect(stderr).not.toMatch(/DeprecationWarning|DEP0\d{3}|Warning:|^\s+at /m);
      expect(stdout.split('\n').filter((l) => l.trim() && !l.startsWith('{"'))).toEqual([]);
    },
    READY_TIMEOUT_MS + 10_000,
  );

  it('kubectl talos status and the dashboard show the demo fleet: the cluster, its nodes with their versions, the adopted nodes', async () => {
    expect(kubeconfig, 'the demo of the previous step').not.toBe('');
    const status = await kubectl(kubeconfig, ['talos', 'status', '--no-color']);
    expect([status.code, status.stderr]).toEqual([0, '']);
    const lines = status.stdout.split('\n');
    expect(lines[1]).toMatch(/^kubernetescluster\/demo-cluster\s+Ready\s+Healthy\s+v1\.13\.9\s+1\.\d+\.\d+/);
    for (const [machine, role] of [
      ['demo-cluster-ctp0', 'controlplane'],
      ['demo-cluster-wrk0', 'worker'],
      ['demo-cluster-wrk1', 'worker'],
    ]) {
      expect(status.stdout).toMatch(new RegExp(`─ machine/${machine}\\s+Running\\s+v1\\.13\\.9\\s+1\\.\\d+`));
      expect(status.stdout).toMatch(new RegExp(`└─ node ${machine} \\(${role}\\) 127\\.\\S+\\s+\\w+\\s+v1\\.13\\.9`));
    }
    for (const n of ['demo-cp-1', 'demo-worker-1', 'demo-worker-2'])
      expect(status.stdout).toMatch(new RegExp(`^adoptedserver/${n}\\s+Ready\\s+Healthy\\s+v1\\.13\\.9`, 'm'));

    const dashboard = spawn(CLI, ['dashboard'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        dashboard.stdout.on('data', (d) => {
          out += String(d);
          const m = /at (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)\n/.exec(out);
          if (m) resolve(m[1]!);
        });
        dashboard.once('exit', (code) => reject(new Error(`the dashboard exited (${code}): ${out}`)));
      });
      const page = await browser.newPage({ viewport: { width: 1300, height: 600 } });
      await page.goto(url);
      const row = (kind: string, name: string) => `tr[data-kind="${kind}"][data-name="${name}"][data-state="ok"]`;
      await page.waitForSelector(row('KubernetesCluster', 'demo-cluster'), { timeout: 30_000 });
      for (const m of ['demo-cluster-ctp0', 'demo-cluster-wrk0', 'demo-cluster-wrk1']) {
        await page.waitForSelector(row('Machine', m), { timeout: 30_000 });
        // its node's versions, and its address beside its name
        expect(await page.textContent(row('Machine', m))).toMatch(
          /127\.\d+\.\d+\.\d+.*Running.*True.*v1\.13\.9.*1\.\d+\.\d+/,
        );
      }
      for (const n of ['demo-cp-1', 'demo-worker-1', 'demo-worker-2'])
        await page.waitForSelector(row('AdoptedServer', n), { timeout: 30_000 });
      mkdirSync(join(ROOT, 'test-output'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      console.log(`screenshot of the demo fleet's dashboard: ${SCREENSHOT}`);
    } finally {
      await browser.close();
      if (dashboard.exitCode === null && dashboard.signalCode === null) {
        const gone = new Promise((r) => dashboard.once('exit', r));
        dashboard.kill('SIGTERM');
        await gone;
      }
    }
  }, 60_000);

  it('stops on Ctrl-C (SIGINT) and exits 0', async () => {
    expect(demo, 'the demo of the previous step').toBeDefined();
    demo!.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/DeprecationWarning|DEP0\d{3}|^\s+at /m);
  });
});
