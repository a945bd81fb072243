// Every failure talking to a Talos node becomes a TalosError carrying a short machine-readable
// `failure` reason: a controller puts it in a condition, a metric counts it, and the live
// subresources turn it into an HTTP status at their edge (src/subresources/failures.ts). Nothing here
// knows HTTP. Messages are one line a person can act on: the call, the node's host:port and the
// likely cause (grpc-js's own wording is reduced to that), never key material; the gRPC code
// stays machine-readable in `grpcCode`.
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
    `${where(ctx)}: TLS failed: the node asks for a client certificate, so it is not in maintenance mode (it is configured already): ${oneLine(tlsDetail)}`,
    GrpcStatus.UNAVAILABLE,
  );
}

export function clientClosed(ctx: CallContext): TalosError {
  return new TalosError('ClientClosed', `${where(ctx)}: the Talos client was closed`);
}

interface GrpcLikeError {
  code: number;
  details?: string;
  message?: string;
}

function isGrpcError(e: unknown): e is GrpcLikeError {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number';
}

/** gRPC's name of a status code (`UNAVAILABLE`), the machine-readable form beside a failure reason */
export function grpcCodeName(code: number): string {
  return (GrpcStatus as unknown as Record<number, string>)[code] ?? `CODE_${code}`;
}

/** Maps a gRPC (or socket/DNS) failure to a TalosError. */
export function toTalosError(e: unknown, ctx: CallContext): TalosError {
  if (e instanceof TalosError) return e;
  if (isGrpcError(e)) return fromGrpc(e, ctx);
  const err = e as NodeJS.ErrnoException | undefined;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') {
    return new TalosError('Unreachable', `${where(ctx)} is unreachable: ${nameResolution(code)}`);
  }
  const text = err instanceof Error ? err.message : String(e);
  return new TalosError('NodeError', `${where(ctx)} failed: ${oneLine(text)}`);
}

const MAX_DETAIL = 300;

/**
 * A node's (or grpc-js's) text as one short line: grpc-js's connection wrapping (`No connection
 * established. Last error: Error: ... Resolution note:`) and its deadline timings (`,name
 * resolution: 0.001s,LB pick: ...`) say nothing to a person and are dropped.
 */
export function oneLine(text: string): string {
  const cleaned = text
    .replace(/^No connection established\.\s*/i, '')
    .replace(/^Last error:\s*/i, '')
    .replace(/^(Error:\s*)+/, '')
    .replace(/\.?\s*Resolution note:.*$/is, '')
    .replace(/^Deadline exceeded after [\d.]+s.*$/is, '')
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned.length > MAX_DETAIL ? `${cleaned.slice(0, MAX_DETAIL - 3)}...` : cleaned;
}

function nameResolution(code: string): string {
  return code === 'EAI_AGAIN'
    ? 'name resolution failed: the DNS server did not answer (EAI_AGAIN)'
    : `name resolution failed: the host name is not known to DNS (${code})`;
}

/**
 * The likely cause of a failure to connect, read from the raw text of grpc-js, Node's socket and
 * OpenSSL (which phrase the same problem in many ways); undefined when the text matches nothing known.
 */
function connectCause(raw: string): { failure: 'Unreachable' | 'TLSError'; cause: string } | undefined {
  const tls = (cause: string) => ({ failure: 'TLSError' as const, cause: `TLS handshake failed: ${cause}` });
  const away = (cause: string) => ({ failure: 'Unreachable' as const, cause });
  if (/ECONNREFUSED/.test(raw))
    return away('connection refused (nothing listens on that port, or a firewall rejects it)');
  if (/EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN/.test(raw))
    return away('no route to the host (it is down, or the network between us is)');
  if (/ETIMEDOUT/.test(raw)) return away('connecting timed out (the host is down, or a firewall drops the packets)');
  if (/ENOTFOUND|ENODATA/.test(raw)) return away(nameResolution(/ENODATA/.test(raw) ? 'ENODATA' : 'ENOTFOUND'));
  if (/EAI_AGAIN|name resolution failed|DNS resolution failed/i.test(raw)) return away(nameResolution('EAI_AGAIN'));
  if (/altnames|does not match certificate|is not in the cert/i.test(raw)) {
    const which = /(?:IP|Host): .*$/.exec(oneLine(raw))?.[0];
    return tls(`the node's certificate does not name the address or host name dialed${which ? ` (${which})` : ''}`);
  }
  if (/certificate has expired|certificate is not yet valid/i.test(raw))
    return tls("the node's certificate has expired or is not yet valid");
  if (/alert|rejected our client certificate|closed the connection right after the handshake/i.test(raw))
    return tls('the node rejected our client certificate (not signed by a CA it trusts, or not a client certificate)');
  if (/self[- ]signed|unable to (get|verify)|certificate signature failure|certificate chain/i.test(raw))
    return tls("certificate not trusted: the node's certificate does not verify against the talosconfig's OS CA");
  if (/certificate|SSL|TLS|handshake/i.test(raw)) return tls(oneLine(raw));
  if (/ECONNRESET|Connection dropped|Socket closed|Failed to connect/i.test(raw))
    return away('the connection closed before the Talos API answered (is this port a Talos API?)');
  return undefined;
}

function deadlineCause(raw: string, ctx: CallContext): string {
  const within = ctx.timeoutMs !== undefined ? ` within ${ctx.timeoutMs} ms` : '';
  if (raw === 'resolving the endpoint') return `did not answer${within}: resolving its host name took too long`;
  // grpc-js still waiting for a connection to pick when the deadline passed: none was ever set up
  if (/LB pick|name resolution:|Waiting for (a )?connection/i.test(raw) && !/remote_addr/.test(raw))
    return `did not answer${within}: no connection could be set up in that time (the node is down or frozen, or a firewall drops the packets)`;
  const said = oneLine(raw);
  return `did not answer${within}: the call was sent and no answer came (the node is frozen or overloaded)${said && !/^Deadline exceeded/i.test(said) ? `: ${said}` : ''}`;
}

function fromGrpc(e: GrpcLikeError, ctx: CallContext): TalosError {
  const raw = (e.details ?? e.message ?? '').trim();
  const detail = oneLine(raw);
  const at = where(ctx);
  const said = detail ? `: ${detail}` : '';
  switch (e.code) {
    case GrpcStatus.UNAVAILABLE: {
      const known = connectCause(raw);
      if (known?.failure === 'TLSError') return new TalosError('TLSError', `${at}: ${known.cause}`, e.code);
      return new TalosError(
        'Unreachable',
        `${at} is unreachable: ${known?.cause ?? (detail || 'no reason given')}`,
        e.code,
      );
    }
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new TalosError('Timeout', `${at} ${deadlineCause(raw, ctx)}`, e.code);
    case GrpcStatus.PERMISSION_DENIED:
      return new TalosError(
        'PermissionDenied',
        `${at}: the client certificate's roles do not allow this call${said}`,
        e.code,
      );
    case GrpcStatus.UNAUTHENTICATED:
      return new TalosError('Unauthenticated', `${at}: the node rejected the credentials${said}`, e.code);
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
      return new TalosError('NodeError', `${at} failed (${grpcCodeName(e.code)})${said}`, e.code);
  }
}
