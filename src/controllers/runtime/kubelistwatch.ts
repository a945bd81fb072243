// The ListWatch of a resource kube-apiserver holds (cluster mode's Secrets and namespaces): a
// paged list, then a watch with bookmarks from the list's resourceVersion, as client-go's
// reflector does it. A 410 Gone (in the reply or as an ERROR event) asks for a new list.
import type { KubeObject } from '../../machinery/kind.js';
import type { ListWatch } from './listwatch.js';
import { KubeUnreachable, statusOf, type KubeAPI } from '../../kubeapi/client.js';

/** kube-apiserver answered a list with an error (RBAC, a resource it does not serve) */
export class KubeListError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'KubeListError';
  }
}

interface ListReply {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

const PAGE = 500;

/** `path` is the collection, e.g. /api/v1/secrets (every namespace) */
export function kubeListWatch(
  api: KubeAPI,
  path: string,
  opts: { resource: string; labelSelector?: string },
): ListWatch {
  const query = (extra: Record<string, string>) => {
    const q = new URLSearchParams(extra);
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    return `${path}?${q.toString()}`;
  };
  return {
    resource: opts.resource,
    async list() {
      const items: KubeObject[] = [];
      let token = '';
      let resourceVersion = '';
      do {
        const reply = await api.call('GET', query({ limit: String(PAGE), ...(token ? { continue: token } : {}) }));
        if (reply.code !== 200) {
          const s = statusOf(reply);
          throw new KubeListError(
            `listing ${opts.resource} from kube-apiserver: ${s.reason}: ${s.message}`,
            reply.code,
          );
        }
        const page = JSON.parse(reply.body) as ListReply;
        // list items carry no apiVersion and kind of their own: the list's tell them
        const kind = (page.kind ?? '').replace(/List$/, '');
        for (const item of page.items ?? [])
          items.push({ ...item, apiVersion: item.apiVersion ?? page.apiVersion ?? 'v1', kind: item.kind ?? kind });
        resourceVersion = page.metadata?.resourceVersion ?? '';
        token = page.metadata?.continue ?? '';
      } while (token);
      return { items, resourceVersion };
    },
    async watch(resourceVersion, sink) {
      const abort = new AbortController();
      let over = false;
      const end = (why?: { gone: boolean; message: string; error?: unknown }) => {
        if (over || abort.signal.aborted) return;
        over = true;
        sink.end(why);
      };
      const path = query({ watch: '1', allowWatchBookmarks: 'true', resourceVersion });
      api
        .watch(
          path,
          (ev) => {
            if (over || abort.signal.aborted) return true;
            const obj = ev.object as unknown as KubeObject & { code?: number; message?: string };
            if (ev.type === 'ERROR') {
              end({ gone: obj.code === 410, message: obj.message ?? `watch ended with ${obj.code}` });
              return true;
            }
            if (ev.type === 'BOOKMARK') sink.bookmark(obj.metadata?.resourceVersion ?? resourceVersion);
            else if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') sink.event(ev.type, obj);
            return false;
          },
          abort.signal,
        )
        .then(
          (r) => {
            if (r === 'ended' || r === 'done') end();
            else
              end({
                gone: r.code === 410,
                message: `watching ${opts.resource}: ${statusOf(r).reason}: ${statusOf(r).message}`,
              });
          },
          (err: unknown) => end({ gone: false, message: (err as Error).message, error: err }),
        );
      return { stop: () => abort.abort() };
    },
    isExpectedFailure: (err) => err instanceof KubeUnreachable || err instanceof KubeListError,
  };
}
