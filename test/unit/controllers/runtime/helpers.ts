// Shared by the controller runtime's tests: a pino logger whose lines the test can read, a bounded
// wait on a condition, and a registry of the core kinds on a real embedded store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { coreKinds } from '../../../../src/api/index.js';
import { APIRegistry } from '../../../../src/machinery/registry/apis.js';
import { systemContext } from '../../../../src/machinery/registry/context.js';
import type { ResourceStore } from '../../../../src/machinery/registry/store.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../../../src/storage/embedded/store.js';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** a logger at debug level; every line it writes, parsed */
export function capturedLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

/** resolves once `cond` holds, polling on short timers; fails naming `what` after `ms` */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export interface TestRegistry {
  storage: EmbeddedStore;
  registry: APIRegistry;
  secrets: ResourceStore;
  /** creates a Secret in `default` */
  secret(name: string, labels?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** the core kinds on an embedded store in a temporary directory (no watch cache: compaction is seen at once) */
export async function testRegistry(): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'tfa-runtime-'));
  const storage = await openEmbeddedStore(dir);
  const registry = new APIRegistry(coreKinds, storage);
  const secrets = registry.storeForKind('', 'Secret')!;
  return {
    storage,
    registry,
    secrets,
    async secret(name, labels) {
      const value = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, ...(labels ? { labels } : {}) },
        data: { k: Buffer.from(name).toString('base64') },
      };
      await secrets.create('default', { value, duplicates: [] }, systemContext());
    },
    async close() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
