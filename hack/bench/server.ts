// The server under test as a separate process (`node dist/apiservice/main.js`) on etcd, and
// clients for it with the admin identity from the kubeconfig the server writes: HTTPS/1.1 over a
// keep-alive agent with enough sockets for every request in flight, and HTTP/2.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { adminIdentity, waitForServing } from '../../test/helpers/serving.js';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
export const MAIN = resolve(import.meta.dirname, '../../apiservice/main.js');

export interface ClientIdentity {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface Response {
  status: number;
  body: string;
}

export class BenchClient {
  readonly agent: Agent;

  constructor(
    readonly url: string,
    readonly identity: ClientIdentity,
    maxSockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, ...identity });
  }

  private options(method: string, body?: string, contentType = 'application/json'): RequestOptions {
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    return { method, agent: this.agent, headers };
  }

  /** one request, the whole body read */
  send(method: string, path: string, body?: string): Promise<Response> {
    return this.sendWith(method, path, body, 'application/json');
  }

  /** one request with a body of this content type (patches), the whole answer read */
  sendWith(method: string, path: string, body: string | undefined, contentType: string): Promise<Response> {
    return new Promise((resolvePromise, reject) => {
      const req = request(new URL(path, this.url), this.options(method, body, contentType), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** like send, failing unless the status is the expected one */
  async expect(status: number, method: string, path: string, body?: string): Promise<string> {
    const res = await this.send(method, path, body);
    if (res.status !== status) throw new Error(`${method} ${path}: ${res.status} (expected ${status}): ${res.body.slice(0, 500)}`);
    return res.body;
  }

  /** a streaming GET (watch): resolves with the response once its headers arrived */
  stream(path: string): Promise<{ res: IncomingMessage; abort(): void }> {
    return new Promise((resolvePromise, reject) => {
      const req = request(new URL(path, this.url), this.options('GET'), (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${path}: ${res.statusCode}`));
          res.resume();
          return;
        }
        resolvePromise({ res, abort: () => req.destroy() });
      });
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface BenchServer {
  url: string;
  identity: ClientIdentity;
  proc: ChildProcess;
  /** SIGTERM, wait for the exit (a --cpu-prof profile is written then), remove the data dir */
  stop(): Promise<void>;
}

export interface ServerLaunch {
  /** etcd to store in; without it the server runs on its embedded store (as `npm start` does) */
  etcdEndpoint?: string;
  /** node flags for the server process, e.g. --cpu-prof */
  nodeArgs?: string[];
  /** more server flags */
  serverArgs?: string[];
}

export async function startBenchServer(opts: ServerLaunch): Promise<BenchServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tf-bench-server-'));
  const args = [
    ...(opts.nodeArgs ?? []),
    MAIN,
    '--data-dir', dataDir,
    '--secure-port', '0',
    '--bind-address', '127.0.0.1',
    ...(opts.etcdEndpoint
      ? ['--storage-backend', 'etcd3', '--etcd-servers', opts.etcdEndpoint,
        // compaction during a run would make the runs differ; kube's default interval is longer than a run anyway
        '--etcd-compaction-interval', '0']
      : ['--storage-backend', 'embedded']),
    // nothing the benchmark writes names a node, but the server never dials off this machine
    '--allowed-outbound-networks', '127.0.0.0/8,::1/128',
    // the objects are samples of the generic API: no controller may write them while they are measured
    '--controllers', '*,-adoptedserver,-machine,-clusterlifecycle',
    // up to 1,000 watchers connect from this one address at once, each authenticating only with
    // its first request: the per-address limit on unauthenticated connections would refuse them
    '--max-unauthenticated-connections-per-address', '0',
    ...(opts.serverArgs ?? []),
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => (stderr = (stderr + c).slice(-16_384)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', killOnExit);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await waitForServing(proc, { timeoutMs: START_TIMEOUT_MS, stderr: () => stderr });
    return { url, identity: await adminIdentity(dataDir), proc, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * HTTP/2 sessions to the server, many streams on each, as kube-aggregator and client-go connect
 * (one TLS connection multiplexing every request, another only when the server's stream limit is
 * reached).
 */
export class BenchH2Client {
  private readonly sessions: ClientHttp2Session[] = [];
  private streamsOnLast = 0;

  constructor(
    readonly url: string,
    readonly identity: ClientIdentity,
    /** streams per session (the server allows 1000) */
    readonly streamsPerSession = 1000,
  ) {}

  private session(): ClientHttp2Session {
    let last = this.sessions[this.sessions.length - 1];
    if (!last || this.streamsOnLast >= this.streamsPerSession) {
      last = connect(this.url, { ...this.identity });
      last.on('error', () => undefined); // closed at the end
      this.sessions.push(last);
      this.streamsOnLast = 0;
    }
    this.streamsOnLast++;
    return last;
  }

  /** one request, the whole body read; failing unless the status is the expected one */
  expect(status: number, method: string, path: string, body?: string): Promise<string> {
    return new Promise((resolvePromise, reject) => {
      const headers: Record<string, string | number> = { ':method': method, ':path': path, accept: 'application/json' };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = this.session().request(headers);
      let got = 0;
      const chunks: Buffer[] = [];
      req.once('response', (h) => (got = Number(h[':status'])));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.once('end', () => {
        this.streamsOnLast--;
        const text = Buffer.concat(chunks).toString('utf8');
        if (got !== status) reject(new Error(`${method} ${path}: ${got} (expected ${status}): ${text.slice(0, 500)}`));
        else resolvePromise(text);
      });
      req.once('error', reject);
      req.end(body);
    });
  }

  /** a streaming GET (watch): resolves once the response headers arrived */
  stream(path: string): Promise<{ res: ClientHttp2Stream; abort(): void }> {
    return new Promise((resolvePromise, reject) => {
      const req = this.session().request({ ':method': 'GET', ':path': path, accept: 'application/json' });
      req.once('response', (headers) => {
        const status = Number(headers[':status']);
        if (status !== 200) {
          reject(new Error(`GET ${path}: ${status}`));
          req.close();
          return;
        }
        resolvePromise({ res: req, abort: () => req.close() });
      });
      req.once('error', reject);
      req.end();
    });
  }

  close(): void {
    for (const s of this.sessions.splice(0)) s.destroy();
  }
}
