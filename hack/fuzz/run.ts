// One fuzz run: start the server, learn what it serves, start the recording watches, send the
// seeded request sequence with a fixed number in flight, then check that the server is alive,
// answered no unexpected 5xx, and that every stored change was made by a 2xx write.
import { Agent } from 'node:https';
import { discoverResources, resourceKey, type ServedResource } from './discovery.js';
import { Ledger, type Violation } from './ledger.js';
import { CONTINUE, CURRENT_RV } from './params.js';
import { Recorder } from './recorder.js';
import { OBJECT_NAMESPACES, type GeneratedRequest } from './pieces.js';
import { RequestGenerator } from './requests.js';
import { Rng } from './rng.js';
import { startFuzzServer, type FuzzServer } from './server.js';
import { Transport, type FuzzRequest, type FuzzResponse } from './transport.js';
import { judge, statusBody } from './verdict.js';
import { DEFAULT_MAX_JSON_DEPTH as MAX_BODY_DEPTH, nestsDeeperThan } from '../../src/machinery/json.js';

export interface FuzzOptions {
  seed: number;
  requests: number;
  concurrency: number;
  /** how long a fuzz watch is read before hanging up */
  watchMs: number;
  /** a request that is not a watch and has no answer by then is a failure */
  deadlineMs: number;
  /** how long the end-of-run check waits for the watches to catch up */
  settleMs: number;
  /** replay these requests instead of generating them */
  replay?: FuzzRequest[];
  /** called after each answer (progress output) */
  onAnswer?: (done: number) => void;
}

export interface Exchange {
  req: FuzzRequest;
  status: number;
  note?: string;
  /** the Status message of an error answer, shortened */
  message?: string;
  /** the resourceVersion a 2xx answer carried */
  rv?: string;
  /** from sending to the end of the answer */
  ms?: number;
}

export interface FuzzResult {
  exchanges: Exchange[];
  failures: string[];
  expected: Map<string, number>;
  knownDefects: Map<string, number>;
  violations: Violation[];
  serverErrorLogs: number;
  serverErrorLogLines: string[];
  events: number;
}

const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const server = await startFuzzServer({ watchBookmarkIntervalMs: 100, talosCallTimeout: '2s' });
  const transport = new Transport(server.url, server.identity, o.deadlineMs);
  const recorderAgent = new Agent({ keepAlive: true, maxSockets: 64, ...server.identity });
  const recorder = new Recorder(server.url, recorderAgent);
  try {
    return await fuzzAgainst(server, transport, recorder, o);
  } finally {
    recorder.stop();
    recorderAgent.destroy();
    transport.close();
    await server.stop();
  }
}

