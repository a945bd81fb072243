// The Server allocator (`serverallocator` in --controllers): the machine provider of Machines
// that name a ServerClass (annotation metal.sidero.dev/serverclass, set from their cluster's pool).
//
// Allocation: a Machine without a Server tries the eligible Servers of its class by name. For each,
// it first names the Server on the Machine (annotation metal.sidero.dev/server): that write has its
// config generated with the Server's patches, and is refused when they do not apply (the next
// Server is tried), so a Server is never bound to a Machine whose config lacks its patches. Then it
// claims the Server by writing the binding annotation metal.sidero.dev/machine pinned to the
// Server's resourceVersion: a 409 means another Machine (or anyone) changed it first, and the next
// is tried; two Machines never get one Server. The binding on the Server is the truth: a restart
// finds it there. A bound Machine reports the Server in its status as a provider would (phase,
// publicIPAddresses from the Server's InternalIP addresses, providerID sidero://<server>) and the
// condition ServerAllocated; no Server: ServerAllocated=False, an Event, and another try whenever
// a Server or ServerClass changes. A bound Machine's config is generated again when its Server's or
// class's spec changes (ServerConfigPatched says whether their patches applied).
//
// What a bound Machine reports and keeps is boundmachine.ts.
//
// Release (serverrelease.ts): the finalizer metal.sidero.dev/server-release, added before any
// claim, holds a deleted Machine until its node has left and its Server is marked not clean and
// unbound. The Server controller then wipes it through the agent; only the agent's report of a
// wipe makes it clean again, so a server whose reset or wipe failed is never offered again.
import { machineKind, type MachineStatus } from '../../api/machine.js';
import {
  MACHINE_CONFIG_ERROR_ANNOTATION,
  MACHINE_SERVER_ANNOTATION,
  MACHINE_SERVERCLASS_ANNOTATION,
  SERVER_MACHINE_ANNOTATION,
  SERVER_RELEASE_FINALIZER,
  serverKind,
  type Server,
} from '../../api/server.js';
import { serverClassKind, type ServerClassSpec } from '../../api/serverclass.js';
import type { EventRecorder } from '../../events/recorder.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext, type RequestContext } from '../../machinery/registry/context.js';
import { listObjects } from '../../machinery/registry/list.js';
import { parseSelection } from '../../machinery/registry/selection.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { MACHINECONFIG_SECRET_ANNOTATION } from '../../machineconfig/fromcluster.js';
import { conditionOf, type Condition, type ConditionUpdate } from '../conditions.js';
import type { ControllerSpec, ReconcileResult } from '../runtime/controller.js';
import type { Informer } from '../runtime/informer.js';
import { splitKey } from '../runtime/listwatch.js';
import { registryListWatch } from '../runtime/registrylistwatch.js';
import { eligibleServers, machineKey, serversBoundTo } from './eligibility.js';
import {
  annotateMachine,
  annotation,
  installed,
  notAllocated,
  conditionsOf,
  reportBound,
  SERVER_ALLOCATED,
  writeStatus,
  type AllocatorDeps,
} from './boundmachine.js';
import { hasFinalizer, ignore, is, releaseServers, setFinalizers, without } from './serverrelease.js';

export const ALLOCATOR_FIELD_MANAGER = 'server-allocator';

export interface ServerAllocatorOptions {
  registry: APIRegistry;
  events: EventRecorder;
}

/** what calls for a look at a Machine: its class, server, config error, finalizers, deletion; not its status */
const stampOf = (m: KubeObject) =>
  JSON.stringify([
    annotation(m, MACHINE_SERVERCLASS_ANNOTATION),
    annotation(m, MACHINE_SERVER_ANNOTATION),
    annotation(m, MACHINE_CONFIG_ERROR_ANNOTATION),
    annotation(m, MACHINECONFIG_SECRET_ANNOTATION),
    m.metadata.finalizers,
    m.metadata.deletionTimestamp,
    installed(m),
  ]);

