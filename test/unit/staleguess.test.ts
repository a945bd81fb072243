// Writes start from the watch cache's copy of an object (as kube's GuaranteedUpdate does). Here the
// cache is made stale on purpose: every write must still land on the stored version, a PUT with an
// outdated resourceVersion must still be refused, and a no-op or dry run against the stale copy
// must not pass for the stored truth.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreKinds } from '../../src/api/index.js';
import { StatusError } from '../../src/machinery/errors.js';
import type { KubeObject } from '../../src/machinery/kind.js';
import { APIRegistry } from '../../src/machinery/registry/apis.js';
import { systemContext } from '../../src/machinery/registry/context.js';
import type { ResourceStore } from '../../src/machinery/registry/store.js';
import { openEmbeddedStore } from '../../src/storage/embedded/store.js';
import type { KeyValue, Storage } from '../../src/storage/storage.js';

let dir: string;
let inner: Storage;
let secrets: ResourceStore;
/** what the "cache" answers for each key, until replaced */
const stale = new Map<string, KeyValue>();
let cacheReads = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tfa-stale-'));
  inner = await openEmbeddedStore(dir);
  const withStaleCache: Storage = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'getNotOlderThan') {
        return async (key: string) => {
          cacheReads++;
          return stale.get(key) ?? (await target.get(key));
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  secrets = new APIRegistry(coreKinds, withStaleCache).storeForKind('', 'Secret')!;
});

afterAll(async () => {
  await inner.close();
  rmSync(dir, { recursive: true, force: true });
});

const ctx = (dryRun = false) => ({ ...systemContext(), dryRun, fieldManager: 'test' });
const body = (value: unknown) => ({ value, duplicates: [] });

/** a Secret, then changed once more behind the cache's back: the cache keeps the first version */
async function staleSecret(
  name: string,
  first: Record<string, unknown>,
  then: Record<string, unknown>,
): Promise<{ old: KubeObject; now: KubeObject }> {
  const old = await secrets.create(
    'default',
    body({ apiVersion: 'v1', kind: 'Secret', metadata: { name, ...first } }),
    ctx(),
  );
  stale.set(secrets.key('default', name), (await inner.get(secrets.key('default', name)))!);
  const now = await secrets.patch('default', name, 'merge', then, ctx());
  expect(now.metadata.resourceVersion).not.toBe(old.metadata.resourceVersion);
  return { old, now };
}

async function stored(name: string): Promise<KubeObject> {
  const kv = (await inner.get(secrets.key('default', name)))!;
  return {
    ...JSON.parse(kv.value.toString()),
    metadata: { ...JSON.parse(kv.value.toString()).metadata, resourceVersion: String(kv.modRevision) },
  };
}

