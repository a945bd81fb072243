// Which failures are expected while something the controllers talk to is away (a node, the
// Management API, etcd, kube-apiserver) and which are bugs. Expected ones are logged as their
// message only: a stack trace says nothing about a refused connection and would flood the log on
// every retry. Anything else keeps its stack.
import { StatusError } from '../../machinery/errors.js';

/** Node's socket and DNS failures */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_GOAWAY_SESSION',
]);
/** gRPC UNAVAILABLE and DEADLINE_EXCEEDED */
const GRPC_CODES = new Set([14, 4]);
/** Statuses that say "not now": unavailable, timed out, too many requests, conflicts and races */
const TRANSIENT_STATUS = new Set([409, 429, 503, 504]);

function isGrpcStatus(e: object): boolean {
  return typeof (e as { code?: unknown }).code === 'number' && 'details' in e && 'metadata' in e;
}

function expectedAlone(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  if (e instanceof StatusError) return TRANSIENT_STATUS.has(e.code);
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return isGrpcStatus(e) && GRPC_CODES.has(code as number);
}

/** true for a network failure (or a Status saying the same), also when it is the cause of `err` */
export function isNetworkFailure(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 8; depth++) {
    if (expectedAlone(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** the log fields of a failure: its message alone when expected, the error with its stack otherwise */
export function failureFields(err: unknown, expected: boolean): Record<string, unknown> {
  if (!expected) return { err };
  return { error: err instanceof Error ? err.message : String(err) };
}
