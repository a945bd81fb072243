// Embedded stores in temporary directories for a describe block: every store opened is closed and
// every directory removed after each test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { openEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions } from '../../src/storage/embedded/store.js';

/** call inside a describe: its afterEach cleans up what the returned functions made */
export function embeddedStores(dirPrefix: string) {
  const dirs: string[] = [];
  const open: EmbeddedStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  return {
    async newDir(): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), dirPrefix));
      dirs.push(dir);
      return dir;
    },
    async openStore(dir: string, opts?: EmbeddedStoreOptions): Promise<EmbeddedStore> {
      const store = await openEmbeddedStore(dir, opts);
      open.push(store);
      return store;
    },
  };
}
