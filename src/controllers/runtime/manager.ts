// Runs the controllers while this replica holds the leadership: each term builds them afresh
// (new queues and informers, nothing carried over from a term that ended), and the term's end
// stops them and waits for the reconciles in flight.
import type { Logger } from 'pino';
import type { LeaderWork } from '../leader.js';
import type { Controller } from './controller.js';

export function controllerManager(build: () => Controller[], log: Logger): LeaderWork {
  return async () => {
    const controllers = build();
    for (const c of controllers) c.start();
    log.info({ controllers: controllers.map((c) => c.name) }, 'controllers started');
    return async () => {
      await Promise.all(controllers.map((c) => c.stop()));
      log.info({ controllers: controllers.map((c) => c.name) }, 'controllers stopped');
    };
  };
}
