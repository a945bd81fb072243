// The write-ahead log with group commit: records that arrive while a write+fsync is in flight are
// queued and go to disk together in the next write+fsync, so one fsync acknowledges many writes.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { fsyncDir, isErrno } from './files.js';
import { scanLog, type LogRecord } from './records.js';

export interface WalHooks {
  /** a batch is on disk; `tag` is the largest tag appended with it. Runs before its waiters resolve. */
  onDurable(tag: number): void;
  /** between batches, while nothing is written: the place to snapshot and reset the log */
  afterBatch(): Promise<void>;
  /** the log can no longer be written; every queued append has been rejected with `err` */
  onFailure(err: unknown): void;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export interface RecoveredLog {
  records: LogRecord[];
  /** size of the log after its torn tail was cut off */
  bytes: number;
  /** bytes of torn or corrupt tail that were cut off */
  truncatedBytes: number;
}

/** reads the log, cuts off a torn tail (so later appends never follow garbage) and returns its records */
export async function recoverLog(path: string, dir: string): Promise<RecoveredLog> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    const fh = await open(path, 'a');
    await fh.sync();
    await fh.close();
    await fsyncDir(dir);
    return { records: [], bytes: 0, truncatedBytes: 0 };
  }
  const { records, validBytes } = scanLog(buf);
  if (validBytes < buf.length) {
    const fh = await open(path, 'r+');
    try {
      await fh.truncate(validBytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  return { records, bytes: validBytes, truncatedBytes: buf.length - validBytes };
}

export class WriteAheadLog {
  private queue: Buffer[] = [];
  private waiters: Waiter[] = [];
  private queuedTag = 0;
  private running = false;
  private runPromise: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    private size: number,
    private readonly hooks: WalHooks,
  ) {}

  /** opens the (recovered) log for appending */
  static async open(path: string, size: number, hooks: WalHooks): Promise<WriteAheadLog> {
    return new WriteAheadLog(await open(path, 'a'), size, hooks);
  }

  get bytes(): number {
    return this.size;
  }

  /** resolves once the frame is on disk (fsync'ed) */
  append(frame: Buffer, tag: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure !== null) return reject(this.failure);
      if (this.closed) return reject(new Error('log is closed'));
      this.queue.push(frame);
      this.queuedTag = Math.max(this.queuedTag, tag);
      this.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  /** resolves once everything appended so far is on disk */
  barrier(): Promise<void> {
    if (!this.running && this.waiters.length === 0) {
      return this.failure !== null ? Promise.reject(this.failure) : Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  /** empties the log; only call from afterBatch, once a snapshot covers everything in it */
  async reset(): Promise<void> {
    await this.fh.truncate(0);
    await this.fh.sync();
    this.size = 0;
  }

  /**
   * Writes everything queued, then closes the file; later appends are rejected. Appends made by
   * the hooks while draining (auto-compaction) are still written, so nothing applied is lost.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.running) await this.runPromise;
    this.closed = true;
    await this.fh.close();
  }

  private kick(): void {
    if (!this.running) this.runPromise = this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    let batch: Waiter[] = [];
    try {
      while (this.waiters.length > 0) {
        const frames = this.queue;
        const tag = this.queuedTag;
        batch = this.waiters;
        this.queue = [];
        this.waiters = [];
        if (frames.length > 0) {
          const data = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
          await this.writeAll(data);
          await this.fh.datasync();
          this.size += data.length;
          this.hooks.onDurable(tag);
        }
        for (const w of batch) w.resolve();
        batch = [];
        await this.hooks.afterBatch();
      }
    } catch (err) {
      this.failure = err;
      const rejected = [...batch, ...this.waiters];
      this.queue = [];
      this.waiters = [];
      for (const w of rejected) w.reject(err);
      this.hooks.onFailure(err);
    } finally {
      this.running = false;
    }
  }

  private async writeAll(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.fh.write(data, off, data.length - off);
      off += bytesWritten;
    }
  }
}
