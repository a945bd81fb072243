// The etcd3 backend: resourceVersion is etcd's mod revision, writes are transactions that
// compare revisions, lists are ranges of bounded size read at one revision, and watches are
// etcd watches that resume from the last delivered revision (see watch.ts). Every call has a
// deadline (requestTimeoutMs) and fails with Unavailable past it instead of hanging.
import type { Etcd3, IKeyValue, IRangeRequest, IRangeResponse } from 'etcd3';
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
import { closedError, connectEtcd, EtcdRpc, type EtcdConnectionOptions } from './client.js';
import { Compactor, type CompactionReport } from './compactor.js';
import { KeySpace } from './keys.js';
import { Pager } from './list.js';
import { EtcdWatch } from './watch.js';

export type { CompactionReport } from './compactor.js';

export interface EtcdStoreOptions extends EtcdConnectionOptions {
  /** prepended to every key in etcd; default '' (the registry's keys already start with /registry) */
  prefix?: string;
  /** deadline of every etcd call; default 10 s */
  requestTimeoutMs?: number;
  /** how often to compact etcd (kube-apiserver's --etcd-compaction-interval); default 5 min, 0 disables */
  compactionIntervalMs?: number;
  /** how long a watch may go without a working etcd stream before failing with Unavailable; default 30 s */
  watchReconnectTimeoutMs?: number;
  /** most keys asked of etcd in one range; default 500 (fewer when values are large) */
  listPageSize?: number;
  /** told about every compaction round, for logs and metrics */
  onCompaction?: (report: CompactionReport) => void;
}

export interface EtcdStoreStats {
  /** multi-key ranges sent to etcd (lists) */
  listRanges: number;
  /** the largest `limit` a multi-key range was sent with */
  largestListLimit: number;
  /** multi-key ranges sent without a limit (there should be none) */
  unlimitedListRanges: number;
  watches: number;
  watchReconnects: number;
}

export interface EtcdStore extends Storage {
  readonly endpoints: readonly string[];
  stats(): EtcdStoreStats;
}

const DEFAULTS = {
  requestTimeoutMs: 10_000,
  compactionIntervalMs: 5 * 60_000,
  watchReconnectTimeoutMs: 30_000,
  listPageSize: 500,
};

export async function openEtcdStore(opts: EtcdStoreOptions): Promise<EtcdStore> {
  const client = await connectEtcd(opts);
  return new Etcd(client, opts);
}

function checkRevision(revision: number): void {
  if (!Number.isSafeInteger(revision) || revision < 0)
    throw new StorageError('Internal', `invalid revision ${revision}`);
}

function checkWrite(key: string, value: Buffer): void {
  if (typeof key !== 'string' || key.length === 0) throw new StorageError('Internal', 'storage key must not be empty');
  if (value.length > MAX_VALUE_BYTES) {
    throw new StorageError('TooLarge', `value of ${value.length} bytes is over the limit of ${MAX_VALUE_BYTES} bytes`);
  }
}

class Etcd implements EtcdStore {
  readonly endpoints: readonly string[];
  private readonly rpc: EtcdRpc;
  private readonly space: KeySpace;
  private readonly compactor: Compactor;
  private readonly watches = new Set<EtcdWatch>();
  private readonly opts: typeof DEFAULTS;
  private closed: Promise<void> | null = null;
  /** a lower bound of etcd's compaction revision: what we compacted or were told about */
  private knownCompacted = 0;
  private readonly pager: Pager;
  private readonly counters = { listRanges: 0, largestListLimit: 0, unlimitedListRanges: 0, watchReconnects: 0 };

  constructor(
    private readonly client: Etcd3,
    opts: EtcdStoreOptions,
  ) {
    this.endpoints = [...opts.endpoints];
    this.opts = {
      requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      compactionIntervalMs: opts.compactionIntervalMs ?? DEFAULTS.compactionIntervalMs,
      watchReconnectTimeoutMs: opts.watchReconnectTimeoutMs ?? DEFAULTS.watchReconnectTimeoutMs,
      listPageSize: Math.max(1, Math.floor(opts.listPageSize ?? DEFAULTS.listPageSize)),
    };
    this.rpc = new EtcdRpc(client, this.opts.requestTimeoutMs, () => this.closed !== null);
    this.space = new KeySpace(opts.prefix ?? '');
    this.pager = new Pager(this.space, (req, what) => this.range(req, what), this.opts.listPageSize);
    this.compactor = new Compactor({
      rpc: this.rpc,
      client,
      key: this.space.compactKey,
      intervalMs: this.opts.compactionIntervalMs,
      compacted: (rev) => this.sawCompaction(rev),
      report: opts.onCompaction,
    });
    this.compactor.start();
  }

