// Rebuilds the state of a data directory: load the snapshot (if any), then replay the log.
// Log records at or below the snapshot's revision are already in it: a crash between writing a
// snapshot and emptying the log leaves them behind, and they are skipped.
import { StorageError } from '../storage.js';
import { CorruptData } from './codec.js';
import { dataFile } from './files.js';
import { MvccState } from './mvcc.js';
import type { LogRecord } from './records.js';
import { decodeSnapshot, readSnapshotFile } from './snapshot.js';
import { recoverLog } from './wal.js';

export interface RecoveredState {
  state: MvccState;
  logBytes: number;
  snapshotBytes: number;
  truncatedBytes: number;
}

function corrupt(dir: string, what: string): StorageError {
  return new StorageError('Internal', `data directory ${dir} is corrupt: ${what}`);
}

function replay(state: MvccState, rec: LogRecord, dir: string): void {
  if (rec.op === 'compact') {
    if (rec.revision > state.head) throw corrupt(dir, `compaction to ${rec.revision} beyond revision ${state.head}`);
    state.compact(rec.revision);
    return;
  }
  if (rec.revision <= state.head) return;
  if (rec.revision !== state.head + 1) {
    throw corrupt(dir, `log jumps from revision ${state.head} to ${rec.revision}`);
  }
  if (rec.op === 'put') {
    state.put(rec.key, rec.value);
  } else {
    if (!state.latest(rec.key)) throw corrupt(dir, `revision ${rec.revision} deletes missing key ${rec.key}`);
    state.delete(rec.key);
  }
}

export async function recoverState(dir: string): Promise<RecoveredState> {
  const snapshot = await readSnapshotFile(dir);
  let state: MvccState;
  try {
    state = snapshot ? decodeSnapshot(snapshot) : new MvccState();
  } catch (err) {
    if (err instanceof CorruptData) throw corrupt(dir, `snapshot: ${err.message}`);
    throw err;
  }
  const log = await recoverLog(dataFile(dir, 'log'), dir);
  for (const rec of log.records) replay(state, rec, dir);
  return {
    state,
    logBytes: log.bytes,
    snapshotBytes: snapshot?.length ?? 0,
    truncatedBytes: log.truncatedBytes,
  };
}
