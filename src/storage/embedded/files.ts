// File names inside a data directory, and the fsync helpers that make renames and creates durable.
import { open } from 'node:fs/promises';
import { join } from 'node:path';

export const EMBEDDED_FILES = {
  /** the write-ahead log of records since the last snapshot */
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
