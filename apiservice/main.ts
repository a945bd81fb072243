// Entry point: `npm start -- [flags]`.
import { CommanderError, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { parseServerOptions } from './options.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseServerOptions(process.argv.slice(2));
  } catch (e) {
    // commander printed its own parse errors; checks made after parsing throw InvalidArgumentError unprinted
    if (e instanceof CommanderError && !(e instanceof InvalidArgumentError)) process.exit(e.exitCode);
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const log = pino({ level: opts.logLevel });
  let server;
  try {
    server = await startServer(opts, log);
  } catch (e) {
    log.fatal({ err: e }, 'failed to start');
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
