// Periodic compaction, as kube-apiserver does it, so history does not grow without bound.
// Every server sharing the etcd cluster ticks on its own, and a compare-and-swap on the version
// of COMPACT_REV_KEY (a logical clock) elects one of them per round: the server whose clock
// matches bumps it and compacts to the revision it saw at its previous tick; the others learn
// the new clock and the current revision. So etcd keeps at least one interval of history, and
// a cluster shared by several servers (ours or kube-apiservers using the same key) is compacted
// once per interval rather than once per server.
import type { Etcd3 } from 'etcd3';
import { CompactionTicker } from '../compaction.js';
import { StorageError } from '../storage.js';
import type { EtcdRpc } from './client.js';

/** one tick; `observed` is the revision seen at it, which the next round won compacts to */
export type CompactionReport =
  /** this server won round `clock` and compacted etcd to `revision` */
  | { outcome: 'compacted'; revision: number; clock: number; observed: number }
  /** this server won round `clock` but had seen no revision yet to compact to (its first tick) */
  | { outcome: 'nothing-yet'; clock: number; observed: number }
  /** another server won round `clock` */
  | { outcome: 'lost'; clock: number; observed: number }
  | { outcome: 'failed'; error: StorageError };

export interface CompactorOptions {
  rpc: EtcdRpc;
  client: Etcd3;
  /** the compaction clock's etcd key */
  key: Buffer;
  intervalMs: number;
  /** etcd was compacted to this revision */
  compacted(revision: number): void;
  report?: (r: CompactionReport) => void;
}

export class Compactor {
  /** the version of the clock key this server last saw */
  private clock = 0;
  /** the revision this server saw at its previous tick */
  private seen = 0;
  private stopped = false;
  private readonly ticker: CompactionTicker;

  constructor(private readonly opts: CompactorOptions) {
    this.ticker = new CompactionTicker(opts.intervalMs, () => this.tick());
  }

  start(): void {
    this.ticker.start();
  }

  /** stops ticking and waits for a round in progress */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.ticker.stop();
  }

  private async tick(): Promise<void> {
    try {
      this.report(await this.round());
    } catch (err) {
      if (this.stopped) return;
      this.report({
        outcome: 'failed',
        error: err instanceof StorageError ? err : new StorageError('Internal', String(err)),
      });
    }
  }

  private report(r: CompactionReport): void {
    try {
      this.opts.report?.(r);
    } catch {
      // a failing observer must not stop compaction
    }
  }

  private async round(): Promise<CompactionReport> {
    const { rpc, client, key } = this.opts;
    const res = await rpc.call({ what: 'compaction election', idempotent: false }, (o) =>
      client.kv.txn(
        {
          compare: [{ key, target: 'Version', result: 'Equal', version: this.clock }],
          success: [{ request_put: { key, value: Buffer.from(String(this.seen)) } }],
          failure: [{ request_range: { key } }],
        },
        o,
      ),
    );
    const now = Number(res.header.revision);
    if (!res.succeeded) {
      const current = res.responses[0]?.response_range?.kvs[0];
      this.clock = current ? Number(current.version) : 0;
      this.seen = now;
      return { outcome: 'lost', clock: this.clock, observed: now };
    }
    this.clock += 1;
    const target = this.seen;
    this.seen = now;
    if (target === 0) return { outcome: 'nothing-yet', clock: this.clock, observed: now };
    try {
      await rpc.call({ what: `compaction to revision ${target}`, idempotent: true }, (o) =>
        client.kv.compact({ revision: target }, o),
      );
    } catch (err) {
      // compacted further already (by someone else, or by our own retried request): nothing to do
      if (!(err instanceof StorageError && err.code === 'Compacted')) throw err;
    }
    this.opts.compacted(target);
    return { outcome: 'compacted', revision: target, clock: this.clock, observed: now };
  }
}
