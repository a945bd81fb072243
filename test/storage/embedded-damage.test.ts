// A damaged write-ahead log: only the interrupted last write may be dropped (and is logged);
// damage anywhere else refuses the open, naming file and offset, and changes nothing; repair
// mode keeps every record that can be read, says what was lost and keeps the damaged file.
// Also: data directories written in the older single-file log format still open.
import { copyFile, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BinaryWriter } from '../../src/storage/embedded/codec.js';
import { crc32 } from '../../src/storage/embedded/crc32.js';
import { frameRecord, type LogRecord } from '../../src/storage/embedded/records.js';
import { encodeFrame, parseSegment, segmentHeader } from '../../src/storage/embedded/segment.js';
import {
  EMBEDDED_FILES,
  openEmbeddedStore,
  segmentName,
  type EmbeddedStore,
  type EmbeddedStoreOptions,
} from '../../src/storage/embedded/store.js';
import { StorageError } from '../../src/storage/storage.js';
import { embeddedStores } from '../helpers/embedded-stores.js';

const OBJECTS = 200;
const key = (i: number): string => `/registry/g/things/ns/obj-${String(i).padStart(4, '0')}`;
const value = (i: number): Buffer =>
  Buffer.from(
    JSON.stringify({ kind: 'Thing', metadata: { name: `obj-${i}` }, spec: { data: 'x'.repeat(300 + (i % 50)) } }),
  );

interface Captured {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  msg: string;
}

