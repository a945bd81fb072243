import { describe, expect, it } from 'vitest';
import type { Server } from '../../../../src/api/server.js';
import { planServer, type PlanInput } from '../../../../src/controllers/metal/serverpower.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const input = (o: Partial<PlanInput> = {}): PlanInput => ({
  power: 'on',
  now: NOW,
  rebootTimeoutMs: 60_000,
  powerPollMs: 5_000,
  ...o,
});
const server = (o: { accepted?: boolean; isClean?: boolean; machine?: string; conditions?: object[] } = {}): Server =>
  ({
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'Server',
    metadata: { name: 's', ...(o.machine ? { annotations: { 'metal.sidero.dev/machine': o.machine } } : {}) },
    spec: { accepted: o.accepted ?? true },
    status: { isClean: o.isClean ?? false, conditions: o.conditions ?? [] },
  }) as Server;

describe("Sidero's server state machine", () => {
  it('does nothing with a server that is not accepted, and it is neither clean nor ready', () => {
    const p = planServer(server({ accepted: false, isClean: true }), input());
    expect(p).toMatchObject({ actions: [], isClean: false, readyAfterActions: false, inUse: false });
  });

  it('powers a clean free server off, and it is then ready', () => {
    expect(planServer(server({ isClean: true }), input()).actions).toEqual(['powerOff']);
    expect(planServer(server({ isClean: true }), input({ power: 'off' }))).toMatchObject({
      actions: [],
      readyAfterActions: true,
      requeueAfterMs: 5_000,
    });
    expect(planServer(server({ isClean: true }), input({ power: undefined })).requeueAfterMs).toBeUndefined();
  });

  it('an allocated server is never clean; when off it boots from the network once and powers on', () => {
    const p = planServer(server({ isClean: true, machine: 'ns/m' }), input({ power: 'off' }));
    expect(p).toMatchObject({
      inUse: true,
      isClean: false,
      actions: ['pxeBootOnce', 'powerOn'],
      requeueAfterMs: 5_000,
    });
    expect(planServer(server({ machine: 'ns/m' }), input()).actions).toEqual([]);
  });

  it('a free server that needs a wipe records PowerCycle=False InProgress, then netboots and cycles', () => {
    const p = planServer(server(), input());
    expect(p.actions).toEqual(['pxeBootOnce', 'powerCycle']);
    expect(p.intent).toEqual([
      expect.objectContaining({
        type: 'PowerCycle',
        status: 'False',
        reason: 'InProgress',
        severity: 'Info',
        lastTransitionTime: '2026-03-01T12:00:00Z',
      }),
    ]);
    expect(p.requeueAfterMs).toBe(20_000);
    expect(planServer(server(), input({ power: 'off' })).actions).toEqual(['pxeBootOnce', 'powerOn']);
  });

  it('waits for the agent while the wipe is within the reboot timeout, and sends the sequence again after it', () => {
    const pc = (at: number) => [
      { type: 'PowerCycle', status: 'False', reason: 'InProgress', lastTransitionTime: new Date(at).toISOString() },
    ];
    const waiting = planServer(server({ conditions: pc(NOW - 50_000) }), input());
    expect(waiting.actions).toEqual([]);
    expect(waiting.intent).toBeUndefined();
    expect(waiting.requeueAfterMs).toBe(10_001);
    const again = planServer(server({ conditions: pc(NOW - 61_000) }), input());
    expect(again.actions).toEqual(['pxeBootOnce', 'powerCycle']);
    expect(again.intent![0]!.lastTransitionTime).toBe('2026-03-01T12:00:00Z');
    expect(again.intent![0]!.message).toContain('again after the reboot timeout');
  });

  it('without power control it only records the wait; PXEBooted goes once the server is free', () => {
    const p = planServer(
      server({ conditions: [{ type: 'PXEBooted', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] }),
      input({ power: undefined }),
    );
    expect(p.actions).toEqual([]);
    expect(p.conditions.map((c) => c.type)).toEqual(['PowerCycle']);
    expect(p.conditions[0]!.message).toContain('no power control');
  });
});
