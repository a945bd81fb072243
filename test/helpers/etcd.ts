// Real etcd processes for tests: one member or a small cluster on loopback, each member on free
// ports with a temporary data directory, optionally serving clients over mTLS. Members are
// stopped and their directories removed by cleanup(); a process-exit hook kills any member a
// crashed test left running. etcd missing is an error, never a skip: CI installs etcd-server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issueCertificate } from '../../src/pki/devca.js';

export interface EtcdTlsFiles {
  caFile: string;
  /** a client certificate etcd accepts (--client-cert-auth) */
  certFile: string;
  keyFile: string;
}

type TlsMaterial = EtcdTlsFiles & { serverCert: string; serverKey: string };

export interface EtcdMember {
  readonly name: string;
  readonly endpoint: string;
  readonly dataDir: string;
  readonly running: boolean;
  /** SIGTERM and wait for the exit */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit */
  kill(): Promise<void>;
  /** start again on the same ports and data directory, waiting until it reports healthy */
  start(): Promise<void>;
  /** everything etcd wrote to stderr recently, for failure messages */
  log(): string;
}

export interface EtcdCluster {
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  readonly tls: EtcdTlsFiles | undefined;
  stopMember(i: number): Promise<void>;
  startMember(i: number): Promise<void>;
  /** the index of the member that is the raft leader, as a running member reports it */
  leaderIndex(): Promise<number>;
  /** stops every member and removes all data directories and certificates */
  cleanup(): Promise<void>;
}

export interface EtcdServer extends EtcdCluster {
  readonly dataDir: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
}

export interface EtcdHarnessOptions {
  tls?: boolean;
}

const HEALTH_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 15_000;
const PORT_ATTEMPTS = 5;
const LOG_BYTES = 16 * 1024;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function etcdBinary(): string {
  if (existsSync('/usr/bin/etcd')) return '/usr/bin/etcd';
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status === 0 && path) return path;
  throw new Error(
    'etcd is not installed: the etcd tests need /usr/bin/etcd or etcd on PATH (apt-get install -y etcd-server)',
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function writeTls(dir: string): Promise<TlsMaterial> {
  const ca = await createCA('etcd-test-ca');
  const server = await issueCertificate(ca, {
    subject: 'CN=etcd',
    usage: 'server',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  const client = await issueCertificate(ca, { subject: 'CN=etcd-client', usage: 'client' });
  const files = {
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'client.crt'),
    keyFile: join(dir, 'client.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  };
  await writeFile(files.caFile, ca.certPem);
  await writeFile(files.certFile, client.certPem);
  await writeFile(files.keyFile, client.keyPem, { mode: 0o600 });
  await writeFile(files.serverCert, server.certPem);
  await writeFile(files.serverKey, server.keyPem, { mode: 0o600 });
  return files;
}

interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

class Member implements EtcdMember {
  readonly name: string;
  readonly dataDir: string;
  readonly endpoint: string;
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stderr = '';

  constructor(
    private readonly spec: MemberSpec,
    private readonly cluster: string,
    private readonly token: string,
    private readonly tls: TlsMaterial | undefined,
  ) {
    this.name = spec.name;
    this.dataDir = spec.dataDir;
    this.endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${spec.clientPort}`;
  }

  get running(): boolean {
    return this.proc !== null;
  }
  log(): string {
    return this.stderr;
  }

  /** spawns etcd; `exitedEarly` resolves with what etcd said if it exits */
  private launch(): { exitedEarly: Promise<Error> } {
    const peer = `http://127.0.0.1:${this.spec.peerPort}`;
    const args = [
      `--name=${this.spec.name}`,
      `--data-dir=${this.spec.dataDir}`,
      `--listen-client-urls=${this.endpoint}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${this.cluster}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${this.token}`,
      // faster leader elections than the defaults (100/1000) keep member-failure tests short
      '--heartbeat-interval=50',
      '--election-timeout=500',
      '--logger=zap',
      '--log-outputs=stderr',
      '--log-level=warn',
    ];
    if (this.tls) {
      args.push(
        `--cert-file=${this.tls.serverCert}`,
        `--key-file=${this.tls.serverKey}`,
        `--trusted-ca-file=${this.tls.caFile}`,
        '--client-cert-auth',
      );
    }
    const proc = spawn(etcdBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    live.add(proc);
    this.stderr = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-LOG_BYTES);
    });
    let onExit!: (err: Error) => void;
    const exitedEarly = new Promise<Error>((resolve) => (onExit = resolve));
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        live.delete(proc);
        if (this.proc === proc) this.proc = null;
        onExit(new Error(`etcd ${this.spec.name} exited (code ${code}, signal ${signal}):\n${this.stderr}`));
        resolve();
      });
    });
    return { exitedEarly };
  }

  async start(): Promise<void> {
    if (this.proc) return;
    const { exitedEarly } = this.launch();
    await Promise.race([waitHealthy(this.endpoint, this.tls), exitedEarly.then((err) => Promise.reject(err))]);
  }

  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill(sig);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), EXIT_TIMEOUT_MS)),
    );
    const result = await Promise.race([this.exited.then(() => 'exited' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      proc.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** one HTTP request to a member's client URL; null when it failed */
function memberRequest(
  endpoint: string,
  tls: TlsMaterial | undefined,
  path: string,
  body?: string,
): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const url = new URL(path, endpoint);
    const opts = { timeout: 2_000, method: body === undefined ? 'GET' : 'POST' };
    const req = tls
      ? httpsRequest(url, {
          ...opts,
          ca: readFileSync(tls.caFile),
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
        })
      : httpRequest(url, opts);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end(body);
  });
}