describe('writes from a stale cached copy', () => {
  it('a PUT with the current resourceVersion succeeds; one with the cached (outdated) version is a conflict', async () => {
    const { old, now } = await staleSecret('put', { labels: { a: '1' } }, { metadata: { labels: { a: '2' } } });
    const before = cacheReads;
    const outdated = secrets.update(
      'default',
      'put',
      body({ ...old, metadata: { ...old.metadata, labels: { a: 'lost' } } }),
      ctx(),
    );
    await expect(outdated).rejects.toMatchObject({ code: 409, reason: 'Conflict' });
    expect(cacheReads).toBeGreaterThan(before);
    expect((await stored('put')).metadata.labels).toEqual({ a: '2' });

    const ok = await secrets.update(
      'default',
      'put',
      body({ ...now, metadata: { ...now.metadata, labels: { a: '3' } } }),
      ctx(),
    );
    expect(ok.metadata.labels).toEqual({ a: '3' });
    expect((await stored('put')).metadata.labels).toEqual({ a: '3' });
  });

  it('a merge patch lands on the stored version, keeping what changed after the cached copy', async () => {
    await staleSecret('patch', { labels: { a: '1' } }, { metadata: { labels: { b: '2' } } });
    const out = await secrets.patch('default', 'patch', 'merge', { metadata: { labels: { c: '3' } } }, ctx());
    expect(out.metadata.labels).toEqual({ a: '1', b: '2', c: '3' });
    expect((await stored('patch')).metadata.labels).toEqual({ a: '1', b: '2', c: '3' });
  });

  it('a patch that is a no-op only against the stale copy is written', async () => {
    // cached: label a=1; stored: no label a
    await staleSecret('noop', { labels: { a: '1' } }, { metadata: { labels: { a: null, z: '0' } } });
    const out = await secrets.patch('default', 'noop', 'merge', { metadata: { labels: { a: '1' } } }, ctx());
    expect(out.metadata.labels).toEqual({ a: '1', z: '0' });
    expect((await stored('noop')).metadata.labels).toEqual({ a: '1', z: '0' });
  });

  it('a patch pinning the current resourceVersion succeeds although the cache holds an older one', async () => {
    const { now } = await staleSecret('pinned', {}, { metadata: { labels: { b: '2' } } });
    const out = await secrets.patch(
      'default',
      'pinned',
      'merge',
      { metadata: { resourceVersion: now.metadata.resourceVersion, labels: { c: '3' } } },
      ctx(),
    );
    expect(out.metadata.labels).toEqual({ b: '2', c: '3' });
  });

  it('a JSON patch whose test or remove holds only on the stored version is applied', async () => {
    await staleSecret('jsonpatch', { labels: { a: '1' } }, { metadata: { labels: { a: '2', c: '3' } } });
    const out = await secrets.patch(
      'default',
      'jsonpatch',
      'json',
      [
        { op: 'test', path: '/metadata/labels/a', value: '2' },
        { op: 'remove', path: '/metadata/labels/c' },
        { op: 'add', path: '/metadata/labels/b', value: 'x' },
      ],
      ctx(),
    );
    expect(out.metadata.labels).toEqual({ a: '2', b: 'x' });
    // and one that fails on the stored version still fails, with the stored version's answer
    const err = await secrets
      .patch('default', 'jsonpatch', 'json', [{ op: 'test', path: '/metadata/labels/a', value: '1' }], ctx())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 422 });
  });

  it('server-side apply: a conflict that exists only in the stale copy is not reported', async () => {
    const apply = (manager: string, labels: Record<string, string>, force = false) =>
      secrets.apply(
        'default',
        'ssa',
        body({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ssa', labels } }),
        { ...ctx(), fieldManager: manager },
        force,
      );
    await apply('other', { x: '1', keep: 'k' });
    stale.set(secrets.key('default', 'ssa'), (await inner.get(secrets.key('default', 'ssa')))!);
    await apply('other', { keep: 'k' }); // other lets go of x (and it is removed)
    const { object } = await apply('me', { x: '2' });
    expect(object.metadata.labels).toEqual({ keep: 'k', x: '2' });
    // a conflict on the stored version is still one
    stale.delete(secrets.key('default', 'ssa'));
    await expect(apply('other', { keep: 'k', x: '3' })).rejects.toMatchObject({ code: 409 });
  });

  it('a dry-run patch answers from the stored version and writes nothing', async () => {
    const { now } = await staleSecret('dry', { labels: { a: '1' } }, { metadata: { labels: { b: '2' } } });
    const out = await secrets.patch('default', 'dry', 'merge', { metadata: { labels: { c: '3' } } }, ctx(true));
    expect(out.metadata.labels).toEqual({ a: '1', b: '2', c: '3' });
    expect((await stored('dry')).metadata.resourceVersion).toBe(now.metadata.resourceVersion);
  });

  it('server-side apply lands on the stored version', async () => {
    await staleSecret('apply', { labels: { a: '1' } }, { metadata: { labels: { b: '2' } } });
    const { object, created } = await secrets.apply(
      'default',
      'apply',
      body({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'apply', labels: { c: '3' } } }),
      { ...ctx(), fieldManager: 'applier' },
      false,
    );
    expect(created).toBe(false);
    expect(object.metadata.labels).toEqual({ a: '1', b: '2', c: '3' });
    expect((await stored('apply')).metadata.labels).toEqual({ a: '1', b: '2', c: '3' });
  });

  it('a cached copy of a deleted object gives NotFound, not a resurrection', async () => {
    await staleSecret('gone', {}, { metadata: { labels: { b: '2' } } });
    await inner.delete(secrets.key('default', 'gone'));
    const err = await secrets
      .patch('default', 'gone', 'merge', { metadata: { labels: { c: '3' } } }, ctx())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusError);
    expect(err).toMatchObject({ code: 404 });
    expect(await inner.get(secrets.key('default', 'gone'))).toBeNull();
  });
});
