// The connection to etcd: an etcd3 client whose own retry and circuit-breaker policies are
// replaced (hosts.ts), because retrying is only safe when we know a request never left this process.
// `EtcdRpc.call` retries reads on any transient failure and writes only when no connection was
// established, always within one deadline, and turns every failure into a StorageError.
import { readFile } from 'node:fs/promises';
import { Etcd3, GRPCDeadlineExceededError, type IOptions } from 'etcd3';
import { StorageError } from '../storage.js';
import { hostPolicy, passThrough } from './hosts.js';
import { channelsWithoutIpServerName } from './ipservername.js';

export interface EtcdConnectionOptions {
  endpoints: string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** replies larger than this are refused; list pages aim far below it, and one watch event (a value and
 * its previous value, 2 x 1.5 MiB at most) fits */
export const MAX_RECEIVE_BYTES = 8 * 1024 * 1024;

export async function connectEtcd(opts: EtcdConnectionOptions): Promise<Etcd3> {
  if (opts.endpoints.length === 0) throw new StorageError('Internal', 'etcd: no endpoints given');
  for (const e of opts.endpoints) {
    if (!/^(https?:\/\/)?[^/\s]+:\d+\/?$/.test(e))
      throw new StorageError('Internal', `etcd: endpoint ${e} is not [http(s)://]host:port`);
  }
  if (Boolean(opts.certFile) !== Boolean(opts.keyFile)) {
    throw new StorageError('Internal', 'etcd: a client certificate needs both a certificate file and a key file');
  }
  const read = async (file: string | undefined, what: string): Promise<Buffer | undefined> => {
    if (!file) return undefined;
    try {
      return await readFile(file);
    } catch (err) {
      throw new StorageError('Internal', `etcd: cannot read the ${what} file ${file}: ${(err as Error).message}`);
    }
  };
  const [ca, cert, key] = await Promise.all([
    read(opts.caFile, 'CA'),
    read(opts.certFile, 'certificate'),
    read(opts.keyFile, 'key'),
  ]);
  const tls = Boolean(ca || cert) || opts.endpoints.some((e) => e.startsWith('https://'));
  const options: IOptions = {
    hosts: opts.endpoints.map((e) => e.replace(/\/$/, '')),
    grpcOptions: {
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      // a dead peer behind an idle watch is noticed within keepalive time + timeout
      // (etcd refuses pings more often than every 5 s)
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      // reconnect quickly once etcd is back instead of backing off for minutes
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      // our own connections, not ones shared with other clients through grpc's global pool
      'grpc.use_local_subchannel_pool': 1,
    },
    faultHandling: { global: passThrough, host: hostPolicy },
  };
  if (tls) {
    // without a CA file, grpc verifies against the system roots
    options.credentials = { rootCertificate: ca as Buffer, certChain: cert, privateKey: key };
    // no IP address as the TLS server name (ipservername.ts)
    options.grpcOptions = {
      ...options.grpcOptions,
      channelFactoryOverride: channelsWithoutIpServerName({ ca, cert, key }),
    };
  }
  return new Etcd3(options);
}

export type EtcdErrorKind =
  | 'Compacted'
  | 'FutureRevision'
  | 'TooLarge'
  | 'ReplyTooLarge'
  | 'Refused'
  | 'NotSent'
  | 'Transient'
  | 'Internal';

/** what an error from the etcd3 client means for us */
export function classifyEtcdError(err: unknown): EtcdErrorKind {
  const name = (err as Error)?.constructor?.name ?? '';
  const msg = String((err as Error)?.message ?? err);
  if (msg.includes('required revision has been compacted')) return 'Compacted';
  if (msg.includes('required revision is a future revision')) return 'FutureRevision';
  if (msg.includes('request is too large')) return 'TooLarge';
  // (watch streams hand out grpc's own errors, which etcd3 has not renamed)
  if (/larger than max/i.test(msg) && (name === 'GRPCResourceExhastedError' || msg.includes('RESOURCE_EXHAUSTED')))
    return 'ReplyTooLarge';
  // TLS refused (no or wrong client certificate, untrusted server): asking again will not help
  if (/No connection established/.test(msg) && /certificate|SSL routines|wrong version number/i.test(msg))
    return 'Refused';
  // the call never reached etcd, or etcd refused it before proposing it: safe to send again
  if (
    /No connection established|waiting for (name resolution|LB pick)|etcdserver: no leader|proposal dropped/i.test(
      msg,
    ) ||
    name === 'ClientClosedError' ||
    name === 'HostSetAsideError'
  ) {
    return 'NotSent';
  }
  if (
    /^GRPC(Unavailable|DeadlineExceeded|Cancelled|Internal|Unknown|Aborted|ResourceExhasted)Error$/.test(name) ||
    /etcdserver: (request timed out|leader changed|too many requests|server stopped|timed out)/.test(msg)
  ) {
    return 'Transient';
  }
  return 'Internal';
}

export interface CallContext {
  /** what the call was, for error messages */
  what: string;
  /** true when sending it twice can do no harm (reads) */
  idempotent: boolean;
}

const MIN_ATTEMPT_MS = 20;

/** one etcd round trip with a deadline; `attempt` receives the grpc call options to pass on */
export class EtcdRpc {
  constructor(
    readonly client: Etcd3,
    private readonly timeoutMs: number,
    private readonly isClosed: () => boolean,
  ) {}

  async call<T>(ctx: CallContext, attempt: (opts: { deadline: number }) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    let delay = 25;
    let last: unknown;
    for (;;) {
      if (this.isClosed()) throw closedError();
      try {
        return await attempt({ deadline });
      } catch (err) {
        if (this.isClosed()) throw closedError();
        const kind = classifyEtcdError(err);
        if (kind !== 'NotSent' && !(kind === 'Transient' && ctx.idempotent)) throw toStorageError(err, ctx);
        // the deadline's own error says less about etcd than the one before it
        if (!last || !(err instanceof GRPCDeadlineExceededError)) last = err;
      }
      const pause = Math.min(delay, deadline - Date.now());
      // no point in an attempt that has no time left to get an answer
      if (deadline - Date.now() - pause < MIN_ATTEMPT_MS) break;
      await new Promise((r) => setTimeout(r, pause));
      delay = Math.min(delay * 2, 500);
    }
    throw new StorageError(
      'Unavailable',
      `etcd ${ctx.what}: no answer within ${this.timeoutMs} ms (${(last as Error)?.message ?? 'unknown error'})`,
    );
  }
}

export function closedError(): StorageError {
  return new StorageError('Unavailable', 'etcd store is closed');
}

/** a reply over MAX_RECEIVE_BYTES: the caller may ask again for less */
export class ReplyTooLargeError extends StorageError {
  constructor(message: string) {
    super('Internal', message);
  }
}

export function toStorageError(err: unknown, ctx: CallContext): StorageError {
  const msg = `etcd ${ctx.what}: ${(err as Error)?.message ?? String(err)}`;
  switch (classifyEtcdError(err)) {
    case 'Compacted':
      return new StorageError('Compacted', msg);
    case 'FutureRevision':
      return new StorageError('FutureRevision', msg);
    case 'TooLarge':
      return new StorageError('TooLarge', msg);
    case 'ReplyTooLarge':
      return new ReplyTooLargeError(msg);
    case 'Internal':
      return new StorageError('Internal', msg);
    case 'Refused':
      return new StorageError('Unavailable', msg);
    default:
      // a write that may or may not have been applied: the caller must re-read to know
      return new StorageError(
        'Unavailable',
        ctx.idempotent ? msg : `${msg} (the write may or may not have been applied)`,
      );
  }
}
