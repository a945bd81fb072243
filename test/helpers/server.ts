// Starts the real server as a user would (`node dist/apiservice/main.js`), on port 0 in a temp
// data dir, and gives tests kubectl and raw HTTPS access with the admin identity.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { waitForServing } from './serving.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const MAIN = join(ROOT, 'dist/apiservice/main.js');
const START_TIMEOUT_MS = 60_000;
export const LOOPBACK_ONLY = '127.0.0.0/8,::1/128';
/**
 * For suites that use AdoptedServers and KubernetesClusters as sample objects of the generic API:
 * without their controllers no status write, Machine or event interleaves with what they count.
 */
export const SAMPLE_OBJECTS_ONLY = [
  '--controllers',
  '*,-adoptedserver,-kubernetescluster,-machine,-clusterlifecycle,-server,-serverclass,-environment',
];

export interface TestServer {
  url: string;
  dataDir: string;
  kubeconfig: string;
  proc: ChildProcess;
  /** lines the server logged so far */
  logs: string[];
  kubectl(args: string[], opts?: { input?: string; env?: Record<string, string> }): Promise<KubectlResult>;
  request(method: string, path: string, opts?: RawRequestOptions): Promise<RawResponse>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RawRequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** present no client certificate */
  anonymous?: boolean;
  /** present this client certificate instead of the admin's */
  cert?: { certPem: string; keyPem: string };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = any>(): T;
}

function ensureBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
}

export async function startServer(opts: { dataDir?: string; args?: string[] } = {}): Promise<TestServer> {
  ensureBuilt();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tfa-e2e-'));
  // the example manifests name private addresses: the server may dial loopback only, ever
  const args = [
    MAIN,
    '--data-dir',
    dataDir,
    '--secure-port',
    '0',
    '--bind-address',
    '127.0.0.1',
    '--allowed-outbound-networks',
    LOOPBACK_ONLY,
    ...(opts.args ?? []),
  ];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const stderr: string[] = [];
  proc.stderr!.on('data', (d) => stderr.push(String(d)));
  const url = await waitForServing(proc, {
    timeoutMs: START_TIMEOUT_MS,
    stderr: () => stderr.join(''),
    onLine: (line) => logs.push(line),
  });
  // cluster mode writes no admin kubeconfig: the dev admin identity is not trusted there, and
  // requests carry no client certificate unless a test passes one
  const kubeconfig = join(dataDir, 'admin.kubeconfig');
  const ca = readFileSync(join(dataDir, 'pki', 'ca.crt'));
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  if (existsSync(kubeconfig)) {
    const kc = parse(readFileSync(kubeconfig, 'utf8'));
    cert = Buffer.from(kc.users[0].user['client-certificate-data'], 'base64');
    key = Buffer.from(kc.users[0].user['client-key-data'], 'base64');
  }
  const cacheDir = join(dataDir, 'kubectl-cache');

  const server: TestServer = {
    url,
    dataDir,
    kubeconfig,
    proc,
    logs,
    kubectl(args, o = {}) {
      return new Promise((res) => {
        const child = execFile(
          'kubectl',
          args,
          {
            env: {
              PATH: process.env.PATH ?? '',
              HOME: dataDir,
              KUBECONFIG: kubeconfig,
              KUBECACHEDIR: cacheDir,
              ...o.env,
            },
            timeout: 60_000,
            maxBuffer: 64 * 1024 * 1024,
          },
          (err, stdout, stderrOut) => {
            const code = err
              ? typeof (err as { code?: unknown }).code === 'number'
                ? (err as { code: number }).code
                : 1
              : 0;
            res({ code, stdout: String(stdout), stderr: String(stderrOut) });
          },
        );
        if (o.input !== undefined) child.stdin!.end(o.input);
        else child.stdin!.end();
      });
    },
    request(method, path, o = {}) {
      return new Promise((res, rej) => {
        const u = new URL(path, url);
        const req = request(
          u,
          {
            method,
            ca,
            ...(o.anonymous ? {} : o.cert ? { cert: o.cert.certPem, key: o.cert.keyPem } : cert ? { cert, key } : {}),
            headers: { ...(o.body !== undefined ? { 'Content-Length': Buffer.byteLength(o.body) } : {}), ...o.headers },
          },
          (resp) => {
            const chunks: Buffer[] = [];
            resp.on('data', (c: Buffer) => chunks.push(c));
            resp.on('end', () => {
              const body = Buffer.concat(chunks).toString('utf8');
              res({ status: resp.statusCode ?? 0, headers: resp.headers, body, json: () => JSON.parse(body) });
            });
            resp.on('error', rej);
          },
        );
        req.on('error', rej);
        if (o.body !== undefined) req.write(o.body);
        req.end();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill(signal);
      return exited;
    },
  };
  return server;
}

/** stops the server and removes its data dir */
export async function disposeServer(s: TestServer | undefined): Promise<void> {
  if (!s) return;
  await s.stop('SIGTERM');
  rmSync(s.dataDir, { recursive: true, force: true });
}
