// Reading a started server's stdout for its "serving" line, and its admin identity from the
// kubeconfig it wrote: shared by the test harness, the benchmark and the fuzzer.
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'yaml';

export interface ServingWait {
  timeoutMs: number;
  /** what the server wrote to stderr so far, for the error when it never serves */
  stderr(): string;
  /** every stdout line, read to the end (also after the "serving" line) */
  onLine?(line: string): void;
}

/** resolves with the address of the server's `{"msg":"serving","address":...}` line */
export function waitForServing(proc: ChildProcess, o: ServingWait): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server did not log "serving" within ${o.timeoutMs} ms:\n${o.stderr()}`)),
      o.timeoutMs,
    );
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      o.onLine?.(line);
      if (!line.includes('"serving"')) return;
      try {
        const rec = JSON.parse(line) as { msg?: string; address?: string };
        if (rec.msg === 'serving' && rec.address) {
          clearTimeout(timer);
          resolve(rec.address);
        }
      } catch {
        // not JSON: nothing to learn from it
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before serving:\n${o.stderr()}`));
    });
  });
}

export interface AdminIdentity {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** the CA and admin client certificate from the kubeconfig standalone mode writes */
export async function adminIdentity(dataDir: string): Promise<AdminIdentity> {
  const kc = parse(await readFile(join(dataDir, 'admin.kubeconfig'), 'utf8'));
  return {
    ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64'),
    cert: Buffer.from(kc.users[0].user['client-certificate-data'], 'base64'),
    key: Buffer.from(kc.users[0].user['client-key-data'], 'base64'),
  };
}
