// A damaged embedded store, as a user sees it: the server refuses to start with an error that
// names the log file and the offset, and exits non-zero; with --embedded-repair-log it starts,
// keeps every object the log still holds, says what was lost and keeps the damaged file.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adoptedServer, adoptedServers, create, createNamespace } from '../helpers/api.js';
import { LOOPBACK_ONLY, MAIN, SAMPLE_OBJECTS_ONLY, startServer, type TestServer } from '../helpers/server.js';

const NS = 'damaged';
const OBJECTS = 60;

let first: TestServer | undefined;
let repaired: TestServer | undefined;

afterAll(async () => {
  await repaired?.stop('SIGTERM');
  await first?.stop('SIGKILL');
  if (first) rmSync(first.dataDir, { recursive: true, force: true });
});

/** starts the server on the data dir and waits for it to exit by itself (bounded by the test timeout) */
function startExpectingExit(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(
    process.execPath,
    [
      MAIN,
      '--data-dir',
      dataDir,
      '--secure-port',
      '0',
      '--bind-address',
      '127.0.0.1',
      '--allowed-outbound-networks',
      LOOPBACK_ONLY,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    proc.once('exit', (code) => {
      // a server that started after all is stopped by its PID (it logged "serving")
      resolve({ code, stdout, stderr });
    });
    proc.stdout.on('data', () => {
      if (stdout.includes('"msg":"serving"')) proc.kill('SIGKILL');
    });
  });
}

describe('embedded store with a damaged write-ahead log, through the server', () => {
  it('refuses to start naming the file and the offset, and starts with --embedded-repair-log keeping the rest', async () => {
    first = await startServer({ args: SAMPLE_OBJECTS_ONLY });
    await createNamespace(first, NS);
    for (let i = 0; i < OBJECTS; i++) await create(first, adoptedServers(NS), adoptedServer(`as-${i}`));
    expect(await first.stop('SIGTERM')).toBe(0);

    const storeDir = join(first.dataDir, 'store');
    const segments = readdirSync(storeDir).filter((n) => /^wal-\d+\.log$/.test(n));
    expect(segments).toHaveLength(1);
    const log = join(storeDir, segments[0]!);
    const damaged = readFileSync(log);
    const at = Math.floor(damaged.length / 2);
    damaged[at] ^= 0x10;
    writeFileSync(log, damaged);

    const refused = await startExpectingExit(first.dataDir);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    const fatal = refused.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } })
      .find((l) => l.level === 60)!;
    expect(fatal.msg).toBe('failed to start');
    expect(fatal.err!.message).toContain(`write-ahead log ${log} is damaged at byte offset `);
    expect(fatal.err!.message).toContain('--embedded-repair-log');
    const offset = Number(/at byte offset (\d+)/.exec(fatal.err!.message)![1]);
    expect(offset).toBeLessThanOrEqual(at);
    expect(at - offset).toBeLessThan(4096);
    // refusing changed nothing
    expect(readFileSync(log)).toEqual(damaged);

    repaired = await startServer({ dataDir: first.dataDir, args: [...SAMPLE_OBJECTS_ONLY, '--embedded-repair-log'] });
    const logs = repaired.logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    const skipped = logs.find((l) => /skipped a damaged region/.test(l.msg))!;
    expect(skipped).toMatchObject({ level: 40, component: 'embedded-store', file: log, offset });
    expect(skipped.lost).toMatch(/revisions (\d+)-\1 \(1\), 1 group commit/);
    const kept = logs.find((l) => /kept the damaged write-ahead log file aside/.test(l.msg))!;
    expect(readFileSync(kept.keptAs)).toEqual(damaged);

    // one create was in the damaged group commit; every other object is there, and writes work
    const list = await repaired.request('GET', adoptedServers(NS));
    expect(list.status, list.body).toBe(200);
    expect(list.json().items).toHaveLength(OBJECTS - 1);
    await create(repaired, adoptedServers(NS), adoptedServer('after-repair'));
    const k = await repaired.kubectl(['get', 'adoptedservers', '-n', NS, '-o', 'name']);
    expect(k.code, k.stderr).toBe(0);
    expect(k.stdout.trim().split('\n')).toHaveLength(OBJECTS);
  });
});
