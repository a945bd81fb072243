// The Environment cache the boot listener serves from: the Environment controller downloads an
// Environment's kernel and initramfs to <dataDir>/environments/<name>/{vmlinuz,initramfs.xz}
// (renamed into place once verified) and marks it Ready. An Environment is served only when its
// status says Ready for every asset it names and both files are there.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { environmentCacheDir, type Environment } from '../api/environment.js';
import { preconditionFailed } from '../machinery/errors.js';

export const ENVIRONMENT_FILES = ['vmlinuz', 'initramfs.xz'] as const;
export type EnvironmentFile = (typeof ENVIRONMENT_FILES)[number];

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** whether `name` can be an object name (so it is safe as one path segment: no `/`, no `..` alone) */
export function isObjectName(name: string): boolean {
  return NAME.test(name) && !name.split('.').includes('');
}

export function environmentFilePath(dataDir: string, environment: string, file: EnvironmentFile): string {
  return join(environmentCacheDir(dataDir, environment), file);
}

/**
 * Sidero's rule: every asset URL the spec names has a Ready=True condition (one per asset, with
 * its url; a condition without url speaks for every asset), and no Ready condition is False.
 */
export function statusReady(env: Environment): boolean {
  const ready = (env.status?.conditions ?? []).filter((c) => c.type === 'Ready');
  if (ready.length === 0 || ready.some((c) => c.status !== 'True')) return false;
  const urls = [env.spec?.kernel?.url, env.spec?.initrd?.url].filter((u): u is string => !!u);
  return urls.every((url) => ready.some((c) => !c.url || c.url === url));
}

/** whether the Environment may be served: Ready by its status and both files in the cache */
export async function environmentServable(dataDir: string, env: Environment): Promise<boolean> {
  if (!statusReady(env)) return false;
  for (const file of ENVIRONMENT_FILES) {
    const s = await stat(environmentFilePath(dataDir, env.metadata.name!, file)).catch(() => undefined);
    if (!s?.isFile()) return false;
  }
  return true;
}

/**
 * One cached file, opened: its size and a stream of it. A file gone since the readiness check (the
 * controller replacing it) is a 412 like any Environment that is not ready.
 */
export async function openEnvironmentFile(
  dataDir: string,
  environment: string,
  file: EnvironmentFile,
): Promise<{ size: number; stream: NodeJS.ReadableStream & { destroy(): void } }> {
  let fh;
  try {
    fh = await open(environmentFilePath(dataDir, environment, file), 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw preconditionFailed(`environment "${environment}" is not ready`);
    throw e;
  }
  try {
    const { size } = await fh.stat();
    return { size, stream: fh.createReadStream() };
  } catch (e) {
    await fh.close();
    throw e;
  }
}
