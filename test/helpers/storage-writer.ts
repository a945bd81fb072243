// A writer for the crash test: opens an embedded store and writes objects from several concurrent
// loops, printing one line per acknowledged write, only after its promise resolved:
//   c <index> <revision>   create of writerKey(index) with writerValue(index, 0)
//   u <index> <revision>   update of the same key to writerValue(index, 1)
//   s <revision>           a snapshot as of that revision started (S: it is on disk)
// Usage: node dist/test/helpers/storage-writer.js <dir> <firstIndex> [concurrency] [snapshotThresholdBytes]
//   [compactionIntervalMs] [maxHistoryBytes]   (periodic compaction is off unless given)
import { fileURLToPath } from 'node:url';
import { openEmbeddedStore } from '../../src/storage/embedded/store.js';

export const WRITER_PREFIX = '/registry/crash.test/things/default/';

export function writerKey(index: number): string {
  return `${WRITER_PREFIX}obj-${String(index).padStart(8, '0')}`;
}

/** deterministic bytes of varying length, so a torn or mixed-up value is visible */
export function writerValue(index: number, generation: number): Buffer {
  const len = 16 + ((index * 131 + generation * 977) % 4000);
  const buf = Buffer.alloc(len);
  buf.writeUInt32LE(index, 0);
  buf.writeUInt32LE(generation, 4);
  for (let i = 8; i < len; i++) buf[i] = (index * 31 + generation * 7 + i) & 0xff;
  return buf;
}

/** every third object is updated after its create is acknowledged */
export function writerUpdates(index: number): boolean {
  return index % 3 === 0;
}

async function main(argv: string[]): Promise<void> {
  const [dir, first, concurrency = '8', threshold = String(256 * 1024), interval = '0', maxHistory] = argv;
  if (!dir || first === undefined) {
    throw new Error(
      'usage: storage-writer <dir> <firstIndex> [concurrency] [snapshotThresholdBytes] [compactionIntervalMs] [maxHistoryBytes]',
    );
  }
  const store = await openEmbeddedStore(dir, {
    snapshotThresholdBytes: Number(threshold),
    compactionIntervalMs: Number(interval),
    ...(maxHistory ? { maxHistoryBytes: Number(maxHistory) } : {}),
    onSnapshot: {
      started: (revision) => process.stdout.write(`s ${revision}\n`),
      finished: ({ revision }) => process.stdout.write(`S ${revision}\n`),
    },
  });
  let next = Number(first);
  const loop = async (): Promise<never> => {
    for (;;) {
      const index = next++;
      const created = await store.create(writerKey(index), writerValue(index, 0));
      process.stdout.write(`c ${index} ${created.modRevision}\n`);
      if (writerUpdates(index)) {
        const updated = await store.update(created.key, writerValue(index, 1), created.modRevision);
        process.stdout.write(`u ${index} ${updated.modRevision}\n`);
      }
    }
  };
  // runs until killed
  await Promise.all(Array.from({ length: Number(concurrency) }, loop));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`storage-writer: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
