// Server-side apply throughput next to update throughput, on the same ~1 KiB AdoptedServers:
//   apply (create)   PATCH application/apply-patch+yaml on absent objects (201)
//   update           PUT of the whole object with one label changed (with its resourceVersion)
//   apply (change)   PATCH apply of the whole object with one label changed
//   apply (no-op)    the same apply again: merge, field bookkeeping, no write
// Every request is made before the clock starts; the objects live in their own namespace.
import { Agent, request, type AgentOptions } from 'node:https';
import { adoptedServerKind } from '../../src/api/adoptedserver.js';
import { runPool, type RunResult } from './measure.js';
import { GROUP_VERSION, makeObject, objectName, resourceVersionOf, type BenchObject } from './objects.js';
import type { MeasureResult } from './report.js';

const NAMESPACE = 'bench-apply';
const PATH = `/apis/${GROUP_VERSION}/namespaces/${NAMESPACE}/${adoptedServerKind.plural}`;
const MANAGER = 'bench-apply';
const LABEL = 'bench.talos.dev/round';

interface Reply {
  status: number;
  body: string;
}

function send(url: string, agent: Agent, method: string, path: string, contentType: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const req = request(new URL(path, url), { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function expectStatus(p: Promise<Reply>, ...ok: number[]): Promise<string> {
  const r = await p;
  if (!ok.includes(r.status)) throw new Error(`expected ${ok.join(' or ')}, got ${r.status}: ${r.body.slice(0, 300)}`);
  return r.body;
}

function withRound(obj: BenchObject, round: number): BenchObject {
  const copy = structuredClone(obj);
  copy.metadata.labels[LABEL] = String(round);
  copy.metadata.namespace = NAMESPACE;
  return copy;
}

/**
 * Runs the four measures with `n` objects and `concurrency` requests in flight against a running
 * server at `serverUrl`; `agentOptions` carry the client identity (ca, cert, key).
 */
export async function benchApply(serverUrl: string, agentOptions: AgentOptions, n: number, concurrency = 16): Promise<MeasureResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency, ...agentOptions });
  try {
    const nsBody = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    await expectStatus(send(serverUrl, agent, 'POST', '/api/v1/namespaces', 'application/json', nsBody), 201, 409);
    const run = `${process.pid}-${Date.now().toString(36)}`;
    const objects = Array.from({ length: n }, (_, i) => makeObject(objectName(`apply-${run}`, i)));
    const path = (i: number) => `${PATH}/${objects[i]!.metadata.name}`;
    const apply = (i: number, body: string, ...ok: number[]) =>
      expectStatus(send(serverUrl, agent, 'PATCH', `${path(i)}?fieldManager=${MANAGER}`, 'application/apply-patch+yaml', body), ...ok);

    const first = objects.map((o) => JSON.stringify(withRound(o, 1)));
    const rv: string[] = [];
    const applyCreate = await runPool(n, concurrency, async (i) => {
      rv[i] = resourceVersionOf(await apply(i, first[i]!, 201));
    });

    // the PUT bodies carry the resourceVersion the previous write returned
    const updates = objects.map((o) => {
      const u = withRound(o, 1);
      u.metadata.annotations['bench.talos.dev/updated'] = 'yes';
      u.metadata.resourceVersion = 'RV';
      return JSON.stringify(u);
    });
    const update = await runPool(n, concurrency, async (i) => {
      const body = updates[i]!.replace('"resourceVersion":"RV"', `"resourceVersion":"${rv[i]}"`);
      rv[i] = resourceVersionOf(await expectStatus(send(serverUrl, agent, 'PUT', path(i), 'application/json', body), 200));
    });

    const second = objects.map((o) => JSON.stringify(withRound(o, 2)));
    const applyChange = await runPool(n, concurrency, (i) => apply(i, second[i]!, 200));
    const applyNoop = await runPool(n, concurrency, (i) => apply(i, second[i]!, 200));

    const row = (id: string, label: string, r: RunResult) => [
      { id: `${id}.opsPerSec`, label: `${label}, ${concurrency} in flight`, unit: 'ops/s' as const, server: r.opsPerSec },
      { id: `${id}.p99Ms`, label: `${label} p99, ${concurrency} in flight`, unit: 'ms' as const, server: r.p99 },
    ];
    return {
      name: 'apply',
      rows: [
        ...row('apply.update', 'update (PUT) in the apply measure', update),
        ...row('apply.change', 'server-side apply, changing', applyChange),
        ...row('apply.noop', 'server-side apply, no change', applyNoop),
        ...row('apply.create', 'server-side apply, creating', applyCreate),
      ],
      details: { n, concurrency, update, applyChange, applyNoop, applyCreate, applyVsUpdate: applyChange.opsPerSec / update.opsPerSec },
    };
  } finally {
    agent.destroy();
  }
}
