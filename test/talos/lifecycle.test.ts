// The simulator's state machine through the client: upgrade and reboot take the node off the
// network and bring it back; bootstrap happens once; apply modes behave per version.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { isTalosError } from '../../src/talos/errors.js';
import type { TalosClient } from '../../src/talos/client.js';
import { clientFor, controlPlane, expectFailure, pollUntil, simulator, worker, type Simulator } from './helpers.js';

let sim: Simulator | undefined;
const clients: TalosClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim?.stop();
  sim = undefined;
});

function client(s: Simulator, name: string): TalosClient {
  const c = clientFor(s, name, { timeoutMs: 2_000 });
  clients.push(c);
  return c;
}

/** The version once the node answers again; unreachable answers count as "not yet". */
function versionWhenBack(c: TalosClient, want: string): Promise<string> {
  return pollUntil(`version ${want}`, async () => {
    try {
      const tag = (await c.version()).version.tag;
      return tag === want ? tag : undefined;
    } catch (e) {
      if (isTalosError(e) && (e.failure === 'Unreachable' || e.failure === 'Timeout')) return undefined;
      throw e;
    }
  });
}

describe('upgrade and reboot', () => {
  it('upgrade: ack + actor id at once, then unreachable, then back at the image tag version', async () => {
    sim = await simulator({ nodes: 2, rebootSeconds: 0.5 });
    const name = worker(sim);
    const node = sim.node(name);
    const c = client(sim, name);
    const closed = once(node, 'closed');
    const r = await c.upgrade({ image: 'ghcr.io/siderolabs/installer:v1.13.10' });
    expect(r.ack).toContain('Upgrade request received');
    expect(r.actorId).toMatch(/^[0-9a-f-]{36}$/);
    await closed; // the node left the network
    await expectFailure(c.version(), 'Unreachable', 503);
    expect(await versionWhenBack(c, 'v1.13.10')).toBe('v1.13.10');
    expect(sim.nodes().find((n) => n.name === name)?.version).toBe('v1.13.10');
  });

  it('upgrade refuses an image without a version tag, and a second upgrade while one runs', async () => {
    sim = await simulator({ nodes: 2, rebootSeconds: 0.5 });
    const c = client(sim, worker(sim));
    await expectFailure(c.upgrade({ image: 'ghcr.io/siderolabs/installer' }), 'InvalidArgument', 400);
    await c.upgrade({ image: 'ghcr.io/siderolabs/installer:v1.14.0-rc.1', stage: true });
    await expectFailure(c.upgrade({ image: 'ghcr.io/siderolabs/installer:v1.13.10' }), 'FailedPrecondition', 409);
    expect(await versionWhenBack(c, 'v1.14.0-rc.1')).toBe('v1.14.0-rc.1');
  });

  it('a control plane refuses to upgrade while etcd is unhealthy, unless forced', async () => {
    sim = await simulator({ nodes: 1, rebootSeconds: 0.5 });
    const cp = controlPlane(sim);
    await sim.inject(cp, 'unhealthy', { service: 'etcd' });
    const c = client(sim, cp);
    const e = await expectFailure(
      c.upgrade({ image: 'ghcr.io/siderolabs/installer:v1.13.10' }),
      'FailedPrecondition',
      409,
    );
    expect(e.message).toContain('etcd is not healthy');
    await c.upgrade({ image: 'ghcr.io/siderolabs/installer:v1.13.10', force: true });
    expect(await versionWhenBack(c, 'v1.13.10')).toBe('v1.13.10');
  });

  it('reboot: unreachable for a while, back at the same version with fresh services', async () => {
    sim = await simulator({ nodes: 2, rebootSeconds: 0.5 });
    const name = worker(sim);
    const node = sim.node(name);
    const bootedAt = node.bootedAt.getTime();
    const c = client(sim, name);
    const closed = once(node, 'closed');
    const { actorId } = await c.reboot('POWERCYCLE');
    expect(actorId).not.toBe('');
    await closed;
    expect(await versionWhenBack(c, 'v1.13.9')).toBe('v1.13.9');
    expect(node.bootedAt.getTime()).toBeGreaterThan(bootedAt);
    expect((await c.serviceList()).every((s) => s.state === 'Running')).toBe(true);
  });
});

describe('bootstrap', () => {
  it('once on a cluster that waits for it; the second call -> 409 AlreadyExists', async () => {
    sim = await simulator({ nodes: 3, controlPlanes: 2, bootstrapped: false });
    const c = client(sim, controlPlane(sim));
    const etcd = (await c.serviceList()).find((s) => s.id === 'etcd');
    expect(etcd?.state).toBe('Preparing');
    await expectFailure(c.etcdMemberList(), 'FailedPrecondition', 409);
    await c.bootstrap();
    expect((await c.serviceList()).find((s) => s.id === 'etcd')?.state).toBe('Running');
    expect((await c.etcdMemberList()).length).toBe(2);
    const e = await expectFailure(c.bootstrap(), 'AlreadyExists', 409);
    expect(e.reason).toBe('AlreadyExists');
  });
});

describe('apply configuration modes', () => {
  const config = 'version: v1alpha1\nmachine:\n  type: worker\n';

  it('STAGED is kept until the next reboot; TRY reverts unless confirmed', async () => {
    sim = await simulator({ nodes: 2, rebootSeconds: 0.3 });
    const name = worker(sim);
    const node = sim.node(name);
    const c = client(sim, name);
    expect((await c.applyConfiguration({ data: config, mode: 'STAGED' })).mode).toBe('STAGED');
    expect(node.config).toBeUndefined();
    expect(node.stagedConfig?.data.toString()).toBe(config);
    const tried = await c.applyConfiguration({ data: config, mode: 'TRY', tryModeTimeoutMs: 200 });
    expect(tried.mode).toBe('TRY');
    expect(node.config?.mode).toBe('TRY');
    await pollUntil('the TRY config to revert', async () => (node.config === undefined ? true : undefined), 5_000, 50);
    await c.reboot();
    await pollUntil(
      'the staged config to apply at boot',
      async () => (node.phase === 'running' && node.config ? true : undefined),
      10_000,
      50,
    );
    expect(node.config?.data.toString()).toBe(config);
  });

  it('REBOOT mode reboots on 1.13 and is Unimplemented on 1.14+', async () => {
    sim = await simulator({ nodes: 2, version: 'v1.14.0-rc.1' });
    const c = client(sim, worker(sim));
    const e = await expectFailure(c.applyConfiguration({ data: config, mode: 'REBOOT' }), 'Unimplemented', 400);
    expect(e.message).toContain('REBOOT');
    await sim.stop();
    sim = await simulator({ nodes: 2, version: 'v1.13.9', rebootSeconds: 0.3 });
    const old = client(sim, worker(sim));
    const node = sim.node(worker(sim));
    const closed = once(node, 'closed');
    expect((await old.applyConfiguration({ data: config, mode: 'REBOOT' })).mode).toBe('REBOOT');
    await closed;
    await pollUntil(
      'the config after the reboot',
      async () => (node.phase === 'running' && node.config ? true : undefined),
      10_000,
      50,
    );
  });
});
