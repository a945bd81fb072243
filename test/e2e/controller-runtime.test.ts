// The controllers' runtime seen from outside: /metrics shows client-go's workqueue series for each
// controller, and a Management API that is down while an AdoptedServer is deleted is retried with
// growing delays (the backoff flags set small), one log line per retry and none with a stack
// trace, until it answers and the deletion completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeManagementAPI } from '../helpers/fake-management-api.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { adoptedNode, createNamespace, getJSON, ok } from './kubectl-helpers.js';

const NS = 'fleet';
let s: TestServer;
const fake = new FakeManagementAPI();

beforeAll(async () => {
  await fake.start();
  s = await startServer({
    args: ['--controller-base-backoff', '20ms', '--controller-max-backoff', '320ms', '--talos-call-timeout', '2s'],
  });
  await createNamespace(s, NS);
});

afterAll(async () => {
  await disposeServer(s);
  await fake.stop();
});

/** resolves once `cond` holds, polling; fails naming `what` after `ms` */
async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** the server's log lines (JSON) with this message */
const logged = (msg: string): Record<string, unknown>[] =>
  s.logs.flatMap((l) => {
    try {
      const rec = JSON.parse(l) as Record<string, unknown>;
      return rec.msg === msg ? [rec] : [];
    } catch {
      return [];
    }
  });

describe('controller runtime', () => {
  it('/metrics has the workqueue series of every controller, named as in --controllers', async () => {
    const r = await s.request('GET', '/metrics');
    expect(r.status).toBe(200);
    for (const name of ['adoptedserver', 'kubernetescluster', 'namespace', 'garbage-collector']) {
      expect(r.body).toMatch(new RegExp(`^workqueue_depth\\{name="${name}"\\} \\d+$`, 'm'));
      expect(r.body).toMatch(new RegExp(`^workqueue_adds_total\\{name="${name}"\\} \\d+$`, 'm'));
      expect(r.body).toMatch(new RegExp(`^workqueue_retries_total\\{name="${name}"\\} \\d+$`, 'm'));
      expect(r.body).toMatch(
        new RegExp(`^workqueue_work_duration_seconds_bucket\\{le="1e-8",name="${name}"\\} \\d+$`, 'm'),
      );
      expect(r.body).toMatch(new RegExp(`^workqueue_queue_duration_seconds_count\\{name="${name}"\\} \\d+$`, 'm'));
    }
  });

  it('a Management API that is down is retried with growing delays, one line per retry without a stack', async () => {
    fake.failWith = 503;
    const extra = `  managementAPI:\n    enabled: true\n    endpoint: "${fake.url}"\n    clusterName: fleet-prod\n`;
    await ok(s, ['apply', '-f', '-'], { input: adoptedNode('away', NS, '127.0.0.1:1', 'worker', extra) });
    await ok(s, [
      '-n',
      NS,
      'wait',
      'adoptedserver/away',
      '--for=jsonpath={.metadata.finalizers[0]}=adoptedserver.metal.sidero.dev',
      '--timeout=30s',
    ]);
    expect(await ok(s, ['-n', NS, 'delete', 'adoptedserver', 'away', '--wait=false'])).toBe(
      'adoptedserver.metal.sidero.dev "away" deleted\n',
    );

    const deletes = () => fake.callsTo('DELETE', '/api/v1/sidero/server/away');
    const failures = () => logged('reconcile failed; retrying').filter((l) => l.key === `${NS}/away`);
    await until(() => deletes().length >= 6 && failures().length >= 6, 'six tries of the unregister');
    const lines = failures().slice(0, 6);
    expect(lines.map((l) => l.retryInMs)).toEqual([20, 40, 80, 160, 320, 320]);
    for (const l of lines) {
      expect(l).toMatchObject({ level: 40, controller: 'adoptedserver' });
      expect(l.error).toMatch(/HTTP 503/);
      expect(JSON.stringify(l)).not.toMatch(/stack/);
    }
    // each try came no sooner than the delay the line before it announced
    const at = deletes().map((c) => c.at);
    for (let i = 1; i < 6; i++)
      expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual((lines[i - 1]!.retryInMs as number) - 2);
    // still there, held by its finalizer
    expect((await getJSON(s, ['-n', NS, 'adoptedserver', 'away'])).metadata.deletionTimestamp).toBeTruthy();

    fake.failWith = undefined;
    await ok(s, ['-n', NS, 'wait', 'adoptedserver/away', '--for=delete', '--timeout=30s']);
    expect(logged('reconcile succeeded after failures').some((l) => l.key === `${NS}/away`)).toBe(true);

    const metrics = (await s.request('GET', '/metrics')).body;
    const retries = Number(/^workqueue_retries_total\{name="adoptedserver"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(retries).toBeGreaterThanOrEqual(6);
  });
});
