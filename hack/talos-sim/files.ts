// Files other processes wait for are written whole or not at all: write a temp file beside the
// target, then rename it over (atomic within one directory on POSIX).
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function writeFileAtomic(dir: string, name: string, content: string, mode = 0o644): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, content, { mode });
    await rename(temp, target);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  return target;
}

/** Removes files we wrote, e.g. on shutdown, so nobody dials endpoints that no longer exist. */
export async function removeFiles(paths: string[]): Promise<void> {
  for (const p of paths) await rm(p, { force: true });
}
