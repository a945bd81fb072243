// Snapshot file, written in chunks from the live state while writes go on (the state's history is
// held, not copied, until the last chunk is encoded), to a temp file that is fsync'ed, renamed
// over the old snapshot, and made durable with a directory fsync.
//
//   "TFSNAP02", f64 revision, f64 compacted revision,
//   per key: u8 1, key, u32 version count, versions (f64 rev, u8 0 for a tombstone or
//   1 + f64 create revision + value), then u8 0, u32 key count, u32 CRC-32 of everything before it.
//
// "TFSNAP01" (older versions: u32 CRC-32 after the magic, then revision, compacted, key count and
// the keys) is still read.
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { BinaryReader, BinaryWriter, CorruptData } from './codec.js';
import { crc32 } from './crc32.js';
import { dataFile, fsyncDir, isErrno } from './files.js';
import { MvccState, type KeySnapshot } from './mvcc.js';

const MAGIC_V1 = Buffer.from('TFSNAP01', 'latin1');
const MAGIC_V2 = Buffer.from('TFSNAP02', 'latin1');
/** encoded between two turns of the event loop */
const DEFAULT_CHUNK_BYTES = 1024 * 1024;

export interface SnapshotWriteOptions {
  chunkBytes?: number;
  /** awaited after each chunk is written (tests use it to act while a snapshot is half written) */
  onChunk?: () => Promise<void> | void;
}

export interface WrittenSnapshot {
  revision: number;
  bytes: number;
}

function readVersions(r: BinaryReader): KeySnapshot['versions'] {
  const n = r.u32();
  const versions: KeySnapshot['versions'] = [];
  for (let j = 0; j < n; j++) {
    const rev = r.revision();
    if (r.u8() === 1) versions.push({ rev, createRevision: r.revision(), value: r.bytes() });
    else versions.push({ rev, createRevision: 0, value: null });
  }
  return versions;
}

function decodeV1(buf: Buffer): MvccState {
  const header = MAGIC_V1.length + 4;
  if (buf.length < header || crc32(buf.subarray(header)) !== buf.readUInt32LE(MAGIC_V1.length)) {
    throw new CorruptData('snapshot checksum mismatch');
  }
  const r = new BinaryReader(buf, header);
  const revision = r.revision();
  const compacted = r.revision();
  const count = r.u32();
  const entries: KeySnapshot[] = [];
  for (let i = 0; i < count; i++) entries.push({ key: r.str(), versions: readVersions(r) });
  if (!r.done) throw new CorruptData('trailing bytes in snapshot');
  return MvccState.restore(revision, compacted, entries);
}

function decodeV2(buf: Buffer): MvccState {
  if (buf.length < MAGIC_V2.length + 4 || crc32(buf.subarray(0, buf.length - 4)) !== buf.readUInt32LE(buf.length - 4)) {
    throw new CorruptData('snapshot checksum mismatch');
  }
  const r = new BinaryReader(buf, MAGIC_V2.length, buf.length - 4);
  const revision = r.revision();
  const compacted = r.revision();
  const entries: KeySnapshot[] = [];
  for (let more = r.u8(); more !== 0; more = r.u8()) {
    if (more !== 1) throw new CorruptData(`bad entry marker ${more}`);
    entries.push({ key: r.str(), versions: readVersions(r) });
  }
  if (r.u32() !== entries.length) throw new CorruptData('snapshot key count mismatch');
  if (!r.done) throw new CorruptData('trailing bytes in snapshot');
  return MvccState.restore(revision, compacted, entries);
}

/** the snapshot's revision and state */
export function decodeSnapshot(buf: Buffer): MvccState {
  const magic = buf.subarray(0, MAGIC_V2.length);
  if (magic.equals(MAGIC_V2)) return decodeV2(buf);
  if (magic.equals(MAGIC_V1)) return decodeV1(buf);
  throw new CorruptData('not a snapshot file');
}

/** the snapshot's bytes, or null when the directory has none */
export async function readSnapshotFile(dir: string): Promise<Buffer | null> {
  try {
    return await readFile(dataFile(dir, 'snapshot'));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

/**
 * Writes the state as of `revision` (which must be durable) as the directory's snapshot. Writes to
 * the state may go on meanwhile: versions after `revision` are left out, and compaction only
 * moves the compaction point until the last chunk is encoded.
 */
export async function writeSnapshot(
  dir: string,
  state: MvccState,
  revision: number,
  opts: SnapshotWriteOptions = {},
): Promise<WrittenSnapshot> {
  // taken before the first await: the compaction point cannot pass `revision` before it
  const release = state.hold();
  const compacted = state.compacted;
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  let bytes = 0;
  let crc = 0;
  const temp = dataFile(dir, 'snapshotTemp');
  let fh: FileHandle;
  try {
    fh = await open(temp, 'w', 0o600);
  } catch (err) {
    release();
    throw err;
  }
  const put = async (chunk: Buffer, checksummed = true): Promise<void> => {
    if (checksummed) crc = crc32(chunk, crc);
    for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
    bytes += chunk.length;
  };
  try {
    try {
      let w = new BinaryWriter(chunkBytes + 4096).raw(MAGIC_V2).f64(revision).f64(compacted);
      let count = 0;
      for (let key = state.keyAfter(null); key !== null; key = state.keyAfter(key)) {
        const versions = state.snapshotVersions(key, compacted, revision);
        if (versions.length === 0) continue;
        count++;
        w.u8(1).str(key).u32(versions.length);
        for (const v of versions) {
          w.f64(v.rev);
          if (v.value) w.u8(1).f64(v.createRevision).bytes(v.value);
          else w.u8(0);
        }
        if (w.length >= chunkBytes) {
          await put(w.finish());
          w = new BinaryWriter(chunkBytes + 4096);
          await opts.onChunk?.();
        }
      }
      await put(w.u8(0).u32(count).finish());
    } finally {
      release();
    }
    await put(new BinaryWriter(4).u32(crc).finish(), false);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(temp, dataFile(dir, 'snapshot'));
  await fsyncDir(dir);
  return { revision, bytes };
}
