// Watch streams: newline-delimited WatchEvents, flushed per event, in the representation the
// client asked for (object, one-row Table, PartialObjectMetadata).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from '../../src/machinery/errors.js';
import type { KubeObject } from '../../src/machinery/kind.js';
import {
  initialEventsListBlueprint,
  negotiateOutput,
  parseIncludeObject,
  partialObjectMetadata,
  toTable,
} from '../../src/machinery/output.js';
import { parseSelection } from '../../src/machinery/registry/selection.js';
import type { ResourceStore } from '../../src/machinery/registry/store.js';
import { startWatch, type WatchEvent } from '../../src/machinery/registry/watch.js';
import { sharedEventLine } from '../../src/machinery/registry/codec.js';

/**
 * A watcher with this much written and not yet taken by its client is too slow: its stream is cut
 * (HTTP/1.1: the connection; HTTP/2: the stream only), which frees what it buffered at once. The
 * client re-watches from the last resourceVersion it saw, as client-go does on any broken watch,
 * and gets a 410 if that is too old by then. Ending it politely would keep the buffer until the
 * client read it, which a stuck client never does.
 */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

function parseBoolParam(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0' || v === '') return false;
  throw badRequest(`invalid value for ${name}: "${v}"`);
}

function timeoutMs(q: URLSearchParams): number | undefined {
  const ts = q.get('timeoutSeconds');
  if (ts !== null && ts !== '') {
    const n = Number(ts);
    if (!Number.isFinite(n) || n < 0) throw badRequest(`invalid value for timeoutSeconds: "${ts}"`);
    if (n > 0) return n * 1000;
  }
  const t = q.get('timeout'); // client-go also sends a Go duration, e.g. 5m0s
  if (t) {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(t);
    if (m && t !== '')
      return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000 || undefined;
  }
  return undefined;
}

/** one event as a line; a plain object event reuses the object's shared line (encoded once) */
function eventLine(ev: WatchEvent, encode: (ev: WatchEvent) => unknown): Buffer | string {
  const out = encode(ev);
  if (out === ev && ev.type !== 'ERROR') return sharedEventLine(ev.type, ev.object);
  return JSON.stringify(out) + '\n';
}

export async function serveWatch(
  store: ResourceStore,
  ns: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
  bookmarkIntervalMs: number,
  /** the open watches, which a graceful shutdown ends cleanly */
  active?: Set<() => void>,
): Promise<void> {
  const out = negotiateOutput(req.headers.accept, 'watch');
  const includeObject = parseIncludeObject(q.get('includeObject'));
  const selection = parseSelection(
    store.kind,
    q.get('labelSelector') ?? undefined,
    q.get('fieldSelector') ?? undefined,
  );
  let columnsSent = false;
  const encode = (ev: WatchEvent): unknown => {
    if (ev.type === 'ERROR' || out.as === 'object' || out.as === 'PartialObjectMetadataList') return ev;
    const obj = ev.object as KubeObject;
    if (out.as === 'PartialObjectMetadata') return { type: ev.type, object: partialObjectMetadata(obj) };
    const table = toTable(
      store.kind,
      [obj],
      { resourceVersion: obj.metadata.resourceVersion },
      { includeObject, withColumns: !columnsSent },
    );
    columnsSent = true;
    return { type: ev.type, object: table };
  };

  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = () => {
    if (ended) return;
    ended = true;
    active?.delete(finish);
    if (timer) clearTimeout(timer);
    watch?.stop();
    if (!res.writableEnded) res.end();
  };
  const pending: WatchEvent[] = [];
  let started = false;
  const send = (ev: WatchEvent) => {
    if (ended) return;
    if (!started) {
      pending.push(ev);
      return;
    }
    res.write(eventLine(ev, encode));
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      finish();
      res.destroy();
    }
  };
  let watch: { stop(): void } | undefined;
  // Options are validated and the start position resolved before any byte is sent, so a bad
  // request still gets a plain HTTP Status error.
  const ms = timeoutMs(q);
  watch = await startWatch(
    store,
    ns,
    {
      selection,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      resourceVersionMatch: q.get('resourceVersionMatch') || undefined,
      sendInitialEvents: parseBoolParam(q, 'sendInitialEvents'),
      allowWatchBookmarks: parseBoolParam(q, 'allowWatchBookmarks') ?? false,
      bookmarkIntervalMs,
      initialEventsListBlueprint: initialEventsListBlueprint(store.kind, out),
    },
    { send, end: finish },
  );
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-cache, private');
  res.flushHeaders();
  started = true;
  active?.add(finish);
  for (const ev of pending.splice(0)) send(ev);
  // HTTP/2 streams share their connection, which its session owns
  if (req.httpVersionMajor < 2) req.socket.setNoDelay(true);
  res.on('close', finish);
  req.on('close', finish);
  if (ms !== undefined) timer = setTimeout(finish, ms);
  if (ended) finish();
}
