// Log segment files (wal-<seq>.log): a header, then one frame per group commit, the unit that is
// written and fsync'ed together and acknowledged only once it is on disk.
//
//   segment header  "TFWAL\0\2\n", 8-byte random salt, u32 CRC-32 of the 16 bytes before it
//   frame header    "TFB\1", the segment's salt, f64 frame sequence number, u32 payload length,
//                   u32 CRC-32 of the payload, u32 CRC-32 of the 28 header bytes before it
//   frame payload   record frames (records.ts)
//
// Because a frame is the fsync unit, only the last frame of the newest segment can be torn by a
// crash, whatever order its pages reached the disk in. Damage anywhere else is told from a torn
// tail by looking for a valid frame after it: the salt makes a frame impossible to forge from
// bytes a client stored, and the header checksum makes a damaged length field detectable.
import { randomBytes } from 'node:crypto';
import { crc32 } from './crc32.js';
import { MAX_RECORD_FRAME_BYTES, readRecords, recordAt, type LogRecord } from './records.js';

const SEGMENT_MAGIC = Buffer.from('TFWAL\x00\x02\n', 'latin1');
const SALT_BYTES = 8;
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length + SALT_BYTES + 4;
const FRAME_MAGIC = Buffer.from('TFB\x01', 'latin1');
export const FRAME_HEADER_BYTES = 32;
/** a group commit holds at most this much; more queued records wait for the next one */
export const MAX_FRAME_PAYLOAD_BYTES = Math.max(8 * 1024 * 1024, MAX_RECORD_FRAME_BYTES);
export const MAX_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD_BYTES;

export function newSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

export function segmentHeader(salt: Buffer): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(buf, 0);
  salt.copy(buf, SEGMENT_MAGIC.length);
  buf.writeUInt32LE(crc32(buf.subarray(0, SEGMENT_HEADER_BYTES - 4)), SEGMENT_HEADER_BYTES - 4);
  return buf;
}

/** one group commit: the record frames, in one frame */
export function encodeFrame(salt: Buffer, seq: number, recordFrames: Buffer[]): Buffer {
  let payloadBytes = 0;
  for (const f of recordFrames) payloadBytes += f.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  let pos = FRAME_HEADER_BYTES;
  for (const f of recordFrames) pos += f.copy(buf, pos);
  FRAME_MAGIC.copy(buf, 0);
  salt.copy(buf, 4);
  buf.writeDoubleLE(seq, 12);
  buf.writeUInt32LE(payloadBytes, 20);
  buf.writeUInt32LE(crc32(buf.subarray(FRAME_HEADER_BYTES)), 24);
  buf.writeUInt32LE(crc32(buf.subarray(0, 28)), 28);
  return buf;
}

/** records read from the log; a run of whole records in a log of the older format has seq 0 */
export interface FrameEntry {
  kind: 'frame';
  start: number;
  end: number;
  seq: number;
  records: LogRecord[];
}

/** bytes that hold no valid frame */
export interface DamageEntry {
  kind: 'damage';
  start: number;
  end: number;
  /**
   * the damage runs to the end of the file and looks like an interrupted last write: it could be
   * a torn tail, if this is the newest segment. Anything else is damage to acknowledged data.
   */
  tornTail: boolean;
}

export type SegmentEntry = FrameEntry | DamageEntry;

export interface ParsedSegment {
  size: number;
  entries: SegmentEntry[];
  /** the salt frames appended to this segment must carry (segments only) */
  salt?: Buffer;
}

type FrameCheck = { ok: true; entry: FrameEntry } | { ok: false; headerValid: boolean; declaredEnd: number };

function frameHeaderValid(buf: Buffer, pos: number): boolean {
  if (pos + FRAME_HEADER_BYTES > buf.length) return false;
  if (!buf.subarray(pos, pos + 4).equals(FRAME_MAGIC)) return false;
  return crc32(buf.subarray(pos, pos + 28)) === buf.readUInt32LE(pos + 28);
}

function checkFrame(buf: Buffer, pos: number, salt: Buffer): FrameCheck {
  if (!frameHeaderValid(buf, pos) || !buf.subarray(pos + 4, pos + 12).equals(salt)) {
    return { ok: false, headerValid: false, declaredEnd: -1 };
  }
  const seq = buf.readDoubleLE(pos + 12);
  const len = buf.readUInt32LE(pos + 20);
  const start = pos + FRAME_HEADER_BYTES;
  const end = start + len;
  const bad = { ok: false as const, headerValid: true, declaredEnd: end };
  if (!Number.isSafeInteger(seq) || seq < 1 || len === 0 || len > MAX_FRAME_PAYLOAD_BYTES || end > buf.length)
    return bad;
  if (crc32(buf.subarray(start, end)) !== buf.readUInt32LE(pos + 24)) return bad;
  const { records, validEnd } = readRecords(buf, start, end);
  if (validEnd !== end) return bad;
  return { ok: true, entry: { kind: 'frame', start: pos, end, seq, records } };
}

