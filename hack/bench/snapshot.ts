// The embedded store's write stall while it writes a snapshot. In-process, no server: a store is
// filled with `keys` values of `valueBytes` (192 x 100 KiB is the ~20 MB of live state that used
// to stop writes for seconds), then `concurrency` writers update them until a snapshot of all of
// it has been written, and `writesAfter` more. Figures: the longest gap between two acknowledged
// writes while the snapshot was being written, the same without one (each write waits for an
// fsync), and how long the snapshot took.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openEmbeddedStore } from '../../src/storage/embedded/store.js';
import type { KeyValue } from '../../src/storage/storage.js';
import { runPool } from './measure.js';
import type { MeasureResult } from './report.js';

export interface SnapshotConfig {
  keys: number;
  valueBytes: number;
  concurrency: number;
  writesAfter: number;
}

const key = (i: number): string => `/registry/bench.snapshot/things/default/obj-${String(i).padStart(6, '0')}`;

function value(i: number, generation: number, bytes: number): Buffer {
  const buf = Buffer.alloc(bytes, (i + generation) & 0xff);
  buf.writeUInt32LE(generation, 0);
  return buf;
}

/** the longest gap between consecutive times, counting only gaps that end in [from, to] */
function longestGap(times: number[], from: number, to: number): number {
  let longest = 0;
  for (let i = 1; i < times.length; i++) {
    if (times[i]! >= from && times[i]! <= to) longest = Math.max(longest, times[i]! - times[i - 1]!);
  }
  return longest;
}

export async function benchSnapshot(cfg: SnapshotConfig): Promise<MeasureResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tfa-bench-snapshot-'));
  const live = cfg.keys * cfg.valueBytes;
  let started = -1;
  let finished = -1;
  let snapshotBytes = 0;
  // the fill stays under the threshold: the first snapshot comes during the updates, of everything
  const store = await openEmbeddedStore(dir, {
    snapshotThresholdBytes: Math.ceil(live * 1.5),
    maxHistoryBytes: live,
    compactionIntervalMs: 0,
    onSnapshot: {
      started: () => (started = started < 0 ? performance.now() : started),
      finished: (s) => {
        if (finished >= 0) return;
        finished = performance.now();
        snapshotBytes = s.bytes;
      },
    },
  });
  try {
    const kvs: KeyValue[] = new Array(cfg.keys);
    await runPool(cfg.keys, cfg.concurrency, async (i) => (kvs[i] = await store.create(key(i), value(i, 0, cfg.valueBytes))));
    const acks: number[] = [];
    let afterSnapshot = 0;
    // bounded: a snapshot is due after half the keys were rewritten; stop at 20 rounds regardless
    const limit = cfg.keys * 20;
    const writer = async (w: number): Promise<void> => {
      for (let round = 1; finished < 0 || afterSnapshot < cfg.writesAfter; round++) {
        for (let i = w; i < cfg.keys; i += cfg.concurrency) {
          if (acks.length >= limit) return;
          kvs[i] = await store.update(key(i), value(i, round, cfg.valueBytes), kvs[i]!.modRevision);
          acks.push(performance.now());
          if (finished >= 0) afterSnapshot++;
        }
      }
    };
    await Promise.all(Array.from({ length: cfg.concurrency }, (_, w) => writer(w)));
    if (finished < 0) throw new Error(`no snapshot was written in ${acks.length} writes`);
    const during = acks.filter((t) => t >= started && t <= finished).length;
    const before = acks.filter((t) => t < started);
    const stall = longestGap(acks, started, finished);
    const baseline = longestGap(acks, acks[0]!, started);
    const durationMs = finished - started;
    return {
      name: 'snapshot',
      rows: [
        { id: 'snapshot.stallMs', label: `embedded store: longest write gap during a snapshot of ${Math.round(live / 1e6)} MB`, unit: 'ms', server: stall },
        { id: 'snapshot.baselineGapMs', label: 'embedded store: longest write gap without a snapshot', unit: 'ms', server: baseline },
        { id: 'snapshot.durationMs', label: 'embedded store: snapshot written in', unit: 'ms', server: durationMs },
      ],
      details: {
        ...cfg,
        liveBytes: live,
        snapshotBytes,
        writesDuringSnapshot: during,
        writesPerSecDuringSnapshot: durationMs > 0 ? (during / durationMs) * 1000 : null,
        writesPerSecBefore: before.length > 1 ? ((before.length - 1) / (before[before.length - 1]! - before[0]!)) * 1000 : null,
      },
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
