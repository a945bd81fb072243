// Where the server spent its CPU: self time per function and per file from a V8 .cpuprofile
// (written by the server process under `--profile DIR`, i.e. node --cpu-prof).
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** a span of CLOCK_MONOTONIC time in µs: V8 stamps profile samples with it, as process.hrtime reads it */
export interface ProfileWindow {
  name: string;
  startUs: number;
  endUs: number;
}

export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface Hotspot {
  name: string;
  selfMs: number;
  percent: number;
}

export interface Hotspots {
  totalMs: number;
  /** sampled time not idle: percentages are of this */
  busyMs: number;
  /** self time */
  functions: Hotspot[];
  /** self time */
  files: Hotspot[];
  /** time with the function anywhere on the stack, for the project's own code */
  inclusive: Hotspot[];
}

const IDLE = new Set(['(idle)', '(program)']);

function where(url: string): string {
  if (!url) return '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  return path.startsWith('/') ? relative(process.cwd(), path) : path;
}

function frameName(frame: ProfileNode['callFrame']): string {
  return `${frame.functionName || '(anonymous)'} ${where(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
}

export async function readProfile(file: string): Promise<CpuProfile> {
  return JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
}

/** hot spots of the whole profile, or of the samples taken within `window` */
export function hotspots(profile: CpuProfile, top = 25, window?: ProfileWindow): Hotspots {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (window && (t < window.startUs || t > window.endUs)) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let busy = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    if (IDLE.has(frame.functionName)) continue;
    busy += us;
    const fn = frameName(frame);
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    const f = frame.url ? where(frame.url) : frame.functionName; // (garbage collector), native
    files.set(f, (files.get(f) ?? 0) + us);
    // every distinct function of the project's own code on this stack
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const fr = byId.get(at)!.callFrame;
      if (!fr.url.includes('/dist/') || fr.url.includes('/node_modules/')) continue;
      const name = frameName(fr);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const rank = (m: Map<string, number>): Hotspot[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, percent: (100 * us) / busy }));
  return { totalMs: total / 1000, busyMs: busy / 1000, functions: rank(fns), files: rank(files), inclusive: rank(inclusive) };
}

export function formatHotspots(h: Hotspots): string {
  const line = (x: Hotspot) => `  ${x.percent.toFixed(1).padStart(5)}%  ${x.selfMs.toFixed(0).padStart(7)} ms  ${x.name}`;
  return [
    `${h.busyMs.toFixed(0)} ms busy of ${h.totalMs.toFixed(0)} ms sampled; percentages are of busy time`,
    'self time by function:',
    ...h.functions.map(line),
    'self time by file:',
    ...h.files.map(line),
    'total time (self + callees) of the project\'s own functions:',
    ...h.inclusive.map(line),
  ].join('\n');
}
