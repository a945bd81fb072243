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

/** runs the writer until it has acknowledged `count` writes, then kills it with SIGKILL */
async function runAndKill(dir: string, firstIndex: number, count: number): Promise<Ack[]> {
  const child = spawn(process.execPath, [writerJs, dir, String(firstIndex), '8', String(32 * 1024)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acks: Ack[] = [];
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
        const [op, index, revision] = line.split(' ');
        acks.push({ op: op as Ack['op'], index: Number(index), revision: Number(revision) });
      }
      if (acks.length >= count && !child.killed) {
        child.kill('SIGKILL');
        done();
      }
    });
    void exited.then(() => fail(new Error(`writer exited before ${count} acks: ${stderr}`)));
  });
  // the 'exit' event comes after the process is reaped, so its PID in the lock file is dead
  expect(await exited).toBe('SIGKILL');
  return acks;
}

describe('embedded store crash safety', () => {
  let dir: string;

  beforeAll(async () => {
    ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'tf-crash-'));
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write, intact, across kill -9', async () => {
    // the second writer also recovers the store the first left behind, and takes over its lock
    const acks = [...(await runAndKill(dir, 0, 600)), ...(await runAndKill(dir, 1_000_000, 400))];
    const store = await openEmbeddedStore(dir);
    try {
      const current = await store.currentRevision();
      const compacted = await store.compactedRevision();
      expect(compacted).toBe(0);
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

      // the whole history: one event per revision, each a well-formed write of the writer
      const events = await new Promise<StorageEvent[]>((done, fail) => {
        const seen: StorageEvent[] = [];
        const w = store.watch('', 0, {
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
      expect(events.map((e) => e.revision)).toEqual(Array.from({ length: current }, (_, i) => i + 1));
      const byRevision = new Map(events.map((e) => [e.revision, e]));
      for (const ev of events) {
        const index = ev.kv.value.readUInt32LE(0);
        const generation = ev.prevKv ? 1 : 0;
        expect(ev.type).toBe('put');
        expect(ev.kv.key).toBe(writerKey(index));
        expect(ev.kv.value.equals(writerValue(index, generation))).toBe(true);
        if (generation === 1) expect(writerUpdates(index)).toBe(true);
      }
      for (const ack of acks) {
        const ev = byRevision.get(ack.revision)!;
        expect(ev.kv.key).toBe(writerKey(ack.index));
        expect(ev.kv.value.equals(writerValue(ack.index, ack.op === 'u' ? 1 : 0))).toBe(true);
      }
      expect((await store.list(WRITER_PREFIX)).kvs.length).toBe(events.filter((e) => !e.prevKv).length);
    } finally {
      await store.close();
    }
  }, 120_000);
});
