import { spawn } from 'node:child_process';
import { appendFile, copyFile, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Fallback } from '../../src/storage/embedded/crc32.js';
import { EMBEDDED_FILES, openEmbeddedStore, type EmbeddedStore } from '../../src/storage/embedded/store.js';
import { StorageError, type Storage, type StorageEvent } from '../../src/storage/storage.js';
import { runStorageConformance } from './conformance.js';
import { embeddedStores } from '../helpers/embedded-stores.js';

const b = (s: string): Buffer => Buffer.from(s);

runStorageConformance('embedded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tf-embedded-'));
  const store = await openEmbeddedStore(dir);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('embedded store', () => {
  const { newDir, openStore } = embeddedStores('tf-embedded-');

  /** everything a reader can observe: revisions, all live keys, and the retained history */
  async function observe(store: Storage) {
    const revision = await store.currentRevision();
    const compacted = await store.compactedRevision();
    const events: StorageEvent[] = [];
    await new Promise<void>((resolve, reject) => {
      if (revision === compacted) return resolve();
      const w = store.watch('', compacted, {
        onEvent: (ev) => {
          events.push(ev);
          if (ev.revision === revision) {
            w.close();
            resolve();
          }
        },
        onError: reject,
      });
    });
    return { revision, compacted, kvs: (await store.list('')).kvs, events };
  }

  it('keeps revision, data, history and compaction point across close and reopen', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    const a = await store.create('/registry/g/r/ns/a', b('a1'));
    await store.update(a.key, b('a2'), a.modRevision);
    await store.create('/registry/g/r/ns/b', b('b1'));
    await store.compact(a.modRevision + 1);
    await store.delete(a.key);
    await store.create('/registry/g/r/ns/c', Buffer.from([0, 1, 2, 255]));
    const before = await observe(store);
    await store.close();

    store = await openStore(dir);
    expect(await observe(store)).toEqual(before);
    expect(before).toMatchObject({ revision: 5, compacted: 2 });
    expect((await store.get(a.key, 3))?.value).toEqual(b('a2'));
    expect((await store.create('/registry/g/r/ns/d', b('d'))).modRevision).toBe(6);
  });

  it('recovers through snapshots, with history and compaction point intact', async () => {
    const dir = await newDir();
    const opts = { snapshotThresholdBytes: 4096, historyRevisions: 50 };
    let store = await openStore(dir, opts);
    for (let i = 0; i < 400; i++) {
      const key = `/registry/g/r/ns/k${i % 37}`;
      const cur = await store.get(key);
      if (!cur) await store.create(key, b(`v${i}`));
      else if (i % 5 === 0) await store.delete(key);
      else await store.update(key, b(`v${i}`), cur.modRevision);
    }
    expect(store.stats().snapshotsWritten).toBeGreaterThan(0);
    const before = await observe(store);
    expect(before.compacted).toBeGreaterThan(0);
    expect(before.revision - before.compacted).toBeLessThanOrEqual(50 + 5);
    await store.close();
    store = await openStore(dir, opts);
    expect(await observe(store)).toEqual(before);
  });

  it('skips log records a snapshot already holds (crash between snapshot and deleting the segments it covers)', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    for (let i = 0; i < 20; i++) await store.create(`/k/${i}`, b(`v${i}`));
    await store.close();
    const [segment] = await logSegments(dir);
    const oldLog = join(dir, 'old.log');
    await copyFile(segment!, oldLog);
    store = await openStore(dir, { snapshotThresholdBytes: 1 });
    await store.update('/k/3', b('new'), 4);
    const before = await observe(store);
    // close waits for the snapshot that follows the update's log write
    await store.close();
    expect(store.stats()).toMatchObject({ snapshotsWritten: 1, logSegments: 1 });
    expect(await logSegments(dir)).not.toContain(segment);
    await copyFile(oldLog, segment!);
    store = await openStore(dir);
    expect(await observe(store)).toEqual(before);
  });

  it('discards a torn last record on reopen, says so, and never serves it', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    await store.create('/k/1', b('one'));
    await store.create('/k/2', b('two'));
    await store.create('/k/3', b('three'));
    await store.close();
    const [log] = await logSegments(dir);
    const full = (await stat(log!)).size;
    await truncate(log!, full - 3);

    const warnings: Record<string, unknown>[] = [];
    store = await openStore(dir, { log: { info: () => undefined, warn: (fields) => warnings.push(fields) } });
    expect(store.stats().recoveredTailBytes).toBeGreaterThan(0);
    expect(warnings).toEqual([
      { file: log, offset: expect.any(Number), bytesDropped: store.stats().recoveredTailBytes },
    ]);
    expect(warnings[0]!.offset).toBe(full - 3 - store.stats().recoveredTailBytes);
    expect(await store.currentRevision()).toBe(2);
    expect(await store.get('/k/3')).toBeNull();
    expect((await observe(store)).events.map((e) => e.kv.key)).toEqual(['/k/1', '/k/2']);
    // the next write lands where the torn one was, not after garbage
    expect((await store.create('/k/4', b('four'))).modRevision).toBe(3);
    await store.close();

    store = await openStore(dir);
    expect(store.stats().recoveredTailBytes).toBe(0);
    expect((await store.list('/k/')).kvs.map((kv) => [kv.key, kv.value.toString(), kv.modRevision])).toEqual([
      ['/k/1', 'one', 1],
      ['/k/2', 'two', 2],
      ['/k/4', 'four', 3],
    ]);
  });

  it('discards garbage appended to the log and a last record whose checksum fails', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    await store.create('/k/1', b('one'));
    await store.create('/k/2', b('two'));
    await store.close();
    const [log] = await logSegments(dir);
    const intact = await readFile(log!);
    // a plausible header (small length) followed by bytes that do not match its checksum
    const garbage = Buffer.alloc(64, 0xab);
    garbage.writeUInt32LE(20, 0);
    await appendFile(log!, garbage);
    store = await openStore(dir);
    expect(store.stats().recoveredTailBytes).toBe(64);
    expect((await store.list('/k/')).kvs.map((kv) => kv.value.toString())).toEqual(['one', 'two']);
    await store.close();
    expect(await readFile(log!)).toEqual(intact);

    // flip one byte inside the last record's value
    const flipped = Buffer.from(intact);
    flipped[flipped.length - 1] ^= 0xff;
    await writeFile(log!, flipped);
    store = await openStore(dir);
    expect(await store.currentRevision()).toBe(1);
    expect(await store.get('/k/2')).toBeNull();
  });

  it('keeps the data directory bounded when one key is written many times', async () => {
    const dir = await newDir();
    const opts = { snapshotThresholdBytes: 64 * 1024, historyRevisions: 100 };
    const store = await openStore(dir, opts);
    const value = Buffer.alloc(1024, 1);
    let kv = await store.create('/registry/g/r/ns/hot', value);
    const writes = 2000;
    let largest = 0;
    for (let i = 1; i < writes; i++) {
      value.writeUInt32LE(i, 0);
      kv = await store.update(kv.key, value, kv.modRevision);
      if (i % 250 === 0) largest = Math.max(largest, await dirBytes(dir));
    }
    // about 2 MB was written; the directory holds a snapshot (~100 versions) and a short log
    expect(largest).toBeLessThan(512 * 1024);
    expect(store.stats().snapshotsWritten).toBeGreaterThan(3);
    await store.close();
    const reopened = await openStore(dir, opts);
    expect(await reopened.currentRevision()).toBe(writes);
    expect((await reopened.get(kv.key))?.value.readUInt32LE(0)).toBe(writes - 1);
  });

  it('serves a write only once it is durable', async () => {
    const store = await openStore(await newDir());
    await store.create('/k/0', b('0'));
    const writing = store.create('/k/1', b('1'));
    // the write is applied in memory and queued for fsync, but not yet acknowledged
    const [rev, got, listed] = await Promise.all([store.currentRevision(), store.get('/k/1'), store.list('/k/')]);
    expect(rev).toBe(1);
    expect(got).toBeNull();
    expect(listed).toMatchObject({ revision: 1, kvs: [{ key: '/k/0' }] });
    expect((await writing).modRevision).toBe(2);
    expect((await store.get('/k/1'))?.value).toEqual(b('1'));
  });

  it('computes the same CRC-32 with the table fallback as zlib', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    expect(crc32Fallback(data)).toBe(0x414fa339);
    expect(crc32(data)).toBe(0x414fa339);
    expect(crc32Fallback(Buffer.alloc(0))).toBe(0);
  });

  it('auto-compacts history beyond historyRevisions', async () => {
    const store = await openStore(await newDir(), { historyRevisions: 20 });
    let kv = await store.create('/k', b('0'));
    for (let i = 1; i < 200; i++) kv = await store.update('/k', b(String(i)), kv.modRevision);
    const compacted = await store.compactedRevision();
    expect(compacted).toBeGreaterThanOrEqual(200 - 20 - 2);
    expect(compacted).toBeLessThanOrEqual(200 - 20);
    expect((await store.get('/k', 180))?.value).toEqual(b('179'));
    await expect(store.get('/k', compacted - 1)).rejects.toMatchObject({ code: 'Compacted' });
  });

  it('locks its directory: a second open fails while the first is open, and succeeds after close', async () => {
    const dir = await newDir();
    const first = await openStore(dir);
    expect((await readFile(join(dir, EMBEDDED_FILES.lock), 'utf8')).trim()).toBe(String(process.pid));
    const err = await openEmbeddedStore(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({
      code: 'Unavailable',
      message: `data directory ${dir} is locked by process ${process.pid}`,
    });
    await first.create('/k', b('1'));
    await first.close();
    const second = await openStore(dir);
    expect((await second.get('/k'))?.value).toEqual(b('1'));
  });

  it('takes over a lock left by a process that died', async () => {
    const dir = await newDir();
    const child = spawn(process.execPath, ['-e', '']);
    const deadPid = child.pid!;
    await new Promise((resolve) => child.once('exit', resolve));
    await writeFile(join(dir, EMBEDDED_FILES.lock), `${deadPid}\n`);
    const store = await openStore(dir);
    await store.create('/k', b('1'));
    expect((await readFile(join(dir, EMBEDDED_FILES.lock), 'utf8')).trim()).toBe(String(process.pid));
  });
});

async function logSegments(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((n) => /^wal-\d+\.log$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}
