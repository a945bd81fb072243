// npm run fuzz -- [--seed N] [--requests N] [--concurrency N] [--replay-out FILE] [--replay FILE]
// Starts the built server, sends a seeded sequence of hostile requests with N in flight, and exits
// non-zero when the server died, answered an unexpected 5xx, or something stored changed without a
// 2xx write. The replay file (JSONL, every request sent) is written when the run fails.
import { Command, InvalidArgumentError } from 'commander';
import { writeFile } from 'node:fs/promises';
import { counts, readReplay, summary, topMessages, writeReplay } from './report.js';
import { runFuzz } from './run.js';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
};

const program = new Command('fuzz')
  .option('--seed <n>', 'PRNG seed: the same seed sends the same request sequence', int, 1)
  .option('--requests <n>', 'how many requests to send', int, 10_000)
  .option('--concurrency <n>', 'requests in flight', int, 8)
  .option('--watch-ms <n>', 'how long a fuzz watch is read before hanging up', int, 1500)
  .option('--deadline-ms <n>', 'a request (not a watch) unanswered this long is a failure', int, 60_000)
  .option('--settle-ms <n>', 'how long the final check waits for the watches to catch up', int, 30_000)
  .option('--replay-out <file>', 'where the replay file goes when the run fails', 'fuzz-replay.jsonl')
  .option('--keep-replay', 'write the replay file also when the run passes')
  .option('--replay <file>', 'send the requests of a replay file instead of generating them')
  .option('--quiet', 'no progress lines')
  .option('--messages', 'also print the most frequent error messages per verb')
  .option('--counts-out <file>', 'also write the answer counts and failures as JSON');

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{
    seed: number;
    requests: number;
    concurrency: number;
    watchMs: number;
    deadlineMs: number;
    settleMs: number;
    replayOut: string;
    replay?: string;
    quiet?: boolean;
    messages?: boolean;
    countsOut?: string;
    keepReplay?: boolean;
  }>();
  if (o.concurrency < 1) throw new InvalidArgumentError('--concurrency must be at least 1');
  const replay = o.replay ? await readReplay(o.replay) : undefined;
  const started = Date.now();
  const result = await runFuzz({
    seed: o.seed,
    requests: o.requests,
    concurrency: o.concurrency,
    watchMs: o.watchMs,
    deadlineMs: o.deadlineMs,
    settleMs: o.settleMs,
    replay,
    onAnswer: o.quiet
      ? undefined
      : (n) => {
          if (n % 1000 === 0)
            process.stderr.write(`fuzz: ${n} answered (${Math.round((Date.now() - started) / 1000)} s)\n`);
        },
  });
  if (o.messages) process.stdout.write(`most frequent error messages:\n${topMessages(result)}\n`);
  process.stdout.write(`${summary(result, o.seed)}\n`);
  process.stdout.write(`took ${Math.round((Date.now() - started) / 1000)} s\n`);
  if (o.countsOut) await writeFile(o.countsOut, JSON.stringify(counts(result), null, 2));
  if (result.failures.length > 0 || o.keepReplay) {
    await writeReplay(o.replayOut, result);
    process.stdout.write(
      `replay file: ${o.replayOut} (npm run fuzz -- --replay ${o.replayOut}); server errors: ${o.replayOut}.server-errors.log\n`,
    );
  }
  if (result.failures.length > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`fuzz: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 2;
});
