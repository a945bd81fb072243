// Failure injection and power, in-process (inject()) and as a small loopback HTTP/JSON endpoint:
//   GET  /state                       clusters, per-node state, the most nodes down at once, bare metal
//   POST /nodes/<node>/<action>       stop | start | slow {"ms":N} | freeze | unhealthy {"service":"etcd"} |
//                                     wrong-ca | refuse-config {"message":"..."} | stop-during-bootstrap |
//                                     fail-upgrade | fail-kubernetes-upgrade | power-off | power-on |
//                                     reprovision | heal
// <node> is a node's id (node-0), name or address. Each POST answers once the node's listener
// reflects the change.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BareMetalMachine } from './bare-metal.js';
import type { SimFleet } from './fleet.js';
import { reportedVersions } from './kubernetes.js';
import type { Lifecycle } from './lifecycle.js';
import type { NodeServer } from './server.js';

export const ACTIONS = [
  'stop',
  'start',
  'slow',
  'freeze',
  'unhealthy',
  'wrong-ca',
  'refuse-config',
  'stop-during-bootstrap',
  'fail-upgrade',
  'fail-kubernetes-upgrade',
  'power-off',
  'power-on',
  'reprovision',
  'heal',
] as const;
export type Action = (typeof ACTIONS)[number];

export class ControlError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ControlTarget {
  fleet: SimFleet;
  lifecycle: Lifecycle;
  /** by node id */
  servers: Map<string, NodeServer>;
  /** the bare-metal machines, in order */
  machines: BareMetalMachine[];
}

export function fleetState(t: ControlTarget): Record<string, unknown> {
  return {
    clusters: t.fleet.allClusters().map((c) => ({
      id: c.id,
      name: c.name,
      endpoint: c.endpoint,
      bootstrapsEffective: c.bootstrapsEffective,
      etcdMembers: c.members.map((m) => ({ ...m })),
    })),
    nodes: t.fleet.nodes.map((n) => ({ ...n.snapshot(), kubernetes: reportedVersions(n) })),
    maxDownAtOnce: t.fleet.maxDownAtOnce,
    maxDownByRole: { ...t.fleet.maxDownByRole },
    downNow: t.fleet.downNow(),
    kubernetesChanges: t.fleet.kubernetesChanges.map((c) => ({ ...c })),
    bareMetal: t.machines.map((m) => m.snapshot()),
  };
}

/** Applies one fault (or clears them) on the named node; resolves after its listener follows. */
export async function inject(
  t: ControlTarget,
  name: string,
  action: Action,
  params: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const node = t.fleet.resolve(name);
  const server = node && t.servers.get(node.id);
  if (!node || !server) throw new ControlError(404, `no node named ${JSON.stringify(name)}`);
  const f = node.faults;
  switch (action) {
    case 'stop':
      f.down = true;
      break;
    case 'start':
      f.down = false;
      break;
    case 'freeze':
      f.frozen = true;
      break;
    case 'wrong-ca':
      f.wrongCA = true;
      break;
    case 'heal':
      node.heal();
      break;
    case 'slow': {
      const ms = Number(params['ms']);
      if (!Number.isInteger(ms) || ms < 0) throw new ControlError(400, 'slow needs {"ms": <non-negative integer>}');
      f.latencyMs = ms;
      break;
    }
    case 'refuse-config': {
      const message = params['message'] ?? 'simulated refusal: the node rejects this configuration';
      if (typeof message !== 'string' || message === '')
        throw new ControlError(400, 'refuse-config takes {"message": <non-empty string>}');
      f.refuseConfig = message;
      break;
    }
    case 'stop-during-bootstrap':
      f.stopDuringBootstrap = true;
      break;
    case 'fail-upgrade':
      f.failUpgrade = true;
      break;
    case 'fail-kubernetes-upgrade':
      f.failKubernetesUpgrade = true;
      break;
    case 'power-off':
      t.lifecycle.powerOff(node);
      break;
    case 'power-on':
      t.lifecycle.powerOn(node);
      break;
    case 'reprovision':
      t.lifecycle.reprovision(node);
      break;
    case 'unhealthy': {
      const service = params['service'];
      if (typeof service !== 'string' || !node.services.has(service)) {
        throw new ControlError(400, `unhealthy needs {"service": one of ${[...node.services.keys()].join(', ')}}`);
      }
      if (!f.unhealthy.includes(service)) f.unhealthy.push(service);
      break;
    }
  }
  node.changed();
  await server.reconcile();
  return { ...node.snapshot(), kubernetes: reportedVersions(node) };
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 64 * 1024) throw new ControlError(413, 'body too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new ControlError(400, 'body must be a JSON object');
}

function send(res: ServerResponse, code: number, value: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' }).end(`${JSON.stringify(value)}\n`);
}

async function route(t: ControlTarget, req: IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://control');
  if (req.method === 'GET' && url.pathname === '/state') return fleetState(t);
  const m = /^\/nodes\/([^/]+)\/([a-z-]+)$/.exec(url.pathname);
  if (!m) throw new ControlError(404, 'routes: GET /state, POST /nodes/<id|name|address>/<action>');
  if (req.method !== 'POST') throw new ControlError(405, 'use POST for node actions');
  const action = m[2] as Action;
  if (!ACTIONS.includes(action)) throw new ControlError(404, `unknown action ${m[2]} (one of ${ACTIONS.join(', ')})`);
  const params = { ...Object.fromEntries(url.searchParams), ...(await body(req)) };
  return inject(t, decodeURIComponent(m[1] ?? ''), action, params);
}

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

export async function startControlServer(t: ControlTarget, port = 0): Promise<ControlServer> {
  const server = createServer((req, res) => {
    route(t, req).then(
      (value) => send(res, 200, value),
      (e: unknown) =>
        send(res, e instanceof ControlError ? e.httpStatus : 500, {
          error: e instanceof Error ? e.message : String(e),
        }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
