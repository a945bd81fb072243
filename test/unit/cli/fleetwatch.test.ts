// FleetMirror against a scripted API server on loopback (real HTTPS, real sockets): one list per
// resource, then watches from the list's resourceVersion; a watch the server ends continues from
// the last resourceVersion; a 410 (an ERROR event, or the watch refused outright) lists again; a
// resource the user may not list is left out with one warning and never watched.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FleetMirror, fleetSources } from '../../../src/cli/fleetwatch.js';
import type { FleetLists } from '../../../src/cli/fleet.js';
import { KubeClient } from '../../../src/cli/kubeclient.js';
import { createCA, issueCertificate } from '../../../src/pki/devca.js';

const NS = 'fleet';
const CLUSTERS = `/apis/vitistack.io/v1alpha1/namespaces/${NS}/kubernetesclusters`;
const EVENTS = `/api/v1/namespaces/${NS}/events`;
const SERVERS = '/apis/metal.sidero.dev/v1alpha2/servers';

interface Seen {
  path: string;
  query: URLSearchParams;
}

const obj = (name: string, rv: string) => ({ metadata: { name, namespace: NS, resourceVersion: rv } });
const status = (code: number, reason: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  code,
  reason,
  message: reason,
});

let server: Server;
const dir = mkdtempSync(join(tmpdir(), 'tfa-fleetwatch-'));
let kubeconfig = '';
const seen: Seen[] = [];
const waiting: { match: (s: Seen) => boolean; resolve: (s: Seen) => void }[] = [];
/** the open watch of each path */
const watches = new Map<string, ServerResponse>();
/** what a list of each path answers now */
const lists = new Map<string, { rv: string; items: unknown[] }>();
/** paths whose next watch is refused with 410 */
const refuseNextWatch = new Set<string>();

function serve(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'https://x');
  const s = { path: url.pathname, query: url.searchParams };
  seen.push(s);
  for (const w of [...waiting]) if (w.match(s)) (waiting.splice(waiting.indexOf(w), 1), w.resolve(s));
  res.setHeader('Content-Type', 'application/json');
  if (s.path === SERVERS) {
    res.writeHead(403).end(JSON.stringify(status(403, 'Forbidden')));
    return;
  }
  if (s.query.get('watch') === 'true') {
    if (refuseNextWatch.delete(s.path)) {
      res.writeHead(410).end(JSON.stringify(status(410, 'Expired')));
      return;
    }
    res.writeHead(200);
    res.flushHeaders();
    watches.set(s.path, res);
    return;
  }
  const l = lists.get(s.path) ?? { rv: '1', items: [] };
  res.writeHead(200).end(JSON.stringify({ metadata: { resourceVersion: l.rv }, items: l.items }));
}

/** resolves with the next request that matches (bounded: the test's timeout) */
const next = (match: (s: Seen) => boolean) => new Promise<Seen>((resolve) => waiting.push({ match, resolve }));
const watchOf = (path: string) => (s: Seen) => s.path === path && s.query.get('watch') === 'true';
const listOf = (path: string) => (s: Seen) => s.path === path && s.query.get('watch') !== 'true';
const send = (path: string, ev: unknown) => watches.get(path)!.write(JSON.stringify(ev) + '\n');

beforeAll(async () => {
  const ca = await createCA('fleetwatch-test-ca');
  const serving = await issueCertificate(ca, { subject: 'CN=api', usage: 'server', ipAddresses: ['127.0.0.1'] });
  server = createServer({ cert: serving.certPem, key: serving.keyPem }, serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'test',
          cluster: {
            server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
            'certificate-authority-data': Buffer.from(ca.certPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'u', user: { token: 'test' } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'u', namespace: NS } }],
      'current-context': 'test',
    }),
  );
});

afterAll(async () => {
  for (const w of watches.values()) w.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

describe('keeping the fleet current', () => {
  it('lists once, watches from there, continues after a watch ends, lists again on 410, leaves out what it may not list', async () => {
    lists.set(CLUSTERS, { rv: '10', items: [obj('a', '9')] });
    refuseNextWatch.add(EVENTS);
    const warnings: string[] = [];
    const kc = KubeClient.load({ kubeconfig });
    const mirror = new FleetMirror(kc, fleetSources(NS), (m) => warnings.push(m));
    await mirror.listAll();
    expect(warnings).toEqual([expect.stringMatching(/^servers are not shown: Error from server \(Forbidden\)/)]);
    expect(mirror.lists().clusters.map((o) => o.metadata.name)).toEqual(['a']);

    const changes: FleetLists[] = [];
    const changed: (() => void)[] = [];
    const nextChange = () => new Promise<FleetLists>((r) => changed.push(() => r(changes.at(-1)!)));
    const stop = new AbortController();
    const firstClusterWatch = next(watchOf(CLUSTERS));
    const eventsRelisted = next(listOf(EVENTS));
    const done = mirror.watchAll({
      onChange: (l) => (changes.push(l), changed.splice(0).forEach((f) => f())),
      warn: (m) => warnings.push(m),
      signal: stop.signal,
      coalesceMs: 1,
      watchTimeoutMs: 300_000,
    });

    // from the list's resourceVersion, with bookmarks, asking the server to end it in time
    const w1 = await firstClusterWatch;
    expect(Object.fromEntries(w1.query)).toEqual({
      watch: 'true',
      allowWatchBookmarks: 'true',
      timeoutSeconds: '300',
      resourceVersion: '10',
    });
    // the events watch refused with 410: listed again, then watched
    await eventsRelisted;
    await next(watchOf(EVENTS));

    let change = nextChange();
    send(CLUSTERS, { type: 'ADDED', object: obj('b', '11') });
    expect((await change).clusters.map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
    send(CLUSTERS, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } });

    // the server ends the watch: opened again from the last resourceVersion seen (the bookmark's)
    const again = next(watchOf(CLUSTERS));
    watches.get(CLUSTERS)!.end();
    expect((await again).query.get('resourceVersion')).toBe('15');

    // too old: an ERROR 410 makes it list again, and what the list says replaces what was there
    lists.set(CLUSTERS, { rv: '30', items: [obj('c', '29')] });
    const relist = next(listOf(CLUSTERS));
    const afterRelist = next(watchOf(CLUSTERS));
    change = nextChange();
    send(CLUSTERS, { type: 'ERROR', object: status(410, 'Expired') });
    await relist;
    expect((await change).clusters.map((o) => o.metadata.name)).toEqual(['c']);
    expect((await afterRelist).query.get('resourceVersion')).toBe('30');

    change = nextChange();
    send(CLUSTERS, { type: 'DELETED', object: obj('c', '31') });
    expect((await change).clusters).toEqual([]);

    stop.abort();
    await done;
    // one list per resource, and again only after a 410; never a watch of what may not be listed
    const count = (m: (s: Seen) => boolean) => seen.filter(m).length;
    expect(count(listOf(CLUSTERS))).toBe(2);
    expect(count(listOf(EVENTS))).toBe(2);
    expect(count(listOf(`/apis/vitistack.io/v1alpha1/namespaces/${NS}/machines`))).toBe(1);
    expect(count(watchOf(SERVERS))).toBe(0);
    expect(warnings).toHaveLength(1);
  });
});
