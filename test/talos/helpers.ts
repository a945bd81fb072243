// Shared by the Talos tests: an in-process simulator per suite, clients for it, and bounded polling.
import { expect } from 'vitest';
import type { SimNode } from '../../hack/talos-sim/node.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../hack/talos-sim/simulator.js';
import { TalosClient, type TalosClientOptions } from '../../src/talos/client.js';
import type { StatusError } from '../../src/machinery/errors.js';
import { nodeFailureStatus } from '../../src/subresources/failures.js';
import { TalosError, type TalosFailure } from '../../src/talos/errors.js';
import { nodeTlsKey } from '../../src/talos/talosconfig.js';

export type { Simulator };

export async function simulator(opts: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  return startSimulator({ nodes: 3, controlPlanes: 1, rebootSeconds: 0.5, ...opts });
}

/** A client for the named node, with the simulator's admin talosconfig unless overridden. */
export function clientFor(sim: Simulator, name: string, overrides: Partial<TalosClientOptions> = {}): TalosClient {
  const ctx = sim.talosconfig.contexts[sim.talosconfig.context];
  if (!ctx) throw new Error('simulator talosconfig has no active context');
  return new TalosClient({
    endpoint: sim.node(name).endpoint,
    ca: ctx.ca,
    crt: ctx.crt,
    key: ctx.key,
    timeoutMs: 5_000,
    ...overrides,
  });
}

/** A client presenting a freshly issued certificate with these roles and EKUs. */
export async function clientWithCert(
  sim: Simulator,
  name: string,
  roles: string[],
  eku?: ('serverAuth' | 'clientAuth')[],
): Promise<TalosClient> {
  const pair = await sim.issueClientCert(roles, eku);
  return clientFor(sim, name, { crt: pair.certPem, key: nodeTlsKey(pair.keyPem) });
}

export function controlPlane(sim: Simulator): string {
  const cp = sim.nodes().find((n) => n.role === 'controlplane');
  if (!cp) throw new Error('no control plane');
  return cp.name;
}

export function worker(sim: Simulator): string {
  const w = sim.nodes().find((n) => n.role === 'worker');
  if (!w) throw new Error('no worker');
  return w.name;
}

/** The TalosError a promise rejects with (fails the test if it resolves or throws something else). */
export async function failureOf(p: Promise<unknown>): Promise<TalosError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TalosError);
    return e as TalosError;
  }
  throw new Error('expected the call to fail');
}

/**
 * Expects the call to fail with this Talos failure reason, and the live subresources to answer it
 * with this HTTP code; returns the Status error they answer with (same message, the reason in causes).
 */
export async function expectFailure(p: Promise<unknown>, failure: TalosFailure, code: number): Promise<StatusError> {
  const e = await failureOf(p);
  const answer = nodeFailureStatus(e);
  expect({ failure: e.failure, code: answer?.code, message: answer?.message }).toMatchObject({
    failure,
    code,
    message: e.message,
  });
  expect(answer!.toStatus().details?.causes?.[0]?.reason).toBe(failure);
  return answer!;
}

/** Polls `probe` until it returns a value other than undefined, at most `timeoutMs`. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Collects an async iterable; on failure returns what arrived and the error. */
export async function drain<T>(it: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const x of it) items.push(x);
    return { items, error: undefined };
  } catch (error) {
    return { items, error };
  }
}

/**
 * Resolves once `ok()` holds for the simulated node, checked on each of its changes and listener
 * events (no timer polling); fails after `timeoutMs`.
 */
export function nodeUntil(node: SimNode, what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const events = ['change', 'listening', 'closed'] as const;
    const done = (error?: Error) => {
      clearTimeout(timer);
      for (const e of events) node.off(e, check);
      if (error) reject(error);
      else resolve();
    };
    const check = () => {
      if (ok()) done();
    };
    const timer = setTimeout(
      () => done(new Error(`timed out after ${timeoutMs} ms waiting for ${node.id}: ${what}`)),
      timeoutMs,
    );
    for (const e of events) node.on(e, check);
    check();
  });
}
