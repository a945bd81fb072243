// Injected faults and how the client reports them: wrong CA, down, frozen, slow, unhealthy services.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  controlPlane,
  drain,
  expectFailure,
  pollUntil,
  simulator,
  worker,
  type Simulator,
} from './helpers.js';
import { isTalosError } from '../../src/talos/errors.js';

describe('fault injection', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await simulator({ nodes: 3, controlPlanes: 1 });
  });
  afterEach(async () => {
    for (const n of sim.nodes()) await sim.inject(n.name, 'heal');
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('wrong CA: the node presents a cert from another CA -> 503 TLSError', async () => {
    const name = worker(sim);
    await sim.inject(name, 'wrong-ca');
    const c = clientFor(sim, name);
    try {
      const e = await expectFailure(c.version(), 'TLSError', 503);
      expect(e.reason).toBe('ServiceUnavailable');
      expect(e.message).toContain("does not verify against the talosconfig's OS CA");
      expect(e.message).not.toMatch(/BEGIN|PRIVATE/);
    } finally {
      c.close();
    }
  });

  it('down: not listening -> 503 Unreachable, and back after start', async () => {
    const name = worker(sim);
    const c = clientFor(sim, name);
    try {
      expect(await c.hostname()).toBe(name);
      const state = await sim.inject(name, 'stop');
      expect(state['listening']).toBe(false);
      const e = await expectFailure(c.hostname(), 'Unreachable', 503);
      expect(e.message).toContain(sim.node(name).endpoint);
      await sim.inject(name, 'start');
      // the same channel reconnects (short backoff); poll, bounded
      const answer = await pollUntil('the node to answer again', () =>
        c
          .hostname()
          .catch((err: unknown) =>
            isTalosError(err) && err.failure === 'Unreachable' ? undefined : Promise.reject(err),
          ),
      );
      expect(answer).toBe(name);
    } finally {
      c.close();
    }
  });

  it('frozen: never answers -> 504 Timeout within the deadline', async () => {
    const name = worker(sim);
    await sim.inject(name, 'freeze');
    const c = clientFor(sim, name, { timeoutMs: 400 });
    try {
      const started = Date.now();
      const e = await expectFailure(c.version(), 'Timeout', 504);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(350);
      expect(took).toBeLessThan(3_000);
      expect(e.reason).toBe('Timeout');
      expect(e.message).toContain('within 400 ms');
      // a per-call override wins over the client default
      const t2 = Date.now();
      await expectFailure(c.hostname({ timeoutMs: 150 }), 'Timeout', 504);
      expect(Date.now() - t2).toBeLessThan(2_000);
    } finally {
      c.close();
    }
  });

  it('frozen streams hit their deadline too', async () => {
    const name = controlPlane(sim);
    await sim.inject(name, 'freeze');
    const c = clientFor(sim, name, { timeoutMs: 300 });
    try {
      await expectFailure(c.kubeconfig(), 'Timeout', 504);
    } finally {
      c.close();
    }
  });

  it('slow: answers after the latency, or times out when the deadline is shorter', async () => {
    const name = worker(sim);
    await sim.inject(name, 'slow', { ms: 300 });
    const c = clientFor(sim, name);
    try {
      const started = Date.now();
      expect(await c.hostname()).toBe(name);
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
      await expectFailure(c.hostname({ timeoutMs: 100 }), 'Timeout', 504);
    } finally {
      c.close();
    }
  });

  it('unhealthy service: reported by ServiceList, fails the health check', async () => {
    const cp = controlPlane(sim);
    await sim.inject(cp, 'unhealthy', { service: 'etcd' });
    const c = clientFor(sim, cp);
    try {
      const etcd = (await c.serviceList()).find((s) => s.id === 'etcd');
      expect(etcd?.health?.healthy).toBe(false);
      const { items, error } = await drain(c.healthCheck({ waitTimeoutMs: 300 }));
      expect(items).toContain('waiting for etcd to be healthy');
      expect(items.some((m) => m.includes('service "etcd" is not healthy'))).toBe(true);
      expect(isTalosError(error) && error.failure).toBe('Timeout');
      expect(String((error as Error).message)).toContain('waiting for etcd to be healthy');
    } finally {
      c.close();
    }
  });

  it('a node down fails the health check at "apid to be ready"', async () => {
    const w = worker(sim);
    await sim.inject(w, 'stop');
    const c = clientFor(sim, controlPlane(sim));
    try {
      const { items, error } = await drain(c.healthCheck({ waitTimeoutMs: 300 }));
      expect(items.some((m) => m.startsWith(`waiting for apid to be ready: ${w}`))).toBe(true);
      expect(isTalosError(error)).toBe(true);
    } finally {
      c.close();
    }
  });

  it('proxying to a down node -> 503 Unreachable from the endpoint', async () => {
    const w = worker(sim);
    await sim.inject(w, 'stop');
    const c = clientFor(sim, controlPlane(sim), { node: sim.node(w).ip });
    try {
      const e = await expectFailure(c.version(), 'Unreachable', 503);
      expect(e.message).toContain('connection refused');
    } finally {
      c.close();
    }
  });

  it('the control endpoint speaks JSON over loopback HTTP', async () => {
    const w = worker(sim);
    const post = (path: string, body?: unknown) =>
      fetch(`${sim.control.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const slow = await post(`/nodes/${w}/slow`, { ms: 50 });
    expect(slow.status).toBe(200);
    expect(((await slow.json()) as { faults: { latencyMs: number } }).faults.latencyMs).toBe(50);
    expect((await post(`/nodes/${w}/unhealthy`, { service: 'nope' })).status).toBe(400);
    expect((await post('/nodes/no-such-node/stop')).status).toBe(404);
    expect((await post(`/nodes/${w}/explode`)).status).toBe(404);
    const state = (await (await fetch(`${sim.control.url}/state`)).json()) as {
      nodes: { name: string; faults: { latencyMs: number } }[];
    };
    expect(state.nodes.find((n) => n.name === w)?.faults.latencyMs).toBe(50);
    expect((await post(`/nodes/${w}/heal`)).status).toBe(200);
    expect(sim.node(w).faults.latencyMs).toBe(0);
  });
});
