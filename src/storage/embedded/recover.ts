// Rebuilds the state of a data directory: load the snapshot (if any), then replay the log files.
// Log records at or below the snapshot's revision are already in it (a crash between writing a
// snapshot and deleting the segments it covers leaves them behind) and are skipped.
//
// Only the interrupted last write of the newest segment is dropped without asking (logged).
// Damage that may have cost acknowledged writes refuses the open, naming file and offset, unless
// the store is opened in repair mode: then every intact record is kept, history before the damage
// is compacted away (its revisions are gone), and what was lost is logged. A log that needed more
// than cutting off a torn tail (damage, or the older single-file format) is folded into a fresh
// snapshot and a new segment; a damaged file is renamed aside, never deleted.
import { open, rename, unlink } from 'node:fs/promises';
import { StorageError } from '../storage.js';
import { CorruptData } from './codec.js';
import { fsyncDir } from './files.js';
import { describeDamage, lostWrites, scanLogFiles, type Damage, type ScannedFile } from './logscan.js';
import { MvccState } from './mvcc.js';
import type { LogRecord } from './records.js';
import { decodeSnapshot, readSnapshotFile, writeSnapshot } from './snapshot.js';
import { createSegment, type ActiveSegment, type SegmentFile } from './wal.js';

/** where the store reports what recovery found (pino's logger fits) */
export interface EmbeddedStoreLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface RecoverOptions {
  /** keep what can be read of a damaged log instead of refusing to open */
  repair: boolean;
  log: EmbeddedStoreLog;
}

export interface RecoveredState {
  state: MvccState;
  snapshotBytes: number;
  /** the segment appends go to */
  active: ActiveSegment;
  /** older segments, until a snapshot covers them */
  sealed: SegmentFile[];
  /** bytes of torn tail cut off */
  truncatedBytes: number;
}

function corrupt(dir: string, what: string): StorageError {
  return new StorageError('Internal', `data directory ${dir} is corrupt: ${what}`);
}

function refusal(dir: string, lost: Damage[]): StorageError {
  const d = lost[0]!;
  const more = lost.length > 1 ? ` (and ${lost.length - 1} more damaged region(s))` : '';
  const why =
    d.before === null ? 'This is not how a crash leaves the log' : 'Valid records follow it, so it is not a torn tail';
  return new StorageError(
    'Internal',
    `embedded store: write-ahead log ${d.file.path} is damaged at byte offset ${d.start}${more}; ` +
      `the ${d.end - d.start} bytes up to offset ${d.end} held ${lostWrites(d)}. ${why}, and opening would silently lose acknowledged writes. ` +
      `Restore ${dir} from a backup, or open it in repair mode (the server's --embedded-repair-log) to keep every ` +
      'record that can still be read; the damaged file is then kept aside',
  );
}

/** applies log records in order; after a damaged region it may continue past a gap (repair) */
class Replay {
  /** a damaged region was skipped: the next revision may jump, and writes may refer to lost ones */
  private afterGap = false;
  deletesOfLostKeys = 0;

  constructor(
    readonly state: MvccState,
    private readonly dir: string,
  ) {}

  gap(): void {
    this.afterGap = true;
  }

  apply(rec: LogRecord): void {
    const { state } = this;
    if (rec.op === 'compact') {
      if (rec.revision <= state.head) state.compact(rec.revision);
      else if (!this.afterGap) throw corrupt(this.dir, `compaction to ${rec.revision} beyond revision ${state.head}`);
      return;
    }
    if (rec.revision <= state.head) return;
    if (rec.revision !== state.head + 1) {
      if (!this.afterGap) throw corrupt(this.dir, `log jumps from revision ${state.head} to ${rec.revision}`);
      state.skipTo(rec.revision - 1);
    }
    if (rec.op === 'put') {
      state.put(rec.key, rec.value);
    } else if (state.latest(rec.key)) {
      state.delete(rec.key);
    } else if (this.afterGap) {
      // the key was created in the lost region: its delete has nothing left to delete
      this.deletesOfLostKeys++;
      state.skipTo(rec.revision);
    } else {
      throw corrupt(this.dir, `revision ${rec.revision} deletes missing key ${rec.key}`);
    }
  }
}

