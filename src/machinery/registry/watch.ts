// Watch with kube-apiserver's start positions (unset: the current objects, then changes; "0": the
// same from any recent state; a revision: the changes after it), watch-list (sendInitialEvents)
// ending in the `k8s.io/initial-events-end` bookmark (with kube 1.32's list blueprint), selector
// enter/leave semantics and ERROR events.
import { StorageError, type StorageEvent } from '../../storage/storage.js';
import {
  expired,
  fieldErr,
  internalError,
  invalidOptions,
  serviceUnavailable,
  StatusError,
  type Status,
} from '../errors.js';
import { groupVersion, type KubeObject } from '../kind.js';
import { initialEventsListBlueprint } from '../output.js';
import { decodeObject, sharedObject } from './codec.js';
import { listObjects, parseResourceVersion, validateListOptions, waitForRevision } from './list.js';
import { matches, type Selection } from './selection.js';
import { storageCall, type ResourceStore } from './store.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject | Status;
}

export interface WatchOptions {
  selection: Selection;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  /** undefined when the parameter was absent */
  sendInitialEvents?: boolean;
  allowWatchBookmarks: boolean;
  /** periodic bookmark interval (kube: about a minute) */
  bookmarkIntervalMs?: number;
  /**
   * the list blueprint the initial-events-end bookmark carries, encoded as the stream is
   * (output.ts: initialEventsListBlueprint); without it, the kind's own list in JSON
   */
  initialEventsListBlueprint?: string;
}

export interface WatchSink {
  send(ev: WatchEvent): void;
  /** the watch is over (error already sent as an ERROR event, if any) */
  end(): void;
}

export interface ActiveWatch {
  stop(): void;
}

export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';
/** client-go 1.32+ refuses a watch-list stream whose end bookmark lacks it, and lists again */
export const INITIAL_EVENTS_LIST_BLUEPRINT = 'kubernetes.io/initial-events-list-blueprint';

export function validateWatchOptions(o: WatchOptions): void {
  if (o.sendInitialEvents !== undefined && o.resourceVersionMatch !== 'NotOlderThan') {
    throw invalidOptions('ListOptions', [
      fieldErr.forbidden(
        'sendInitialEvents',
        'sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan',
      ),
    ]);
  }
  if (o.sendInitialEvents === undefined && o.resourceVersionMatch) {
    throw invalidOptions('ListOptions', [
      fieldErr.forbidden(
        'resourceVersionMatch',
        'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
      ),
    ]);
  }
  validateListOptions({ selection: o.selection, resourceVersion: o.resourceVersion }, true);
}

export async function startWatch(
  store: ResourceStore,
  ns: string | undefined,
  o: WatchOptions,
  sink: WatchSink,
): Promise<ActiveWatch> {
  validateWatchOptions(o);
  const kind = store.kind;
  const rv = parseResourceVersion(o.resourceVersion);
  const endAnnotations = () => ({
    [INITIAL_EVENTS_END]: 'true',
    [INITIAL_EVENTS_LIST_BLUEPRINT]:
      o.initialEventsListBlueprint ?? initialEventsListBlueprint(kind, { as: 'object', yaml: false }),
  });
  // as kube's: an object of the resource's kind holding nothing but the resourceVersion (and, at
  // the end of the initial events, the two annotations)
  const bookmark = (revision: number, initialEnd = false): WatchEvent => ({
    type: 'BOOKMARK',
    object: {
      apiVersion: groupVersion(kind),
      kind: kind.kind,
      metadata: {
        resourceVersion: String(revision),
        ...(initialEnd ? { annotations: endAnnotations() } : {}),
      },
    },
  });

  let from: number;
  const initial: KubeObject[] = [];
  const wantsInitial =
    o.sendInitialEvents === true || (o.sendInitialEvents === undefined && (rv === undefined || rv === 0));
  if (wantsInitial) {
    // a consistent snapshot (at least rv when given), then changes after it
    if (rv !== undefined && rv > 0) await waitForRevision(store.storage, rv);
    // resourceVersion "0"/N: any snapshot at least that fresh (from the watch cache); unset: consistent
    const snap = await listObjects(store, ns, {
      selection: o.selection,
      ...(rv !== undefined ? { resourceVersion: String(rv), resourceVersionMatch: 'NotOlderThan' } : {}),
    });
    initial.push(...snap.items);
    from = Number(snap.resourceVersion);
  } else if (rv === undefined || rv === 0) {
    from = await storageCall(() => store.storage.currentRevision());
  } else {
    await waitForRevision(store.storage, rv);
    from = rv;
  }

  for (const obj of initial) sink.send({ type: 'ADDED', object: obj });
  if (o.sendInitialEvents === true && o.allowWatchBookmarks) sink.send(bookmark(from, true));

  let lastSeen = from;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer) clearInterval(timer);
    handle.close();
  };
  const fail = (err: StatusError) => {
    if (stopped) return;
    sink.send({ type: 'ERROR', object: err.toStatus() });
    stop();
    sink.end();
  };
  const handle = store.storage.watch(store.prefixFor(ns), from, {
    onEvent(ev: StorageEvent) {
      if (stopped) return;
      lastSeen = ev.revision;
      const out = translate(store, o.selection, ev);
      if (out) sink.send(out);
    },
    onProgress(revision: number) {
      // nothing for this watch happened up to here: bookmarks may carry it
      if (!stopped && revision > lastSeen) lastSeen = revision;
    },
    onError(err: StorageError) {
      if (err.code === 'Compacted') fail(expired(`too old resource version: ${from} (${err.revision ?? 0})`));
      else fail(serviceUnavailable(`watch ended: ${err.message}`));
    },
  });
  if (o.allowWatchBookmarks) {
    timer = setInterval(() => {
      if (!stopped) sink.send(bookmark(lastSeen));
    }, o.bookmarkIntervalMs ?? 60_000);
    timer.unref();
  }
  return { stop };
}

/** one storage event as the client sees it through its selection (enter = ADDED, leave = DELETED) */
function translate(store: ResourceStore, sel: Selection, ev: StorageEvent): WatchEvent | undefined {
  const kind = store.kind;
  try {
    if (ev.type === 'delete') {
      const last = sharedObject(ev.kv);
      return matches(kind, sel, last) ? { type: 'DELETED', object: last } : undefined;
    }
    const now = sharedObject(ev.kv);
    const nowIn = matches(kind, sel, now);
    if (!ev.prevKv) return nowIn ? { type: 'ADDED', object: now } : undefined;
    const before = sharedObject(ev.prevKv);
    const wasIn = matches(kind, sel, before);
    if (nowIn) return { type: wasIn ? 'MODIFIED' : 'ADDED', object: now };
    if (wasIn) {
      // left the selection: the last state it was seen in, at this event's revision
      const left = decodeObject(ev.prevKv);
      left.metadata.resourceVersion = String(ev.revision);
      return { type: 'DELETED', object: left };
    }
    return undefined;
  } catch (e) {
    return { type: 'ERROR', object: internalError(`decoding stored object: ${(e as Error).message}`).toStatus() };
  }
}
