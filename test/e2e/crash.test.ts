// Server-level crash test: creates in flight over HTTP, `kill -9` of the server process, restart on
// the same data directory. Every create that was answered 201 must be there, intact, afterwards.
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { adoptedServer, adoptedServers, bulkClient, createNamespace } from '../helpers/api.js';
import { startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';

const NS = 'crash';
const TOTAL = 300;
const LOOPS = 8;
/** the kill is sent once this many creates were acknowledged, with the rest still in flight */
const KILL_AFTER = 120;

let first: TestServer | undefined;
let second: TestServer | undefined;

afterAll(async () => {
  await second?.stop('SIGTERM');
  await first?.stop('SIGKILL');
  if (first) rmSync(first.dataDir, { recursive: true, force: true });
});

interface Acked {
  name: string;
  uid: string;
  spec: unknown;
  labels: Record<string, string>;
}

describe('crash safety', () => {
  it('keeps every acknowledged object across kill -9 and restarts cleanly on the same data dir', async () => {
    first = await startServer({ args: SAMPLE_OBJECTS_ONLY });
    await createNamespace(first, NS);
    const base = adoptedServers(NS);
    const client = bulkClient(first, LOOPS);
    const acked: Acked[] = [];
    let next = 0;
    let killed: Promise<number | null> | undefined;
    let failures = 0;

    const loop = async () => {
      while (next < TOTAL) {
        const i = next++;
        const obj = adoptedServer(`obj-${i}`, {
          labels: { i: String(i) },
          nodeType: i % 2 ? 'worker' : 'controlplane',
        });
        obj.spec.talos.endpoint = `10.0.${Math.floor(i / 250)}.${i % 250}:50000`;
        let r: { status: number; body: string };
        try {
          r = await client.request('POST', base, JSON.stringify(obj));
        } catch {
          failures++; // connection reset or refused: the server is gone
          if (killed) return;
          continue;
        }
        if (r.status === 201) {
          const got = JSON.parse(r.body);
          acked.push({ name: got.metadata.name, uid: got.metadata.uid, spec: got.spec, labels: got.metadata.labels });
        } else {
          throw new Error(`create ${i}: ${r.status} ${r.body}`);
        }
        if (acked.length >= KILL_AFTER && !killed) killed = first!.stop('SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: LOOPS }, loop));
    client.close();
    expect(killed, 'the server was killed mid-stream').toBeDefined();
    await killed;
    expect(first.proc.signalCode).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(acked.length).toBeLessThan(TOTAL);
    expect(failures).toBeGreaterThan(0);

    second = await startServer({ dataDir: first.dataDir, args: SAMPLE_OBJECTS_ONLY });
    expect(
      second.logs.some((l) => /"level":(50|60)/.test(l)),
      second.logs.join('\n'),
    ).toBe(false);

    const kc = parse(readFileSync(second.kubeconfig, 'utf8'));
    expect(kc.clusters[0].cluster.server).toBe(second.url);

    const list = await second.request('GET', base);
    expect(list.status).toBe(200);
    const stored = new Map<string, any>(list.json().items.map((o: any) => [o.metadata.name, o]));
    for (const a of acked) {
      const o = stored.get(a.name);
      expect(o, `${a.name} was acknowledged but is missing`).toBeDefined();
      expect(o.metadata.uid).toBe(a.uid);
      expect(o.spec).toEqual(a.spec);
      expect(o.metadata.labels).toEqual(a.labels);
    }
    // objects that were written but not acknowledged may exist; they must be whole
    for (const o of stored.values()) {
      expect(o.kind).toBe('AdoptedServer');
      expect(o.spec.talos.endpoint).toMatch(/^10\.0\.\d+\.\d+:50000$/);
    }

    // the restarted server takes writes and reads them back
    const r = await second.request('POST', base, {
      body: JSON.stringify(adoptedServer('after-restart')),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(r.status, r.body).toBe(201);
    expect((await second.request('GET', `${base}/after-restart`)).status).toBe(200);
    const k = await second.kubectl(['get', 'adoptedservers', '-n', NS, 'after-restart', '-o', 'name']);
    expect(k.stdout.trim()).toBe('adoptedserver.metal.sidero.dev/after-restart');
  });
});
