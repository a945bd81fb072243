// Shared helpers for the kubectl end-to-end suites: assertions on kubectl's output and a handle on
// long-running kubectl processes (get -w, wait, delete --wait) that tests can synchronise with.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse, stringify } from 'yaml';
import { issueCertificate, type PemPair } from '../../src/pki/devca.js';
import { ROOT, type KubectlResult, type TestServer } from '../helpers/server.js';

export const FIXTURES = join(import.meta.dirname, '../fixtures');

/** kubectl's own warnings ("Warning: ...", from Warning headers) and klog W-lines */
const WARNING_LINE = /^(warning\b|W\d{4} )/im;

/** a successful kubectl run that printed no warning at all */
export function expectClean(r: KubectlResult): void {
  expect(r.stderr, `kubectl failed (${r.code}): ${r.stderr}`).not.toMatch(/^error/im);
  expect(r.stderr, 'kubectl printed a warning').not.toMatch(WARNING_LINE);
  expect(r.code, r.stderr).toBe(0);
}

/** a failed kubectl run: non-zero exit, stderr matches `pattern`, no warnings */
export function expectFailure(r: KubectlResult, pattern: RegExp): void {
  expect(r.code, `expected failure, got stdout: ${r.stdout}`).not.toBe(0);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr, 'kubectl printed a warning').not.toMatch(WARNING_LINE);
}

/** runs kubectl, expects it clean, returns stdout */
export async function ok(
  s: TestServer,
  args: string[],
  opts?: { input?: string; env?: Record<string, string> },
): Promise<string> {
  const r = await s.kubectl(args, opts);
  expectClean(r);
  return r.stdout;
}

/** `kubectl get -o json` of one object, or undefined when it does not exist */
export async function getJSON(s: TestServer, args: string[]): Promise<any> {
  const r = await s.kubectl(['get', ...args, '-o', 'json']);
  if (r.code !== 0 && /NotFound/.test(r.stderr)) return undefined;
  expectClean(r);
  return JSON.parse(r.stdout);
}

export async function createNamespace(s: TestServer, name: string): Promise<void> {
  expect(await ok(s, ['create', 'namespace', name])).toBe(`namespace/${name} created\n`);
}

/** polls `check` up to `attempts` times; each attempt is one round trip to the server */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, attempts = 100): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** a kubectl process that keeps running; its output is collected as it arrives */
export interface KubectlProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** resolves once stdout (or stderr) matches, rejects after timeoutMs or when kubectl exits first */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<void>;
  /** resolves with kubectl's result when it exits on its own */
  exited: Promise<KubectlResult>;
  kill(): Promise<void>;
}

