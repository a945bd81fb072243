// Every watch of one page in one response. A browser holds at most six HTTP/1.1 connections to
// one host, across all its tabs: a page with a watch per kind (and one for the detail's events)
// would leave a second tab of the dashboard waiting for a free connection. So the page asks
// `GET /watch?path=P1&path=P2...` (each an allow-listed watch under /k8s), and this opens each
// watch on the API server with the user's credentials and passes their events on as they come,
// one line each: `{"i": N, "event": <the API server's watch event>}`. The response ends when any
// of them ends or fails (`{"i": N, "end": true}`, or an ERROR event carrying the Status), and the
// page opens them again from the resourceVersions it saw.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { statusOf } from '../kubeapi/client.js';
import { routeFor } from './dashboardroutes.js';
import type { KubeClient } from './kubeclient.js';

export const WATCH_PATH = '/watch';
/** the page's four kinds and one object's events, with room to spare */
const MAX_WATCHES = 8;

export type WatchRequest = { paths: string[] } | { code: number; reason: string; message: string };

/** the API paths a merged watch request names, or why it is refused */
export function watchRequest(url: string): WatchRequest {
  const asked = new URL(url, 'http://dashboard.invalid').searchParams.getAll('path');
  if (asked.length === 0 || asked.length > MAX_WATCHES)
    return { code: 400, reason: 'BadRequest', message: `name 1 to ${MAX_WATCHES} watches as path=...` };
  const paths: string[] = [];
  for (const p of asked) {
    const route = routeFor('GET', p);
    if ('refusal' in route) return { code: 403, reason: 'Forbidden', message: route.refusal };
    const watch = new URL(p, 'http://dashboard.invalid').searchParams.get('watch');
    if (watch !== '1' && watch !== 'true')
      return { code: 400, reason: 'BadRequest', message: `${p} is not a watch (watch=1)` };
    paths.push(route.path);
  }
  return { paths };
}

const errorEvent = (i: number, code: number, reason: string, message: string) =>
  `${JSON.stringify({ i, event: { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message } } })}\n`;

async function bodyOf(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** streams the merged watches; `headers` go on the 200 */
export function mergedWatch(
  kc: KubeClient,
  paths: string[],
  res: ServerResponse,
  headers: Record<string, string>,
): void {
  const upstreams: IncomingMessage[] = [];
  let finished = false;
  const finish = (line: string) => {
    if (finished) return;
    finished = true;
    res.end(line);
    for (const u of upstreams) u.destroy();
  };
  // the page went away or opened its watches anew: the API server's watches end too
  res.on('close', () => {
    finished = true;
    for (const u of upstreams) u.destroy();
  });
  res.writeHead(200, { ...headers, 'Content-Type': 'application/x-ndjson' });
  res.flushHeaders();

  const follow = async (i: number, path: string) => {
    const up = await kc.stream('GET', path);
    if (finished) return void up.destroy();
    upstreams.push(up);
    const code = up.statusCode ?? 502;
    if (code >= 400) {
      const s = statusOf({ code, contentType: String(up.headers['content-type'] ?? ''), body: await bodyOf(up) });
      return finish(errorEvent(i, code, s.reason, s.message));
    }
    let buffered = '';
    up.setEncoding('utf8');
    up.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        // the API server's line is one JSON value: it is passed on as it is, inside ours
        if (line && !finished) res.write(`{"i":${i},"event":${line}}\n`);
      }
    });
    up.on('end', () => finish(`${JSON.stringify({ i, end: true })}\n`));
    up.on('error', (e) => finish(errorEvent(i, 503, 'ServiceUnavailable', e.message)));
  };
  paths.forEach((path, i) => {
    follow(i, path).catch((e: unknown) => finish(errorEvent(i, 503, 'ServiceUnavailable', (e as Error).message)));
  });
}