export async function recoverState(dir: string, opts: RecoverOptions): Promise<RecoveredState> {
  const snapshot = await readSnapshotFile(dir);
  let state: MvccState;
  try {
    state = snapshot ? decodeSnapshot(snapshot) : new MvccState();
  } catch (err) {
    if (err instanceof CorruptData) throw corrupt(dir, `snapshot: ${err.message}`);
    throw err;
  }
  const { files, damages } = await scanLogFiles(dir, state.head);
  const lost = damages.filter((d) => d.lost);
  if (lost.length > 0 && !opts.repair) throw refusal(dir, lost);

  const replay = new Replay(state, dir);
  const gaps = new Set(lost.map((d) => d.entry));
  for (const { parsed } of files) {
    for (const e of parsed.entries) {
      if (e.kind === 'frame') e.records.forEach((r) => replay.apply(r));
      else if (gaps.has(e)) replay.gap();
    }
  }
  for (const d of damages) {
    if (d.tornTail) {
      opts.log.warn(
        { file: d.file.path, offset: d.start, bytesDropped: d.end - d.start },
        'embedded store: dropped the torn tail of the write-ahead log (a write cut short by a crash, never acknowledged)',
      );
    } else if (d.lost) {
      opts.log.warn(
        { file: d.file.path, offset: d.start, end: d.end, lost: describeDamage(d) },
        'embedded store repair: skipped a damaged region of the write-ahead log',
      );
    } else {
      opts.log.warn(
        { file: d.file.path, offset: d.start, end: d.end },
        'embedded store: a damaged region of the write-ahead log held no revision that is not elsewhere',
      );
    }
  }
  if (replay.deletesOfLostKeys > 0) {
    opts.log.warn(
      { deletes: replay.deletesOfLostKeys },
      'embedded store repair: skipped deletes of keys that were created in a lost region',
    );
  }
  const torn = damages.find((d) => d.tornTail);
  const rewrite = files.some((f) => f.file.legacy) || damages.some((d) => !d.tornTail);
  const placed = rewrite
    ? await foldIntoSnapshot(dir, state, files, damages, opts.log)
    : await continueLog(dir, files, torn);
  return {
    state,
    snapshotBytes: placed.snapshotBytes ?? snapshot?.length ?? 0,
    active: placed.active,
    sealed: placed.sealed,
    truncatedBytes: torn ? torn.end - torn.start : 0,
  };
}

interface Placement {
  active: ActiveSegment;
  sealed: SegmentFile[];
  snapshotBytes?: number;
}

function nextSeq(files: ScannedFile[]): number {
  return Math.max(0, ...files.map((f) => f.file.seq)) + 1;
}

/** the log files stay: appends go on in the newest segment, after its torn tail is cut off */
async function continueLog(dir: string, files: ScannedFile[], torn: Damage | undefined): Promise<Placement> {
  const last = files[files.length - 1];
  const sealed = files.slice(0, -1).map((f) => ({ seq: f.file.seq, path: f.file.path, bytes: f.parsed.size }));
  if (!last || !last.parsed.salt) {
    // no segment yet, or the newest one was being created when the process died (nothing in it)
    if (last) {
      await unlink(last.file.path);
      await fsyncDir(dir);
    }
    return { active: await createSegment(dir, nextSeq(files)), sealed };
  }
  let bytes = last.parsed.size;
  if (torn) {
    // later appends must never follow garbage
    const fh = await open(last.file.path, 'r+');
    try {
      await fh.truncate(torn.start);
      await fh.sync();
    } finally {
      await fh.close();
    }
    bytes = torn.start;
  }
  const frames = last.parsed.entries.filter((e) => e.kind === 'frame');
  const lastFrame = frames.length > 0 ? frames[frames.length - 1]!.seq : 0;
  return { active: { seq: last.file.seq, path: last.file.path, bytes, salt: last.parsed.salt, lastFrame }, sealed };
}

/** the recovered state becomes the snapshot; damaged files are renamed aside, the others deleted */
async function foldIntoSnapshot(
  dir: string,
  state: MvccState,
  files: ScannedFile[],
  damages: Damage[],
  log: EmbeddedStoreLog,
): Promise<Placement> {
  const written = await writeSnapshot(dir, state, state.head);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (const { file } of files) {
    if (damages.some((d) => d.file === file && !d.tornTail)) {
      const aside = `${file.path}.damaged-${stamp}`;
      await rename(file.path, aside);
      log.warn({ file: file.path, keptAs: aside }, 'embedded store: kept the damaged write-ahead log file aside');
    } else {
      await unlink(file.path);
    }
  }
  await fsyncDir(dir);
  if (files.some((f) => f.file.legacy))
    log.info(
      { revision: state.head },
      'embedded store: migrated the write-ahead log of an older version into a snapshot',
    );
  return { active: await createSegment(dir, nextSeq(files)), sealed: [], snapshotBytes: written.bytes };
}