const concerns = (m: KubeObject) =>
  annotation(m, MACHINE_SERVERCLASS_ANNOTATION) !== undefined ||
  annotation(m, MACHINE_SERVER_ANNOTATION) !== undefined ||
  hasFinalizer(m, SERVER_RELEASE_FINALIZER);

function storeOf(registry: APIRegistry, kind: typeof machineKind): ResourceStore {
  const store = registry.storeOf(kind);
  if (!store) throw new Error(`the ${kind.plural} kind is not registered`);
  return store;
}

export function serverAllocatorController(o: ServerAllocatorOptions): ControllerSpec {
  const a = new Allocator(o);
  let machineInformer: Informer | undefined;
  return {
    name: 'serverallocator',
    workers: 4,
    setup(ctx) {
      const key = (m: KubeObject) => machineKey(m.metadata.namespace!, m.metadata.name!);
      machineInformer = ctx.inform(registryListWatch(a.machines), { resyncMs: 0 });
      machineInformer.addEventHandler({
        add: (m) => concerns(m) && ctx.queue.add(key(m)),
        update: (old, cur) => {
          if (concerns(cur) && stampOf(old) !== stampOf(cur)) ctx.queue.add(key(cur));
        },
      });
      /** Machines still without a Server */
      const waiting = () => {
        for (const m of machineInformer!.store.list()) {
          if (!annotation(m, MACHINE_SERVERCLASS_ANNOTATION) || m.metadata.deletionTimestamp) continue;
          const allocated = conditionOf(
            (m.status as MachineStatus | undefined)?.conditions as Condition[],
            SERVER_ALLOCATED,
          );
          if (allocated?.status !== 'True') ctx.queue.add(key(m));
        }
      };
      const serverChanged = (...servers: KubeObject[]) => {
        for (const s of servers) {
          const bound = annotation(s, SERVER_MACHINE_ANNOTATION);
          if (bound) ctx.queue.add(bound);
        }
        waiting();
      };
      ctx.inform(registryListWatch(a.servers), { resyncMs: 0 }).addEventHandler({
        add: (s) => serverChanged(s),
        update: (old, cur) => serverChanged(old, cur),
        delete: (s) => serverChanged(s),
      });
      /** every Machine of the class: waiting ones may get a Server, bound ones new patches */
      const ofClass = (c: KubeObject) => {
        for (const m of machineInformer!.store.list())
          if (annotation(m, MACHINE_SERVERCLASS_ANNOTATION) === c.metadata.name) ctx.queue.add(key(m));
      };
      ctx.inform(registryListWatch(a.classes), { resyncMs: 0 }).addEventHandler({
        add: ofClass,
        update: (_old, c) => ofClass(c),
        delete: ofClass,
      });
    },
    reconcile: (key) => a.reconcile(key),
  };
}

class Allocator {
  readonly machines: ResourceStore;
  readonly servers: ResourceStore;
  readonly classes: ResourceStore;
  private readonly ctx = (): RequestContext => ({ ...systemContext(), fieldManager: ALLOCATOR_FIELD_MANAGER });
  private readonly deps: AllocatorDeps;

