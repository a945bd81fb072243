// Releasing the Servers of a deleted Machine (the server allocator's finalizer
// metal.sidero.dev/server-release): once the lifecycle controller has let the node leave (its
// node-leave finalizer is gone), each Server is marked not clean, then unbound, then the finalizer
// goes. Each step is written, pinned to the version read, before the next, so a restart picks up
// where it stopped; only the agent's report of a wipe makes the Server clean again.
import { machineLeaveFinalizer } from '../../api/machine.js';
import { SERVER_MACHINE_ANNOTATION, SERVER_RELEASE_FINALIZER, type Server } from '../../api/server.js';
import type { EventRecorder } from '../../events/recorder.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { RequestContext } from '../../machinery/registry/context.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { machineKey } from './eligibility.js';

export interface ReleaseDeps {
  machines: ResourceStore;
  servers: ResourceStore;
  events: EventRecorder;
  ctx: () => RequestContext;
}

export const is = (e: unknown, ...codes: number[]) => e instanceof StatusError && codes.includes(e.code);

/** a catch that turns the given status codes into undefined */
export const ignore =
  (...codes: number[]) =>
  (e: unknown): undefined => {
    if (is(e, ...codes)) return undefined;
    throw e;
  };

export const hasFinalizer = (o: KubeObject, f: string) => (o.metadata.finalizers ?? []).includes(f);
export const without = (o: KubeObject, f: string) => (o.metadata.finalizers ?? []).filter((x) => x !== f);

/** sets a Machine's finalizers, pinned to the version read so a concurrent change is not overwritten */
export function setFinalizers(
  machines: ResourceStore,
  ctx: RequestContext,
  machine: KubeObject,
  finalizers: string[],
): Promise<KubeObject> {
  const patch = { metadata: { finalizers, resourceVersion: machine.metadata.resourceVersion } };
  return machines.patch(machine.metadata.namespace, machine.metadata.name!, 'merge', patch, ctx);
}

export async function releaseServers(
  d: ReleaseDeps,
  machine: KubeObject,
  bound: Server[],
): Promise<ReconcileResult | void> {
  if (!hasFinalizer(machine, SERVER_RELEASE_FINALIZER)) return;
  const key = machineKey(machine.metadata.namespace!, machine.metadata.name!);
  if (hasFinalizer(machine, machineLeaveFinalizer)) {
    // its node is still leaving the cluster (the lifecycle controller's finalizer): its removal brings us back
    if (bound.length)
      await d.events.record(
        machine,
        'Normal',
        'ReleaseWaiting',
        `server ${bound[0]!.metadata.name} is released once the node has left the cluster`,
      );
    return;
  }
  for (const server of bound) {
    const name = server.metadata.name!;
    const dirty = { metadata: { resourceVersion: server.metadata.resourceVersion }, status: { isClean: false } };
    const marked = await d.servers.patch(undefined, name, 'merge', dirty, d.ctx(), 'status').catch(ignore(404, 409));
    if (!marked) return { requeue: true };
    const unbind = {
      metadata: {
        resourceVersion: marked.metadata.resourceVersion,
        annotations: { [SERVER_MACHINE_ANNOTATION]: null },
      },
    };
    const released = await d.servers.patch(undefined, name, 'merge', unbind, d.ctx()).catch(ignore(404, 409));
    if (!released) return { requeue: true };
    const message = `released from machine ${key}: not clean, it is wiped before it is allocated again`;
    await d.events.record(released, 'Normal', 'Released', message);
    await d.events.record(machine, 'Normal', 'ServerReleased', `released server ${name}; it is wiped next`);
  }
  const done = await setFinalizers(d.machines, d.ctx(), machine, without(machine, SERVER_RELEASE_FINALIZER)).catch(
    ignore(404, 409),
  );
  return done === undefined ? { requeue: true } : undefined;
}
