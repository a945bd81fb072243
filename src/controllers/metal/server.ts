// The Server controller (`server` in --controllers): Sidero's server state machine (serverpower.ts)
// driven through the PowerControl interface, status.inUse from the binding annotation, and the
// finalizer storage.finalizers.server.k8s.io, which holds a deleted Server while it is allocated
// (condition DeletionHeld and a Warning Event say so) and lets a free one go. Power failures are
// the condition PowerControl=False (reason: the PowerError's failure) and a Warning Event, and are
// retried with the runtime's backoff. Status writes carry the resourceVersion read, so a write of
// the boot agent in between is never overwritten (the 409 is retried).
import {
  SERVER_FINALIZER,
  SERVER_MACHINE_ANNOTATION,
  serverKind,
  type Server,
  type ServerStatus,
} from '../../api/server.js';
import type { EventRecorder } from '../../events/recorder.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext } from '../../machinery/registry/context.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { PowerError, type PowerControl, type PowerState } from '../../power/power.js';
import { conditionOf, setCondition, type Condition } from '../conditions.js';
import type { ControllerSpec, ReconcileResult } from '../runtime/controller.js';
import { registryListWatch } from '../runtime/registrylistwatch.js';
import { isAllocated } from './qualifiers.js';
import { planServer } from './serverpower.js';

/** the server's power control, or undefined when it has none (no BMC, no management API) */
export type PowerFactory = (server: Server) => PowerControl | undefined | Promise<PowerControl | undefined>;

/** no server has power control: each reports `on`, as Sidero's servers without a BMC do */
export const noPowerControl: PowerFactory = () => undefined;

export interface ServerControllerOptions {
  registry: APIRegistry;
  events: EventRecorder;
  power: PowerFactory;
  /** how long a wipe may take before the power sequence is sent again (--server-reboot-timeout) */
  rebootTimeoutMs: number;
  /** how often an accepted server's power is looked at (--server-power-poll-interval) */
  powerPollMs: number;
}

const isNotFound = (e: unknown) => e instanceof StatusError && e.code === 404;

/** what calls for a look: spec, allocation, finalizers, deletion, and the agent's isClean */
const stampOf = (s: KubeObject) =>
  JSON.stringify([
    s.metadata.generation,
    s.metadata.deletionTimestamp,
    s.metadata.finalizers,
    s.metadata.annotations?.[SERVER_MACHINE_ANNOTATION],
    (s.status as ServerStatus | undefined)?.isClean,
  ]);

export function serverController(o: ServerControllerOptions): ControllerSpec {
  const store = o.registry.storeOf(serverKind);
  if (!store) throw new Error('the servers kind is not registered');
  const r = new ServerReconciler(store, o);
  return {
    name: 'server',
    workers: 4,
    setup(ctx) {
      ctx.inform(registryListWatch(store), { resyncMs: 0 }).addEventHandler({
        add: (s) => ctx.queue.add(s.metadata.name!),
        update: (old, cur) => {
          if (stampOf(old) !== stampOf(cur)) ctx.queue.add(cur.metadata.name!);
        },
      });
    },
    reconcile: (name) => r.reconcile(name),
  };
}

class ServerReconciler {
  constructor(
    private readonly store: ResourceStore,
    private readonly o: ServerControllerOptions,
  ) {}

