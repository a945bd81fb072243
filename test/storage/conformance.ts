// The Storage conformance suite: every backend (embedded, etcd3) runs these tests unchanged.
// Tests assume nothing about absolute revisions (a shared etcd has its own history): they measure
// from the revision at their start and only look at keys under their own root prefix.
// `cleanup` must tolerate a store the test has already closed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_VALUE_BYTES,
  StorageError,
  type Storage,
  type StorageErrorCode,
  type StorageEvent,
  type WatchHandlers,
} from '../../src/storage/storage.js';

const b = (s: string): Buffer => Buffer.from(s);

async function failure(p: Promise<unknown>, code: StorageErrorCode): Promise<StorageError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe(code);
    return err as StorageError;
  }
  return expect.fail(`expected StorageError ${code}, but the call succeeded`);
}

/** collects a watch's events; `until` resolves once a condition holds (bounded by the test timeout) */
class Collector implements WatchHandlers {
  readonly events: StorageEvent[] = [];
  error: StorageError | undefined;
  private waiters: { cond: () => boolean; resolve: () => void }[] = [];

  onEvent(ev: StorageEvent): void {
    expect(this.error).toBeUndefined();
    this.events.push(ev);
    this.check();
  }

  onError(err: StorageError): void {
    expect(this.error).toBeUndefined();
    this.error = err;
    this.check();
  }

  until(cond: (c: Collector) => boolean): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ cond: () => cond(this), resolve });
      this.check();
    });
  }

  untilRevision(rev: number): Promise<void> {
    return this.until((c) => c.error !== undefined || c.events.some((e) => e.revision >= rev));
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => (w.cond() ? (w.resolve(), false) : true));
  }
}

const byteOrder = (keys: string[]): string[] => [...keys].sort((x, y) => Buffer.compare(b(x), b(y)));

