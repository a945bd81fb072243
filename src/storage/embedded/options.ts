// What the embedded store can be told, and what it reports about itself.
import type { EmbeddedStoreLog } from './recover.js';

/** told about each snapshot the store writes while it runs (tests, the benchmark) */
export interface SnapshotObserver {
  /** the snapshot as of `revision` is starting; later writes go to a new log segment */
  started?(revision: number): void;
  /** awaited after each chunk of the snapshot file is written */
  chunkWritten?(): Promise<void> | void;
  /** the snapshot is durable and the segments it covers are deleted */
  finished?(snapshot: { revision: number; bytes: number }): void;
}

export interface EmbeddedStoreOptions {
  /** revisions of history kept for reads and watches at past revisions (auto-compaction); default 10000 */
  historyRevisions?: number;
  /** compact the oldest history once superseded values and tombstones take more than this; default 64 MiB */
  maxHistoryBytes?: number;
  /** every interval, compact to the revision seen one interval earlier (kube-apiserver's); default 5 min, 0 disables */
  compactionIntervalMs?: number;
  /** once the log is larger than this (and than the last snapshot), snapshot and start a new log segment; default 64 MiB */
  snapshotThresholdBytes?: number;
  /** bytes of snapshot encoded between two turns of the event loop; default 1 MiB */
  snapshotChunkBytes?: number;
  /** open a damaged log by keeping every record that can still be read, instead of refusing */
  repairLog?: boolean;
  /** where recovery reports torn tails, damage and repairs; default: nowhere */
  log?: EmbeddedStoreLog;
  onSnapshot?: SnapshotObserver;
}

export interface EmbeddedStoreStats {
  revision: number;
  compactedRevision: number;
  keys: number;
  watchers: number;
  /** bytes of every log segment on disk */
  logBytes: number;
  logSegments: number;
  snapshotBytes: number;
  snapshotsWritten: number;
  /** what retained history (superseded values, tombstones) costs, as counted against maxHistoryBytes */
  historyBytes: number;
  /** bytes of torn log tail discarded when the store was opened */
  recoveredTailBytes: number;
}

export const DEFAULTS = {
  historyRevisions: 10_000,
  maxHistoryBytes: 64 * 1024 * 1024,
  compactionIntervalMs: 5 * 60_000,
  snapshotThresholdBytes: 64 * 1024 * 1024,
};
