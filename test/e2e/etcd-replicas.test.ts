// Two server processes on one etcd (same --etcd-prefix), as a Deployment with two replicas runs:
// one's writes are another's reads and watch events, optimistic concurrency holds across them,
// and the controllers run in exactly one replica, elected through an etcd lease that passes to
// the other when the leader dies.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDefaultEncryptionConfig } from '../../src/storage/encryption/config.js';
import {
  adoptedServer,
  adoptedServers,
  create,
  createNamespace,
  expectStatus,
  JSON_HDR,
  openWatch,
  type WatchEvent,
  type WatchStream,
} from '../helpers/api.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';

const ACQUIRED = 'acquired controller leadership';
const LOST = 'lost controller leadership';
/** the lease TTL the replicas campaign with (src/controllers/leader.ts) */
const LEASE_TTL_MS = 15_000;

let etcd: EtcdServer;
let a: TestServer;
let b: TestServer;
let shared: string;
const watches: WatchStream[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
  shared = mkdtempSync(join(tmpdir(), 'tf-replicas-'));
  // replicas of one deployment share the encryption key, or one could not read the other's secrets
  const encryption = await ensureDefaultEncryptionConfig(shared);
  const args = [
    '--storage-backend',
    'etcd3',
    '--etcd-servers',
    etcd.endpoints[0]!,
    '--etcd-prefix',
    '/tf-replicas',
    '--encryption-provider-config',
    encryption,
    ...SAMPLE_OBJECTS_ONLY,
  ];
  [a, b] = await Promise.all([startServer({ args }), startServer({ args })]);
});

afterAll(async () => {
  for (const w of watches) w.close();
  await Promise.all([disposeServer(a), disposeServer(b)]);
  await etcd?.cleanup();
  if (shared) rmSync(shared, { recursive: true, force: true });
});

/** log records of one replica with this msg */
function logged(s: TestServer, msg: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of s.logs) {
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (rec.msg === msg) out.push(rec);
    } catch {
      /* not a JSON line */
    }
  }
  return out;
}

/** polls (bounded) until pred holds; returns how long it took */
async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await pred())) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

/** the replica that holds controller leadership, once exactly one has logged acquiring it */
async function leader(): Promise<TestServer> {
  await until(
    () => logged(a, ACQUIRED).length + logged(b, ACQUIRED).length > 0,
    20_000,
    'a replica to acquire controller leadership',
  );
  const leaders = [a, b].filter((s) => logged(s, ACQUIRED).length > 0);
  expect(leaders, `both replicas claim leadership:\n${a.logs.join('\n')}\n---\n${b.logs.join('\n')}`).toHaveLength(1);
  return leaders[0]!;
}

/** deletes a namespace holding an object through `via` and waits until the controllers removed both */
async function deleteNamespaceThrough(via: TestServer, writer: TestServer, ns: string): Promise<void> {
  await createNamespace(via, ns);
  await create(writer, adoptedServers(ns), adoptedServer('inside'));
  const del = await via.request('DELETE', `/api/v1/namespaces/${ns}`);
  expect(del.status, del.body).toBe(200);
  expect(del.json().metadata.deletionTimestamp).toBeTruthy();
  await until(
    async () => (await via.request('GET', `/api/v1/namespaces/${ns}`)).status === 404,
    20_000,
    `namespace ${ns} to be finalized`,
  );
  expect((await writer.request('GET', `${adoptedServers(ns)}/inside`)).status).toBe(404);
  expect((await writer.request('GET', `/api/v1/namespaces/${ns}`)).status).toBe(404);
}

const is = (type: string, name: string) => (ev: WatchEvent) => ev.type === type && ev.object.metadata?.name === name;

describe('two replicas on one etcd', () => {
  it('serves an object written through one replica from the other', async () => {
    await createNamespace(a, 'shared');
    const made = await create(a, adoptedServers('shared'), adoptedServer('one'));
    const read = await b.request('GET', `${adoptedServers('shared')}/one`);
    expect(read.status, read.body).toBe(200);
    expect(read.json().metadata).toMatchObject({
      uid: made.metadata.uid,
      resourceVersion: made.metadata.resourceVersion,
    });
    const list = await b.request('GET', adoptedServers('shared'));
    expect(list.json().items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['one']);
  });

  it("delivers the other replica's writes to a watch in order, and refuses a stale update with 409", async () => {
    await createNamespace(b, 'watched');
    const base = adoptedServers('watched');
    const rv = (await b.request('GET', base)).json().metadata.resourceVersion;
    const w = await openWatch(b, `${base}?watch=true&resourceVersion=${rv}`);
    watches.push(w);
    expect(w.status, w.error).toBe(200);

    const created = await create(a, base, adoptedServer('w'));
    const changed = { ...created, metadata: { ...created.metadata, labels: { step: 'two' } } };
    const updated = await a.request('PUT', `${base}/w`, { body: JSON.stringify(changed), headers: JSON_HDR });
    expect(updated.status, updated.body).toBe(200);

    // B has not seen A's update in the body it sends: created's resourceVersion is stale
    const stale = { ...created, metadata: { ...created.metadata, labels: { step: 'stale' } } };
    const conflict = await b.request('PUT', `${base}/w`, { body: JSON.stringify(stale), headers: JSON_HDR });
    const status = expectStatus(conflict, 409, 'Conflict');
    expect(status.details).toMatchObject({ name: 'w', group: 'metal.sidero.dev', kind: 'adoptedservers' });
    expect((await b.request('GET', `${base}/w`)).json().metadata.labels).toEqual({ step: 'two' });

    const del = await a.request('DELETE', `${base}/w`);
    expect(del.status, del.body).toBe(200);
    const deleted = await w.waitFor(is('DELETED', 'w'), 10_000);
    expect(
      w.events.map(
        (e) => `${e.type} ${e.object.metadata.name} ${e.type === 'DELETED' ? '' : e.object.metadata.resourceVersion}`,
      ),
    ).toEqual([
      `ADDED w ${created.metadata.resourceVersion}`,
      `MODIFIED w ${updated.json().metadata.resourceVersion}`,
      'DELETED w ',
    ]);
    expect(Number(deleted.object.metadata.resourceVersion)).toBeGreaterThan(
      Number(updated.json().metadata.resourceVersion),
    );
  });

  it('runs the controllers in exactly one replica; namespace deletion through either completes', async () => {
    const first = await leader();
    const other = first === a ? b : a;
    expect(logged(other, ACQUIRED)).toHaveLength(0);
    await deleteNamespaceThrough(b, a, 'doomed');
    // the leader finalized it, and still is the only one that ever led
    expect(logged(first, 'namespace deleted').map((r) => r.namespace)).toContain('doomed');
    expect(logged(other, 'namespace deleted')).toHaveLength(0);
    expect(logged(other, ACQUIRED)).toHaveLength(0);
  });

  it('moves leadership to the surviving replica within the lease TTL when the leader is killed', async () => {
    const dead = await leader();
    const survivor = dead === a ? b : a;
    await dead.stop('SIGKILL');
    const took = await until(
      () => logged(survivor, ACQUIRED).length > 0,
      LEASE_TTL_MS + 10_000,
      'the survivor to acquire controller leadership',
    );
    expect(took, "leadership should move once the dead leader's lease expires").toBeLessThanOrEqual(
      LEASE_TTL_MS + 3_000,
    );
    expect(logged(survivor, LOST)).toHaveLength(0);
    await deleteNamespaceThrough(survivor, survivor, 'after-failover');
    expect(logged(survivor, 'namespace deleted').map((r) => r.namespace)).toContain('after-failover');
  });
});
