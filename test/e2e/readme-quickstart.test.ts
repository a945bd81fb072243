// The README's quick start, run as written: its commands are read from README.md itself (so this
// test fails when the README drifts from what works) and run in order in a temporary copy of the
// repository (its tracked and new files; node_modules is a symlink to this checkout's), so the
// server's `./.data` is the copy's and the checkout's own `.data` and node_modules are never touched.
// Three deviations, all forced by running in a test: `npm test` is not run (this test is part of
// it, and CI runs it), `npm ci` is not run (it would empty the
// linked node_modules, which is the checkout's), and `npm start` gets `-- --secure-port 0` (a free
// port instead of 8443, which the admin kubeconfig then names) and
// `--allowed-outbound-networks 127.0.0.0/8` (the examples name 192.168.1.x nodes, which a test's
// server must never dial). Every other command runs with bash in the copy's directory, after the
// `export` lines before it, and what it prints is checked.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';
import { waitForServing } from '../helpers/serving.js';

const START_TIMEOUT_MS = 180_000;

/** the shell commands of the README's "Quick start" section, comments stripped, in order */
function quickStartCommands(readme: string): string[] {
  const section = /^## Quick start\n([\s\S]*?)^## /m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "## Quick start" section');
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  return blocks
    .flatMap((b) => b.split('\n'))
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** what each command must print (stdout) for the quick start to have worked */
const EXPECTED: Record<string, (out: string) => void> = {
  'export KUBECONFIG=$PWD/.data/admin.kubeconfig': (out) => expect(out).toBe(''),
  'kubectl api-resources': (out) => {
    expect(out).toMatch(/^kubernetesclusters\s+kc\s+vitistack\.io\/v1alpha1\s+true\s+KubernetesCluster$/m);
    expect(out).toMatch(/^machines\s+m\s+vitistack\.io\/v1alpha1\s+true\s+Machine$/m);
    expect(out).toMatch(/^adoptedservers\s+as\s+metal\.sidero\.dev\/v1alpha2\s+true\s+AdoptedServer$/m);
    expect(out).toMatch(/^serverclasses\s+metal\.sidero\.dev\/v1alpha2\s+false\s+ServerClass$/m);
  },
  'kubectl apply -f examples/kubernetescluster.yaml': (out) =>
    expect(out).toBe('kubernetescluster.vitistack.io/example created\n'),
  'kubectl wait kc/example --for=condition=ConfigGenerated': (out) =>
    expect(out).toBe('kubernetescluster.vitistack.io/example condition met\n'),
  'kubectl get machines': (out) => {
    const rows = out.trim().split('\n');
    expect(rows[0]).toMatch(/^NAME\s+PHASE\s+/);
    expect(rows.slice(1).map((r) => r.split(/\s+/)[0])).toEqual(['example-ctp0', 'example-wrk0', 'example-wrk1']);
  },
  'kubectl patch kc example --type=json --patch-file examples/patches/scale-workers.json': (out) =>
    expect(out).toBe('kubernetescluster.vitistack.io/example patched\n'),
  "kubectl wait kc/example --for=jsonpath='{.status.workers}'=3": (out) =>
    expect(out).toBe('kubernetescluster.vitistack.io/example condition met\n'),
  'kubectl apply -f examples/adoptedserver.yaml -f examples/serverclass.yaml': (out) =>
    expect(out).toBe('adoptedserver.metal.sidero.dev/node-1 created\nserverclass.metal.sidero.dev/dell-epyc created\n'),
  'kubectl get talos': (out) => {
    for (const name of [
      'adoptedserver.metal.sidero.dev/node-1',
      'serverclass.metal.sidero.dev/dell-epyc',
      'kubernetescluster.vitistack.io/example',
      'machine.vitistack.io/example-wrk2',
    ])
      expect(out).toMatch(new RegExp(`^${name.replace(/\./g, '\\.')}\\s`, 'm'));
  },
  'kubectl get kc -o wide': (out) => {
    expect(out).toMatch(/^NAME\s+PHASE\s+PROVIDER\s+REGION\s+CPS\s+WORKERS\s/);
    expect(out).toMatch(/^example\s+\S+\s+talos\s+region-1\s+1\s+3\s/m);
  },
  'kubectl describe adoptedserver node-1': (out) => {
    expect(out).toMatch(/^Name:\s+node-1$/m);
    expect(out).toMatch(/Endpoint:\s+192\.168\.1\.10:50000/);
    // not dialed: the talosconfig Secret the example names does not exist
    expect(out).toMatch(/Reason:\s+SecretNotFound\n(.*\n)*?\s+Type:\s+Connected/);
  },
};

let copy: string;
let server: ChildProcess | undefined;
let serverExited: Promise<void> | undefined;
const serverOut: string[] = [];
const serverErr: string[] = [];

/** what a fresh clone has: nothing built, installed or started */
const NOT_IN_A_CLONE = new Set(['.git', 'node_modules', 'dist', '.data', '.data-demo', 'test-results', 'coverage']);

/**
 * The repository's tracked files and new ones not ignored, as they are in the working tree (without
 * git, e.g. an unpacked archive: every file but what a build, an install or a run leaves).
 */
function copyRepository(to: string): void {
  let files: string[] | undefined;
  try {
    files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .split('\0')
      .filter((f) => f && existsSync(join(ROOT, f)));
  } catch {
    files = undefined;
  }
  if (files) {
    for (const f of files) {
      mkdirSync(dirname(join(to, f)), { recursive: true });
      cpSync(join(ROOT, f), join(to, f));
    }
  } else {
    cpSync(ROOT, to, { recursive: true, filter: (src) => !NOT_IN_A_CLONE.has(relative(ROOT, src).split(sep)[0]!) });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(to, 'node_modules'), 'dir');
}

function run(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', script],
      // HOME in the copy: kubectl's discovery cache goes there; no KUBECONFIG but the README's
      { cwd: copy, env: { PATH: process.env.PATH ?? '', HOME: copy }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'tfa-quickstart-'));
  copyRepository(copy);
});

