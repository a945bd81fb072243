// A controller on the runtime: informers feed keys into a work queue, workers take them one at a
// time per key and call reconcile. A failure is retried after the key's backoff and logged once
// per backoff step (failures that happen while a retry is already pending, because an event
// brought the key back sooner, are counted into the next line instead); success forgets the
// key's failures. Workers start once every informer has listed its resource, so no decision is
// made on a partial picture.
import type { Logger } from 'pino';
import { failureFields, isNetworkFailure } from './failures.js';
import { Informer, type InformerOptions } from './informer.js';
import type { ListWatch } from './listwatch.js';
import type { QueueMetricsProvider } from './metrics.js';
import { controllerRateLimiter } from './ratelimiter.js';
import type { RuntimeSettings } from './settings.js';
import { WorkQueue } from './workqueue.js';

export interface ReconcileResult {
  /** look at the key again after this long (its failures are forgotten: this is not one) */
  requeueAfterMs?: number;
  /** not done, and nothing failed (waiting for something no event announces): look again after the key's backoff, quietly */
  requeue?: boolean;
}

export interface ControllerContext {
  queue: WorkQueue;
  /** an informer with the runtime's settings, started and stopped with the controller */
  inform(source: ListWatch, opts?: Partial<Pick<InformerOptions, 'resyncMs' | 'indexers' | 'transform'>>): Informer;
  log: Logger;
}

export interface ControllerSpec {
  /** as in --controllers; the `name` label of its workqueue metrics */
  name: string;
  workers: number;
  /** creates the informers and registers the handlers that add keys to the queue */
  setup(ctx: ControllerContext): void;
  reconcile(key: string): Promise<ReconcileResult | void>;
  /** failures this controller expects while something it talks to is away (logged without a stack) */
  isExpectedFailure?(err: unknown): boolean;
}

export interface RuntimeDeps {
  settings: RuntimeSettings;
  metrics: QueueMetricsProvider;
  log: Logger;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly informers: Informer[] = [];
  private readonly log: Logger;
  /** keys failing since their last success -> failures not logged since the last line */
  private readonly failing = new Map<string, number>();
  private state: 'new' | 'running' | 'stopped' = 'new';
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly spec: ControllerSpec,
    deps: RuntimeDeps,
  ) {
    this.log = deps.log.child({ controller: spec.name });
    this.queue = new WorkQueue(spec.name, controllerRateLimiter(deps.settings), deps.metrics.forQueue(spec.name));
    const s = deps.settings;
    spec.setup({
      queue: this.queue,
      log: this.log,
      inform: (source, o = {}) => {
        const informer = new Informer({
          source,
          resyncMs: s.resyncMs,
          relistBaseMs: s.relistBaseMs,
          relistMaxMs: s.relistMaxMs,
          log: this.log,
          ...o,
        });
        this.informers.push(informer);
        return informer;
      },
    });
  }

  get name(): string {
    return this.spec.name;
  }

  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    for (const i of this.informers) i.start();
    this.running = this.run();
  }

  /** stops the informers and the queue; resolves once the reconciles in flight are done */
  async stop(): Promise<void> {
    this.state = 'stopped';
    for (const i of this.informers) i.stop();
    await this.queue.shutDown();
    await this.running;
  }

  private async run(): Promise<void> {
    const synced = await Promise.all(this.informers.map((i) => i.whenSynced()));
    if (this.state !== 'running' || !synced.every(Boolean)) return;
    this.log.debug({ workers: this.spec.workers }, 'informers synced; starting workers');
    await Promise.all(Array.from({ length: this.spec.workers }, () => this.worker()));
  }

  private async worker(): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      try {
        await this.process(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    let result: ReconcileResult;
    try {
      result = (await this.spec.reconcile(key)) ?? {};
    } catch (err) {
      this.failed(key, err);
      return;
    }
    if (this.failing.delete(key)) this.log.info({ key }, 'reconcile succeeded after failures');
    if (result.requeue) {
      this.queue.addRateLimited(key);
      return;
    }
    this.queue.forget(key);
    if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
  }

  private failed(key: string, err: unknown): void {
    // a retry of an earlier failure still pending: this run came from an event, inside the step
    const inStep = this.failing.has(key) && this.queue.isWaiting(key);
    const retryInMs = this.queue.addRateLimited(key);
    if (inStep) {
      this.failing.set(key, this.failing.get(key)! + 1);
      return;
    }
    const suppressed = this.failing.get(key) ?? 0;
    this.failing.set(key, 0);
    const expected = isNetworkFailure(err) || !!this.spec.isExpectedFailure?.(err);
    const fields = { key, ...failureFields(err, expected), ...(suppressed ? { suppressed } : {}) };
    if (this.queue.isShuttingDown) this.log.info(fields, 'reconcile failed while stopping');
    else this.log.warn({ ...fields, attempt: this.queue.numRequeues(key), retryInMs }, 'reconcile failed; retrying');
  }
}
