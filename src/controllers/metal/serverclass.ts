// The ServerClass controller (`serverclass` in --controllers): keeps each class's
// status.serversAvailable and serversInUse true to the Servers (every Server change looks at every
// class again, as Sidero requeues them all), and keeps the built-in class `any` in existence with
// empty qualifiers (its selector is left to the user, as Sidero leaves it).
import type { Server } from '../../api/server.js';
import { serverKind } from '../../api/server.js';
import { serverClassKind, type ServerClassSpec, type ServerClassStatus } from '../../api/serverclass.js';
import { StatusError } from '../../machinery/errors.js';
import { groupVersion, type KubeObject } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext } from '../../machinery/registry/context.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import type { ControllerSpec } from '../runtime/controller.js';
import type { Informer } from '../runtime/informer.js';
import { registryListWatch } from '../runtime/registrylistwatch.js';
import { classStatus } from './qualifiers.js';

export const ANY_SERVER_CLASS = 'any';

export interface ServerClassControllerOptions {
  registry: APIRegistry;
}

function storeOf(registry: APIRegistry, kind: typeof serverKind): ResourceStore {
  const store = registry.storeOf(kind);
  if (!store) throw new Error(`the ${kind.plural} kind is not registered`);
  return store;
}

/** creates the class `any` when it is missing (an existing one is left as it is) */
export async function ensureAnyServerClass(classes: ResourceStore): Promise<void> {
  const value = {
    apiVersion: groupVersion(serverClassKind),
    kind: serverClassKind.kind,
    metadata: { name: ANY_SERVER_CLASS },
    spec: { qualifiers: {} },
  };
  await classes.create(undefined, { value, duplicates: [] }, systemContext()).catch((e: unknown) => {
    if (!(e instanceof StatusError && e.reason === 'AlreadyExists')) throw e;
  });
}

const isNotFound = (e: unknown) => e instanceof StatusError && e.code === 404;

export function serverClassController(o: ServerClassControllerOptions): ControllerSpec {
  const classes = storeOf(o.registry, serverClassKind);
  const servers = storeOf(o.registry, serverKind);
  let serverInformer: Informer | undefined;
  let classInformer: Informer | undefined;
  return {
    name: 'serverclass',
    workers: 2,
    setup(ctx) {
      classInformer = ctx.inform(registryListWatch(classes));
      serverInformer = ctx.inform(registryListWatch(servers));
      const name = (obj: KubeObject) => obj.metadata.name!;
      classInformer.addEventHandler({
        add: (c) => ctx.queue.add(name(c)),
        update: (_old, c) => ctx.queue.add(name(c)),
        // the built-in class comes back
        delete: (c) => name(c) === ANY_SERVER_CLASS && ctx.queue.add(ANY_SERVER_CLASS),
      });
      const everyClass = () => {
        for (const c of classInformer!.store.list()) ctx.queue.add(name(c));
      };
      serverInformer.addEventHandler({ add: everyClass, update: everyClass, delete: everyClass });
      // the built-in class is looked at once at the start, even when it does not exist yet
      ctx.queue.add(ANY_SERVER_CLASS);
    },
    async reconcile(name) {
      let cls: KubeObject;
      try {
        cls = await classes.get(undefined, name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        if (name !== ANY_SERVER_CLASS) return;
        // the built-in class is created when it is missing; the next look fills its status
        await ensureAnyServerClass(classes);
        return;
      }
      if (cls.metadata.deletionTimestamp) return;
      let spec = cls.spec as ServerClassSpec | undefined;
      if (name === ANY_SERVER_CLASS && !qualifiersEmpty(spec)) {
        cls = await classes.patch(undefined, name, 'merge', { spec: { qualifiers: null } }, systemContext());
        spec = cls.spec as ServerClassSpec | undefined;
      }
      const next = classStatus(spec, serverInformer!.store.list() as Server[]);
      const current = (cls.status ?? {}) as ServerClassStatus;
      if (
        JSON.stringify([current.serversAvailable, current.serversInUse]) ===
        JSON.stringify([next.serversAvailable, next.serversInUse])
      )
        return;
      await classes.patch(undefined, name, 'merge', { status: next }, systemContext(), 'status').catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    },
  };
}

function qualifiersEmpty(spec: ServerClassSpec | undefined): boolean {
  const q = spec?.qualifiers;
  return !q || ((q.hardware ?? []).length === 0 && (q.labelSelectors ?? []).length === 0);
}
