// The raw etcd side of every comparison: the same `etcd3` client the server uses, doing the
// equivalent puts, transactions, ranges and watches with nothing in between.
import { Etcd3, Range } from 'etcd3';

export class RawEtcd {
  readonly client: Etcd3;

  constructor(readonly endpoint: string) {
    this.client = new Etcd3({
      hosts: [endpoint],
      // a full range of 10,000 ~1 KiB values is ~11 MiB, over grpc's 4 MiB default
      grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 * 1024, 'grpc.use_local_subchannel_pool': 1 },
    });
  }

  /** a plain put; the revision it was written at */
  async put(key: string, value: Buffer): Promise<number> {
    const res = await this.client.put(key).value(value).exec();
    return Number(res.header.revision);
  }

  /** what the server's create does: put only if the key does not exist */
  async txnCreate(key: string, value: Buffer): Promise<number> {
    const res = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value)).commit();
    if (!res.succeeded) throw new Error(`txn create of ${key}: the key exists`);
    return Number(res.header.revision);
  }

  /** what the server's update does: put only if the key's mod revision is still `modRevision` */
  async txnUpdate(key: string, value: Buffer, modRevision: number): Promise<number> {
    const res = await this.client.if(key, 'Mod', '==', modRevision).then(this.client.put(key).value(value)).commit();
    if (!res.succeeded) throw new Error(`txn update of ${key}: conflict`);
    return Number(res.header.revision);
  }

  async get(key: string): Promise<Buffer> {
    const value = await this.client.get(key).buffer();
    if (!value) throw new Error(`get ${key}: not found`);
    return value;
  }

  async revision(): Promise<number> {
    const res = await this.client.kv.range({ key: Buffer.from('\0'), count_only: true });
    return Number(res.header.revision);
  }

  /** one range over the whole prefix; the number of keys */
  async rangeAll(prefix: string): Promise<number> {
    const { start, end } = Range.prefix(prefix);
    const res = await this.client.kv.range({ key: start, range_end: end });
    return res.kvs.length;
  }

  /** the prefix in ranges of `limit` keys, all at the first page's revision (as a paginated list is); the number of keys */
  async rangePaged(prefix: string, limit: number): Promise<number> {
    const { start, end } = Range.prefix(prefix);
    let key = start;
    let revision = 0;
    let total = 0;
    for (;;) {
      const res = await this.client.kv.range({ key, range_end: end, limit, revision });
      revision ||= Number(res.header.revision);
      total += res.kvs.length;
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) return total;
      key = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.client.delete().prefix(prefix).exec();
  }

  close(): void {
    this.client.close();
  }
}
