// Log records and their framing: [u32 payload length][u32 CRC-32 of payload][payload].
// A log segment's frames (segment.ts) carry these record frames as their payload; the log of
// older versions (wal.log) is these record frames back to back with nothing around them.
import { MAX_VALUE_BYTES } from '../storage.js';
import { BinaryReader, BinaryWriter, CorruptData } from './codec.js';
import { crc32 } from './crc32.js';

/** keys longer than this are refused, so every valid record fits the frame size limit */
export const MAX_KEY_BYTES = 64 * 1024;

const HEADER_BYTES = 8;
const MIN_PAYLOAD_BYTES = 1 + 8;
const MAX_PAYLOAD_BYTES = 1 + 8 + 4 + MAX_KEY_BYTES + 4 + MAX_VALUE_BYTES;
/** the largest record frame a valid write produces */
export const MAX_RECORD_FRAME_BYTES = HEADER_BYTES + MAX_PAYLOAD_BYTES;

const OP_PUT = 1;
const OP_DELETE = 2;
const OP_COMPACT = 3;

export type LogRecord =
  | { op: 'put'; revision: number; key: string; value: Buffer }
  | { op: 'delete'; revision: number; key: string }
  /** `revision` is the compaction point, not a revision of its own */
  | { op: 'compact'; revision: number };

/** the record as a complete frame, ready to append */
export function frameRecord(rec: LogRecord): Buffer {
  const size = rec.op === 'put' ? rec.value.length + rec.key.length * 3 + 64 : 64;
  const w = new BinaryWriter(size, HEADER_BYTES);
  switch (rec.op) {
    case 'put':
      w.u8(OP_PUT).f64(rec.revision).str(rec.key).bytes(rec.value);
      break;
    case 'delete':
      w.u8(OP_DELETE).f64(rec.revision).str(rec.key);
      break;
    case 'compact':
      w.u8(OP_COMPACT).f64(rec.revision);
      break;
  }
  const frame = w.finish();
  const payload = frame.subarray(HEADER_BYTES);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  return frame;
}

export function decodeRecord(payload: Buffer): LogRecord {
  const r = new BinaryReader(payload);
  const op = r.u8();
  const revision = r.revision();
  let rec: LogRecord;
  if (op === OP_PUT) rec = { op: 'put', revision, key: r.str(), value: r.bytes() };
  else if (op === OP_DELETE) rec = { op: 'delete', revision, key: r.str() };
  else if (op === OP_COMPACT) rec = { op: 'compact', revision };
  else throw new CorruptData(`unknown record type ${op}`);
  if (!r.done) throw new CorruptData('trailing bytes in record');
  return rec;
}

/** the whole, valid record frame starting at `pos` (ending by `end`), or null */
export function recordAt(buf: Buffer, pos: number, end: number): { rec: LogRecord; next: number } | null {
  if (pos + HEADER_BYTES > end) return null;
  const len = buf.readUInt32LE(pos);
  if (len < MIN_PAYLOAD_BYTES || len > MAX_PAYLOAD_BYTES) return null;
  const start = pos + HEADER_BYTES;
  if (start + len > end) return null;
  const payload = buf.subarray(start, start + len);
  if (crc32(payload) !== buf.readUInt32LE(pos + 4)) return null;
  try {
    return { rec: decodeRecord(payload), next: start + len };
  } catch (err) {
    if (err instanceof CorruptData) return null;
    throw err;
  }
}

/** the record frames in [start, end) up to the first one that is not whole and valid */
export function readRecords(buf: Buffer, start = 0, end = buf.length): { records: LogRecord[]; validEnd: number } {
  const records: LogRecord[] = [];
  let pos = start;
  for (let got = recordAt(buf, pos, end); got; got = recordAt(buf, pos, end)) {
    records.push(got.rec);
    pos = got.next;
  }
  return { records, validEnd: pos };
}