/** `binary`: another kubectl than the one on PATH (a path, as the version matrix runs them) */
export function startKubectl(
  s: TestServer,
  args: string[],
  env: Record<string, string> = {},
  binary = 'kubectl',
): KubectlProcess {
  const child = spawn(binary, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: s.dataDir,
      KUBECONFIG: s.kubeconfig,
      KUBECACHEDIR: join(s.dataDir, 'kubectl-cache'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  child.stdout!.on('data', (d) => ((out.stdout += String(d)), notify()));
  child.stderr!.on('data', (d) => ((out.stderr += String(d)), notify()));
  const exited = new Promise<KubectlResult>((res) => {
    child.once('close', (code) => {
      notify();
      res({ code: code ?? -1, stdout: out.stdout, stderr: out.stderr });
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    exited,
    waitFor(pattern, stream = 'stdout', timeoutMs = 20_000) {
      return new Promise((res, rej) => {
        const check = () => {
          if (pattern.test(out[stream])) {
            cleanup();
            res();
          } else if (done || child.exitCode !== null) {
            cleanup();
            rej(
              new Error(
                `kubectl ${args.join(' ')} exited before ${pattern} appeared; stdout: ${out.stdout} stderr: ${out.stderr}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          rej(
            new Error(
              `timed out waiting for ${pattern} from kubectl ${args.join(' ')}; stdout: ${out.stdout} stderr: ${out.stderr}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** a temp dir for files a test writes (manifests, editor scripts); removed by the returned function */
export function tempDir(): { dir: string; write(name: string, text: string, mode?: number): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tfa-e2e-files-'));
  return {
    dir,
    write(name, text, mode) {
      const p = join(dir, name);
      writeFileSync(p, text, mode === undefined ? undefined : { mode });
      return p;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function fixture(path: string): string {
  return readFileSync(join(FIXTURES, path), 'utf8');
}

/** an AdoptedServer manifest in YAML */
export function adoptedServer(
  name: string,
  ns: string,
  opts: {
    nodeType?: string;
    hostname?: string;
    endpoint?: string;
    extraSpec?: string;
    labels?: Record<string, string>;
  } = {},
): string {
  const labels = opts.labels
    ? `  labels:\n${Object.entries(opts.labels)
        .map(([k, v]) => `    ${k}: "${v}"`)
        .join('\n')}\n`
    : '';
  return `apiVersion: metal.sidero.dev/v1alpha2
kind: AdoptedServer
metadata:
  name: ${name}
  namespace: ${ns}
${labels}spec:
  talos:
    endpoint: "${opts.endpoint ?? '10.0.0.1:50000'}"
    nodeType: ${opts.nodeType ?? 'worker'}
${opts.hostname ? `    hostname: ${opts.hostname}\n` : ''}${opts.extraSpec ?? ''}`;
}

/** a KubernetesCluster manifest in YAML; worker pools as [name, replicas] (default: pool-a with 2) */
export function kubernetesCluster(
  name: string,
  ns: string,
  clusterId = `${name}-id`,
  pools: [string, number][] = [['pool-a', 2]],
): string {
  return `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  data:
    clusterUid: "a30fbc8d-596f-48d0-8541-dbc23bca28a1"
    clusterId: "${clusterId}"
    provider: talos
    environment: dev
    datacenter: trd1
    project: p
    region: west
    workorder: "w"
    zone: "z"
    workspace: "ws"
  topology:
    version: "1.33"
    controlplane:
      replicas: 1
      version: "1.33"
    workers:
${pools.map(([n, r]) => `      - name: ${n}\n        replicas: ${r}\n        version: "1.33"\n`).join('')}`;
}

/** an accepted AdoptedServer whose talosconfig is the Secret `talos` of its namespace */
export function adoptedNode(name: string, ns: string, endpoint: string, nodeType: string, extra = ''): string {
  return `apiVersion: metal.sidero.dev/v1alpha2
kind: AdoptedServer
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  talos:
    endpoint: "${endpoint}"
    nodeType: ${nodeType}
    talosconfigSecretRef:
      name: talos
  accepted: true
${extra}`;
}

/**
 * A standalone server's user other than its admin: a client certificate from the server's dev CA
 * (CN `name`, O each group) and a kubeconfig for it next to the admin's. Returns both.
 */
export async function standaloneUser(
  s: TestServer,
  name: string,
  groups: string[] = [],
): Promise<{ cert: PemPair; kubeconfig: string }> {
  const ca: PemPair = {
    certPem: readFileSync(join(s.dataDir, 'pki', 'ca.crt'), 'utf8'),
    keyPem: readFileSync(join(s.dataDir, 'pki', 'ca.key'), 'utf8'),
  };
  const subject = [`CN=${name}`, ...groups.map((g) => `O=${g}`)].join(', ');
  const cert = await issueCertificate(ca, { subject, usage: 'client' });
  const kc = parse(readFileSync(s.kubeconfig, 'utf8'));
  kc.users = [
    {
      name,
      user: {
        'client-certificate-data': Buffer.from(cert.certPem).toString('base64'),
        'client-key-data': Buffer.from(cert.keyPem).toString('base64'),
      },
    },
  ];
  kc.contexts[0].context.user = name;
  const kubeconfig = join(s.dataDir, `${name}.kubeconfig`);
  writeFileSync(kubeconfig, stringify(kc), { mode: 0o600 });
  return { cert, kubeconfig };
}

/**
 * kubectl-talos on PATH as `npm link` puts it there: the built plugin linked into `<dir>/bin`
 * (made if missing); returns the PATH that finds it first, for kubectl's plugin lookup
 */
export function pluginOnPath(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const cli = join(ROOT, 'dist/src/cli/main.js');
  chmodSync(cli, 0o755);
  symlinkSync(cli, join(bin, 'kubectl-talos'));
  return `${bin}:${process.env.PATH ?? ''}`;
}
