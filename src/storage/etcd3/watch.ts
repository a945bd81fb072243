// One storage watch = one etcd watch stream of its own. The stream is (re)created from the last
// revision delivered, so a broken connection costs a replay, never a gap or a duplicate:
// etcd is asked to start AT that revision (not after it) and every event at or below it is
// dropped here, which also makes etcd's compaction check match ours exactly (a watch from
// revision r fails when r < the compaction revision). Compaction, closing the store, or no
// working stream for `reconnectTimeoutMs` end the watch with onError.
import type { Etcd3, IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import { StorageError, type StorageWatch, type WatchHandlers } from '../storage.js';
import { classifyEtcdError } from './client.js';
import type { KeySpace } from './keys.js';

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

export interface WatchContext {
  client: Etcd3;
  space: KeySpace;
  /** how long etcd may take to confirm a new watch */
  requestTimeoutMs: number;
  /** how long the watch may be without a working stream before it fails with Unavailable */
  reconnectTimeoutMs: number;
  /** etcd reported this compaction revision */
  sawCompaction(revision: number): void;
  /** the watch ended (closed or failed): forget it */
  ended(w: EtcdWatch): void;
  /** a stream broke and a new one is being opened */
  reconnecting(): void;
}

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 1_000;

export class EtcdWatch implements StorageWatch {
  /** highest revision delivered (or known to hold nothing for us) */
  private last: number;
  private stream: WatchStream | null = null;
  private ended = false;
  private brokenSince: number | null = null;
  private retryMs = FIRST_RETRY_MS;
  private timer: NodeJS.Timeout | null = null;
  /** events of a reply etcd split into fragments, until the last fragment */
  private fragments: IEvent[] = [];
  private readonly range: { key: Buffer; end: Buffer };

  constructor(
    private readonly ctx: WatchContext,
    prefix: string,
    fromRevision: number,
    private readonly handlers: WatchHandlers,
  ) {
    this.last = fromRevision;
    this.range = ctx.space.range(prefix);
  }

  start(): void {
    void this.connect();
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.teardown();
    this.ctx.ended(this);
  }

  /** ends the watch with an error (no-op once ended) */
  fail(err: StorageError): void {
    if (this.ended) return;
    this.close();
    this.handlers.onError(err);
  }

  private async connect(): Promise<void> {
    this.timer = null;
    if (this.ended) return;
    let stream: WatchStream;
    try {
      stream = await this.ctx.client.watchClient.watch();
    } catch (err) {
      return this.broken(err);
    }
    if (this.ended) {
      stream.on('error', () => undefined);
      stream.end();
      return stream.cancel();
    }
    this.stream = stream;
    stream.on('data', (res: IWatchResponse) => this.onReply(stream, res));
    stream.on('error', (err: Error) => this.onStreamEnd(stream, err));
    stream.on('end', () => this.onStreamEnd(stream, new Error('etcd ended the watch stream')));
    this.timer = setTimeout(
      () =>
        this.onStreamEnd(stream, new Error(`etcd did not confirm the watch within ${this.ctx.requestTimeoutMs} ms`)),
      this.ctx.requestTimeoutMs,
    );
    stream.write({
      create_request: {
        key: this.range.key,
        range_end: this.range.end,
        // etcd has no revision 0 to start at (0 means "now"); revision 1 is the first there is
        start_revision: Math.max(1, this.last),
        prev_kv: true,
        // replies over etcd's request size limit arrive in pieces instead of overrunning ours
        fragment: true,
      },
    });
  }

  private onReply(stream: WatchStream, res: IWatchResponse): void {
    if (stream !== this.stream || this.ended) return;
    const compacted = Number(res.compact_revision ?? 0);
    if (compacted > 0) {
      this.ctx.sawCompaction(compacted);
      return this.fail(
        new StorageError(
          'Compacted',
          `etcd: revision ${this.last} has been compacted (compaction revision ${compacted})`,
          compacted,
        ),
      );
    }
    if (res.canceled) {
      return this.onStreamEnd(stream, new Error(`etcd canceled the watch: ${res.cancel_reason || 'no reason given'}`));
    }
    if (res.created) {
      this.clearTimer();
      this.brokenSince = null;
      this.retryMs = FIRST_RETRY_MS;
    }
    if (res.fragment) {
      this.fragments.push(...res.events);
      return;
    }
    const events = this.fragments.length > 0 ? [...this.fragments.splice(0), ...res.events] : res.events;
    // etcd never splits one revision across replies, so everything above `floor` is new
    const floor = this.last;
    for (const ev of events) {
      if (this.ended) return;
      const revision = Number(ev.kv.mod_revision);
      if (revision <= floor) continue;
      this.last = Math.max(this.last, revision);
      if (this.ctx.space.isHidden(ev.kv.key)) continue;
      this.handlers.onEvent(this.ctx.space.event(ev));
    }
  }

  private onStreamEnd(stream: WatchStream, err: unknown): void {
    if (stream !== this.stream || this.ended) return;
    // an event too large for us would arrive again on every new stream: give up on it
    if (classifyEtcdError(err) === 'ReplyTooLarge') {
      return this.fail(new StorageError('Internal', `etcd watch: ${(err as Error).message}`));
    }
    this.broken(err);
  }

  /** the current stream is unusable: open another after a pause, unless it has been too long */
  private broken(err: unknown): void {
    this.teardown();
    if (this.ended) return;
    const now = Date.now();
    this.brokenSince ??= now;
    const left = this.brokenSince + this.ctx.reconnectTimeoutMs - now;
    if (left <= 0) {
      const why = (err as Error)?.message ?? String(err);
      return this.fail(
        new StorageError('Unavailable', `etcd watch: no connection for ${this.ctx.reconnectTimeoutMs} ms (${why})`),
      );
    }
    this.ctx.reconnecting();
    this.timer = setTimeout(() => void this.connect(), Math.min(this.retryMs, left));
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private teardown(): void {
    this.clearTimer();
    this.fragments = [];
    const stream = this.stream;
    this.stream = null;
    if (stream) {
      // ending our side first keeps etcd3 from taking the cancellation for a failed host
      stream.end();
      stream.cancel();
    }
  }
}
