// etcd3 runs every call through a global policy and then through one policy per host. We retry
// ourselves (client.ts), so the global policy passes calls through; the host policy sets a host
// aside for a moment after its connection failed, so calls go to the members that are up instead
// of finding the dead one again at random. A host set aside refuses without sending anything;
// etcd3 then tries the next host, and when every host is set aside the call fails as not sent.
import type { IOptions } from 'etcd3';

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
type Attempt = (ctx: { signal: AbortSignal }) => unknown;

/** long enough to spare callers a refused connection per call, short enough to notice a restart */
const SET_ASIDE_MS = 500;

export class HostSetAsideError extends Error {
  constructor(host: string) {
    super(`No connection established: etcd host ${host} is set aside after a failed connection`);
    this.name = 'HostSetAsideError';
  }
}

function policy(execute: (fn: Attempt) => Promise<unknown>): Policy {
  const noEvent = () => ({ dispose: () => undefined });
  return { execute, onSuccess: noEvent, onFailure: noEvent } as unknown as Policy;
}

const context = () => ({ signal: new AbortController().signal });

// async: etcd3 relies on a synchronous throw inside fn becoming a rejection
export const passThrough: Policy = policy(async (fn) => fn(context()));

function isConnectionFailure(err: unknown): boolean {
  return /No connection established|Connection dropped|ECONNREFUSED|ECONNRESET/.test(
    String((err as Error)?.message ?? ''),
  );
}

export function hostPolicy(host: string): Policy {
  let asideUntil = 0;
  return policy(async (fn) => {
    if (Date.now() < asideUntil) throw new HostSetAsideError(host);
    try {
      return await fn(context());
    } catch (err) {
      if (isConnectionFailure(err)) asideUntil = Date.now() + SET_ASIDE_MS;
      throw err;
    }
  });
}
