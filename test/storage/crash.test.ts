// Kills a writer process with SIGKILL in the middle of a stream of writes, then checks that every
// write it acknowledged survived intact, and that the recovered history is consistent.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../src/storage/embedded/store.js';
import type { StorageEvent } from '../../src/storage/storage.js';
import { WRITER_PREFIX, writerKey, writerUpdates, writerValue } from '../helpers/storage-writer.js';

const repo = resolve(import.meta.dirname, '../..');
const writerJs = join(repo, 'dist/test/helpers/storage-writer.js');

function newestSource(dirs: string[]): number {
  let newest = 0;
  for (const dir of dirs) {
    for (const entry of readdirSync(join(repo, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts')) {
        newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
      }
    }
  }
  return newest;
}

/** builds dist/ when the writer is missing or older than its sources */
function ensureBuilt(): void {
  if (existsSync(writerJs) && statSync(writerJs).mtimeMs >= newestSource(['src/storage', 'test/helpers'])) return;
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: repo,
      stdio: 'pipe',
    });
  } catch {
    // type errors elsewhere in the tree still emit JavaScript; only the writer's presence matters
  }
  expect(existsSync(writerJs), `${writerJs} was not built`).toBe(true);
}

interface Ack {
  op: 'c' | 'u';
  index: number;
  revision: number;
}

/**
 * Runs the writer until it has acknowledged `count` writes, then kills it with SIGKILL; with
 * `inSnapshot`, at the first acknowledgement after that while a snapshot is being written (or
 * after 4 times `count` writes if none is).
 */
async function runAndKill(
  dir: string,
  firstIndex: number,
  count: number,
  opts: { storeArgs?: string[]; inSnapshot?: boolean } = {},
): Promise<{ acks: Ack[]; killedInSnapshot: boolean }> {
  const child = spawn(
    process.execPath,
    [writerJs, dir, String(firstIndex), '8', ...(opts.storeArgs ?? [String(32 * 1024)])],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const acks: Ack[] = [];
  let snapshotRunning = false;
  let killedInSnapshot = false;
  let pending = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((done) => child.once('exit', (_code, signal) => done(signal)));
  await new Promise<void>((done, fail) => {
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const [op, a, b] = line.split(' ');
        if (op === 's' || op === 'S') snapshotRunning = op === 's';
        else acks.push({ op: op as Ack['op'], index: Number(a), revision: Number(b) });
      }
      const due = acks.length >= count && (!opts.inSnapshot || snapshotRunning || acks.length >= 4 * count);
      if (due && !child.killed) {
        killedInSnapshot = snapshotRunning;
        child.kill('SIGKILL');
        done();
      }
    });
    void exited.then(() => fail(new Error(`writer exited before ${count} acks: ${stderr}`)));
  });
  // the 'exit' event comes after the process is reaped, so its PID in the lock file is dead
  expect(await exited).toBe('SIGKILL');
  return { acks, killedInSnapshot };
}

/**
 * Every acknowledged write is there, intact, and the history the store still has (everything above
 * its compaction point) is one well-formed write of the writer per revision.
 */
async function verify(dir: string, acks: Ack[]): Promise<{ compacted: number }> {
  const store = await openEmbeddedStore(dir, { compactionIntervalMs: 0 });
  try {
    const current = await store.currentRevision();
    const compacted = await store.compactedRevision();
    expect(current).toBeGreaterThanOrEqual(Math.max(...acks.map((a) => a.revision)));

    // the latest value of every acknowledged object
    const updated = new Set(acks.filter((a) => a.op === 'u').map((a) => a.index));
    for (const ack of acks.filter((a) => a.op === 'c')) {
      const kv = await store.get(writerKey(ack.index));
      expect(kv, writerKey(ack.index)).not.toBeNull();
      expect(kv!.createRevision).toBe(ack.revision);
      if (updated.has(ack.index)) expect(kv!.value.equals(writerValue(ack.index, 1))).toBe(true);
      else expect([writerValue(ack.index, 0), writerValue(ack.index, 1)].some((v) => v.equals(kv!.value))).toBe(true);
    }

    // the retained history: one event per revision, each a well-formed write of the writer
    const events = await new Promise<StorageEvent[]>((done, fail) => {
      const seen: StorageEvent[] = [];
      if (current === compacted) return done(seen);
      const w = store.watch('', compacted, {
        onEvent: (ev) => {
          seen.push(ev);
          if (ev.revision === current) {
            w.close();
            done(seen);
          }
        },
        onError: fail,
      });
    });
    expect(events.map((e) => e.revision)).toEqual(
      Array.from({ length: current - compacted }, (_, i) => compacted + i + 1),
    );
    const byRevision = new Map(events.map((e) => [e.revision, e]));
    for (const ev of events) {
      const index = ev.kv.value.readUInt32LE(0);
      const generation = ev.prevKv ? 1 : 0;
      expect(ev.type).toBe('put');
      expect(ev.kv.key).toBe(writerKey(index));
      expect(ev.kv.value.equals(writerValue(index, generation))).toBe(true);
      if (generation === 1) expect(writerUpdates(index)).toBe(true);
    }
    for (const ack of acks.filter((a) => a.revision > compacted)) {
      const ev = byRevision.get(ack.revision)!;
      expect(ev.kv.key).toBe(writerKey(ack.index));
      expect(ev.kv.value.equals(writerValue(ack.index, ack.op === 'u' ? 1 : 0))).toBe(true);
    }
    // every stored object is a whole write of the writer
    const listed = (await store.list(WRITER_PREFIX)).kvs;
    for (const kv of listed) {
      const index = kv.value.readUInt32LE(0);
      expect(kv.key).toBe(writerKey(index));
      expect([writerValue(index, 0), writerValue(index, 1)].some((v) => v.equals(kv.value))).toBe(true);
    }
    if (compacted === 0) expect(listed.length).toBe(events.filter((e) => !e.prevKv).length);
    return { compacted };
  } finally {
    await store.close();
  }
}

describe('embedded store crash safety', () => {
  const dirs: string[] = [];

  beforeAll(() => {
    ensureBuilt();
  }, 180_000);

  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function newDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'tf-crash-'));
    dirs.push(dir);
    return dir;
  }

  it('keeps every acknowledged write, intact, across kill -9', async () => {
    const dir = await newDir();
    // the second writer also recovers the store the first left behind, and takes over its lock
    const acks = [...(await runAndKill(dir, 0, 600)).acks, ...(await runAndKill(dir, 1_000_000, 400)).acks];
    expect((await verify(dir, acks)).compacted).toBe(0);
  }, 120_000);

  it('keeps every acknowledged write across kill -9 while snapshots and compactions run under the writes', async () => {
    const dir = await newDir();
    // snapshots every 32 KiB of log (once the log is larger than the snapshot), compaction every
    // 5 ms and whenever history passes 128 KiB; each writer is killed while it writes a snapshot
    const storeArgs = [String(32 * 1024), '5', String(128 * 1024)];
    const acks: Ack[] = [];
    let killedInSnapshot = 0;
    for (let cycle = 0; cycle < 3; cycle++) {
      const run = await runAndKill(dir, cycle * 1_000_000, 300, { storeArgs, inSnapshot: true });
      acks.push(...run.acks);
      if (run.killedInSnapshot) killedInSnapshot++;
    }
    expect(killedInSnapshot).toBeGreaterThan(0);
    expect((await verify(dir, acks)).compacted).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'snapshot.bin'))).toBe(true);
  }, 120_000);
});
