// The embedded backend: the whole MVCC state in memory, made durable by a write-ahead log that
// is fsync'ed before any write is acknowledged, and bounded by snapshots and compaction.
// Readers and watchers only ever see revisions up to the durable one, so nothing that could
// be lost in a crash is ever served.
import { chmod, mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CompactionTicker } from '../compaction.js';
import {
  MAX_VALUE_BYTES,
  StorageError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Storage,
  type StorageWatch,
  type WatchHandlers,
} from '../storage.js';
import { acquireDirLock, type DirLock } from './lock.js';
import type { MvccState } from './mvcc.js';
import { DEFAULTS, type EmbeddedStoreOptions, type EmbeddedStoreStats } from './options.js';
import { MAX_KEY_BYTES, frameRecord, type LogRecord } from './records.js';
import { recoverState, type EmbeddedStoreLog, type RecoveredState } from './recover.js';
import { writeSnapshot } from './snapshot.js';
import { WatchHub } from './watch.js';
import { WriteAheadLog } from './wal.js';

export { EMBEDDED_FILES, segmentName } from './files.js';
export type { EmbeddedStoreOptions, EmbeddedStoreStats, SnapshotObserver } from './options.js';
export type { EmbeddedStoreLog } from './recover.js';

export interface EmbeddedStore extends Storage {
  readonly dir: string;
  stats(): EmbeddedStoreStats;
}

const silent: EmbeddedStoreLog = { info: () => undefined, warn: () => undefined };

export async function openEmbeddedStore(dir: string, opts: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const absDir = resolve(dir);
  // objects other than Secrets are stored in the clear: the directory is its owner's only
  await mkdir(absDir, { recursive: true, mode: 0o700 });
  await chmod(absDir, 0o700);
  const lock = await acquireDirLock(absDir);
  try {
    const recovered = await recoverState(absDir, { repair: opts.repairLog ?? false, log: opts.log ?? silent });
    const store = new Embedded(absDir, lock, recovered.state, opts, recovered);
    await store.start(recovered);
    return store;
  } catch (err) {
    await lock.release();
    throw err;
  }
}

function checkWrite(key: string, value: Buffer): void {
  if (typeof key !== 'string' || key.length === 0) throw new StorageError('Internal', 'storage key must not be empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new StorageError('TooLarge', `key is longer than ${MAX_KEY_BYTES} bytes`);
  }
  if (value.length > MAX_VALUE_BYTES) {
    throw new StorageError('TooLarge', `value of ${value.length} bytes is over the limit of ${MAX_VALUE_BYTES} bytes`);
  }
}

function checkRevision(revision: number): void {
  if (!Number.isSafeInteger(revision) || revision < 0)
    throw new StorageError('Internal', `invalid revision ${revision}`);
}

class Embedded implements EmbeddedStore {
  private wal!: WriteAheadLog;
  private readonly hub: WatchHub;
  private durable: number;
  private phase: 'open' | 'closing' | 'closed' = 'open';
  private failure: StorageError | null = null;
  private closing: Promise<void> | null = null;
  private readonly historyRevisions: number;
  private readonly maxHistoryBytes: number;
  private readonly snapshotThreshold: number;
  private snapshotBytes: number;
  private snapshotsWritten = 0;
  /** the snapshot being written, while it is */
  private snapshotting: Promise<void> | null = null;
  private readonly recoveredTailBytes: number;
  private readonly ticker: CompactionTicker;
  /** the durable revision at the previous compaction tick */
  private seenAtLastTick = 0;

  constructor(
    readonly dir: string,
    private readonly lock: DirLock,
    private readonly mvcc: MvccState,
    private readonly opts: EmbeddedStoreOptions,
    recovered: { snapshotBytes: number; truncatedBytes: number },
  ) {
    this.durable = mvcc.head;
    this.historyRevisions = Math.max(1, Math.floor(opts.historyRevisions ?? DEFAULTS.historyRevisions));
    this.maxHistoryBytes = Math.max(0, opts.maxHistoryBytes ?? DEFAULTS.maxHistoryBytes);
    this.snapshotThreshold = opts.snapshotThresholdBytes ?? DEFAULTS.snapshotThresholdBytes;
    this.snapshotBytes = recovered.snapshotBytes;
    this.recoveredTailBytes = recovered.truncatedBytes;
    this.hub = new WatchHub({
      durableRevision: () => this.durable,
      compactedRevision: () => this.mvcc.compacted,
      eventAt: (rev) => this.mvcc.eventAt(rev),
    });
    this.ticker = new CompactionTicker(opts.compactionIntervalMs ?? DEFAULTS.compactionIntervalMs, () =>
      this.compactionTick(),
    );
  }

  async start(recovered: RecoveredState): Promise<void> {
    this.wal = await WriteAheadLog.open(this.dir, recovered.active, recovered.sealed, {
      onDurable: (tag) => this.onDurable(tag),
      afterBatch: () => this.maybeSnapshot(),
      onFailure: (err) => this.onFailure(err),
    });
    this.ticker.start();
  }

