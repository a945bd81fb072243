// What the boot listener reads: Servers, Environments, ServerClasses from our own stores, and
// Machine config Secrets from wherever Secrets live (our store, or kube-apiserver's).
import { environmentKind, type Environment } from '../api/environment.js';
import { serverKind, type Server } from '../api/server.js';
import { serverClassKind, type ServerClass } from '../api/serverclass.js';
import { StatusError } from '../machinery/errors.js';
import type { KubeObject } from '../machinery/kind.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { listObjects } from '../machinery/registry/list.js';
import { parseSelection } from '../machinery/registry/selection.js';
import type { ResourceStore } from '../machinery/registry/store.js';

export class BootObjects {
  readonly servers: ResourceStore;
  private readonly environments: ResourceStore;
  private readonly classes: ResourceStore;

  constructor(registry: APIRegistry) {
    this.servers = registry.storeOf(serverKind)!;
    this.environments = registry.storeOf(environmentKind)!;
    this.classes = registry.storeOf(serverClassKind)!;
  }

  server(name: string): Promise<Server | undefined> {
    return orUndefined(this.servers.get(undefined, name)) as Promise<Server | undefined>;
  }

  environment(name: string): Promise<Environment | undefined> {
    return orUndefined(this.environments.get(undefined, name)) as Promise<Environment | undefined>;
  }

  /**
   * The ServerClass an allocated server was taken from: the class whose status lists it in
   * serversInUse (the ServerClass controller keeps those lists). A server in several classes counts
   * as in the first by name other than the catch-all `any`.
   */
  async classOf(server: Server): Promise<ServerClass | undefined> {
    const { items } = await listObjects(this.classes, undefined, { selection: parseSelection(serverClassKind) });
    const holding = (items as ServerClass[])
      .filter((c) => c.status?.serversInUse?.includes(server.metadata.name!))
      .sort((a, b) => Number(a.metadata.name === 'any') - Number(b.metadata.name === 'any'));
    return holding[0];
  }
}

async function orUndefined(p: Promise<KubeObject>): Promise<KubeObject | undefined> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof StatusError && e.code === 404) return undefined;
    throw e;
  }
}