/** the segment's salt from its header, or, when the header is damaged, from its first intact frame */
function findSalt(buf: Buffer): { salt: Buffer; headerValid: boolean; firstFrame: number } | null {
  const header = buf.subarray(0, SEGMENT_HEADER_BYTES);
  if (
    header.length === SEGMENT_HEADER_BYTES &&
    header.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC) &&
    crc32(header.subarray(0, SEGMENT_HEADER_BYTES - 4)) === header.readUInt32LE(SEGMENT_HEADER_BYTES - 4)
  ) {
    return {
      salt: Buffer.from(header.subarray(SEGMENT_MAGIC.length, SEGMENT_MAGIC.length + SALT_BYTES)),
      headerValid: true,
      firstFrame: SEGMENT_HEADER_BYTES,
    };
  }
  for (let at = buf.indexOf(FRAME_MAGIC); at !== -1; at = buf.indexOf(FRAME_MAGIC, at + 1)) {
    if (!frameHeaderValid(buf, at)) continue;
    const salt = Buffer.from(buf.subarray(at + 4, at + 12));
    if (checkFrame(buf, at, salt).ok) return { salt, headerValid: false, firstFrame: at };
  }
  return null;
}

/** could the bytes from `pos` to the end of the file be one interrupted frame write? */
function couldBeTornFrame(buf: Buffer, pos: number, check: FrameCheck): boolean {
  const rest = buf.length - pos;
  if (rest < FRAME_HEADER_BYTES) return true;
  // an intact header tells how long its frame is: a torn write never ends before the file does
  if (!check.ok && check.headerValid) return check.declaredEnd >= buf.length;
  // pages of the last write may reach the disk in any order, the header's among the missing
  return rest <= MAX_FRAME_BYTES;
}

export function parseSegment(buf: Buffer): ParsedSegment {
  const size = buf.length;
  const found = findSalt(buf);
  if (!found) {
    // the header is written and fsync'ed before any frame: a short one is a segment being created
    const tornTail = size <= SEGMENT_HEADER_BYTES;
    return { size, entries: size === 0 ? [] : [{ kind: 'damage', start: 0, end: size, tornTail }] };
  }
  const { salt } = found;
  const entries: SegmentEntry[] = [];
  if (!found.headerValid) entries.push({ kind: 'damage', start: 0, end: found.firstFrame, tornTail: false });
  let pos = found.firstFrame;
  const needle = Buffer.concat([FRAME_MAGIC, salt]);
  while (pos < size) {
    const check = checkFrame(buf, pos, salt);
    if (check.ok) {
      entries.push(check.entry);
      pos = check.entry.end;
      continue;
    }
    let next = -1;
    for (let at = buf.indexOf(needle, pos + 1); at !== -1; at = buf.indexOf(needle, at + 1)) {
      if (checkFrame(buf, at, salt).ok) {
        next = at;
        break;
      }
    }
    const end = next === -1 ? size : next;
    entries.push({ kind: 'damage', start: pos, end, tornTail: next === -1 && couldBeTornFrame(buf, pos, check) });
    pos = end;
  }
  return { size, entries, salt };
}

/**
 * The log of older versions (wal.log): record frames back to back, several per group commit with
 * nothing marking where one commit ends. Damage with a valid record after it is damage; damage
 * that runs to the end of the file may be a torn last commit of any size.
 */
export function parseLegacyLog(buf: Buffer): ParsedSegment {
  const size = buf.length;
  const entries: SegmentEntry[] = [];
  let pos = 0;
  while (pos < size) {
    const first = recordAt(buf, pos, size);
    if (first) {
      const run: FrameEntry = { kind: 'frame', start: pos, end: first.next, seq: 0, records: [first.rec] };
      for (let got = recordAt(buf, run.end, size); got; got = recordAt(buf, run.end, size)) {
        run.records.push(got.rec);
        run.end = got.next;
      }
      entries.push(run);
      pos = run.end;
      continue;
    }
    let next = pos + 1;
    while (next < size && !recordAt(buf, next, size)) next++;
    entries.push({ kind: 'damage', start: pos, end: next, tornTail: next >= size });
    pos = next;
  }
  return { size, entries };
}
