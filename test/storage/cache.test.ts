// The watch cache passes the shared conformance suite in both of its modes: with a backend that
// confirms watch progress (consistent reads from memory) and with one that cannot (etcd older
// than 3.4.31/3.5.13: consistent reads go to the backend). Then the cache-only behaviour.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CachedStorage } from '../../src/storage/cache/storage.js';
import { openEmbeddedStore } from '../../src/storage/embedded/store.js';
import type { Storage, StorageEvent } from '../../src/storage/storage.js';
import { runStorageConformance } from './conformance.js';

const b = (s: string): Buffer => Buffer.from(s);

/** the backend as an old etcd looks: no way to confirm watch progress */
function withoutProgress(inner: Storage): Storage {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'requestProgress') return undefined;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** counts the backend reads that reach it */
function counting(inner: Storage): { store: Storage; reads: { list: number; get: number; watch: number } } {
  const reads = { list: 0, get: 0, watch: 0 };
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (prop === 'list' || prop === 'get' || prop === 'watch') reads[prop]++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, reads };
}

async function openCached(wrap: (s: Storage) => Storage = (s) => s) {
  const dir = mkdtempSync(join(tmpdir(), 'tfa-cache-'));
  const embedded = await openEmbeddedStore(dir);
  const store = new CachedStorage(wrap(embedded), ['']);
  await store.start();
  return {
    store,
    embedded,
    cleanup: async () => {
      await store.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

runStorageConformance('watch cache (backend confirms progress)', () => openCached());
runStorageConformance('watch cache (backend cannot confirm progress)', () => openCached(withoutProgress));

describe('watch cache', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function cached(wrapInner: (s: Storage) => Storage = (s) => s) {
    const dir = mkdtempSync(join(tmpdir(), 'tfa-cache-'));
    const embedded = await openEmbeddedStore(dir);
    const counted = counting(wrapInner(embedded));
    const store = new CachedStorage(counted.store, ['/registry/things/']);
    await store.start();
    cleanups.push(async () => {
      await store.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });
    return { store, embedded, reads: counted.reads };
  }

  it('serves consistent lists and gets from memory once it has caught up, and sees a write made just before', async () => {
    const { store, reads } = await cached();
    for (let i = 0; i < 20; i++) await store.create(`/registry/things/ns/t${String(i).padStart(2, '0')}`, b(`v${i}`));
    const before = { ...reads };
    const created = await store.create('/registry/things/ns/zz', b('last'));
    const list = await store.list('/registry/things/ns/');
    expect(list.kvs.map((kv) => kv.key)).toContain('/registry/things/ns/zz');
    expect(list.revision).toBeGreaterThanOrEqual(created.modRevision);
    expect((await store.get('/registry/things/ns/zz'))?.value.toString()).toBe('last');
    expect(reads.list).toBe(before.list);
    expect(reads.get).toBe(before.get);
  });

  it('reads consistent lists from the backend when it cannot confirm progress (old etcd)', async () => {
    const { store, reads } = await cached(withoutProgress);
    const created = await store.create('/registry/things/ns/a', b('a'));
    const before = reads.list;
    expect((await store.list('/registry/things/')).kvs).toHaveLength(1);
    expect(reads.list).toBe(before + 1);
    // NotOlderThan (and resourceVersion 0, "any freshness") still come from memory
    const fresh = await store.list('/registry/things/', { notOlderThan: created.modRevision });
    expect(fresh.kvs).toHaveLength(1);
    expect(fresh.revision).toBeGreaterThanOrEqual(created.modRevision);
    expect(reads.list).toBe(before + 1);
  });

  it('serves gets not older than a revision from memory, also when it cannot confirm progress', async () => {
    const { store, reads } = await cached(withoutProgress);
    const created = await store.create('/registry/things/ns/g', b('g'));
    const before = reads.get;
    expect((await store.getNotOlderThan('/registry/things/ns/g', created.modRevision))?.value.toString()).toBe('g');
    const updated = await store.update('/registry/things/ns/g', b('g2'), created.modRevision);
    const fresh = await store.getNotOlderThan('/registry/things/ns/g', updated.modRevision);
    expect(fresh?.value.toString()).toBe('g2');
    expect(fresh?.modRevision).toBe(updated.modRevision);
    // "0": whatever the cache holds, without waiting
    expect((await store.getNotOlderThan('/registry/things/ns/g', 0))?.value.toString()).toBe('g2');
    expect(await store.getNotOlderThan('/registry/things/ns/none', 0)).toBeNull();
    expect(reads.get).toBe(before);
    // a consistent get still goes to the backend here
    expect((await store.get('/registry/things/ns/g'))?.value.toString()).toBe('g2');
    expect(reads.get).toBe(before + 1);
    // keys outside the cached prefixes are the backend's
    await store.getNotOlderThan('/registry/other/x', 0);
    expect(reads.get).toBe(before + 2);
  });

  it("pages from memory and continues at the first page's revision through the backend", async () => {
    const { store } = await cached();
    for (let i = 0; i < 10; i++) await store.create(`/registry/things/ns/k${i}`, b(`${i}`));
    const first = await store.list('/registry/things/', { limit: 4 });
    expect(first.kvs).toHaveLength(4);
    expect(first).toMatchObject({ more: true, remaining: 6 });
    await store.create('/registry/things/ns/k99', b('late'));
    const next = await store.list('/registry/things/', {
      limit: 100,
      revision: first.revision,
      startKey: first.kvs[3].key + '\x00',
    });
    expect(next.kvs.map((kv) => kv.key)).not.toContain('/registry/things/ns/k99');
    expect(next.kvs).toHaveLength(6);
  });

  it('resumes watches from its window without a backend watch, and fans one source out to many watchers', async () => {
    const { store, reads } = await cached();
    const start = (await store.create('/registry/things/ns/w0', b('0'))).modRevision;
    await store.create('/registry/things/ns/w1', b('1'));
    const watchesBefore = reads.watch;
    const seen: StorageEvent[][] = [];
    const done: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const events: StorageEvent[] = [];
      seen.push(events);
      done.push(
        new Promise((resolve) => {
          store.watch('/registry/things/', start - 1, {
            onEvent: (ev) => {
              events.push(ev);
              if (events.length === 3) resolve();
            },
            onError: () => undefined, // the cache is closed at cleanup
          });
        }),
      );
    }
    await store.create('/registry/things/ns/w2', b('2'));
    await Promise.all(done);
    expect(reads.watch).toBe(watchesBefore);
    for (const events of seen)
      expect(events.map((e) => e.kv.key)).toEqual([
        '/registry/things/ns/w0',
        '/registry/things/ns/w1',
        '/registry/things/ns/w2',
      ]);
  });

  it('passes keys outside its prefixes straight to the backend', async () => {
    const { store, reads } = await cached();
    await store.create('/registry/other/x', b('x'));
    const before = reads.list;
    expect((await store.list('/registry/other/')).kvs).toHaveLength(1);
    expect(reads.list).toBe(before + 1);
  });
});
