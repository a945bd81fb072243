// Lists as a series of etcd ranges read at one revision, each with a `limit`, so no reply grows
// past a few MiB however many keys the caller asked for. Pages aim at PAGE_TARGET_BYTES: the
// page size follows the size of the values seen, and a reply over the gRPC receive limit is
// asked for again in smaller pages.
import type { IKeyValue, IRangeRequest, IRangeResponse } from 'etcd3';
import type { KeyValue, ListOptions, ListResult } from '../storage.js';
import { ReplyTooLargeError } from './client.js';
import type { KeySpace } from './keys.js';

const PAGE_TARGET_BYTES = 2 * 1024 * 1024;

export type RangeCall = (req: IRangeRequest, what: string) => Promise<IRangeResponse>;

export class Pager {
  /** keys per range, lowered when values turn out to be large */
  private pageSize: number;

  constructor(
    private readonly space: KeySpace,
    private readonly range: RangeCall,
    private readonly maxPageSize: number,
  ) {
    this.pageSize = maxPageSize;
  }

  async list(prefix: string, opts: ListOptions): Promise<ListResult> {
    const wanted = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const { key: start, end } = this.space.range(prefix, opts.startKey);
    let revision = opts.revision ?? 0;
    let from = start;
    const kvs: KeyValue[] = [];
    for (;;) {
      const limit = Math.min(this.pageSize, wanted - kvs.length);
      let res: IRangeResponse;
      try {
        res = await this.range({ key: from, range_end: end, limit, revision }, `list ${prefix}`);
      } catch (err) {
        if (!(err instanceof ReplyTooLargeError) || limit === 1) throw err;
        await this.shrinkPage(err, { key: from, range_end: end, revision, count_only: true }, limit);
        continue;
      }
      revision ||= Number(res.header.revision);
      let pageBytes = 0;
      for (const raw of res.kvs) {
        pageBytes += raw.key.length + (raw.value?.length ?? 0);
        if (!this.space.isHidden(raw.key)) kvs.push(this.space.kv(raw));
      }
      this.adaptPageSize(res.kvs.length, pageBytes);
      const last: IKeyValue | undefined = res.kvs[res.kvs.length - 1];
      if (!res.more || !last || kvs.length >= wanted) {
        let remaining = Number(res.count) - res.kvs.length;
        if (remaining > 0 && last && (await this.hiddenKeyAfter(last.key, end, revision))) remaining--;
        return { kvs, revision, more: remaining > 0, remaining };
      }
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /** a page was over the receive limit: size the next from the reply's size and the keys it held */
  private async shrinkPage(err: ReplyTooLargeError, count: IRangeRequest, limit: number): Promise<void> {
    const bytes = Number(/larger than max \((\d+) vs/.exec(err.message)?.[1] ?? 0);
    const keys = Math.min(limit, Number((await this.range(count, 'list (counting)')).count));
    if (bytes > 0 && keys > 0) this.adaptPageSize(keys, bytes);
    this.pageSize = Math.min(this.pageSize, Math.max(1, Math.floor(limit / 2)));
  }

  private adaptPageSize(keys: number, bytes: number): void {
    if (keys === 0 || bytes === 0) return;
    const fits = Math.floor(PAGE_TARGET_BYTES / (bytes / keys));
    this.pageSize = Math.max(1, Math.min(this.maxPageSize, fits));
  }

  /** whether the compaction key, hidden from lists, is among the keys after `after` */
  private async hiddenKeyAfter(after: Buffer, end: Buffer, revision: number): Promise<boolean> {
    const from = Buffer.concat([after, Buffer.from([0])]);
    if (!this.space.rangeHoldsHidden(from, end)) return false;
    const res = await this.range({ key: this.space.compactKey, revision, count_only: true }, 'list');
    return Number(res.count) > 0;
  }
}
