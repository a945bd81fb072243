// Keeping the fleet's lists current from the API: each resource is listed once, then watched from
// the list's resourceVersion (with bookmarks); a watch the server ends (each asks it to after
// --watch-timeout, as client-go's reflectors do) is opened again from the last resourceVersion seen, and one that is too old (410 Gone) lists the resource again. No
// polling: every change arrives as a watch event. A resource the user may not list (403) is left
// out with one warning, so RBAC that hides Servers still shows the rest.
import { adoptedServerKind } from '../api/adoptedserver.js';
import { kubernetesClusterKind } from '../api/kubernetescluster.js';
import { machineKind } from '../api/machine.js';
import { serverKind } from '../api/server.js';
import { groupVersion, type KindDefinition, type KubeObject } from '../machinery/kind.js';
import type { FleetLists } from './fleet.js';
import { CLIError, type KubeClient } from './kubeclient.js';

type ListName = keyof FleetLists;

interface Source {
  list: ListName;
  path: string;
}

/** the resources the fleet is made of; every one of them in one namespace, or in all */
export function fleetSources(namespace: string | undefined): Source[] {
  const scoped = (prefix: string, plural: string, namespaced = true) =>
    namespaced && namespace !== undefined
      ? `${prefix}/namespaces/${encodeURIComponent(namespace)}/${plural}`
      : `${prefix}/${plural}`;
  const ours = (k: KindDefinition, list: ListName): Source => ({
    list,
    path: scoped(`/apis/${groupVersion(k)}`, k.plural, k.namespaced !== false),
  });
  const kinds: Record<Exclude<ListName, 'events'>, KindDefinition> = {
    clusters: kubernetesClusterKind,
    machines: machineKind,
    adoptedServers: adoptedServerKind,
    servers: serverKind,
  };
  return [
    ...(Object.entries(kinds) as [ListName, KindDefinition][]).map(([list, k]) => ours(k, list)),
    { list: 'events', path: scoped('/api/v1', 'events') },
  ];
}

interface Mirror {
  items: Map<string, KubeObject>;
  resourceVersion: string;
  /** the user may not list it: left out */
  forbidden: boolean;
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const FORBIDDEN = 403;
const GONE = 410;

export interface FleetWatchOptions {
  /** called after every change (many changes arriving together are one call) */
  onChange: (lists: FleetLists) => void;
  /** a resource whose watch failed is opened again after this (doubling to 30 s); default 1 s */
  retryMs?: number;
  /** changes arriving within this of each other are one redraw; default 50 ms */
  coalesceMs?: number;
  /** one watch request lasts this long (timeoutSeconds), then is opened again from where it was */
  watchTimeoutMs: number;
  warn: (message: string) => void;
  signal: AbortSignal;
}

export class FleetMirror {
  private readonly mirrors = new Map<ListName, Mirror>();

  constructor(
    private readonly kc: KubeClient,
    private readonly sources: Source[],
    private readonly warn: (message: string) => void,
  ) {}

  lists(): FleetLists {
    const out: FleetLists = { clusters: [], machines: [], adoptedServers: [], servers: [], events: [] };
    for (const [list, m] of this.mirrors) out[list] = [...m.items.values()];
    return out;
  }

  /** lists every resource (once, now); a refusal other than 403 fails */
  async listAll(): Promise<void> {
    await Promise.all(this.sources.map((s) => this.list(s)));
  }

  private async list(s: Source): Promise<Mirror> {
    let m: Mirror;
    try {
      const reply = await this.kc.call('GET', s.path);
      const body = JSON.parse(reply.body) as { metadata?: { resourceVersion?: string }; items?: KubeObject[] };
      m = {
        items: new Map((body.items ?? []).map((o) => [keyOf(o), o])),
        resourceVersion: body.metadata?.resourceVersion ?? '',
        forbidden: false,
      };
    } catch (e) {
      if (!(e instanceof CLIError && e.httpCode === FORBIDDEN)) throw e;
      if (!this.mirrors.get(s.list)?.forbidden) this.warn(`${s.list} are not shown: ${e.message}`);
      m = { items: new Map(), resourceVersion: '', forbidden: true };
    }
    this.mirrors.set(s.list, m);
    return m;
  }

  /** watches every resource until the signal fires; `changed` after each event that changed a list */
  async watchAll(o: FleetWatchOptions): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const changed = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (!o.signal.aborted) o.onChange(this.lists());
      }, o.coalesceMs ?? 50);
    };
    try {
      await Promise.all(this.sources.map((s) => this.follow(s, changed, o)));
    } finally {
      clearTimeout(timer);
    }
  }

  private async follow(s: Source, changed: () => void, o: FleetWatchOptions): Promise<void> {
    const base = o.retryMs ?? 1000;
    let delay = base;
    while (!o.signal.aborted) {
      let m = this.mirrors.get(s.list) ?? (await this.list(s));
      if (m.forbidden) return;
      try {
        let gone = false;
        const timeoutSeconds = Math.max(1, Math.round(o.watchTimeoutMs / 1000));
        const params = `watch=true&allowWatchBookmarks=true&timeoutSeconds=${timeoutSeconds}&resourceVersion=${encodeURIComponent(m.resourceVersion)}`;
        await this.kc.watch(
          `${s.path}?${params}`,
          (ev) => {
            delay = base;
            const obj = ev.object as KubeObject & { code?: number };
            if (ev.type === 'ERROR') {
              gone = obj.code === GONE;
              if (!gone) this.warn(`the watch of ${s.list} ended: ${JSON.stringify(obj)}`);
              return true;
            }
            if (obj.metadata?.resourceVersion) m.resourceVersion = obj.metadata.resourceVersion;
            if (ev.type === 'BOOKMARK') return false;
            if (ev.type === 'DELETED') m.items.delete(keyOf(obj));
            else m.items.set(keyOf(obj), obj);
            changed();
            return false;
          },
          o.signal,
        );
        if (gone) {
          // too old to resume: what changed meanwhile comes with a new list
          m = await this.list(s);
          changed();
        }
      } catch (e) {
        if (o.signal.aborted) return;
        if (e instanceof CLIError && e.httpCode === GONE) {
          await this.list(s).then(changed, () => undefined);
          continue;
        }
        this.warn(`watching ${s.list}: ${(e as Error).message}; trying again in ${delay} ms`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, delay);
          o.signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
        });
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }
}