  stats(): EmbeddedStoreStats {
    return {
      revision: this.durable,
      compactedRevision: this.mvcc.compacted,
      keys: this.mvcc.keyCount,
      watchers: this.hub.size,
      logBytes: this.wal.totalBytes,
      logSegments: this.wal.segments,
      snapshotBytes: this.snapshotBytes,
      snapshotsWritten: this.snapshotsWritten,
      historyBytes: this.mvcc.historyBytes,
      recoveredTailBytes: this.recoveredTailBytes,
    };
  }

  // ---- reads: always at a durable revision ----

  async currentRevision(): Promise<number> {
    this.ensureOpen();
    return this.durable;
  }

  async compactedRevision(): Promise<number> {
    this.ensureOpen();
    return this.mvcc.compacted;
  }

  async get(key: string, revision?: number): Promise<KeyValue | null> {
    this.ensureOpen();
    return this.mvcc.at(key, this.readRevision(revision));
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.ensureOpen();
    const revision = this.readRevision(opts.revision);
    const { kvs, remaining } = this.mvcc.range(prefix, opts.startKey ?? prefix, opts.limit ?? 0, revision);
    return { kvs, revision, more: remaining > 0, remaining };
  }

  private readRevision(revision: number | undefined): number {
    if (revision === undefined || revision === 0) return this.durable;
    checkRevision(revision);
    if (revision > this.durable) {
      throw new StorageError(
        'FutureRevision',
        `revision ${revision} is newer than the current revision ${this.durable}`,
        this.durable,
      );
    }
    if (revision < this.mvcc.compacted) {
      throw new StorageError('Compacted', `revision ${revision} has been compacted`, this.mvcc.compacted);
    }
    return revision;
  }

  // ---- writes: validated and applied against the newest state, acknowledged once durable ----

  async create(key: string, value: Buffer): Promise<KeyValue> {
    this.ensureWritable();
    checkWrite(key, value);
    if (this.mvcc.latest(key)) {
      return this.refuse(() => new StorageError('KeyExists', `key ${key} already exists`, this.durable));
    }
    return this.put(key, value);
  }

  async update(key: string, value: Buffer, expectedModRevision: number): Promise<KeyValue> {
    this.ensureWritable();
    checkWrite(key, value);
    const refused = this.preconditionError(key, expectedModRevision);
    if (refused) return this.refuse(refused);
    return this.put(key, value);
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.ensureWritable();
    const refused = this.preconditionError(key, expectedModRevision);
    if (refused) return this.refuse(refused);
    const ev = this.mvcc.delete(key);
    await this.log({ op: 'delete', revision: ev.revision, key }, ev.revision);
    return ev.kv;
  }

  async compact(revision: number): Promise<void> {
    this.ensureWritable();
    checkRevision(revision);
    if (revision > this.durable) {
      throw new StorageError(
        'FutureRevision',
        `revision ${revision} is newer than the current revision ${this.durable}`,
        this.durable,
      );
    }
    if (revision < this.mvcc.compacted) {
      throw new StorageError('Compacted', `revision ${revision} has been compacted`, this.mvcc.compacted);
    }
    if (revision === this.mvcc.compacted) return;
    this.mvcc.compact(revision);
    this.hub.notify();
    await this.log({ op: 'compact', revision }, this.mvcc.head);
  }

  /**
   * Why a write to the key must not happen (missing key, other mod revision), or null. Checked and
   * applied in one synchronous step so no other write can slip in between.
   */
  private preconditionError(key: string, expectedModRevision: number | undefined): (() => StorageError) | null {
    const cur = this.mvcc.latest(key);
    if (cur && (expectedModRevision === undefined || cur.modRevision === expectedModRevision)) return null;
    if (!cur) return () => new StorageError('KeyNotFound', `key ${key} not found`, this.durable);
    return () =>
      new StorageError(
        'Conflict',
        `key ${key} has mod revision ${cur.modRevision}, not ${expectedModRevision}`,
        this.durable,
        cur,
      );
  }

  /**
   * The check behind an error saw pending writes; wait until they are durable so an error never
   * reports state that a crash could still take back.
   */
  private async refuse(makeError: () => StorageError): Promise<never> {
    await this.settle();
    throw makeError();
  }

  private put(key: string, value: Buffer): Promise<KeyValue> {
    // copied: the caller may reuse its buffer, and readers share ours
    const ev = this.mvcc.put(key, Buffer.from(value));
    return this.log({ op: 'put', revision: ev.revision, key, value: ev.kv.value }, ev.revision).then(() => ev.kv);
  }

  private async log(rec: LogRecord, tag: number): Promise<void> {
    try {
      await this.wal.append(frameRecord(rec), tag);
    } catch (err) {
      throw this.failure ?? new StorageError('Unavailable', `embedded store at ${this.dir}: ${(err as Error).message}`);
    }
  }