  constructor(private readonly o: ServerAllocatorOptions) {
    this.machines = storeOf(o.registry, machineKind);
    this.servers = storeOf(o.registry, serverKind);
    this.classes = storeOf(o.registry, serverClassKind);
    this.deps = {
      machines: this.machines,
      servers: this.servers,
      classes: this.classes,
      events: o.events,
      ctx: this.ctx,
    };
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    let machine = await this.machines.get(namespace, name).catch((e: unknown) => {
      if (is(e, 404)) return undefined;
      throw e;
    });
    if (!machine) return;
    // read from the store, not a cache: a claim decided on a stale picture would only meet a 409
    const servers = (await listObjects(this.servers, undefined, { selection: parseSelection(this.servers.kind) }))
      .items as Server[];
    const bound = serversBoundTo(servers, key);
    if (machine.metadata.deletionTimestamp) return releaseServers(this.deps, machine, bound);
    const className = annotation(machine, MACHINE_SERVERCLASS_ANNOTATION);
    if (!className && !bound.length) {
      // no class (any more) and nothing bound: nothing to hold the Machine's deletion for
      if (hasFinalizer(machine, SERVER_RELEASE_FINALIZER))
        await setFinalizers(this.machines, this.ctx(), machine, without(machine, SERVER_RELEASE_FINALIZER)).catch(
          ignore(404, 409),
        );
      return;
    }
    // the finalizer before any claim, so the Machine cannot go without releasing what it gets
    if (!hasFinalizer(machine, SERVER_RELEASE_FINALIZER)) {
      const next = [...(machine.metadata.finalizers ?? []), SERVER_RELEASE_FINALIZER];
      machine = await setFinalizers(this.machines, this.ctx(), machine, next).catch(ignore(404, 409));
      if (!machine) return { requeue: true };
    }
    if (bound.length) return reportBound(this.deps, machine, bound[0]!);
    if (!annotation(machine, MACHINECONFIG_SECRET_ANNOTATION)) {
      // a Server's patches are checked on the config they go into: no server is powered on for
      // a Machine that has no config yet (its write brings it back)
      await writeStatus(this.deps, machine, { phase: 'Pending' }, [
        notAllocated('WaitingForConfig', 'the machine has no generated config yet'),
      ]);
      return;
    }
    return this.allocate(machine, className!, servers);
  }

  private async allocate(machine: KubeObject, className: string, servers: Server[]): Promise<ReconcileResult | void> {
    const key = machineKey(machine.metadata.namespace!, machine.metadata.name!);
    const cls = await this.classes.get(undefined, className).catch(ignore(404));
    const refused: string[] = [];
    let raced = false;
    for (const candidate of cls ? eligibleServers(cls.spec as ServerClassSpec | undefined, servers) : []) {
      const serverName = candidate.metadata.name!;
      if (annotation(machine, MACHINE_SERVER_ANNOTATION) !== serverName) {
        // the config with this Server's patches first; refused when they do not apply
        const named = await annotateMachine(this.deps, machine, serverName).catch((e: unknown) => {
          if (!is(e, 400, 422)) throw e;
          refused.push(`${serverName}: ${(e as StatusError).message}`);
          return undefined;
        });
        if (!named) continue;
        machine = named;
      }
      const patch = {
        metadata: {
          resourceVersion: candidate.metadata.resourceVersion,
          annotations: { [SERVER_MACHINE_ANNOTATION]: key },
        },
      };
      const claimed = await this.servers
        .patch(undefined, serverName, 'merge', patch, this.ctx())
        .catch(ignore(404, 409));
      if (!claimed) {
        raced = true;
        continue;
      }
      const message = `bound to server ${serverName} of ServerClass ${className}`;
      await this.o.events.record(machine, 'Normal', 'ServerAllocated', message);
      await this.o.events.record(claimed, 'Normal', 'Allocated', `allocated to machine ${key}`);
      return reportBound(this.deps, machine, claimed as Server);
    }
    // nothing bound: the Machine's config goes back to having no Server's patches
    if (annotation(machine, MACHINE_SERVER_ANNOTATION) !== undefined) {
      machine = (await annotateMachine(this.deps, machine, null).catch(ignore(404))) ?? machine;
    }
    const update: ConditionUpdate = !cls
      ? notAllocated('ServerClassNotFound', `ServerClass ${className} does not exist`)
      : refused.length
        ? notAllocated(
            'ConfigPatchFailed',
            `no server of ServerClass ${className} takes the machine's config: ${refused.join('; ')}`,
          )
        : notAllocated(
            'NoServerAvailable',
            `ServerClass ${className} has no accepted, clean, uncordoned server that is not in use; waiting for one`,
          );
    const previous = conditionOf(conditionsOf(machine), SERVER_ALLOCATED);
    await writeStatus(this.deps, machine, { phase: 'Pending' }, [update]);
    if (previous?.reason !== update.reason || previous.message !== update.message)
      await this.o.events.record(machine, 'Warning', update.reason, update.message);
    // lost every race: the winners' changes bring no event for us, so look again
    return raced ? { requeue: true } : undefined;
  }
}
