// /healthz, /livez, /readyz as kube-apiserver answers them: `ok`, `?verbose` lists checks,
// `?exclude=` skips some, `/<endpoint>/<check>` runs one; failures are 500 and always verbose.
import type { ServerResponse } from 'node:http';
import { sendText } from '../http.js';

export interface HealthCheck {
  name: string;
  /** which endpoints run it */
  endpoints: ('healthz' | 'livez' | 'readyz')[];
  /** resolves to undefined when healthy, or a reason */
  check(): Promise<string | undefined>;
}

export interface HealthDeps {
  healthChecks: HealthCheck[];
  isReady(): boolean;
}

export async function serveHealth(
  deps: HealthDeps,
  path: string,
  q: URLSearchParams,
  res: ServerResponse,
): Promise<void> {
  const parts = path.split('/').filter(Boolean);
  const endpoint = parts[0] as 'healthz' | 'livez' | 'readyz';
  const only = parts[1];
  const excluded = new Set(q.getAll('exclude'));
  const checks: HealthCheck[] = [
    { name: 'ping', endpoints: ['healthz', 'livez', 'readyz'], check: async () => undefined },
    ...deps.healthChecks,
  ];
  if (endpoint === 'readyz') {
    checks.push({
      name: 'shutdown',
      endpoints: ['readyz'],
      check: async () => (deps.isReady() ? undefined : 'server is shutting down'),
    });
  }
  const selected = checks.filter(
    (c) => c.endpoints.includes(endpoint) && !excluded.has(c.name) && (!only || c.name === only),
  );
  if (only && selected.length === 0) return sendText(res, 404, `404 page not found\n`);
  const results = await Promise.all(
    selected.map(async (c) => ({ name: c.name, reason: await c.check().catch((e: Error) => e.message) })),
  );
  const failed = results.some((r) => r.reason !== undefined);
  if (!failed && !q.has('verbose')) return sendText(res, 200, 'ok');
  const lines = results.map((r) =>
    r.reason === undefined ? `[+]${r.name} ok` : `[-]${r.name} failed: reason withheld`,
  );
  for (const ex of excluded) lines.push(`[+]${ex} excluded: ok`);
  lines.push(failed ? `${endpoint} check failed` : `${endpoint} check passed`);
  sendText(res, failed ? 500 : 200, lines.join('\n') + '\n');
}
