// One process at a time owns a data directory. The LOCK file holds the owner's PID; it is created
// with link(2) from a fully written temp file, so it is never seen empty or half written.
// A lock whose process is gone (crashed, killed) is stale and is taken over.
import { randomBytes } from 'node:crypto';
import { link, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from '../storage.js';
import { dataFile, isErrno } from './files.js';

export interface DirLock {
  /** removes the lock file; safe to call twice */
  release(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else
    return isErrno(err, 'EPERM');
  }
}

async function readHolder(path: string): Promise<number | null> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch((err: unknown) => {
    if (!isErrno(err, 'ENOENT')) throw err;
  });
}

export async function acquireDirLock(dir: string): Promise<DirLock> {
  const path = dataFile(dir, 'lock');
  const temp = join(dir, `LOCK.${process.pid}.${randomBytes(4).toString('hex')}`);
  const fh = await open(temp, 'w', 0o600);
  try {
    await fh.writeFile(`${process.pid}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    // bounded: each round either takes the lock, fails on a live holder, or removes a stale lock
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(temp, path);
        return makeLock(path);
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
      const holder = await readHolder(path);
      if (holder !== null && processAlive(holder)) {
        throw new StorageError('Unavailable', `data directory ${dir} is locked by process ${holder}`);
      }
      await unlinkQuietly(path);
    }
    throw new StorageError('Unavailable', `data directory ${dir}: could not take its lock`);
  } finally {
    await unlinkQuietly(temp);
  }
}

function makeLock(path: string): DirLock {
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      if ((await readHolder(path)) === process.pid) await unlinkQuietly(path);
    },
  };
}
