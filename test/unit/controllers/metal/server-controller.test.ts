// The Server controller on the real runtime and an embedded store, driving an in-memory power
// control that records every call: the wipe sequence, power off once clean, power on when
// allocated, failures as a condition and a Warning Event, and the finalizer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serverKind, type Server } from '../../../../src/api/server.js';
import { serverController } from '../../../../src/controllers/metal/server.js';
import { Controller } from '../../../../src/controllers/runtime/controller.js';
import { DEFAULT_RUNTIME_SETTINGS } from '../../../../src/controllers/runtime/settings.js';
import type { EventRecorder } from '../../../../src/events/recorder.js';
import type { KubeObject } from '../../../../src/machinery/kind.js';
import { APIRegistry } from '../../../../src/machinery/registry/apis.js';
import { systemContext } from '../../../../src/machinery/registry/context.js';
import type { ResourceStore } from '../../../../src/machinery/registry/store.js';
import { PowerError, type PowerControl, type PowerState } from '../../../../src/power/power.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../../../src/storage/embedded/store.js';
import { until } from '../runtime/helpers.js';

/** a BMC in memory: the power state, every call made, and a failure to answer with when set */
class FakePower implements PowerControl {
  calls: string[] = [];
  fail?: PowerError;
  constructor(public power: PowerState = 'on') {}
  private call(name: string): Promise<void> {
    this.calls.push(name);
    return this.fail ? Promise.reject(this.fail) : Promise.resolve();
  }
  async state() {
    await this.call('state');
    return this.power;
  }
  async powerOn() {
    await this.call('powerOn');
    this.power = 'on';
  }
  async powerOff() {
    await this.call('powerOff');
    this.power = 'off';
  }
  async powerCycle() {
    await this.call('powerCycle');
    this.power = 'on';
  }
  pxeBootOnce() {
    return this.call('pxeBootOnce');
  }
  /** the calls that change something */
  get actions() {
    return this.calls.filter((c) => c !== 'state');
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tfa-servers-'));
let storage: EmbeddedStore;
let servers: ResourceStore;
let controller: Controller | undefined;
const powers = new Map<string, FakePower>();
const events: { name: string; type: string; reason: string; message: string }[] = [];
const recorder: EventRecorder = {
  record(obj: KubeObject, type, reason, message) {
    events.push({ name: obj.metadata.name!, type, reason, message });
    return Promise.resolve();
  },
};

beforeAll(async () => {
  storage = await openEmbeddedStore(dir);
  servers = new APIRegistry([serverKind], storage).storeOf(serverKind)!;
});

afterEach(async () => {
  await controller?.stop();
  controller = undefined;
});

afterAll(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(o: { rebootTimeoutMs?: number } = {}) {
  controller = new Controller(
    serverController({
      registry: new APIRegistry([serverKind], storage),
      events: recorder,
      power: (s) => powers.get(s.metadata.name!),
      rebootTimeoutMs: o.rebootTimeoutMs ?? 600_000,
      powerPollMs: 600_000,
    }),
    {
      settings: { ...DEFAULT_RUNTIME_SETTINGS, baseBackoffMs: 2, maxBackoffMs: 20 },
      metrics: { forQueue: () => ({ added() {}, depth() {}, retried() {}, waited() {}, worked() {} }) },
      log: pino({ level: 'silent' }),
    },
  );
  controller.start();
}

async function create(name: string, spec: object = { accepted: true }) {
  const value = { apiVersion: 'metal.sidero.dev/v1alpha2', kind: 'Server', metadata: { name }, spec };
  await servers.create(undefined, { value, duplicates: [] }, systemContext());
}

/** reads the server until `cond` holds on it */
async function serverWhen(name: string, cond: (s: Server) => boolean, what: string): Promise<Server> {
  let last: Server | undefined;
  const deadline = Date.now() + 10_000;
  for (;;) {
    last = (await servers.get(undefined, name)) as Server;
    if (cond(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last.status)}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const condition = (s: Server, type: string) => s.status?.conditions?.find((c) => c.type === type);

describe('the Server controller', () => {
  it('sends a server that needs a wipe to the network once, then waits; a clean one is powered off and ready', async () => {
    const bmc = new FakePower('on');
    powers.set('wipe', bmc);
    start();
    await create('wipe');
    const s = await serverWhen(
      'wipe',
      (x) => condition(x, 'PowerCycle')?.reason === 'InProgress' && x.status?.power === 'on',
      'PowerCycle',
    );
    expect(s.metadata.finalizers).toEqual(['storage.finalizers.server.k8s.io']);
    expect(s.status).toMatchObject({ ready: false, inUse: false, isClean: false });
    expect(condition(s, 'PowerControl')).toMatchObject({ status: 'True' });
    await until(() => bmc.actions.length === 2, 'the power sequence');
    expect(bmc.actions).toEqual(['pxeBootOnce', 'powerCycle']);

    // the agent reports the disks wiped (its write, on the status)
    await servers.patch(undefined, 'wipe', 'merge', { status: { isClean: true } }, systemContext(), 'status');
    const clean = await serverWhen('wipe', (x) => x.status?.ready === true, 'ready');
    expect(clean.status).toMatchObject({ power: 'off', isClean: true });
    expect(bmc.actions).toEqual(['pxeBootOnce', 'powerCycle', 'powerOff']);
    expect(events.filter((e) => e.name === 'wipe').map((e) => e.reason)).toEqual([
      'PXEBootOnce',
      'PowerCycled',
      'PoweredOff',
    ]);
  });

  it('sends the sequence again when the wipe takes longer than the reboot timeout', async () => {
    const bmc = new FakePower('on');
    powers.set('slow', bmc);
    start({ rebootTimeoutMs: 300 });
    await create('slow');
    await until(() => bmc.actions.filter((a) => a === 'powerCycle').length >= 2, 'a second power cycle');
    const s = (await servers.get(undefined, 'slow')) as Server;
    expect(condition(s, 'PowerCycle')).toMatchObject({ status: 'False', reason: 'InProgress' });
  });

  it('an allocated server that is off netboots once and is powered on; it is never clean', async () => {
    const bmc = new FakePower('off');
    powers.set('alloc', bmc);
    start();
    await create('alloc');
    await serverWhen('alloc', (x) => condition(x, 'PowerCycle') !== undefined, 'the wipe');
    bmc.power = 'off';
    bmc.calls = [];
    await servers.patch(
      undefined,
      'alloc',
      'merge',
      { metadata: { annotations: { 'metal.sidero.dev/machine': 'ns/m1' } } },
      systemContext(),
    );
    const s = await serverWhen('alloc', (x) => x.status?.inUse === true && x.status.ready === true, 'allocated');
    expect(s.status).toMatchObject({ isClean: false, power: 'on' });
    expect(bmc.actions).toEqual(['pxeBootOnce', 'powerOn']);
  });

  it('a power failure is PowerControl=False with its reason, power unknown and a Warning Event, retried', async () => {
    const bmc = new FakePower('on');
    bmc.fail = new PowerError('Unauthorized', 'the BMC refused the credentials');
    powers.set('broken', bmc);
    start();
    await create('broken');
    const s = await serverWhen('broken', (x) => condition(x, 'PowerControl')?.status === 'False', 'PowerControl=False');
    expect(condition(s, 'PowerControl')).toMatchObject({
      reason: 'Unauthorized',
      severity: 'Warning',
      message: 'the BMC refused the credentials',
    });
    expect(s.status).toMatchObject({ power: 'unknown', ready: false });
    expect(events).toContainEqual({
      name: 'broken',
      type: 'Warning',
      reason: 'PowerFailed',
      message: 'the BMC refused the credentials',
    });
    await until(() => bmc.calls.length >= 3, 'retries');
    bmc.fail = undefined;
    await serverWhen(
      'broken',
      (x) => condition(x, 'PowerControl')?.status === 'True' && x.status?.power === 'on',
      'recovery',
    );
  });

  it('a server without power control reports on; deleting it removes the finalizer', async () => {
    start();
    await create('plain', { accepted: false });
    const s = await serverWhen('plain', (x) => x.status?.power === 'on', 'power on');
    expect(s.status).toMatchObject({ ready: false, isClean: false, inUse: false });
    expect(condition(s, 'PowerControl')).toBeUndefined();
    await servers.delete(undefined, 'plain', {}, systemContext());
    const deadline = Date.now() + 10_000;
    while (
      await servers.get(undefined, 'plain').then(
        () => true,
        () => false,
      )
    ) {
      if (Date.now() > deadline) throw new Error('the server was not deleted');
      await new Promise((r) => setTimeout(r, 2));
    }
  });
});
