// An informer on a resource of the server's own registry (a real embedded store): the first list,
// then every change as an event; a periodic resync; indexes and a metadata-only transform; and,
// when the watch breaks or its version was compacted away (410 Gone), a new list that reports
// what changed meanwhile, deletions included.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Informer, type InformerOptions } from '../../../../src/controllers/runtime/informer.js';
import {
  metadataOnly,
  type ListWatch,
  type WatchEnd,
  type WatchHandle,
  type WatchSink,
} from '../../../../src/controllers/runtime/listwatch.js';
import { registryListWatch } from '../../../../src/controllers/runtime/registrylistwatch.js';
import type { KubeObject } from '../../../../src/machinery/kind.js';
import { systemContext } from '../../../../src/machinery/registry/context.js';
import { capturedLog, testRegistry, until, type TestRegistry } from './helpers.js';

let t: TestRegistry;
let informer: Informer | undefined;

beforeEach(async () => {
  t = await testRegistry();
});

afterEach(async () => {
  informer?.stop();
  informer = undefined;
  await t.close();
});

/** the handlers' calls as `add a`, `update a`, `resync a` (old === cur), `delete a` */
function recorded(i: Informer): string[] {
  const seen: string[] = [];
  i.addEventHandler({
    add: (o) => seen.push(`add ${o.metadata.name}`),
    update: (old, cur) => seen.push(`${old === cur ? 'resync' : 'update'} ${cur.metadata.name}`),
    delete: (o) => seen.push(`delete ${o.metadata.name}`),
  });
  return seen;
}

function start(source: ListWatch, o: Partial<InformerOptions> = {}): Informer {
  informer = new Informer({ source, resyncMs: 0, relistBaseMs: 1, relistMaxMs: 20, log: capturedLog().log, ...o });
  informer.start();
  return informer;
}

/**
 * The registry's ListWatch, with a hand on its watch: `hold` makes the stream go quiet (events are
 * lost, as on a stalled connection), `cut` ends it the way a server or a network would.
 */
function interruptible(inner: ListWatch) {
  let sink: WatchSink | undefined;
  let handle: WatchHandle | undefined;
  let held = false;
  const counts = { lists: 0, watches: 0 };
  const source: ListWatch = {
    resource: inner.resource,
    list() {
      counts.lists++;
      return inner.list();
    },
    async watch(rv, s) {
      counts.watches++;
      sink = s;
      held = false;
      handle = await inner.watch(rv, {
        event: (type, obj) => held || s.event(type, obj),
        bookmark: (v) => held || s.bookmark(v),
        end: (why) => s.end(why),
      });
      return handle;
    },
  };
  return {
    source,
    counts,
    /** the informer's current watch is open */
    watching: () => handle !== undefined,
    hold: () => void (held = true),
    cut(why?: WatchEnd) {
      handle!.stop();
      handle = undefined;
      sink!.end(why);
    },
  };
}

/** an informer on Secrets through `interruptible`, synced and watching, its events recorded from then on */
async function watchingSecrets(o: Partial<InformerOptions> = {}) {
  const w = interruptible(registryListWatch(t.secrets));
  const i = start(w.source, o);
  const seen = recorded(i);
  await i.whenSynced();
  await until(w.watching, 'the watch');
  seen.length = 0;
  return { w, i, seen };
}