afterAll(async () => {
  if (server?.pid && server.exitCode === null && server.signalCode === null) {
    // npm, its shell and node share the process group the server was started in
    process.kill(-server.pid, 'SIGTERM');
    await serverExited;
  }
  // removes the node_modules symlink, not what it points to
  rmSync(copy, { recursive: true, force: true });
});

describe("the README's quick start, as written", () => {
  const commands = quickStartCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  // between `npm start` and `npm test` (not run: this test is part of it), the kubectl commands
  const kubectlCommands = commands.slice(2, -1);

  it('has the commands this test knows, in the order it runs them', () => {
    expect(commands.slice(0, 2)).toEqual(['npm ci', 'npm start']);
    expect(commands.at(-1)).toBe('npm test');
    // a new command needs an expectation here: the README and this test change together
    expect(kubectlCommands.filter((c) => !EXPECTED[c])).toEqual([]);
  });

  it(
    '`npm start` builds the copy and serves, writing ./.data/admin.kubeconfig',
    async () => {
      // exec: bash becomes npm; detached: its own process group, stopped as one in afterAll
      server = spawn('bash', ['-c', `exec ${commands[1]} -- --secure-port 0 --allowed-outbound-networks 127.0.0.0/8`], {
        cwd: copy,
        env: { PATH: process.env.PATH ?? '', HOME: copy },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      serverExited = new Promise((r) => server!.once('exit', () => r()));
      server.stderr!.on('data', (d) => serverErr.push(String(d)));
      const url = await waitForServing(server, {
        timeoutMs: START_TIMEOUT_MS,
        stderr: () => serverErr.join(''),
        onLine: (l) => serverOut.push(l),
      });
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(url).not.toBe('https://127.0.0.1:8443');
      expect(existsSync(join(copy, '.data/admin.kubeconfig'))).toBe(true);
      expect(existsSync(join(ROOT, 'node_modules/.bin/tsc'))).toBe(true);
    },
    START_TIMEOUT_MS,
  );

  it('every kubectl command succeeds and prints what the README promises', async () => {
    expect(server, 'the server of the previous step').toBeDefined();
    const exports: string[] = [];
    for (const command of kubectlCommands) {
      const r = await run([...exports, command].join('\n'));
      expect({ command, code: r.code, stderr: r.stderr }).toEqual({ command, code: 0, stderr: '' });
      EXPECTED[command]!(r.stdout);
      if (command.startsWith('export ')) exports.push(command);
    }
    // the server logged JSON lines only: no Node warning or stack trace on its stderr
    expect(serverErr.join('')).toBe('');
    expect(serverOut.filter((l) => !l.startsWith('{') && l.trim() && !l.startsWith('>'))).toEqual([]);
  });
});
