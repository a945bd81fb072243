// Snapshot file: "TFSNAP01", u32 CRC-32 of the body, then the body:
// f64 revision, f64 compacted revision, u32 key count, and per key its retained versions.
// Written to a temp file, fsync'ed, renamed over the old one, then the directory is fsync'ed.
import { open, readFile, rename } from 'node:fs/promises';
import { BinaryReader, BinaryWriter, CorruptData } from './codec.js';
import { crc32 } from './crc32.js';
import { dataFile, fsyncDir, isErrno } from './files.js';
import { MvccState, type KeySnapshot } from './mvcc.js';

const MAGIC = Buffer.from('TFSNAP01', 'latin1');
const HEADER_BYTES = MAGIC.length + 4;

export function encodeSnapshot(state: MvccState, revision: number): Buffer {
  const w = new BinaryWriter(64 * 1024, HEADER_BYTES);
  w.f64(revision).f64(state.compacted);
  const entries = [...state.snapshotEntries(revision)];
  w.u32(entries.length);
  for (const { key, versions } of entries) {
    w.str(key).u32(versions.length);
    for (const v of versions) {
      w.f64(v.rev);
      if (v.value) w.u8(1).f64(v.createRevision).bytes(v.value);
      else w.u8(0);
    }
  }
  const buf = w.finish();
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES)), MAGIC.length);
  return buf;
}

export function decodeSnapshot(buf: Buffer): MvccState {
  if (buf.length < HEADER_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CorruptData('not a snapshot file');
  }
  if (crc32(buf.subarray(HEADER_BYTES)) !== buf.readUInt32LE(MAGIC.length)) {
    throw new CorruptData('snapshot checksum mismatch');
  }
  const r = new BinaryReader(buf, HEADER_BYTES);
  const revision = r.revision();
  const compacted = r.revision();
  const count = r.u32();
  const entries: KeySnapshot[] = [];
  for (let i = 0; i < count; i++) {
    const key = r.str();
    const n = r.u32();
    const versions: KeySnapshot['versions'] = [];
    for (let j = 0; j < n; j++) {
      const rev = r.revision();
      if (r.u8() === 1) versions.push({ rev, createRevision: r.revision(), value: r.bytes() });
      else versions.push({ rev, createRevision: 0, value: null });
    }
    entries.push({ key, versions });
  }
  if (!r.done) throw new CorruptData('trailing bytes in snapshot');
  return MvccState.restore(revision, compacted, entries);
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

export async function writeSnapshotFile(dir: string, buf: Buffer): Promise<void> {
  const temp = dataFile(dir, 'snapshotTemp');
  const fh = await open(temp, 'w');
  try {
    await fh.writeFile(buf);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(temp, dataFile(dir, 'snapshot'));
  await fsyncDir(dir);
}
