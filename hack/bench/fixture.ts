// What the measures share: the server client, the raw etcd client, and the objects written so far
// on each side (names with their latest resourceVersion / mod revision), so a measure run alone
// (--only) first writes, unmeasured, the objects it needs.
import { makeObject, objectName, RAW_KEY_PREFIX, resourceVersionOf, RESOURCE_PATH, storedForm } from './objects.js';
import type { CpuMeter, CpuSample } from './cpu.js';
import { monotonicUs, type ProfileWindow } from './hotspots.js';
import { runPool, type RunResult } from './measure.js';
import type { RawEtcd } from './rawetcd.js';
import type { BenchClient } from './server.js';

export const OBJECT_GROUP = 'bench';

export type Timed = RunResult & { cpuMs: CpuSample };

export class Fixture {
  /** resourceVersion of each server object bench-<i>, by index */
  readonly serverRV: string[] = [];
  /** mod revision of each raw key, by index */
  readonly rawRev: number[] = [];
  /** both sides have served a warm-up round */
  warmed = false;
  /** when the server was measured, by what: the spans a CPU profile is cut into */
  readonly windows: ProfileWindow[] = [];

  constructor(
    readonly client: BenchClient,
    readonly raw: RawEtcd,
    readonly concurrency: number,
    readonly objectBytes: number,
    readonly cpu: CpuMeter,
  ) {}

  /** runPool, with the CPU time each process spent; `window` names a span of server work */
  timed(n: number, concurrency: number, op: (i: number) => Promise<unknown>, window?: string): Promise<Timed> {
    const run = () => this.cpu.measure(() => runPool(n, concurrency, op));
    return window ? this.window(window, run) : run();
  }

  /** runs fn, remembering when, so a server CPU profile can be cut to it */
  async window<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const startUs = monotonicUs();
    try {
      return await fn();
    } finally {
      this.windows.push({ name, startUs, endUs: monotonicUs() });
    }
  }

  name(i: number): string {
    return objectName(OBJECT_GROUP, i);
  }

  rawKey(i: number): string {
    return `${RAW_KEY_PREFIX}put/${this.name(i)}`;
  }

  /** request bodies for server creates of objects [from, to), made before any timing starts */
  createBodies(from: number, to: number): string[] {
    const out: string[] = [];
    for (let i = from; i < to; i++) out.push(JSON.stringify(makeObject(this.name(i), this.objectBytes)));
    return out;
  }

  rawValues(from: number, to: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = from; i < to; i++) out.push(storedForm(makeObject(this.name(i), this.objectBytes)));
    return out;
  }

  async serverCreate(i: number, body: string): Promise<void> {
    this.serverRV[i] = resourceVersionOf(await this.client.expect(201, 'POST', RESOURCE_PATH, body));
  }

  async rawPut(i: number, value: Buffer): Promise<void> {
    this.rawRev[i] = await this.raw.put(this.rawKey(i), value);
  }

  /** makes sure server objects 0..count-1 exist (creating the missing ones, unmeasured) */
  async ensureServer(count: number): Promise<void> {
    const from = this.serverRV.length;
    if (from >= count) return;
    const bodies = this.createBodies(from, count);
    await runPool(count - from, this.concurrency, (k) => this.serverCreate(from + k, bodies[k]!));
  }

  async ensureRaw(count: number): Promise<void> {
    const from = this.rawRev.length;
    if (from >= count) return;
    const values = this.rawValues(from, count);
    await runPool(count - from, this.concurrency, (k) => this.rawPut(from + k, values[k]!));
  }
}

/** a fixed permutation of 0..n-1 so reads do not walk the keys in order */
export function scattered(i: number, n: number): number {
  return (i * 7919) % n;
}