export function runStorageConformance(
  name: string,
  open: () => Promise<{ store: Storage; cleanup: () => Promise<void> }>,
): void {
  describe(`Storage conformance: ${name}`, () => {
    let store: Storage;
    let cleanup: () => Promise<void>;
    let root: string;
    let testNo = 0;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
      root = `/registry/conformance.test/things/t${Date.now()}-${testNo++}/`;
    });

    afterEach(async () => {
      await cleanup();
    });

    it('adds one to the revision per write, starting from the current revision', async () => {
      const r0 = await store.currentRevision();
      expect(await store.compactedRevision()).toBeLessThanOrEqual(r0);
      const created = await store.create(`${root}a`, b('1'));
      expect(created).toEqual({ key: `${root}a`, value: b('1'), createRevision: r0 + 1, modRevision: r0 + 1 });
      const updated = await store.update(`${root}a`, b('2'), r0 + 1);
      expect(updated).toMatchObject({ createRevision: r0 + 1, modRevision: r0 + 2 });
      expect((await store.create(`${root}b`, b('x'))).modRevision).toBe(r0 + 3);
      expect((await store.delete(`${root}a`)).modRevision).toBe(r0 + 4);
      expect(await store.currentRevision()).toBe(r0 + 4);
    });

    it('refuses to create an existing key with KeyExists, without a new revision', async () => {
      await store.create(`${root}a`, b('1'));
      const r = await store.currentRevision();
      await failure(store.create(`${root}a`, b('2')), 'KeyExists');
      expect(await store.currentRevision()).toBe(r);
      expect((await store.get(`${root}a`))?.value).toEqual(b('1'));
    });

    it('reads a key now and as of past revisions', async () => {
      const key = `${root}k`;
      expect(await store.get(key)).toBeNull();
      const v1 = await store.create(key, b('v1'));
      const v2 = await store.update(key, b('v2'), v1.modRevision);
      const del = await store.delete(key);
      const v3 = await store.create(key, b('v3'));
      expect(await store.get(key, v1.modRevision)).toEqual(v1);
      expect(await store.get(key, v2.modRevision)).toEqual(v2);
      expect(await store.get(key, del.modRevision)).toBeNull();
      expect(await store.get(key, v3.modRevision)).toEqual(v3);
      expect(await store.get(key)).toEqual(v3);
      expect(v3.createRevision).toBe(v3.modRevision);
      expect(v2.createRevision).toBe(v1.modRevision);
    });

    it('keeps its own copy of a written value', async () => {
      const value = b('original');
      await store.create(`${root}a`, value);
      value.write('XXXXXXXX');
      expect((await store.get(`${root}a`))?.value).toEqual(b('original'));
    });

    it('updates by compare-and-swap: Conflict carries the current value, KeyNotFound for a missing key', async () => {
      const key = `${root}cas`;
      const v1 = await store.create(key, b('1'));
      const v2 = await store.update(key, b('2'), v1.modRevision);
      const r = await store.currentRevision();
      const conflict = await failure(store.update(key, b('3'), v1.modRevision), 'Conflict');
      expect(conflict.current).toEqual(v2);
      expect(await store.currentRevision()).toBe(r);
      await failure(store.update(`${root}missing`, b('x'), 1), 'KeyNotFound');
      await store.delete(key);
      await failure(store.update(key, b('4'), v2.modRevision), 'KeyNotFound');
    });

    it('deletes with and without a precondition, returning the value at the deletion revision', async () => {
      const a = await store.create(`${root}a`, b('A'));
      const a2 = await store.update(`${root}a`, b('A2'), a.modRevision);
      const conflict = await failure(store.delete(`${root}a`, a.modRevision), 'Conflict');
      expect(conflict.current).toEqual(a2);
      const deleted = await store.delete(`${root}a`, a2.modRevision);
      expect(deleted).toEqual({
        key: `${root}a`,
        value: b('A2'),
        createRevision: a.createRevision,
        modRevision: a2.modRevision + 1,
      });
      expect(await store.currentRevision()).toBe(deleted.modRevision);
      expect(await store.get(`${root}a`)).toBeNull();
      await failure(store.delete(`${root}a`), 'KeyNotFound');
      await failure(store.delete(`${root}a`, deleted.modRevision), 'KeyNotFound');
      const c = await store.create(`${root}c`, b('C'));
      expect(await store.delete(`${root}c`)).toMatchObject({
        value: b('C'),
        createRevision: c.createRevision,
        modRevision: c.modRevision + 1,
      });
    });

    it('lists keys in byte order of their UTF-8 encoding, isolated by prefix', async () => {
      const inside = ['a/x', 'a/b', 'a/\u00e9', 'a/Z', 'a/\uff5e', 'a/\u{1f600}', 'a/a', 'a/b/c'].map((k) => root + k);
      const outside = ['ab/c', 'a', 'a0', '0/a'].map((k) => root + k);
      for (const k of [...outside, ...inside].reverse()) await store.create(k, b(k));
      const res = await store.list(`${root}a/`);
      expect(res.kvs.map((kv) => kv.key)).toEqual(byteOrder(inside));
      expect(res.kvs.every((kv) => kv.value.equals(b(kv.key)))).toBe(true);
      expect(res).toMatchObject({ revision: await store.currentRevision(), more: false, remaining: 0 });
      expect((await store.list(`${root}nothing/`)).kvs).toEqual([]);
    });

    it('pages through a list with limit and startKey, reporting more and remaining', async () => {
      const keys = Array.from({ length: 7 }, (_, i) => `${root}item-${i}`);
      for (const k of keys) await store.create(k, b(k));
      await store.create(`${root.slice(0, -1)}x/other`, b('outside'));
      const p1 = await store.list(root, { limit: 3 });
      expect(p1.kvs.map((kv) => kv.key)).toEqual(keys.slice(0, 3));
      expect(p1).toMatchObject({ more: true, remaining: 4 });
      const p2 = await store.list(root, { limit: 3, startKey: `${p1.kvs[2]!.key}\x00` });
      expect(p2.kvs.map((kv) => kv.key)).toEqual(keys.slice(3, 6));
      expect(p2).toMatchObject({ more: true, remaining: 1 });
      const p3 = await store.list(root, { limit: 3, startKey: `${p2.kvs[2]!.key}\x00` });
      expect(p3.kvs.map((kv) => kv.key)).toEqual(keys.slice(6));
      expect(p3).toMatchObject({ more: false, remaining: 0 });
      expect((await store.list(root, { startKey: keys[5] })).kvs.map((kv) => kv.key)).toEqual(keys.slice(5));
      expect((await store.list(root, { limit: 0 })).kvs).toHaveLength(7);
    });

    it('lists a consistent snapshot at a past revision while writes happen between pages', async () => {
      const keys = Array.from({ length: 10 }, (_, i) => `${root}k${String(i).padStart(2, '0')}`);
      for (const k of keys) await store.create(k, b(`${k}=old`));
      const first = await store.list(root, { limit: 4 });
      const rev = first.revision;
      await store.update(keys[5]!, b('new'), (await store.get(keys[5]!))!.modRevision);
      await store.delete(keys[9]!);
      await store.create(`${root}k05a`, b('inserted'));
      await store.delete(keys[0]!);
      const seen = [...first.kvs];
      let page = first;
      for (let i = 0; i < 5 && page.more; i++) {
        page = await store.list(root, {
          limit: 4,
          startKey: `${page.kvs[page.kvs.length - 1]!.key}\x00`,
          revision: rev,
        });
        expect(page.revision).toBe(rev);
        seen.push(...page.kvs);
      }
      expect(page.more).toBe(false);
      expect(seen.map((kv) => [kv.key, kv.value.toString()])).toEqual(keys.map((k) => [k, `${k}=old`]));
      const now = await store.list(root);
      expect(now.kvs.map((kv) => kv.key)).toEqual([...keys.slice(1, 6), `${root}k05a`, ...keys.slice(6, 9)]);
    });

    it('refuses reads at a revision newer than the current one with FutureRevision', async () => {
      await store.create(`${root}a`, b('1'));
      const r = await store.currentRevision();
      await failure(store.get(`${root}a`, r + 1), 'FutureRevision');
      await failure(store.list(root, { revision: r + 1 }), 'FutureRevision');
      expect((await store.list(root, { revision: r })).kvs).toHaveLength(1);
    });

    it('refuses values over MAX_VALUE_BYTES with TooLarge and stores large values under it', async () => {
      const big = Buffer.alloc(MAX_VALUE_BYTES + 1, 7);
      await failure(store.create(`${root}big`, big), 'TooLarge');
      const mib = Buffer.alloc(1024 * 1024, 9);
      const kv = await store.create(`${root}mib`, mib);
      await failure(store.update(`${root}mib`, big, kv.modRevision), 'TooLarge');
      expect((await store.get(`${root}mib`))?.value.equals(mib)).toBe(true);
    });

    it('compacts history: reads and watches below the compaction point fail with Compacted', async () => {
      const key = `${root}k`;
      const revs: number[] = [];
      let kv = await store.create(key, b('0'));
      revs.push(kv.modRevision);
      for (let i = 1; i < 5; i++) {
        kv = await store.update(key, b(String(i)), kv.modRevision);
        revs.push(kv.modRevision);
      }
      const gone = await store.create(`${root}gone`, b('g'));
      await store.delete(`${root}gone`);
      const last = await store.create(`${root}last`, b('l'));
      await failure(store.compact(last.modRevision + 1), 'FutureRevision');
      await store.compact(revs[2]!);
      expect(await store.compactedRevision()).toBe(revs[2]);
      await failure(store.get(key, revs[1]), 'Compacted');
      await failure(store.list(root, { revision: revs[1] }), 'Compacted');
      expect((await store.get(key, revs[2]))?.value).toEqual(b('2'));
      expect((await store.list(root, { revision: revs[2] })).kvs.map((x) => x.key)).toEqual([key]);
      expect(await store.get(`${root}gone`, gone.modRevision)).not.toBeNull();

      const old = new Collector();
      store.watch(root, revs[1]!, old);
      await old.until((c) => c.error !== undefined);
      expect(old.error?.code).toBe('Compacted');
      expect(old.error?.revision).toBe(revs[2]);
      expect(old.events).toEqual([]);

      const fromPoint = new Collector();
      const w = store.watch(root, revs[2]!, fromPoint);
      await fromPoint.untilRevision(last.modRevision);
      w.close();
      expect(fromPoint.events.map((e) => e.revision)).toEqual([
        revs[3],
        revs[4],
        gone.modRevision,
        gone.modRevision + 1,
        last.modRevision,
      ]);
    });

    it('watches from a revision: replays history, then live events, in order with prevKv', async () => {
      const r0 = await store.currentRevision();
      const a1 = await store.create(`${root}a`, b('a1'));
      const a2 = await store.update(`${root}a`, b('a2'), a1.modRevision);
      const b1 = await store.create(`${root}b`, b('b1'));
      const aDel = await store.delete(`${root}a`);
      const c = new Collector();
      const w = store.watch(root, a1.modRevision, c);
      await c.untilRevision(aDel.modRevision);
      const b2 = await store.update(`${root}b`, b('b2'), b1.modRevision);
      await c.untilRevision(b2.modRevision);
      w.close();
      expect(c.error).toBeUndefined();
      expect(c.events).toEqual([
        { type: 'put', kv: a2, prevKv: a1, revision: r0 + 2 },
        { type: 'put', kv: b1, revision: r0 + 3 },
        { type: 'delete', kv: aDel, prevKv: a2, revision: r0 + 4 },
        { type: 'put', kv: b2, prevKv: b1, revision: r0 + 5 },
      ]);
      expect(aDel).toMatchObject({ value: b('a2'), modRevision: r0 + 4 });
    });

    it('delivers every revision exactly once while writes race with the replay', async () => {
      const r0 = await store.currentRevision();
      for (let i = 0; i < 30; i++) await store.create(`${root}k${i}`, b(String(i)));
      const more = (async () => {
        for (let i = 30; i < 100; i++) await store.create(`${root}k${i}`, b(String(i)));
      })();
      const c = new Collector();
      const w = store.watch(root, r0, c);
      await more;
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.delete(`${root}k${i * 5}`)));
      const end = await store.currentRevision();
      await c.untilRevision(end);
      w.close();
      expect(c.error).toBeUndefined();
      expect(c.events.map((e) => e.revision)).toEqual(Array.from({ length: end - r0 }, (_, i) => r0 + 1 + i));
      expect(c.events.every((e) => e.kv.modRevision === e.revision)).toBe(true);
    });

    it('watches only keys under its prefix, and a closed watch gets nothing more', async () => {
      const r0 = await store.currentRevision();
      const narrow = new Collector();
      const closed = new Collector();
      const wNarrow = store.watch(`${root}a/`, r0, narrow);
      const wClosed = store.watch(`${root}a/`, r0, closed);
      wClosed.close();
      await store.create(`${root}ab/x`, b('no'));
      await store.create(`${root}a`, b('no'));
      const yes = await store.create(`${root}a/x`, b('yes'));
      await narrow.untilRevision(yes.modRevision);
      wNarrow.close();
      expect(narrow.events.map((e) => e.kv.key)).toEqual([`${root}a/x`]);
      expect(closed.events).toEqual([]);
      expect(closed.error).toBeUndefined();
    });

    it('loses no increment when many writers race with compare-and-swap retries', async () => {
      const key = `${root}counter`;
      const start = await store.create(key, b('0'));
      const writers = 10;
      const perWriter = 20;
      // even writers retry from the Conflict's current value, odd ones re-read it
      const increment = async (writer: number): Promise<void> => {
        let base = (await store.get(key))!;
        for (let done = 0, attempts = 0; done < perWriter; attempts++) {
          // every failed attempt means another writer succeeded, so this bounds the loop
          expect(attempts).toBeLessThanOrEqual(writers * perWriter);
          try {
            base = await store.update(key, b(String(Number(base.value.toString()) + 1)), base.modRevision);
            done++;
          } catch (err) {
            if (!(err instanceof StorageError) || err.code !== 'Conflict' || !err.current) throw err;
            base = writer % 2 === 0 ? err.current : (await store.get(key))!;
          }
        }
      };
      await Promise.all(Array.from({ length: writers }, (_, i) => increment(i)));
      const final = (await store.get(key))!;
      expect(final.value.toString()).toBe(String(writers * perWriter));
      expect(final.modRevision).toBe(start.modRevision + writers * perWriter);
    });

    it('ends open watches with Unavailable when the store is closed, and refuses later calls', async () => {
      const c = new Collector();
      store.watch(root, await store.currentRevision(), c);
      await store.close();
      await c.until((x) => x.error !== undefined);
      expect(c.error?.code).toBe('Unavailable');
      await failure(store.get(`${root}a`), 'Unavailable');
      await failure(store.create(`${root}a`, b('1')), 'Unavailable');
      const late = new Collector();
      store.watch(root, 0, late);
      await late.until((x) => x.error !== undefined);
      expect(late.error?.code).toBe('Unavailable');
    });
  });
}