async function fuzzAgainst(
  server: FuzzServer,
  transport: Transport,
  recorder: Recorder,
  o: FuzzOptions,
): Promise<FuzzResult> {
  let seq = 0;
  const send = (r: Omit<FuzzRequest, 'seq'>) => transport.send({ ...r, seq: seq++ });
  const getJSON = async (path: string) => {
    const res = await send({
      proto: 'h1',
      method: 'GET',
      path,
      headers: { accept: 'application/json' },
      verb: 'setup',
      dryRun: false,
    });
    if (res.status !== 200)
      throw new Error(`GET ${path}: ${res.status} ${res.error ?? res.body.toString('utf8').slice(0, 300)}`);
    return JSON.parse(res.body.toString('utf8')) as unknown;
  };
  const resources = await discoverResources(getJSON);
  const byKind = new Map(
    resources.map((r) => [`${r.group ? `${r.group}/${r.version}` : r.version}|${r.kind}`, resourceKey(r)]),
  );
  const ledger = new Ledger((apiVersion, kind) => byKind.get(`${apiVersion}|${kind}`));
  // what cannot be listed and watched keeps nothing to record (a review is answered, not stored)
  const stored = resources.filter((r) => r.verbs.includes('list') && r.verbs.includes('watch'));
  await recorder.start(stored);

  const result: FuzzResult = {
    exchanges: [],
    failures: [],
    expected: new Map(),
    knownDefects: new Map(),
    violations: [],
    serverErrorLogs: 0,
    serverErrorLogLines: [],
    events: 0,
  };
  const latestRV = new Map<string, string>();
  const latestContinue = new Map<string, string>();
  const handle = (req: FuzzRequest, res: FuzzResponse, target?: GeneratedRequest['target']) => {
    const message = res.status >= 400 ? statusBody(res).message?.slice(0, 160) : undefined;
    result.exchanges.push({
      req,
      status: res.status,
      note: res.error ?? (res.timedOut ? 'timeout' : res.cut ? 'cut' : undefined),
      message,
    });
    const verdict = judge(req, res);
    if (!verdict.ok)
      result.failures.push(`#${req.seq} ${req.proto} ${req.method} ${req.path.slice(0, 300)} -> ${verdict.why}`);
    else if (verdict.expected) count(result.expected, verdict.expected);
    else if (verdict.knownDefect) count(result.knownDefects, verdict.knownDefect);
    const writing = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method);
    if (target && writing && (res.status === 0 || res.status >= 500)) {
      const why = verdict.ok
        ? (verdict.knownDefect ?? verdict.expected ?? `no answer: ${res.error ?? 'connection closed'}`)
        : verdict.why;
      ledger.taint(target, why, generateNameOf(req.body));
    }
    if (res.status < 200 || res.status >= 300 || res.cut) return;
    let body: { metadata?: { resourceVersion?: string; continue?: string } };
    try {
      body = JSON.parse(res.body.toString('utf8')) as typeof body;
    } catch {
      return; // YAML, Table text, a watch stream...
    }
    if (typeof body !== 'object' || body === null) return;
    result.exchanges[result.exchanges.length - 1]!.rv = body.metadata?.resourceVersion;
    if (nestsDeeperThan(body, MAX_BODY_DEPTH + 2)) {
      // (a list or watch adds two levels around an object) what the server would refuse as a body
      result.failures.push(
        `#${req.seq} ${req.method} ${req.path.slice(0, 300)} answered an object nesting deeper than the ${MAX_BODY_DEPTH} levels a body may`,
      );
    }
    if (writing && !req.dryRun) ledger.recordWrite(req.method, body as Parameters<Ledger['recordWrite']>[1]);
    const answeredFor = answeredResource(
      body as { apiVersion?: string; kind?: string; details?: { group?: string; kind?: string } },
    );
    if (writing && req.resource && answeredFor && answeredFor !== req.resource) {
      result.failures.push(
        `#${req.seq} ${req.method} ${req.path.slice(0, 300)} was sent to ${req.resource} and answered ${res.status} for ${answeredFor}`,
      );
    }
    if (target && body.metadata?.resourceVersion)
      latestRV.set(`${target.resource}|${target.namespace}|${target.name}`, body.metadata.resourceVersion);
    if (req.resource && body.metadata?.continue) latestContinue.set(req.resource, body.metadata.continue);
  };
  /** the resource a write's answer is about: its object's kind, a list's item kind, a Status's details */
  const answeredResource = (b: {
    apiVersion?: string;
    kind?: string;
    details?: { group?: string; kind?: string };
  }): string | undefined => {
    if (b.kind === 'Status') return b.details?.kind ? `${b.details.group ?? ''}/${b.details.kind}` : undefined;
    if (!b.apiVersion || !b.kind) return undefined;
    return byKind.get(`${b.apiVersion}|${b.kind}`) ?? byKind.get(`${b.apiVersion}|${b.kind.replace(/List$/, '')}`);
  };
  const fill = (g: GeneratedRequest): FuzzRequest => {
    const rv = (g.target && latestRV.get(`${g.target.resource}|${g.target.namespace}|${g.target.name}`)) ?? '1';
    const token = (g.resource && latestContinue.get(g.resource)) ?? '';
    const swap = (s: string) => s.split(CURRENT_RV).join(rv).split(CONTINUE).join(encodeURIComponent(token));
    const { target: _t, ...r } = g;
    const body =
      g.body && g.body.includes(CURRENT_RV)
        ? Buffer.from(g.body.toString('latin1').split(CURRENT_RV).join(rv), 'latin1')
        : g.body;
    return { ...r, seq: seq++, path: swap(g.path), body };
  };

  // the namespaces objects live in (default exists from the start)
  for (const ns of OBJECT_NAMESPACES.filter((n) => n !== 'default')) {
    const req = fill({
      proto: 'h1',
      method: 'POST',
      path: '/api/v1/namespaces',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })),
      verb: 'setup',
      dryRun: false,
    });
    handle(req, await transport.send(req));
  }

  const generator = new RequestGenerator(new Rng(o.seed), resources, o.watchMs);
  const total = o.replay?.length ?? o.requests;
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < total && !server.exited()) {
      const i = next++;
      const g: GeneratedRequest = o.replay ? { ...o.replay[i]!, body: o.replay[i]!.body } : generator.next();
      const req = o.replay ? ({ ...g, seq: seq++ } as FuzzRequest) : fill(g);
      const started = performance.now();
      handle(req, await transport.send(req), g.target);
      result.exchanges[result.exchanges.length - 1]!.ms = Math.round(performance.now() - started);
      o.onAnswer?.(++done);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));

  await finalChecks(server, transport, recorder, ledger, stored, result, o.settleMs);
  return result;
}

