// The server under fuzz, as a user starts it (`node dist/apiservice/main.js`): embedded store in a
// temp dir, loopback-only dials, no controllers (every stored change must then come from a request
// the fuzzer made), bookmarks often enough that the end-of-run check sees the watches catch up.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { adminIdentity, waitForServing } from '../../test/helpers/serving.js';

export const MAIN = resolve(import.meta.dirname, '../../apiservice/main.js');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
/** every controller the server has, each turned off (no entry enables one without `*`) */
const NO_CONTROLLERS = '-namespace,-garbage-collector,-adoptedserver,-kubernetescluster,-machine,-clusterlifecycle';

export interface Identity {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface FuzzServer {
  url: string;
  identity: Identity;
  proc: ChildProcess;
  /** the server's log lines at level error (50) or above, the first 1,000 kept */
  errorLogs: string[];
  errorLogCount: number;
  /** the tail of stderr (a V8 fatal error is printed there) */
  stderrTail(): string;
  exited(): boolean;
  /** SIGTERM to this process only, then the data dir is removed */
  stop(): Promise<void>;
}

export interface ServerSettings {
  watchBookmarkIntervalMs: number;
  /** how long the live subresources may wait for a (non-existent) Talos node */
  talosCallTimeout: string;
}

export async function startFuzzServer(settings: ServerSettings): Promise<FuzzServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tf-fuzz-'));
  const args = [
    MAIN,
    '--data-dir',
    dataDir,
    '--secure-port',
    '0',
    '--bind-address',
    '127.0.0.1',
    '--allowed-outbound-networks',
    '127.0.0.0/8,::1/128',
    '--controllers',
    NO_CONTROLLERS,
    '--watch-bookmark-interval-ms',
    String(settings.watchBookmarkIntervalMs),
    '--talos-call-timeout',
    settings.talosCallTimeout,
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // the server must not outlive the fuzzer, also when the fuzzer is stopped by a signal
  const killOnExit = () => {
    proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  const exitOnSignal = () => process.exit(130);
  process.once('exit', killOnExit);
  process.once('SIGINT', exitOnSignal);
  process.once('SIGTERM', exitOnSignal);
  let stderr = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => (stderr = (stderr + c).slice(-32_768)));
  const errorLogs: string[] = [];
  const server: FuzzServer = {
    url: '',
    identity: { ca: Buffer.alloc(0), cert: Buffer.alloc(0), key: Buffer.alloc(0) },
    proc,
    errorLogs,
    errorLogCount: 0,
    stderrTail: () => stderr,
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
    async stop() {
      if (!server.exited()) {
        const gone = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await gone;
        clearTimeout(timer);
      }
      process.off('exit', killOnExit);
      process.off('SIGINT', exitOnSignal);
      process.off('SIGTERM', exitOnSignal);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    server.url = await waitForServing(proc, {
      timeoutMs: START_TIMEOUT_MS,
      stderr: () => stderr,
      onLine: (line) => {
        if (!/"level":(5|6)\d/.test(line)) return;
        server.errorLogCount++;
        if (errorLogs.length < 1000) errorLogs.push(line.slice(0, 4000));
      },
    });
    server.identity = await adminIdentity(dataDir);
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}
