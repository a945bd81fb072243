// The embedded store's history stays bounded (in bytes, and by periodic compaction as
// kube-apiserver runs it), and a snapshot does not stop writes from being acknowledged.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MvccState, versionBytes } from '../../src/storage/embedded/mvcc.js';
import {
  EMBEDDED_FILES,
  openEmbeddedStore,
  type EmbeddedStore,
  type EmbeddedStoreOptions,
} from '../../src/storage/embedded/store.js';
import type { StorageError } from '../../src/storage/storage.js';

const MiB = 1024 * 1024;
const key = (i: number): string => `/registry/g/things/ns/obj-${String(i).padStart(5, '0')}`;

function bigValue(i: number, generation: number, bytes: number): Buffer {
  const buf = Buffer.alloc(bytes, (i * 7 + generation) & 0xff);
  buf.writeUInt32LE(i, 0);
  buf.writeUInt32LE(generation, 4);
  return buf;
}

/** resolves when `cond` holds, checked whenever `poke` is called */
class Condition {
  private waiters: { cond: () => boolean; resolve: () => void }[] = [];

  until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ cond, resolve });
      this.poke();
    });
  }

  poke(): void {
    this.waiters = this.waiters.filter((w) => (w.cond() ? (w.resolve(), false) : true));
  }
}

