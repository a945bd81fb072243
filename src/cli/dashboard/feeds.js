// The page's feeds: each a list through the dashboard's proxy (/k8s/...), then a watch from the
// list's resourceVersion.

export class Refused extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** the API server's Status of a failed reply, as an error */
export async function refusal(res) {
  let body = {};
  try {
    body = await res.json();
  } catch {
    // not a Status: the code says it
  }
  return new Refused(body.message || `${res.status} ${res.statusText}`, res.status);
}

/** waits `ms` (Infinity: until aborted), or less when `signal` fires */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = Number.isFinite(ms) ? setTimeout(resolve, ms) : 0;
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

// Every watch of the page travels in one response (/watch?path=...&path=..., merged by the
// plugin): a browser holds only six connections to one host across its tabs, and a stream per
// kind would soon leave another tab of the dashboard waiting. The merged response ends when one
// of its watches ends; the page then opens them again where each stopped. A 410 lists that one
// again; a refusal (401, 403, 404) is shown and that feed stops, as asking again would only
// repeat it; other failures are shown and retried after a growing wait.

/**
 * id -> { path, sink, rv (undefined: list it), stopped, delay, retryAt }; a feed added under an id
 * replaces the one before. A sink has reset(items), event(type, object), fail(message), live().
 */
const feeds = new Map();
let restartRound = () => {};

export function addFeed(id, path, sink) {
  feeds.set(id, { path, sink, rv: undefined, stopped: false, delay: 500, retryAt: 0 });
  restartRound();
}

function failed(f, e) {
  f.sink.fail(e.message);
  f.rv = undefined;
  if (e instanceof Refused && [401, 403, 404].includes(e.code)) f.stopped = true;
  else {
    f.retryAt = Date.now() + f.delay;
    f.delay = Math.min(f.delay * 2, 30_000);
  }
}

async function list(f) {
  try {
    const res = await fetch(f.path, { headers: { Accept: 'application/json' } });
    if (!res.ok) throw await refusal(res);
    const body = await res.json();
    f.rv = body.metadata?.resourceVersion ?? '';
    f.delay = 500;
    f.sink.reset(body.items ?? []);
  } catch (e) {
    failed(f, e);
  }
}

const watchPath = (f) =>
  `${f.path}${f.path.includes('?') ? '&' : '?'}watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(f.rv)}`;

/** reads the merged watch until it ends, or the round is restarted */
async function watchAll(watched, signal, onLive) {
  const query = watched.map((f) => `path=${encodeURIComponent(watchPath(f))}`).join('&');
  const res = await fetch(`/watch?${query}`, { signal, headers: { Accept: 'application/json' } });
  if (!res.ok) throw await refusal(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (const f of watched) f.sink.live();
  onLive(true);
  try {
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        const { i, event, end } = JSON.parse(line);
        const f = watched[i];
        if (end || !f) return;
        if (event.type === 'ERROR') {
          if (event.object?.code === 410) f.rv = undefined;
          else failed(f, new Refused(event.object?.message || 'the watch failed', event.object?.code));
          return;
        }
        const rv = event.object?.metadata?.resourceVersion;
        if (rv) f.rv = rv;
        if (event.type !== 'BOOKMARK') f.sink.event(event.type, event.object);
      }
    }
  } finally {
    onLive(false);
  }
}

/** lists and watches every feed, for good; `onLive(bool)` says whether the watch stream is open */
export async function runFeeds(onLive) {
  let delay = 500;
  for (;;) {
    const round = new AbortController();
    restartRound = () => round.abort();
    const now = Date.now();
    const due = [...feeds.values()].filter((f) => !f.stopped && f.rv === undefined && f.retryAt <= now);
    await Promise.all(due.map(list));
    // a feed that failed is listed again in a later round
    const retryAt = Math.min(
      ...[...feeds.values()].filter((f) => !f.stopped && f.rv === undefined).map((f) => f.retryAt),
    );
    const retry = Number.isFinite(retryAt) ? setTimeout(() => round.abort(), Math.max(retryAt - Date.now(), 0)) : 0;
    const watched = [...feeds.values()].filter((f) => !f.stopped && f.rv !== undefined);
    const opened = Date.now();
    try {
      if (watched.length === 0) await sleep(Infinity, round.signal);
      else await watchAll(watched, round.signal, onLive);
      // a stream that ends as soon as it opens is not asked again at once
      if (Date.now() - opened > 1000) delay = 500;
      else {
        await sleep(delay, round.signal);
        delay = Math.min(delay * 2, 30_000);
      }
    } catch (e) {
      if (!round.signal.aborted) {
        for (const f of watched) f.sink.fail(e.message);
        await sleep(delay, round.signal);
        delay = Math.min(delay * 2, 30_000);
      }
    } finally {
      clearTimeout(retry);
    }
  }
}
