// Every failure talking to a Talos node becomes a TalosError carrying a short machine-readable
// `failure` reason: a controller puts it in a condition, a metric counts it, and the live
// subresources turn it into an HTTP status at their edge (src/subresources/failures.ts). Nothing here
// knows HTTP. Messages name the node and the call, never key material.
import { status as GrpcStatus } from '@grpc/grpc-js';

export type TalosFailure =
  | 'Unreachable'
  | 'Timeout'
  | 'TLSError'
  | 'OutboundNotAllowed'
  | 'PermissionDenied'
  | 'Unauthenticated'
  | 'NotFound'
  | 'Unimplemented'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'ResourceExhausted'
  | 'Canceled'
  | 'InvalidResponse'
  | 'NodeError'
  | 'ClientClosed';

export class TalosError extends Error {
  constructor(
    readonly failure: TalosFailure,
    message: string,
    /** the gRPC status code when the failure came from gRPC */
    readonly grpcCode?: number,
  ) {
    super(redact(message));
    this.name = 'TalosError';
  }
}

export function isTalosError(e: unknown): e is TalosError {
  return e instanceof TalosError;
}

/** Where a failure happened, for messages: `Talos node 10.0.0.5:50000 (Version)`. */
export interface CallContext {
  endpoint: string;
  method: string;
  timeoutMs?: number;
}

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g;
const LONG_BASE64 = /[A-Za-z0-9+/=_-]{120,}/g;

/** Strips anything that could be key or certificate material from a message. */
export function redact(message: string): string {
  return message.replace(PEM_BLOCK, '[redacted PEM]').replace(LONG_BASE64, '[redacted]');
}

function where(ctx: CallContext): string {
  return `Talos node ${ctx.endpoint} (${ctx.method})`;
}

export function outboundNotAllowed(endpoint: string, addresses: string[]): TalosError {
  const list = addresses.join(', ');
  return new TalosError(
    'OutboundNotAllowed',
    `refusing to connect to Talos endpoint ${endpoint}: address ${list} is outside --allowed-outbound-networks`,
  );
}

export function dnsNotAllowed(endpoint: string, host: string, resolvers: string[]): TalosError {
  return new TalosError(
    'OutboundNotAllowed',
    `refusing to resolve Talos endpoint ${endpoint}: asking DNS server ${resolvers.join(', ')} for ${host} would leave --allowed-outbound-networks; give an IP address`,
  );
}

export function invalidResponse(ctx: CallContext, why: string): TalosError {
  return new TalosError('InvalidResponse', `${where(ctx)} sent an invalid response: ${why}`);
}

/**
 * A maintenance-mode (insecure) connection that the node refused at TLS: it asks for a client
 * certificate, so it runs a configuration already (ours, or another cluster's).
 */
export function notInMaintenance(ctx: CallContext, tlsDetail: string): TalosError {
  return new TalosError(
    'TLSError',
    `${where(ctx)}: TLS failed: the node asks for a client certificate, so it is not in maintenance mode (it is configured already): ${tlsDetail}`,
    GrpcStatus.UNAVAILABLE,
  );
}

export function clientClosed(ctx: CallContext): TalosError {
  return new TalosError('ClientClosed', `${where(ctx)}: the Talos client was closed`);
}

// OpenSSL and Node phrase certificate problems in many ways: verification on our side (wrong CA,
// name mismatch, expiry), or the node refusing our client certificate (alerts, hang-ups).
const TLS_PATTERN = /certificate|self[- ]signed|unable to (get|verify)|altnames|SSL|TLS|alert|handshake/i;
const THEY_REFUSED = /alert|rejected our client certificate/i;

interface GrpcLikeError {
  code: number;
  details?: string;
  message?: string;
}

function isGrpcError(e: unknown): e is GrpcLikeError {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number';
}

/** Maps a gRPC (or socket/DNS) failure to a TalosError. */
export function toTalosError(e: unknown, ctx: CallContext): TalosError {
  if (e instanceof TalosError) return e;
  if (isGrpcError(e)) return fromGrpc(e, ctx);
  const err = e as NodeJS.ErrnoException | undefined;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') {
    return new TalosError('Unreachable', `${where(ctx)} is unreachable: cannot resolve its host name (${code})`);
  }
  const text = err instanceof Error ? err.message : String(e);
  return new TalosError('NodeError', `${where(ctx)} failed: ${text}`);
}

function fromGrpc(e: GrpcLikeError, ctx: CallContext): TalosError {
  const detail = (e.details ?? e.message ?? '').trim();
  const at = where(ctx);
  const said = detail ? `: ${detail}` : '';
  switch (e.code) {
    case GrpcStatus.UNAVAILABLE:
      if (TLS_PATTERN.test(detail)) {
        const what = THEY_REFUSED.test(detail)
          ? 'the node refused our client certificate (not signed by an OS CA it accepts?)'
          : "the node's certificate does not verify against the talosconfig's OS CA or the dialed name";
        return new TalosError('TLSError', `${at}: TLS failed: ${what}${said}`, e.code);
      }
      return new TalosError('Unreachable', `${at} is unreachable${said}`, e.code);
    case GrpcStatus.DEADLINE_EXCEEDED: {
      const within = ctx.timeoutMs !== undefined ? ` within ${ctx.timeoutMs} ms` : '';
      return new TalosError('Timeout', `${at} did not answer${within}${said}`, e.code);
    }
    case GrpcStatus.PERMISSION_DENIED:
      return new TalosError(
        'PermissionDenied',
        `${at}: the client certificate's roles do not allow this call${said}`,
        e.code,
      );
    case GrpcStatus.UNAUTHENTICATED:
      return new TalosError('Unauthenticated', `${at}: the node did not accept the client certificate${said}`, e.code);
    case GrpcStatus.NOT_FOUND:
      return new TalosError('NotFound', `${at}: not found${said}`, e.code);
    case GrpcStatus.UNIMPLEMENTED:
      return new TalosError(
        'Unimplemented',
        `${at}: the node does not serve this call (it may be a worker, or its Talos version lacks it)${said}`,
        e.code,
      );
    case GrpcStatus.ALREADY_EXISTS:
      return new TalosError('AlreadyExists', `${at}: already done${said}`, e.code);
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.OUT_OF_RANGE:
      return new TalosError('InvalidArgument', `${at}: the node rejected the request${said}`, e.code);
    case GrpcStatus.FAILED_PRECONDITION:
    case GrpcStatus.ABORTED:
      return new TalosError('FailedPrecondition', `${at}: the node is not in a state to do this${said}`, e.code);
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new TalosError('ResourceExhausted', `${at}: resource exhausted${said}`, e.code);
    case GrpcStatus.CANCELLED:
      return new TalosError('Canceled', `${at}: the call was canceled${said}`, e.code);
    default:
      return new TalosError('NodeError', `${at} failed${said}`, e.code);
  }
}