/** waits for a condition that changes on a timer of the store's (periodic compaction), bounded */
async function eventually(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('embedded store history and snapshots', () => {
  const dirs: string[] = [];
  const open: EmbeddedStore[] = [];

  async function openStore(opts: EmbeddedStoreOptions, dir?: string): Promise<{ store: EmbeddedStore; dir: string }> {
    if (!dir) {
      dir = await mkdtemp(join(tmpdir(), 'tf-history-'));
      dirs.push(dir);
    }
    const store = await openEmbeddedStore(dir, opts);
    open.push(store);
    return { store, dir };
  }

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('keeps acknowledging writes while a snapshot is being written, and keeps them', async () => {
    const progress = new Condition();
    const order: string[] = [];
    let acked = 0;
    let chunks = 0;
    let snapshots = 0;
    const { store, dir } = await openStore({
      snapshotThresholdBytes: 512 * 1024,
      snapshotChunkBytes: 32 * 1024,
      compactionIntervalMs: 0,
      onSnapshot: {
        started: () => order.push('snapshot started'),
        // half way through the first snapshot, writes must still be acknowledged
        chunkWritten: async () => {
          if (chunks++ === 0) {
            const at = acked;
            await progress.until(() => acked >= at + 25);
          }
        },
        finished: () => {
          order.push('snapshot finished');
          snapshots++;
          progress.poke();
        },
      },
    });
    const acknowledged: string[] = [];
    let next = 0;
    const writer = async (): Promise<void> => {
      while (snapshots === 0 || acknowledged.length < 400) {
        const k = key(next++);
        await store.create(k, bigValue(next, 0, 2048));
        acknowledged.push(k);
        acked++;
        order.push('ack');
        progress.poke();
      }
    };
    await Promise.all([writer(), writer(), writer(), writer()]);

    const start = order.indexOf('snapshot started');
    const end = order.indexOf('snapshot finished');
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    expect(chunks).toBeGreaterThan(1);
    expect(order.slice(start, end).filter((x) => x === 'ack').length).toBeGreaterThanOrEqual(25);

    // everything acknowledged, before, during and after the snapshot, is there after a reopen
    await store.close();
    expect(store.stats().snapshotsWritten).toBe(snapshots);
    const { store: reopened } = await openStore({}, dir);
    const stored = new Set((await reopened.list('/registry/')).kvs.map((kv) => kv.key));
    expect(acknowledged.filter((k) => !stored.has(k))).toEqual([]);
    // the segments the snapshot covers are gone
    expect((await readdir(dir)).filter((n) => n.startsWith('wal-')).length).toBeLessThanOrEqual(2);
  });

  it('keeps history within maxHistoryBytes with large values', async () => {
    const bound = 2 * MiB;
    const valueBytes = 256 * 1024;
    const { store, dir } = await openStore({
      maxHistoryBytes: bound,
      compactionIntervalMs: 0,
      snapshotThresholdBytes: 4 * MiB,
    });
    const keys = 4;
    for (let generation = 0; generation < 50; generation++) {
      for (let i = 0; i < keys; i++) {
        const cur = await store.get(key(i));
        if (cur) await store.update(key(i), bigValue(i, generation, valueBytes), cur.modRevision);
        else await store.create(key(i), bigValue(i, generation, valueBytes));
        // once a write is acknowledged, history is within the bound again, snapshots or not
        expect(store.stats().historyBytes).toBeLessThanOrEqual(bound);
      }
    }
    // 50 MB were written, 4 MiB of log at a time between snapshots
    expect(store.stats().snapshotsWritten).toBeGreaterThan(5);
    expect(store.stats().historyBytes).toBeGreaterThan(valueBytes);

    const compacted = await store.compactedRevision();
    expect(compacted).toBeGreaterThan(150);
    expect((await store.get(key(0), compacted))?.value.readUInt32LE(0)).toBe(0);
    await expect(store.get(key(0), compacted - 1)).rejects.toMatchObject({ code: 'Compacted' });
    const err = await new Promise<StorageError>((resolve) => {
      store.watch('/registry/', compacted - 1, { onEvent: () => undefined, onError: resolve });
    });
    expect(err).toMatchObject({ code: 'Compacted', revision: compacted });
    for (let i = 0; i < keys; i++) expect((await store.get(key(i)))?.value).toEqual(bigValue(i, 49, valueBytes));

    // on disk too: a snapshot holds the live values and at most the bounded history
    const historyBytes = store.stats().historyBytes;
    await store.close();
    const snapshot = (await stat(join(dir, EMBEDDED_FILES.snapshot))).size;
    expect(snapshot).toBeLessThanOrEqual(keys * valueBytes + bound + 64 * 1024);
    const { store: reopened } = await openStore({ compactionIntervalMs: 0 }, dir);
    expect(reopened.stats()).toMatchObject({ historyBytes, compactedRevision: compacted });
  });

  it('counts history bytes exactly as compaction drops them, holds or not', () => {
    const state = new MvccState();
    const keys = Array.from({ length: 12 }, (_, i) => `/k/${i}`);
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let release: (() => void) | null = null;
    /** history above the compaction point, recounted: superseded values and tombstones */
    const recount = (): number => {
      let bytes = 0;
      for (const k of keys) {
        const versions = state.snapshotVersions(k, state.compacted, state.head);
        versions.forEach((v, i) => {
          const superseded = i + 1 < versions.length;
          if (!v.value || superseded)
            bytes += versionBytes(k, {
              rev: v.rev,
              kv: v.value ? { key: k, value: v.value, createRevision: v.createRevision, modRevision: v.rev } : null,
            });
        });
      }
      return bytes;
    };
    for (let step = 0; step < 3000; step++) {
      const k = keys[random(keys.length)]!;
      const roll = random(100);
      if (roll < 60) state.put(k, Buffer.alloc(random(300)));
      else if (roll < 80 && state.latest(k)) state.delete(k);
      else if (roll < 90 && state.head > state.compacted)
        state.compact(state.compacted + 1 + random(state.head - state.compacted));
      else if (roll < 95) {
        if (release) release();
        release = random(2) === 0 ? state.hold() : null;
      }
      expect(state.historyBytes, `step ${step}`).toBe(recount());
      // without a hold, what compaction dropped is gone from memory too
      if (!release)
        expect(state.keyCount).toBe(
          keys.filter((x) => state.snapshotVersions(x, state.compacted, state.head).length > 0).length,
        );
    }
    release?.();
    expect(state.historyBytes).toBe(recount());
  });

  it('compacts every interval to the revision seen one interval earlier, and remembers it', async () => {
    const { store, dir } = await openStore({ compactionIntervalMs: 20 });
    let kv = await store.create(key(0), Buffer.from('0'));
    for (let i = 1; i < 10; i++) kv = await store.update(key(0), Buffer.from(String(i)), kv.modRevision);
    // writes stop at 10: a tick sees 10, the next one compacts to it
    await eventually(async () => (await store.compactedRevision()) === 10, 'compaction to revision 10');
    expect((await store.get(key(0), 10))?.value).toEqual(Buffer.from('9'));
    await expect(store.get(key(0), 9)).rejects.toMatchObject({ code: 'Compacted' });

    for (let i = 10; i < 15; i++) kv = await store.update(key(0), Buffer.from(String(i)), kv.modRevision);
    await eventually(async () => (await store.compactedRevision()) === 15, 'compaction to revision 15');
    await store.close();
    const { store: reopened } = await openStore({ compactionIntervalMs: 0 }, dir);
    expect(await reopened.compactedRevision()).toBe(15);
  });
});