  stats(): EtcdStoreStats {
    return { ...this.counters, watches: this.watches.size };
  }

  // ---- reads ----

  private async range(req: IRangeRequest, what: string): Promise<IRangeResponse> {
    this.ensureOpen();
    if (req.range_end && !req.count_only) {
      const limit = Number(req.limit ?? 0);
      this.counters.listRanges++;
      if (limit > 0) this.counters.largestListLimit = Math.max(this.counters.largestListLimit, limit);
      else this.counters.unlimitedListRanges++;
    }
    try {
      return await this.rpc.call({ what, idempotent: true }, (o) => this.client.kv.range(req, o));
    } catch (err) {
      throw await this.withRevision(err);
    }
  }

  /** etcd's errors do not say which revision is current or compacted; ours do */
  private async withRevision(err: unknown): Promise<unknown> {
    if (!(err instanceof StorageError) || (err.code !== 'Compacted' && err.code !== 'FutureRevision')) return err;
    try {
      const rev = err.code === 'Compacted' ? await this.compactedRevision() : await this.currentRevision();
      return new StorageError(err.code, err.message, rev);
    } catch {
      return err;
    }
  }

  async currentRevision(): Promise<number> {
    // a linearizable read of one key is the cheapest way to learn the current revision
    const res = await this.range({ key: this.space.compactKey, count_only: true }, 'current revision');
    return Number(res.header.revision);
  }

