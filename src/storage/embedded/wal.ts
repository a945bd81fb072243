// The write-ahead log with group commit: records that arrive while a write+fsync is in flight are
// queued and go to disk together, as one frame (segment.ts), in the next write+fsync, so one
// fsync acknowledges many writes. The log is a series of segment files: a snapshot starts a new
// segment, and the older ones are deleted once the snapshot covering them is on disk.
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, isErrno, segmentName } from './files.js';
import { MAX_FRAME_PAYLOAD_BYTES, encodeFrame, newSalt, segmentHeader } from './segment.js';

export interface WalHooks {
  /** a batch is on disk; `tag` is the largest tag appended with it. Runs before its waiters resolve. */
  onDurable(tag: number): void;
  /** between batches, while nothing is written: the place to start a new segment */
  afterBatch(): Promise<void>;
  /** the log can no longer be written; every queued append has been rejected with `err` */
  onFailure(err: unknown): void;
}

interface Entry {
  /** a record frame, or null for a barrier */
  frame: Buffer | null;
  tag: number;
  resolve(): void;
  reject(err: unknown): void;
}

/** a segment on disk */
export interface SegmentFile {
  seq: number;
  path: string;
  bytes: number;
}

/** the segment appends go to: its salt and the sequence number of its last frame */
export interface ActiveSegment extends SegmentFile {
  salt: Buffer;
  lastFrame: number;
}

/** creates an empty segment (header only), durable, directory entry included */
export async function createSegment(dir: string, seq: number): Promise<ActiveSegment> {
  const path = join(dir, segmentName(seq));
  const salt = newSalt();
  const header = segmentHeader(salt);
  // the log holds every object but Secrets in the clear: its owner's only
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(header);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(dir);
  return { seq, path, bytes: header.length, salt, lastFrame: 0 };
}

export class WriteAheadLog {
  private queue: Entry[] = [];
  private running = false;
  private runPromise: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private fh: FileHandle,
    private active: ActiveSegment,
    /** older segments still on disk, until a snapshot covers them */
    private sealed: SegmentFile[],
    private readonly hooks: WalHooks,
  ) {}

  /** opens the (recovered) active segment for appending */
  static async open(
    dir: string,
    active: ActiveSegment,
    sealed: SegmentFile[],
    hooks: WalHooks,
  ): Promise<WriteAheadLog> {
    return new WriteAheadLog(dir, await open(active.path, 'a', 0o600), active, sealed, hooks);
  }

  /** bytes of the segment appends go to */
  get bytes(): number {
    return this.active.bytes;
  }

  /** bytes of every segment on disk */
  get totalBytes(): number {
    return this.sealed.reduce((sum, s) => sum + s.bytes, this.active.bytes);
  }

  get segments(): number {
    return this.sealed.length + 1;
  }

  /** resolves once the frame is on disk (fsync'ed) */
  append(frame: Buffer, tag: number): Promise<void> {
    return this.enqueue(frame, tag);
  }

  /** resolves once everything appended so far is on disk */
  barrier(): Promise<void> {
    if (!this.running && this.queue.length === 0) {
      return this.failure !== null ? Promise.reject(this.failure) : Promise.resolve();
    }
    return this.enqueue(null, 0);
  }

  private enqueue(frame: Buffer | null, tag: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure !== null) return reject(this.failure);
      if (this.closed) return reject(new Error('log is closed'));
      this.queue.push({ frame, tag, resolve, reject });
      if (!this.running) this.runPromise = this.run();
    });
  }

  /**
   * Starts a new segment for later appends and returns its sequence number; every record written
   * so far is in the older ones. Only call from afterBatch.
   */
  async rotate(): Promise<number> {
    const next = await createSegment(this.dir, this.active.seq + 1);
    const old = this.fh;
    this.sealed.push({ seq: this.active.seq, path: this.active.path, bytes: this.active.bytes });
    this.fh = await open(next.path, 'a', 0o600);
    this.active = next;
    await old.close();
    return next.seq;
  }

  /** deletes the sealed segments before `seq`: a durable snapshot holds everything in them */
  async dropBefore(seq: number): Promise<void> {
    const drop = this.sealed.filter((s) => s.seq < seq);
    if (drop.length === 0) return;
    for (const s of drop) {
      await unlink(s.path).catch((err: unknown) => {
        if (!isErrno(err, 'ENOENT')) throw err;
      });
    }
    this.sealed = this.sealed.filter((s) => s.seq >= seq);
    await fsyncDir(this.dir);
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

  /** the queued entries that go into the next frame: at most MAX_FRAME_PAYLOAD_BYTES of records */
  private takeBatch(): Entry[] {
    let bytes = 0;
    let n = 0;
    for (; n < this.queue.length; n++) {
      const frame = this.queue[n]!.frame;
      if (!frame) continue;
      if (bytes > 0 && bytes + frame.length > MAX_FRAME_PAYLOAD_BYTES) break;
      bytes += frame.length;
    }
    return this.queue.splice(0, n);
  }

  private async run(): Promise<void> {
    this.running = true;
    let batch: Entry[] = [];
    try {
      while (this.queue.length > 0) {
        batch = this.takeBatch();
        const frames: Buffer[] = [];
        let tag = 0;
        for (const e of batch) {
          if (!e.frame) continue;
          frames.push(e.frame);
          tag = Math.max(tag, e.tag);
        }
        if (frames.length > 0) {
          const data = encodeFrame(this.active.salt, this.active.lastFrame + 1, frames);
          await this.writeAll(data);
          await this.fh.datasync();
          this.active.lastFrame++;
          this.active.bytes += data.length;
          this.hooks.onDurable(tag);
        }
        for (const e of batch) e.resolve();
        batch = [];
        await this.hooks.afterBatch();
      }
    } catch (err) {
      this.failure = err;
      const rejected = [...batch, ...this.queue];
      this.queue = [];
      for (const e of rejected) e.reject(err);
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