describe('informer on the registry', () => {
  it('lists first (hasSynced), then reports creates, updates and deletes, keeping the store current', async () => {
    await t.secret('a');
    await t.secret('b');
    const i = start(registryListWatch(t.secrets));
    const seen = recorded(i);
    expect(await i.whenSynced()).toBe(true);
    expect(i.hasSynced()).toBe(true);
    expect(seen.sort()).toEqual(['add a', 'add b']);
    seen.length = 0;

    await t.secret('c');
    await t.secrets.patch('default', 'c', 'merge', { metadata: { labels: { x: 'y' } } }, systemContext());
    await t.secrets.delete('default', 'a', {}, systemContext());
    await until(() => seen.length === 3, 'three events');
    expect(seen).toEqual(['add c', 'update c', 'delete a']);
    expect(i.store.keys().sort()).toEqual(['default/b', 'default/c']);
    expect(i.store.get('default/c')!.metadata.labels).toEqual({ x: 'y' });
  });

  it('reports every known object again each resync period, as an update with old === cur', async () => {
    await t.secret('a');
    const i = start(registryListWatch(t.secrets), { resyncMs: 5 });
    const seen = recorded(i);
    await until(() => seen.filter((s) => s === 'resync a').length >= 3, 'three resyncs of a');
    expect(seen[0]).toBe('add a');
  });

  it('keeps indexes current and, with metadataOnly, no data', async () => {
    await t.secret('a', { team: 'x' });
    await t.secret('b', { team: 'y' });
    const i = start(registryListWatch(t.secrets), {
      transform: metadataOnly,
      indexers: { team: (o) => [o.metadata.labels?.team ?? ''] },
    });
    await i.whenSynced();
    expect(i.store.byIndex('team', 'x').map((o) => o.metadata.name)).toEqual(['a']);
    await t.secrets.patch('default', 'b', 'merge', { metadata: { labels: { team: 'x' } } }, systemContext());
    await until(() => i.store.byIndex('team', 'x').length === 2, 'b in team x');
    expect(i.store.byIndex('team', 'y')).toEqual([]);
    expect((i.store.get('default/a') as KubeObject & { data?: unknown }).data).toBeUndefined();
    expect(i.store.get('default/a')!.metadata.uid).toBeTruthy();
  });

  it('lists only what the label selector selects', async () => {
    await t.secret('in', { role: 'bundle' });
    await t.secret('out');
    const i = start(registryListWatch(t.secrets, { labelSelector: 'role=bundle' }));
    await i.whenSynced();
    expect(i.store.keys()).toEqual(['default/in']);
  });

  it('after a 410 Gone (its version compacted away) lists again and reports what it missed', async () => {
    await t.secret('a');
    await t.secret('b');
    const { log, lines } = capturedLog();
    const { w, i, seen } = await watchingSecrets({ log });

    // the stream goes quiet; meanwhile a goes, c comes, and the history is compacted
    w.hold();
    await t.secrets.delete('default', 'a', {}, systemContext());
    await t.secret('c');
    await t.storage.compact(await t.storage.currentRevision());
    // the server closes the watch: watching again from the last version seen gets 410 Gone
    w.cut();
    await until(() => w.counts.lists === 2 && seen.includes('add c'), 'a new list');
    expect(seen.sort()).toEqual(['add c', 'delete a', 'resync b']);
    expect(lines.filter((l) => l.msg === 'watch expired; listing again')).toHaveLength(1);
    expect(i.store.keys().sort()).toEqual(['default/b', 'default/c']);
    // and it watches on from the new list
    await t.secret('d');
    await until(() => seen.includes('add d'), 'add d');
  });

  it('after a broken watch lists again: an object changed meanwhile is an update', async () => {
    await t.secret('a');
    const { w, i, seen } = await watchingSecrets();
    w.hold();
    await t.secrets.patch('default', 'a', 'merge', { metadata: { labels: { changed: 'yes' } } }, systemContext());
    w.cut({ gone: false, message: 'connection reset by peer' });
    await until(() => seen.length === 1, 'the update');
    expect(seen).toEqual(['update a']);
    expect(w.counts.lists).toBe(2);
    expect(i.store.get('default/a')!.metadata.labels).toEqual({ changed: 'yes' });
  });

  it('a watch the server closed cleanly is watched again from the last version, without a new list', async () => {
    await t.secret('a');
    const { w, seen } = await watchingSecrets();
    w.cut();
    await until(() => w.counts.watches === 2 && w.watching(), 'a second watch');
    await t.secret('b');
    await until(() => seen.includes('add b'), 'add b');
    expect(w.counts.lists).toBe(1);
  });

  it('stop() ends the watch and the resync: nothing is reported afterwards', async () => {
    const w = interruptible(registryListWatch(t.secrets));
    const i = start(w.source, { resyncMs: 1 });
    const seen = recorded(i);
    await i.whenSynced();
    i.stop();
    await t.secret('late');
    // a later event, if the watch were still open, would have been delivered before this write's
    // own watch (the store delivers events in order)
    const probe = start(registryListWatch(t.secrets));
    const probeSeen = recorded(probe);
    await probe.whenSynced();
    await t.secret('later');
    await until(() => probeSeen.includes('add later'), 'the probe to see the later write');
    expect(seen).toEqual([]);
    probe.stop();
  });
});
