// Watches every resource from before the first fuzz request to after the last, recording each event.
// One list per resource gives the starting state and resourceVersion; the watch continues from it
// with bookmarks, and when the server ends a watch it is started again from the last version seen,
// so no event is missed. An ERROR event (e.g. 410 Gone) breaks that continuity and is reported.
import { request, type Agent } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { basePath, resourceKey, type ServedResource } from './discovery.js';

export interface SeenObject {
  resource: string;
  namespace: string;
  name: string;
  uid: string;
  rv: string;
  deleting: boolean;
  labels: Record<string, string>;
}

export interface RecordedEvent extends SeenObject {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** the event as sent, shortened: what a failure report shows */
  raw: string;
}

type Meta = {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
};

export function seen(resource: string, obj: { metadata?: Meta }): SeenObject {
  const m = obj.metadata ?? {};
  return {
    resource,
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    uid: m.uid ?? '',
    rv: m.resourceVersion ?? '',
    deleting: !!m.deletionTimestamp,
    labels: m.labels ?? {},
  };
}

interface ResourceWatch {
  r: ServedResource;
  initial: SeenObject[];
  lastRV: number;
  req?: ReturnType<typeof request>;
  /** an ERROR arrived: watching again from lastRV would only repeat it */
  broken?: boolean;
}

export class Recorder {
  readonly events: RecordedEvent[] = [];
  /** breaks in continuity (ERROR events, failed re-watches): the check is incomplete then */
  readonly problems: string[] = [];
  private readonly watches = new Map<string, ResourceWatch>();
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly agent: Agent,
  ) {}

  async start(resources: ServedResource[]): Promise<void> {
    for (const r of resources) {
      const list = JSON.parse((await this.get(`${basePath(r)}/${r.resource}`)).toString('utf8')) as {
        metadata: { resourceVersion: string };
        items: { metadata: Meta }[];
      };
      const w: ResourceWatch = {
        r,
        initial: list.items.map((o) => seen(resourceKey(r), o)),
        lastRV: Number(list.metadata.resourceVersion),
      };
      this.watches.set(resourceKey(r), w);
      await this.watch(w);
    }
  }

  initialObjects(): SeenObject[] {
    return [...this.watches.values()].flatMap((w) => w.initial);
  }

  /** the lowest resourceVersion every watch has reached (events or bookmarks) */
  reached(resource: string): number {
    return this.watches.get(resource)?.lastRV ?? 0;
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches.values()) w.req?.destroy();
  }

  private get(path: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = request(
        { ...this.target(path), method: 'GET', agent: this.agent, headers: { accept: 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(Buffer.concat(chunks))
              : reject(new Error(`GET ${path}: ${res.statusCode}`)),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  private target(path: string) {
    const u = new URL(this.url);
    return { hostname: u.hostname, port: u.port, path };
  }

  /** resolves once the watch answered 200 (so nothing written after it is missed) */
  private watch(w: ResourceWatch, attempt = 0): Promise<void> {
    const path = `${basePath(w.r)}/${w.r.resource}?watch=true&allowWatchBookmarks=true&resourceVersion=${w.lastRV}`;
    return new Promise((resolve, reject) => {
      const req = request({ ...this.target(path), method: 'GET', agent: this.agent }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`watch ${path}: ${res.statusCode}`));
          return;
        }
        resolve();
        this.read(w, res);
      });
      w.req = req;
      req.on('error', (e) => {
        if (attempt === 0) reject(e);
        else if (!this.stopped) this.problems.push(`watch of ${resourceKey(w.r)} failed: ${e.message}`);
      });
      req.end();
    });
  }

  private read(w: ResourceWatch, res: IncomingMessage): void {
    let buffered = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() !== '') this.onLine(w, line);
      }
    });
    res.on('end', () => {
      if (this.stopped || w.broken) return;
      // the server ended the watch: continue from the last version seen
      this.watch(w, 1).catch((e: Error) => this.problems.push(`re-watch of ${resourceKey(w.r)} failed: ${e.message}`));
    });
    res.on('error', () => undefined);
  }

  private onLine(w: ResourceWatch, line: string): void {
    let ev: { type: string; object: { metadata?: Meta; code?: number; message?: string } };
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      this.problems.push(`watch of ${resourceKey(w.r)} sent a line that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    const rv = Number(ev.object.metadata?.resourceVersion ?? NaN);
    if (ev.type === 'BOOKMARK') {
      if (rv > w.lastRV) w.lastRV = rv;
      return;
    }
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') {
      this.events.push({ type: ev.type, ...seen(resourceKey(w.r), ev.object), raw: line.slice(0, 1500) });
      if (rv > w.lastRV) w.lastRV = rv;
      return;
    }
    w.broken = true;
    this.problems.push(`watch of ${resourceKey(w.r)} sent ${ev.type}: ${ev.object.message ?? line.slice(0, 200)}`);
  }
}