async function waitHealthy(endpoint: string, tls: TlsMaterial | undefined): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const res = await memberRequest(endpoint, tls, '/health');
    if (res?.status === 200 && res.body.includes('"true"')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${endpoint} did not report healthy within ${HEALTH_TIMEOUT_MS} ms`);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const proc of live) proc.kill('SIGKILL');
  });
}

/** starts an n-member etcd cluster on loopback; retries with new ports when one was taken meanwhile */
export async function startEtcdCluster(size: number, opts: EtcdHarnessOptions = {}): Promise<EtcdCluster> {
  etcdBinary(); // fail before creating anything when etcd is missing
  installExitHook();
  const root = await mkdtemp(join(tmpdir(), 'tf-etcd-'));
  try {
    const tls = opts.tls ? await writeTls(root) : undefined;
    for (let attempt = 1; ; attempt++) {
      const specs: MemberSpec[] = [];
      for (let i = 0; i < size; i++) {
        specs.push({
          name: `m${i}`,
          clientPort: await freePort(),
          peerPort: await freePort(),
          dataDir: join(root, `a${attempt}-m${i}`),
        });
      }
      const initial = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
      const token = `tf-${process.pid}-${Date.now()}-${attempt}`;
      const members = specs.map((s) => new Member(s, initial, token, tls));
      try {
        await Promise.all(members.map((m) => m.start()));
      } catch (err) {
        await Promise.all(members.map((m) => m.kill()));
        if (attempt < PORT_ATTEMPTS && /address already in use/.test(String(err))) continue;
        throw err;
      }
      return makeCluster(root, members, tls);
    }
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}

function makeCluster(root: string, members: Member[], tls: TlsMaterial | undefined): EtcdCluster {
  return {
    endpoints: members.map((m) => m.endpoint),
    members,
    tls: tls ? { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile } : undefined,
    stopMember: (i) => members[i]!.stop(),
    startMember: (i) => members[i]!.start(),
    leaderIndex: async () => {
      const ids = new Map<string, number>();
      let leader: string | undefined;
      for (const [i, m] of members.entries()) {
        const res = m.running ? await memberRequest(m.endpoint, tls, '/v3/maintenance/status', '{}') : null;
        if (res?.status !== 200) continue;
        // the JSON gateway prints member ids as decimal strings, so they compare exactly
        const status = JSON.parse(res.body) as { leader?: string; header?: { member_id?: string } };
        if (status.header?.member_id) ids.set(status.header.member_id, i);
        if (status.leader && status.leader !== '0') leader = status.leader;
      }
      const index = leader === undefined ? undefined : ids.get(leader);
      if (index === undefined) throw new Error('no running etcd member is the leader');
      return index;
    },
    cleanup: async () => {
      await Promise.all(members.map((m) => m.kill()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** one etcd member on free loopback ports */
export async function startEtcd(opts: EtcdHarnessOptions = {}): Promise<EtcdServer> {
  const cluster = await startEtcdCluster(1, opts);
  const member = cluster.members[0]!;
  return {
    ...cluster,
    dataDir: member.dataDir,
    stop: () => member.stop(),
    kill: () => member.kill(),
    start: () => member.start(),
    restart: async () => {
      await member.stop();
      await member.start();
    },
  };
}

export interface TcpProxy {
  /** an http:// endpoint that forwards to the target */
  readonly endpoint: string;
  /** drops every connection and refuses new ones until restore() */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** a loopback TCP forwarder whose connections a test can break, to cut one client off etcd */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((downstream) => {
    if (!open) return void downstream.destroy();
    const upstream = connect(Number(port), hostname);
    const drop = () => {
      for (const s of [downstream, upstream]) {
        s.destroy();
        sockets.delete(s);
      }
    };
    for (const s of [downstream, upstream]) {
      sockets.add(s);
      s.on('error', drop);
      s.on('close', drop);
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const cut = () => {
    open = false;
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    cut,
    restore: () => void (open = true),
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