async function finalChecks(
  server: FuzzServer,
  transport: Transport,
  recorder: Recorder,
  ledger: Ledger,
  resources: ServedResource[],
  result: FuzzResult,
  settleMs: number,
): Promise<void> {
  if (server.exited()) {
    result.failures.unshift(
      `the server died (exit ${server.proc.exitCode}, signal ${server.proc.signalCode}):\n${server.stderrTail().slice(-4000)}`,
    );
  } else {
    const health = await transport.send({
      seq: -1,
      proto: 'h1',
      method: 'GET',
      path: '/healthz',
      headers: {},
      verb: 'final',
      dryRun: false,
    });
    if (health.status !== 200)
      result.failures.push(
        `/healthz answered ${health.status} ${health.error ?? health.body.toString('utf8').slice(0, 300)} after the run`,
      );
    else await checkStore(transport, recorder, ledger, resources, result, settleMs);
  }
  result.serverErrorLogs = server.errorLogCount;
  result.serverErrorLogLines = [...server.errorLogs];
}

/** waits until every watch reached the store's final revision, then checks the events */
async function checkStore(
  transport: Transport,
  recorder: Recorder,
  ledger: Ledger,
  resources: ServedResource[],
  result: FuzzResult,
  settleMs: number,
): Promise<void> {
  const finalState = new Map<string, string>();
  let finalRV = 0;
  for (const r of resources) {
    const res = await transport.send({
      seq: -1,
      proto: 'h1',
      method: 'GET',
      path: `${r.group ? `/apis/${r.group}` : '/api'}/${r.version}/${r.resource}`,
      headers: {},
      verb: 'final',
      dryRun: false,
    });
    const list = statusBody(res) as {
      metadata?: { resourceVersion?: string };
      items?: { metadata: { namespace?: string; name: string; resourceVersion: string } }[];
    };
    finalRV = Math.max(finalRV, Number(list.metadata?.resourceVersion ?? 0));
    for (const it of list.items ?? [])
      finalState.set(
        `${resourceKey(r)}|${it.metadata.namespace ?? ''}|${it.metadata.name}`,
        it.metadata.resourceVersion,
      );
  }
  const deadline = Date.now() + settleMs;
  while (resources.some((r) => recorder.reached(resourceKey(r)) < finalRV) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50)); // bounded poll for the bookmarks to arrive
  }
  const behind = resources.filter((r) => recorder.reached(resourceKey(r)) < finalRV).map(resourceKey);
  if (behind.length > 0)
    result.failures.push(
      `watches of ${behind.join(', ')} did not reach resourceVersion ${finalRV} within ${settleMs} ms`,
    );
  result.failures.push(...recorder.problems.map((p) => `recording watch: ${p}`));
  result.events = recorder.events.length;
  // what the watches say is stored must be what a list says is stored
  const replayed = new Map<string, string>();
  for (const o of recorder.initialObjects()) replayed.set(`${o.resource}|${o.namespace}|${o.name}`, o.rv);
  for (const e of recorder.events) {
    const k = `${e.resource}|${e.namespace}|${e.name}`;
    if (e.type === 'DELETED') replayed.delete(k);
    else replayed.set(k, e.rv);
  }
  for (const [k, rv] of finalState)
    if (replayed.get(k) !== rv)
      result.failures.push(
        `${k} is listed at resourceVersion ${rv}, the watches last saw ${replayed.get(k) ?? 'nothing'}`,
      );
  for (const [k, rv] of replayed)
    if (!finalState.has(k))
      result.failures.push(`${k} (resourceVersion ${rv}) is in the watches' state but not listed`);
  result.violations = ledger.check(recorder.initialObjects(), recorder.events);
  for (const v of result.violations) {
    if (v.knownDefect && !v.knownDefect.startsWith('known-defect'))
      result.failures.push(`${v.what} (the request that touched it: ${v.knownDefect})`);
    else if (!v.knownDefect) result.failures.push(v.what);
  }
}

/** metadata.generateName of a JSON or YAML object body, if it has one (never a YAML parse of hostile text) */
function generateNameOf(body: Buffer | undefined): string | undefined {
  if (!body) return undefined;
  const text = body.toString('utf8');
  try {
    const v = JSON.parse(text) as { metadata?: { generateName?: unknown } } | null;
    return typeof v?.metadata?.generateName === 'string' && v.metadata.generateName !== ''
      ? v.metadata.generateName
      : undefined;
  } catch {
    return /\bgenerateName:\s*"?([^"\n]+)"?/.exec(text)?.[1];
  }
}