  async reconcile(name: string): Promise<ReconcileResult | void> {
    let server: Server;
    try {
      server = (await this.store.get(undefined, name)) as Server;
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    const finalizers = server.metadata.finalizers ?? [];
    if (server.metadata.deletionTimestamp) {
      if (finalizers.includes(SERVER_FINALIZER)) await this.finishDeletion(server);
      return;
    }
    if (!finalizers.includes(SERVER_FINALIZER))
      server = await this.setFinalizers(server, [...finalizers, SERVER_FINALIZER]);

    let failure: PowerError | undefined;
    const fail = (e: unknown) => {
      if (!(e instanceof PowerError)) throw e;
      failure ??= e;
    };
    const control = await Promise.resolve(this.o.power(server)).catch((e: unknown) => (fail(e), undefined));
    const readState = async (): Promise<PowerState | undefined> =>
      control ? control.state().catch((e: unknown) => (fail(e), 'unknown' as const)) : undefined;
    const plan = planServer(server, {
      power: failure ? 'unknown' : await readState(),
      now: Date.now(),
      rebootTimeoutMs: this.o.rebootTimeoutMs,
      powerPollMs: this.o.powerPollMs,
    });
    if (plan.intent) {
      // recorded before anything is sent, so a retry after a crash or a 409 does not send it twice
      server = await this.writeStatus(server, { conditions: plan.intent });
    }
    for (const action of failure ? [] : plan.actions) {
      try {
        await control![action]();
        await this.o.events.record(server, 'Normal', ACTION_REASON[action], ACTION_MESSAGE[action]);
      } catch (e) {
        fail(e);
        break;
      }
    }
    const power = failure ? 'unknown' : control ? await readState() : 'on';
    let conditions = plan.conditions;
    if (control || failure) {
      const update = failure
        ? {
            type: 'PowerControl',
            status: 'False' as const,
            reason: failure.failure,
            severity: 'Warning' as const,
            message: failure.message,
          }
        : { type: 'PowerControl', status: 'True' as const, reason: 'Available', message: 'the power control answers' };
      conditions = setCondition(conditions, update).conditions;
    } else conditions = conditions.filter((c) => c.type !== 'PowerControl');
    conditions = conditions.filter((c) => c.type !== 'DeletionHeld');
    const next: ServerStatus = {
      ready: plan.readyAfterActions && !failure,
      inUse: plan.inUse,
      isClean: plan.isClean,
      power: failure ? 'unknown' : (power ?? 'on'),
      conditions,
    };
    if (failure) await this.o.events.record(server, 'Warning', 'PowerFailed', failure.message);
    if (statusDiffers(server.status as ServerStatus | undefined, next)) await this.writeStatus(server, next);
    if (failure) return { requeue: true };
    return plan.requeueAfterMs === undefined ? undefined : { requeueAfterMs: plan.requeueAfterMs };
  }

  private async finishDeletion(server: Server): Promise<void> {
    if (!isAllocated(server)) {
      await this.setFinalizers(
        server,
        (server.metadata.finalizers ?? []).filter((f) => f !== SERVER_FINALIZER),
      );
      return;
    }
    const machine = server.metadata.annotations![SERVER_MACHINE_ANNOTATION]!;
    const message = `the server is allocated to machine ${machine}; it is deleted once that binding (annotation ${SERVER_MACHINE_ANNOTATION}) is removed`;
    const conditions = (server.status as ServerStatus | undefined)?.conditions as Condition[] | undefined;
    if (conditionOf(conditions, 'DeletionHeld')?.status === 'True') return;
    const next = setCondition(conditions ?? [], {
      type: 'DeletionHeld',
      status: 'True',
      reason: 'Allocated',
      message,
    }).conditions;
    const written = await this.writeStatus(server, { conditions: next, inUse: true });
    await this.o.events.record(written, 'Warning', 'DeletionHeld', message);
  }

  private async setFinalizers(server: Server, finalizers: string[]): Promise<Server> {
    // pinned to the version read, so a concurrent change of the list is not overwritten
    const patch = { metadata: { finalizers, resourceVersion: server.metadata.resourceVersion } };
    return (await this.store.patch(undefined, server.metadata.name!, 'merge', patch, systemContext())) as Server;
  }

  private async writeStatus(server: Server, status: Partial<ServerStatus>): Promise<Server> {
    const patch = { metadata: { resourceVersion: server.metadata.resourceVersion }, status };
    return (await this.store.patch(
      undefined,
      server.metadata.name!,
      'merge',
      patch,
      systemContext(),
      'status',
    )) as Server;
  }
}

const ACTION_REASON = {
  powerOn: 'PoweredOn',
  powerOff: 'PoweredOff',
  powerCycle: 'PowerCycled',
  pxeBootOnce: 'PXEBootOnce',
} as const;

const ACTION_MESSAGE = {
  powerOn: 'powered on',
  powerOff: 'powered off: clean and waiting for an allocation',
  powerCycle: 'power cycled to boot from the network and wipe the disks',
  pxeBootOnce: 'the next boot goes to the network',
} as const;

function statusDiffers(cur: ServerStatus | undefined, next: ServerStatus): boolean {
  const c = cur ?? {};
  return (Object.keys(next) as (keyof ServerStatus)[]).some((k) => JSON.stringify(c[k]) !== JSON.stringify(next[k]));
}
