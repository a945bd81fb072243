// Plain HTTP as a booting machine speaks it: firmware, iPXE, the boot agent and Talos fetching its
// config, every request from the machine's own loopback address (so the boot listener sees who
// asks), with a deadline per request and bounded retries of what a machine would try again.
import { request } from 'node:http';

export interface BootHttpSettings {
  /** deadline of one request, ms */
  timeoutMs: number;
  /** attempts of a request that may be retried (at least 1) */
  attempts: number;
  /** wait between two attempts, ms */
  retryMs: number;
}

export interface BootReply {
  status: number;
  text: string;
  bytes: number;
}

/** one request from `from`; rejects on a network failure or the deadline */
export function bootRequest(
  from: string,
  url: URL,
  method: string,
  timeoutMs: number,
  body?: unknown,
  token?: string,
  /** aborts the request (the simulator stopping) */
  signal?: AbortSignal,
): Promise<BootReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        localAddress: from,
        timeout: timeoutMs,
        ...(signal ? { signal } : {}),
        headers: {
          ...(payload !== undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
            : {}),
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const all = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, text: all.toString('utf8'), bytes: all.length });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** the message of a refusal: a Kubernetes Status's message, else the start of the body */
export function refusal(reply: BootReply): string {
  try {
    const status = JSON.parse(reply.text) as { message?: unknown };
    if (typeof status.message === 'string') return `${reply.status} ${status.message}`;
  } catch {
    // not JSON: the text itself
  }
  return `${reply.status} ${reply.text.slice(0, 200)}`.trimEnd();
}

export class BootGaveUp extends Error {}

/**
 * Tries `attempt` until `done` accepts a reply, at most `settings.attempts` times, waiting
 * `retryMs` between tries; a network failure counts as a failed try. `alive` false (the machine
 * lost power meanwhile) ends it with undefined.
 */
export async function retried(
  settings: BootHttpSettings,
  what: string,
  attempt: () => Promise<BootReply>,
  done: (reply: BootReply) => boolean,
  alive: () => boolean,
  wait: (ms: number) => Promise<void>,
): Promise<BootReply | undefined> {
  let last = '';
  for (let i = 1; i <= Math.max(1, settings.attempts); i++) {
    if (!alive()) return undefined;
    try {
      const reply = await attempt();
      if (done(reply)) return reply;
      last = refusal(reply);
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (i < settings.attempts) await wait(settings.retryMs);
  }
  if (!alive()) return undefined;
  throw new BootGaveUp(`${what}: gave up after ${Math.max(1, settings.attempts)} attempts (last: ${last})`);
}