function capture(): { log: NonNullable<EmbeddedStoreOptions['log']>; lines: Captured[] } {
  const lines: Captured[] = [];
  return {
    lines,
    log: {
      info: (fields, msg) => lines.push({ level: 'info', fields, msg }),
      warn: (fields, msg) => lines.push({ level: 'warn', fields, msg }),
    },
  };
}

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((n) => /^wal-\d+\.log$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/** where each frame of a segment starts and ends, and the revisions it holds */
async function frames(path: string): Promise<{ start: number; end: number; revisions: number[] }[]> {
  return parseSegment(await readFile(path)).entries.map((e) => {
    if (e.kind !== 'frame') throw new Error(`${path} is damaged at ${e.start}`);
    return { start: e.start, end: e.end, revisions: e.records.map((r) => r.revision) };
  });
}

async function openError(dir: string, opts?: EmbeddedStoreOptions): Promise<StorageError> {
  const err = await openEmbeddedStore(dir, opts).then(
    async (s) => {
      await s.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(err, 'the store opened').toBeInstanceOf(StorageError);
  return err as StorageError;
}

async function liveKeys(store: EmbeddedStore): Promise<string[]> {
  return (await store.list('/registry/')).kvs.map((kv) => kv.key);
}

describe('embedded store with a damaged write-ahead log', () => {
  const { newDir, openStore } = embeddedStores('tf-damage-');

  /** a directory with OBJECTS creates, one acknowledged group commit each, in one segment */
  async function written(): Promise<{ dir: string; log: string }> {
    const dir = await newDir();
    const store = await openEmbeddedStore(dir);
    for (let i = 0; i < OBJECTS; i++) await store.create(key(i), value(i));
    await store.close();
    const logs = await segments(dir);
    expect(logs).toHaveLength(1);
    return { dir, log: logs[0]! };
  }

  async function damage(path: string, change: (buf: Buffer) => void): Promise<Buffer> {
    const buf = await readFile(path);
    change(buf);
    await writeFile(path, buf);
    return buf;
  }

  async function expectRefusal(dir: string, log: string, damagedAt: number): Promise<void> {
    const before = await readFile(log);
    const err = await openError(dir);
    expect(err.code).toBe('Internal');
    expect(err.message).toContain(`write-ahead log ${log} is damaged at byte offset `);
    expect(err.message).toMatch(/Valid records follow it, so it is not a torn tail/);
    const offset = Number(/at byte offset (\d+)/.exec(err.message)![1]);
    // the offset is where the frame holding the damaged byte starts
    expect(offset).toBeLessThanOrEqual(damagedAt);
    expect(damagedAt - offset).toBeLessThan(1024);
    // refusing changed nothing, and released the directory
    expect(await readFile(log)).toEqual(before);
    expect(await readdir(dir)).not.toContain(EMBEDDED_FILES.lock);
  }

  for (const percent of [10, 50, 90]) {
    it(`refuses to open with one byte flipped at ${percent}% of a log of ${OBJECTS} objects`, async () => {
      const { dir, log } = await written();
      const intact = await frames(log);
      let at = 0;
      await damage(log, (buf) => {
        at = Math.floor((buf.length * percent) / 100);
        buf[at] ^= 0x5a;
      });
      await expectRefusal(dir, log, at);
      const hit = intact.find((f) => f.start <= at && at < f.end)!;
      expect((await openError(dir)).message).toContain(`at byte offset ${hit.start};`);
    });
  }

  it('refuses to open with a zeroed 4 KiB page in the middle of the log', async () => {
    const { dir, log } = await written();
    let page = 0;
    await damage(log, (buf) => {
      page = Math.floor(buf.length / 2 / 4096) * 4096;
      buf.fill(0, page, page + 4096);
    });
    await expectRefusal(dir, log, page);
  });

  it('refuses to open when a length field is damaged', async () => {
    const { dir, log } = await written();
    const f = (await frames(log))[120]!;
    // the frame's payload length: now it seems to run over the frames after it
    await damage(log, (buf) => buf.writeUInt32LE(buf.readUInt32LE(f.start + 20) + 3000, f.start + 20));
    const err = await openError(dir);
    expect(err.message).toContain(`${log} is damaged at byte offset ${f.start};`);
  });

  it('repair mode keeps every record after the damage, reports what was lost and keeps the damaged file', async () => {
    const { dir, log } = await written();
    const intact = await frames(log);
    const hit = intact[Math.floor(intact.length / 2)]!;
    const damaged = await damage(log, (buf) => {
      buf[hit.start + 100] ^= 0x01;
    });
    const lostRevision = hit.revisions[0]!;

    const { log: logger, lines } = capture();
    let store = await openStore(dir, { repairLog: true, log: logger });
    const keys = await liveKeys(store);
    expect(keys).toHaveLength(OBJECTS - 1);
    expect(keys).not.toContain(key(lostRevision - 1));
    expect(await store.currentRevision()).toBe(OBJECTS);
    // history before the damage is gone with it: reads and watches there are compacted
    expect(await store.compactedRevision()).toBe(lostRevision);
    await expect(store.get(key(0), lostRevision - 1)).rejects.toMatchObject({ code: 'Compacted' });

    const skipped = lines.find((l) => /skipped a damaged region/.test(l.msg))!;
    expect(skipped).toMatchObject({ level: 'warn', fields: { file: log, offset: hit.start, end: hit.end } });
    expect(skipped.fields.lost).toBe(
      `bytes ${hit.start}-${hit.end} (${hit.end - hit.start} bytes) of ${log}: revisions ${lostRevision}-${lostRevision} (1), 1 group commit(s)`,
    );
    const kept = lines.find((l) => /kept the damaged write-ahead log file aside/.test(l.msg))!;
    expect(kept.fields.file).toBe(log);
    expect(await readFile(String(kept.fields.keptAs))).toEqual(damaged);

    // the store goes on, and the next open needs no repair
    const next = await store.create(key(OBJECTS), value(OBJECTS));
    expect(next.modRevision).toBe(OBJECTS + 1);
    await store.close();
    store = await openStore(dir);
    expect(await liveKeys(store)).toEqual([...keys, key(OBJECTS)].sort());
  });

  it('repair mode after a zeroed page reports the range of revisions lost', async () => {
    const { dir, log } = await written();
    const intact = await frames(log);
    const page = Math.floor((intact[100]!.start + 4095) / 4096) * 4096;
    await damage(log, (buf) => buf.fill(0, page, page + 4096));
    const hit = intact.filter((f) => f.end > page && f.start < page + 4096);
    const first = hit[0]!.revisions[0]!;
    const last = hit[hit.length - 1]!.revisions[0]!;
    expect(last - first + 1).toBeGreaterThan(5);

    const { log: logger, lines } = capture();
    const store = await openStore(dir, { repairLog: true, log: logger });
    expect(await liveKeys(store)).toHaveLength(OBJECTS - (last - first + 1));
    const skipped = lines.find((l) => /skipped a damaged region/.test(l.msg))!;
    expect(skipped.fields).toMatchObject({ file: log, offset: hit[0]!.start, end: hit[hit.length - 1]!.end });
    expect(String(skipped.fields.lost)).toContain(
      `revisions ${first}-${last} (${last - first + 1}), ${hit.length} group commit(s)`,
    );
  });

  it('drops a torn last group commit whose pages reached the disk out of order, and only that', async () => {
    const dir = await newDir();
    let store = await openEmbeddedStore(dir);
    for (let i = 0; i < 50; i++) await store.create(key(i), value(i));
    // one create alone, then the 30 queued behind it in one group commit
    await Promise.all(Array.from({ length: 31 }, (_, j) => store.create(key(50 + j), value(50 + j))));
    await store.close();
    const [log] = await segments(dir);
    const all = await frames(log!);
    const last = all[all.length - 1]!;
    expect(last.revisions).toHaveLength(30);
    expect(last.end - last.start).toBeGreaterThan(8192);
    // power loss: the batch's first page (its header) never reached the disk, later pages did
    const size = (await readFile(log!)).length;
    await damage(log!, (buf) => buf.fill(0, last.start, last.start + 4096));

    const { log: logger, lines } = capture();
    store = await openStore(dir, { log: logger });
    expect(await store.currentRevision()).toBe(51);
    expect(await liveKeys(store)).toEqual(Array.from({ length: 51 }, (_, i) => key(i)));
    expect(lines).toEqual([
      {
        level: 'warn',
        fields: { file: log, offset: last.start, bytesDropped: size - last.start },
        msg: expect.stringMatching(/dropped the torn tail/),
      },
    ]);
    expect((await readFile(log!)).length).toBe(last.start);
  });

  it('drops a last group commit cut short in its middle', async () => {
    const { dir, log } = await written();
    const all = await frames(log);
    const last = all[all.length - 1]!;
    await writeFile(log, (await readFile(log)).subarray(0, last.start + 40));
    const { log: logger, lines } = capture();
    const store = await openStore(dir, { log: logger });
    expect(await store.currentRevision()).toBe(OBJECTS - 1);
    expect(lines.map((l) => l.fields)).toEqual([{ file: log, offset: last.start, bytesDropped: 40 }]);
  });

  it('refuses a cut-short frame at the end of a segment older than the newest one', async () => {
    const { dir, log } = await written();
    const all = await frames(log);
    const last = all[all.length - 1]!;
    await writeFile(log, (await readFile(log)).subarray(0, last.end - 10));
    // the next segment, as a snapshot would have started it, with the write after the cut one
    const salt = Buffer.alloc(8, 7);
    const next = { op: 'put' as const, revision: OBJECTS + 1, key: key(OBJECTS), value: value(OBJECTS) };
    await writeFile(
      join(dir, segmentName(2)),
      Buffer.concat([segmentHeader(salt), encodeFrame(salt, 1, [frameRecord(next)])]),
    );
    const err = await openError(dir);
    expect(err.message).toContain(`write-ahead log ${log} is damaged at byte offset ${last.start};`);
    expect(err.message).toContain(`revisions ${OBJECTS}-${OBJECTS} (1)`);
  });

  it('still refuses a missing snapshot with a clear error', async () => {
    const dir = await newDir();
    const store = await openEmbeddedStore(dir, { snapshotThresholdBytes: 4096 });
    for (let i = 0; i < 40; i++) await store.create(key(i), value(i));
    await store.close();
    expect(store.stats().snapshotsWritten).toBeGreaterThan(0);
    await unlink(join(dir, EMBEDDED_FILES.snapshot));
    expect((await openError(dir)).message).toMatch(
      new RegExp(`^data directory ${dir} is corrupt: log jumps from revision 0 to \\d+$`),
    );
  });

  it('still refuses a damaged snapshot with a clear error', async () => {
    const dir = await newDir();
    const store = await openEmbeddedStore(dir, { snapshotThresholdBytes: 4096 });
    for (let i = 0; i < 40; i++) await store.create(key(i), value(i));
    await store.close();
    expect(store.stats().snapshotsWritten).toBeGreaterThan(0);
    await damage(join(dir, EMBEDDED_FILES.snapshot), (buf) => {
      buf[Math.floor(buf.length / 2)] ^= 0xff;
    });
    const err = await openError(dir);
    expect(err.message).toBe(`data directory ${dir} is corrupt: snapshot: snapshot checksum mismatch`);
    // repair is for the log: a damaged snapshot is refused all the same
    expect((await openError(dir, { repairLog: true })).message).toBe(err.message);
  });
});

describe('embedded store data directories of the older format', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  /** a snapshot as the older format wrote it ("TFSNAP01", CRC, revision, compacted, keys) */
  function snapshotV1(
    revision: number,
    compacted: number,
    entries: { key: string; versions: [number, number, string | null][] }[],
  ): Buffer {
    const w = new BinaryWriter(1024, 12).f64(revision).f64(compacted).u32(entries.length);
    for (const e of entries) {
      w.str(e.key).u32(e.versions.length);
      for (const [rev, createRevision, v] of e.versions) {
        w.f64(rev);
        if (v === null) w.u8(0);
        else w.u8(1).f64(createRevision).bytes(Buffer.from(v));
      }
    }
    const buf = Buffer.from(w.finish());
    buf.write('TFSNAP01', 0, 'latin1');
    buf.writeUInt32LE(crc32(buf.subarray(12)), 8);
    return buf;
  }

  /** the older log: record frames back to back in wal.log */
  const legacyLog = (records: LogRecord[]): Buffer => Buffer.concat(records.map(frameRecord));

  async function legacyDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'tf-legacy-'));
    dirs.push(dir);
    await writeFile(
      join(dir, EMBEDDED_FILES.snapshot),
      snapshotV1(3, 1, [
        {
          key: '/a',
          versions: [
            [1, 1, 'a1'],
            [2, 1, 'a2'],
          ],
        },
        { key: '/b', versions: [[3, 3, 'b1']] },
      ]),
    );
    await writeFile(
      join(dir, EMBEDDED_FILES.log),
      legacyLog([
        { op: 'put', revision: 4, key: '/c', value: Buffer.from('c1') },
        { op: 'delete', revision: 5, key: '/b' },
        { op: 'compact', revision: 2 },
        { op: 'put', revision: 6, key: '/a', value: Buffer.from('a3') },
      ]),
    );
    return dir;
  }

  async function contents(store: EmbeddedStore) {
    return {
      revision: await store.currentRevision(),
      compacted: await store.compactedRevision(),
      live: (await store.list('/')).kvs.map((kv) => [kv.key, kv.value.toString(), kv.createRevision, kv.modRevision]),
      atTwo: (await store.list('/', { revision: 2 })).kvs.map((kv) => [kv.key, kv.value.toString()]),
      atFive: (await store.list('/', { revision: 5 })).kvs.map((kv) => [kv.key, kv.value.toString()]),
    };
  }

  it('opens a directory with a version 1 snapshot and a single-file log, and migrates it', async () => {
    const dir = await legacyDir();
    const { log, lines } = capture();
    let store = await openEmbeddedStore(dir, { log });
    const expected = {
      revision: 6,
      compacted: 2,
      live: [
        ['/a', 'a3', 1, 6],
        ['/c', 'c1', 4, 4],
      ],
      atTwo: [['/a', 'a2']],
      atFive: [
        ['/a', 'a2'],
        ['/c', 'c1'],
      ],
    };
    expect(await contents(store)).toEqual(expected);
    expect(lines.map((l) => l.msg)).toEqual([
      expect.stringMatching(/migrated the write-ahead log of an older version/),
    ]);
    // folded into a snapshot of the current format and a new segment
    expect(await readdir(dir)).not.toContain(EMBEDDED_FILES.log);
    expect((await readFile(join(dir, EMBEDDED_FILES.snapshot))).subarray(0, 8).toString('latin1')).toBe('TFSNAP02');
    await store.create('/d', Buffer.from('d1'));
    await store.close();
    store = await openEmbeddedStore(dir);
    try {
      expect(await contents(store)).toMatchObject({
        revision: 7,
        compacted: 2,
        atTwo: expected.atTwo,
        atFive: expected.atFive,
      });
    } finally {
      await store.close();
    }
  });

  it('reads a directory the store of the older format wrote as that store read it, and migrates it', async () => {
    const fixture = join(import.meta.dirname, 'fixtures/embedded-v1');
    const dir = await mkdtemp(join(tmpdir(), 'tf-legacy-'));
    dirs.push(dir);
    await copyFile(join(fixture, 'snapshot.bin'), join(dir, EMBEDDED_FILES.snapshot));
    await copyFile(join(fixture, 'wal-log.bin'), join(dir, EMBEDDED_FILES.log));
    const expected = JSON.parse(await readFile(join(fixture, 'expected.json'), 'utf8')) as unknown;
    /** as the fixture's expected.json records it */
    const dump = async (store: EmbeddedStore) => {
      const revision = await store.currentRevision();
      const compacted = await store.compactedRevision();
      const live = (await store.list('/')).kvs.map((kv) => [
        kv.key,
        kv.value.toString(),
        kv.createRevision,
        kv.modRevision,
      ]);
      const events = await new Promise<unknown[]>((resolve, reject) => {
        const seen: unknown[] = [];
        const w = store.watch('', compacted, {
          onEvent: (ev) => {
            seen.push([
              ev.revision,
              ev.type,
              ev.kv.key,
              ev.kv.value.toString(),
              ev.prevKv ? ev.prevKv.modRevision : null,
            ]);
            if (ev.revision === revision) {
              w.close();
              resolve(seen);
            }
          },
          onError: reject,
        });
      });
      return { revision, compacted, live, events };
    };
    for (let round = 0; round < 2; round++) {
      const store = await openEmbeddedStore(dir, { compactionIntervalMs: 0 });
      try {
        expect(await dump(store)).toEqual(expected);
      } finally {
        await store.close();
      }
      expect(await readdir(dir)).not.toContain(EMBEDDED_FILES.log);
    }
  });

  it('drops a torn tail of the single-file log', async () => {
    const dir = await legacyDir();
    const log = join(dir, EMBEDDED_FILES.log);
    const buf = await readFile(log);
    await writeFile(log, buf.subarray(0, buf.length - 2));
    const { log: logger, lines } = capture();
    const store = await openEmbeddedStore(dir, { log: logger });
    try {
      expect(await store.currentRevision()).toBe(5);
      const lastRecord = frameRecord({ op: 'put', revision: 6, key: '/a', value: Buffer.from('a3') });
      expect(lines[0]).toMatchObject({
        level: 'warn',
        fields: { file: log, offset: buf.length - lastRecord.length, bytesDropped: lastRecord.length - 2 },
      });
    } finally {
      await store.close();
    }
  });

  it('refuses a single-file log damaged before its last record', async () => {
    const dir = await legacyDir();
    const log = join(dir, EMBEDDED_FILES.log);
    const buf = await readFile(log);
    buf[12] ^= 0xff; // inside the first record
    await writeFile(log, buf);
    const err = await openError(dir);
    expect(err.message).toContain(`write-ahead log ${log} is damaged at byte offset 0;`);
    expect(await readFile(log)).toEqual(buf);
  });
});