  async compactedRevision(): Promise<number> {
    this.ensureOpen();
    // knownCompacted is a lower bound: a read at it succeeds only if nobody compacted further
    let known = this.knownCompacted;
    let current: boolean;
    try {
      current = await this.readableAt(Math.max(1, known));
    } catch (err) {
      // an etcd wiped or restored from an older backup has a history of its own: start over
      if (!(err instanceof StorageError && err.code === 'FutureRevision' && known > 0)) throw err;
      this.knownCompacted = known = 0;
      current = await this.readableAt(1);
    }
    if (current) return known;
    // compacted by someone else: the smallest readable revision, by bisection (rare)
    let lo = Math.max(1, known) + 1;
    let hi = await this.currentRevision();
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (await this.readableAt(mid)) hi = mid;
      else lo = mid + 1;
    }
    this.sawCompaction(lo);
    return this.knownCompacted;
  }

  private async readableAt(revision: number): Promise<boolean> {
    try {
      await this.rpc.call({ what: `read at revision ${revision}`, idempotent: true }, (o) =>
        this.client.kv.range({ key: this.space.compactKey, revision, count_only: true }, o),
      );
      return true;
    } catch (err) {
      if (err instanceof StorageError && err.code === 'Compacted') return false;
      throw err;
    }
  }

  private sawCompaction(revision: number): void {
    this.knownCompacted = Math.max(this.knownCompacted, revision);
  }

  async get(key: string, revision?: number): Promise<KeyValue | null> {
    if (revision !== undefined) checkRevision(revision);
    const res = await this.range({ key: this.space.etcdKey(key), revision: revision ?? 0 }, `get ${key}`);
    const kv = res.kvs[0];
    return kv ? this.space.kv(kv) : null;
  }

  list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    if (opts.revision !== undefined) checkRevision(opts.revision);
    return this.pager.list(prefix, opts);
  }

  // ---- writes ----

  async create(key: string, value: Buffer): Promise<KeyValue> {
    this.ensureOpen();
    checkWrite(key, value);
    const k = this.space.etcdKey(key);
    const res = await this.rpc.call({ what: `create ${key}`, idempotent: false }, (o) =>
      this.client.kv.txn(
        {
          compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key: k, value } }],
          failure: [],
        },
        o,
      ),
    );
    const revision = Number(res.header.revision);
    if (!res.succeeded) throw new StorageError('KeyExists', `key ${key} already exists`, revision);
    return { key, value: Buffer.from(value), createRevision: revision, modRevision: revision };
  }

  async update(key: string, value: Buffer, expectedModRevision: number): Promise<KeyValue> {
    this.ensureOpen();
    checkWrite(key, value);
    const k = this.space.etcdKey(key);
    const res = await this.rpc.call({ what: `update ${key}`, idempotent: false }, (o) =>
      this.client.kv.txn(
        {
          // the key must exist: a missing key's mod revision is 0, which must not match a 0 given to us
          compare: [
            { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision },
            { key: k, target: 'Create', result: 'Greater', create_revision: 0 },
          ],
          success: [{ request_put: { key: k, value } }, { request_range: { key: k, keys_only: true } }],
          failure: [{ request_range: { key: k } }],
        },
        o,
      ),
    );
    const revision = Number(res.header.revision);
    if (!res.succeeded)
      throw this.preconditionFailed(key, expectedModRevision, res.responses[0]?.response_range?.kvs[0], revision);
    const written = res.responses[1]!.response_range.kvs[0]!;
    return { key, value: Buffer.from(value), createRevision: Number(written.create_revision), modRevision: revision };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.ensureOpen();
    const k = this.space.etcdKey(key);
    const res = await this.rpc.call({ what: `delete ${key}`, idempotent: false }, (o) =>
      this.client.kv.txn(
        {
          compare:
            expectedModRevision === undefined
              ? []
              : [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision }],
          success: [{ request_delete_range: { key: k, prev_kv: true } }],
          failure: [{ request_range: { key: k } }],
        },
        o,
      ),
    );
    const revision = Number(res.header.revision);
    if (!res.succeeded)
      throw this.preconditionFailed(key, expectedModRevision, res.responses[0]?.response_range?.kvs[0], revision);
    const prev = res.responses[0]?.response_delete_range?.prev_kvs[0];
    if (!prev) throw new StorageError('KeyNotFound', `key ${key} not found`, revision);
    return { ...this.space.kv(prev), modRevision: revision };
  }

  private preconditionFailed(
    key: string,
    expected: number | undefined,
    current: IKeyValue | undefined,
    revision: number,
  ): StorageError {
    if (!current) return new StorageError('KeyNotFound', `key ${key} not found`, revision);
    const kv = this.space.kv(current);
    return new StorageError('Conflict', `key ${key} has mod revision ${kv.modRevision}, not ${expected}`, revision, kv);
  }

  async compact(revision: number): Promise<void> {
    this.ensureOpen();
    checkRevision(revision);
    try {
      await this.rpc.call({ what: `compaction to revision ${revision}`, idempotent: true }, (o) =>
        this.client.kv.compact({ revision }, o),
      );
      this.sawCompaction(revision);
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'Compacted')) throw await this.withRevision(err);
      // etcd refuses to compact to its compaction revision again; we treat that as done
      const compacted = await this.compactedRevision();
      if (revision !== compacted)
        throw new StorageError('Compacted', `revision ${revision} has been compacted`, compacted);
    }
  }

  // ---- watches and lifecycle ----

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): StorageWatch {
    const w = new EtcdWatch(
      {
        client: this.client,
        space: this.space,
        requestTimeoutMs: this.opts.requestTimeoutMs,
        reconnectTimeoutMs: this.opts.watchReconnectTimeoutMs,
        sawCompaction: (rev) => this.sawCompaction(rev),
        ended: (ended) => this.watches.delete(ended),
        reconnecting: () => this.counters.watchReconnects++,
      },
      prefix,
      fromRevision,
      handlers,
    );
    if (this.closed) {
      queueMicrotask(() => w.fail(closedError()));
    } else if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) {
      queueMicrotask(() => w.fail(new StorageError('Internal', `invalid revision ${fromRevision}`)));
    } else {
      this.watches.add(w);
      w.start();
    }
    return w;
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      for (const w of [...this.watches]) w.fail(closedError());
      await this.compactor.stop();
      this.client.close();
    })();
    return this.closed;
  }

  private ensureOpen(): void {
    if (this.closed) throw closedError();
  }
}
