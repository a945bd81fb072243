// The ListWatch of a resource this server stores itself (our kinds in both modes, namespaces and
// Secrets in standalone mode): lists and watches go through the registry and its watch cache, as
// a client's would, without HTTP in between.
import { StatusError, type Status } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import { listObjects } from '../../machinery/registry/list.js';
import { parseSelection } from '../../machinery/registry/selection.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { startWatch } from '../../machinery/registry/watch.js';
import type { ListWatch } from './listwatch.js';

export function registryListWatch(store: ResourceStore, opts: { labelSelector?: string } = {}): ListWatch {
  const kind = store.kind;
  const selection = parseSelection(kind, opts.labelSelector);
  return {
    resource: kind.group ? `${kind.plural}.${kind.group}` : kind.plural,
    async list() {
      // resourceVersion 0: from the watch cache, as client-go's reflector lists
      const r = await listObjects(store, undefined, { selection, resourceVersion: '0' });
      return { items: r.items, resourceVersion: r.resourceVersion };
    },
    async watch(resourceVersion, sink) {
      let over = false;
      const end = (why?: { gone: boolean; message: string }) => {
        if (over) return;
        over = true;
        sink.end(why);
      };
      try {
        return await startWatch(
          store,
          undefined,
          { selection, resourceVersion, allowWatchBookmarks: true },
          {
            send(ev) {
              if (over) return;
              if (ev.type === 'BOOKMARK')
                sink.bookmark((ev.object as KubeObject).metadata.resourceVersion ?? resourceVersion);
              else if (ev.type === 'ERROR') {
                const status = ev.object as Status;
                end({ gone: status.code === 410, message: status.message ?? `watch ended with ${status.code}` });
              } else sink.event(ev.type, ev.object as KubeObject);
            },
            end: () => end(),
          },
        );
      } catch (e) {
        // the version was compacted away before the watch began: the same as a 410 later
        if (e instanceof StatusError && e.code === 410) {
          end({ gone: true, message: e.message });
          return { stop() {} };
        }
        throw e;
      }
    },
  };
}