  private async settle(): Promise<void> {
    try {
      await this.wal.barrier();
    } catch {
      throw this.failure ?? new StorageError('Unavailable', `embedded store at ${this.dir} failed`);
    }
  }

  // ---- history bounds and snapshots ----

  private onDurable(tag: number): void {
    if (tag <= this.durable) return;
    this.durable = tag;
    this.compactHistory();
    this.hub.notify();
  }

  /**
   * Keeps history within its bounds in revisions and in bytes, with some slack (10% of the
   * bound), so this is not a compaction per write. A snapshot being encoded keeps the compacted
   * versions in memory until it is done, but they no longer count.
   */
  private compactHistory(): void {
    let target = 0;
    const slack = Math.max(1, Math.floor(this.historyRevisions / 10));
    if (this.durable - this.mvcc.compacted >= this.historyRevisions + slack)
      target = this.durable - this.historyRevisions;
    if (this.mvcc.historyBytes > this.maxHistoryBytes) {
      target = Math.max(target, Math.min(this.durable, this.mvcc.compactionTargetForBytes(this.maxHistoryBytes * 0.9)));
    }
    if (target <= this.mvcc.compacted) return;
    this.mvcc.compact(target);
    // a failure here fails the store, which onFailure reports
    this.wal.append(frameRecord({ op: 'compact', revision: target }), this.mvcc.head).catch(() => undefined);
  }

  /** kube-apiserver's periodic compaction: to the revision seen one interval ago */
  private async compactionTick(): Promise<void> {
    const target = this.seenAtLastTick;
    this.seenAtLastTick = this.durable;
    if (target <= this.mvcc.compacted || this.phase !== 'open' || this.failure) return;
    // a failure fails the store, which onFailure reports
    await this.compact(target).catch(() => undefined);
  }

  /**
   * Between two log writes: once the log segment is large enough, the next writes go to a new
   * segment and the snapshot of everything before them is written alongside, while writes go on.
   */
  private async maybeSnapshot(): Promise<void> {
    if (this.snapshotting || this.failure) return;
    const logBytes = this.wal.bytes;
    // a log smaller than the snapshot would replace is cheaper to keep than to rewrite
    if (logBytes <= this.snapshotThreshold || logBytes <= this.snapshotBytes) return;
    const revision = this.durable;
    const firstUncovered = await this.wal.rotate();
    // started in this turn, before another write can be logged or compact past `revision`
    this.snapshotting = this.writeSnapshot(revision, firstUncovered)
      .catch((err: unknown) => this.onFailure(err))
      .finally(() => {
        this.snapshotting = null;
      });
  }

  private async writeSnapshot(revision: number, firstUncovered: number): Promise<void> {
    const observer = this.opts.onSnapshot;
    observer?.started?.(revision);
    const written = await writeSnapshot(this.dir, this.mvcc, revision, {
      chunkBytes: this.opts.snapshotChunkBytes,
      onChunk: observer?.chunkWritten,
    });
    await this.wal.dropBefore(firstUncovered);
    this.snapshotBytes = written.bytes;
    this.snapshotsWritten++;
    observer?.finished?.(written);
  }

  private onFailure(err: unknown): void {
    if (this.failure) return;
    this.failure = new StorageError(
      'Unavailable',
      `embedded store at ${this.dir} failed: ${(err as Error)?.message ?? String(err)}`,
    );
    this.hub.failAll(this.failure);
  }

  // ---- lifecycle ----

  private ensureOpen(): void {
    if (this.phase !== 'open') throw new StorageError('Unavailable', `embedded store at ${this.dir} is closed`);
  }

  private ensureWritable(): void {
    this.ensureOpen();
    if (this.failure) throw this.failure;
  }

  requestProgress(): void {
    if (this.phase === 'open' && !this.failure) this.hub.requestProgress();
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): StorageWatch {
    if (this.phase !== 'open') {
      return this.hub.failed(new StorageError('Unavailable', `embedded store at ${this.dir} is closed`), handlers);
    }
    if (this.failure) return this.hub.failed(this.failure, handlers);
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) {
      return this.hub.failed(new StorageError('Internal', `invalid revision ${fromRevision}`), handlers);
    }
    if (fromRevision < this.mvcc.compacted) {
      const err = new StorageError('Compacted', `revision ${fromRevision} has been compacted`, this.mvcc.compacted);
      return this.hub.failed(err, handlers);
    }
    return this.hub.add(prefix, fromRevision, handlers);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.phase = 'closing';
    this.hub.failAll(new StorageError('Unavailable', `embedded store at ${this.dir} is closed`));
    try {
      await this.ticker.stop();
      await this.wal.close();
      // a snapshot started by the last batches finishes: its segments are deleted, not left behind
      while (this.snapshotting) await this.snapshotting;
    } finally {
      await this.lock.release();
      this.phase = 'closed';
    }
  }
}
