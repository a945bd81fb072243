// File names inside a data directory, and the fsync helpers that make renames and creates durable.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export const EMBEDDED_FILES = {
  /** the write-ahead log of older versions (one file, no segment header); migrated on open */
  log: 'wal.log',
  /** the state as of some revision; replaced atomically */
  snapshot: 'snapshot.bin',
  /** where a new snapshot is written before its rename */
  snapshotTemp: 'snapshot.tmp',
  /** holds the PID of the process that has the directory open */
  lock: 'LOCK',
} as const;

export function dataFile(dir: string, name: keyof typeof EMBEDDED_FILES): string {
  return join(dir, EMBEDDED_FILES[name]);
}

const SEGMENT_NAME = /^wal-(\d{16})\.log$/;

/** the write-ahead log is a series of segments, wal-<seq>.log, replayed in order of seq */
export function segmentName(seq: number): string {
  return `wal-${String(seq).padStart(16, '0')}.log`;
}

export interface LogFile {
  /** 0 for the older single-file log, which comes before every segment */
  seq: number;
  path: string;
  name: string;
  legacy: boolean;
}

/** the log files of a data directory in replay order */
export async function listLogFiles(dir: string): Promise<LogFile[]> {
  const files: LogFile[] = [];
  for (const name of await readdir(dir)) {
    if (name === EMBEDDED_FILES.log) {
      files.push({ seq: 0, path: join(dir, name), name, legacy: true });
      continue;
    }
    const m = SEGMENT_NAME.exec(name);
    if (m && Number(m[1]) > 0) files.push({ seq: Number(m[1]), path: join(dir, name), name, legacy: false });
  }
  return files.sort((a, b) => a.seq - b.seq);
}

/** makes a directory entry change (create, rename, unlink) durable */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
