// Reads every log file of a data directory and judges each damaged region in it: a torn final
// write (dropped: it was never acknowledged), damage that cost nothing (every revision it could
// have held is in the snapshot or follows without a gap), or damage that lost acknowledged writes.
import { readFile } from 'node:fs/promises';
import { listLogFiles, type LogFile } from './files.js';
import type { LogRecord } from './records.js';
import { parseLegacyLog, parseSegment, type DamageEntry, type ParsedSegment } from './segment.js';

export interface ScannedFile {
  file: LogFile;
  parsed: ParsedSegment;
}

export interface Damage {
  file: LogFile;
  entry: DamageEntry;
  start: number;
  end: number;
  /** the newest revision before the damage (the snapshot's, or the log's) */
  after: number;
  /** the first revision written after it; null when none is */
  before: number | null;
  /** group commits between the frames around it, when both are in one segment */
  framesLost: number | null;
  /** the interrupted last write of the newest segment, never acknowledged */
  tornTail: boolean;
  /** it may have held acknowledged writes that are nowhere else */
  lost: boolean;
}

export interface ScannedLog {
  files: ScannedFile[];
  damages: Damage[];
}

/** the revision of the first write among the records, if any */
function firstRevision(records: LogRecord[]): number | null {
  for (const r of records) if (r.op !== 'compact') return r.revision;
  return null;
}

export async function scanLogFiles(dir: string, snapshotRevision: number): Promise<ScannedLog> {
  const files: ScannedFile[] = [];
  for (const file of await listLogFiles(dir)) {
    const buf = await readFile(file.path);
    files.push({ file, parsed: file.legacy ? parseLegacyLog(buf) : parseSegment(buf) });
  }
  // the first revision written after each entry, from the end backwards
  const firstAfter: (number | null)[][] = files.map((f) => f.parsed.entries.map(() => null));
  let next: number | null = null;
  for (let i = files.length - 1; i >= 0; i--) {
    const entries = files[i]!.parsed.entries;
    for (let j = entries.length - 1; j >= 0; j--) {
      firstAfter[i]![j] = next;
      const e = entries[j]!;
      if (e.kind === 'frame') next = firstRevision(e.records) ?? next;
    }
  }
  const damages: Damage[] = [];
  let newest = snapshotRevision;
  files.forEach((f, i) => {
    const entries = f.parsed.entries;
    entries.forEach((e, j) => {
      if (e.kind === 'frame') {
        for (const r of e.records) if (r.op !== 'compact' && r.revision > newest) newest = r.revision;
        return;
      }
      const prev = entries[j - 1];
      const following = entries[j + 1];
      const framesLost =
        prev?.kind === 'frame' && following?.kind === 'frame' && following.seq > 0
          ? following.seq - prev.seq - 1
          : null;
      const before = firstAfter[i]![j]!;
      const tornTail = e.tornTail && i === files.length - 1 && j === entries.length - 1;
      damages.push({
        file: f.file,
        entry: e,
        start: e.start,
        end: e.end,
        after: newest,
        before,
        framesLost,
        tornTail,
        lost: !tornTail && (before === null || before > newest + 1),
      });
    });
  });
  return { files, damages };
}

/** the revisions a damaged region may have held, and the group commits, in words */
export function lostWrites(d: Damage): string {
  const revisions =
    d.before === null
      ? `any revision after ${d.after}`
      : d.before > d.after + 1
        ? `revisions ${d.after + 1}-${d.before - 1} (${d.before - d.after - 1})`
        : 'no revision';
  return d.framesLost !== null ? `${revisions}, ${d.framesLost} group commit(s)` : revisions;
}

/** where a damaged region is and what it held, in words */
export function describeDamage(d: Damage): string {
  return `bytes ${d.start}-${d.end} (${d.end - d.start} bytes) of ${d.file.path}: ${lostWrites(d)}`;
}
