// The listener's connections: how long each may stay open without work, how many one client
// address may hold before authenticating, and the graceful drain on shutdown.
//
// node:http2's secure server with allowHTTP1 applies neither Node's HTTP/1.1 header timeout nor
// its request timeout to the HTTP/1.1 connections it hands over (its connection checker is never
// started), bounds no HTTP/2 session, and has no closeIdleConnections. So the bounds live here, for
// both protocols, in Go's net/http model as kube-apiserver configures it:
// - the TLS handshake within the read-header timeout (server.ts sets tls's handshakeTimeout);
// - then the first request's headers (HTTP/2: a first stream) within the read-header timeout;
// - a connection with no request in flight (HTTP/1.1 keep-alive, HTTP/2 session without an open
//   stream) is closed after the idle timeout. A request in flight, a quiet watch included, is
//   never idle;
// - a request's body within the request timeout of its headers: readBody answers 408 (http.ts),
//   then the request is cut (HTTP/1.1: the connection; HTTP/2: RST_STREAM NO_ERROR, as RFC 9113
//   section 8.1 lets a server stop a request it has answered).
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  constants,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { limitBodyTime } from './http.js';
import { UnauthenticatedConnections } from './unauthenticated.js';

export interface ConnectionLimits {
  readHeaderTimeoutMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  /** 0: no limit */
  maxUnauthenticatedPerAddress: number;
}

export interface ConnectionStats {
  open: number;
  unauthenticated: number;
  /** client addresses with an unauthenticated connection */
  unauthenticatedAddresses: number;
  /** connections closed at once because their address was at the limit */
  refused: number;
}

interface Connection {
  readonly key: string;
  readonly address: string;
  readonly raw: Socket;
  tls?: TLSSocket;
  session?: Http2Session;
  /** the HTTP/2 peer sent its connection preface (its SETTINGS): it can take a GOAWAY */
  spokeHTTP2: boolean;
  /** still counted in the per-address unauthenticated connections */
  counted: boolean;
  /** HTTP/1.1 responses or HTTP/2 streams not yet closed */
  inFlight: number;
  timer?: NodeJS.Timeout;
  closed: boolean;
}

/** a TCP connection's peer address and port: unique among the open connections of one listener */
const peerKey = (s: { remoteAddress?: string; remotePort?: number }) => `${s.remoteAddress}|${s.remotePort}`;

function hasBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor >= 2) return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** whether the client has sent the whole body (HTTP/2: ended its side of the stream) */
function bodyReceived(req: IncomingMessage): boolean {
  if (req.httpVersionMajor < 2) return req.complete;
  const stream = (req as unknown as Http2ServerRequest).stream;
  return stream.destroyed || stream.endAfterHeaders || stream.readableEnded || stream.state.remoteClose === 1;
}

export class ConnectionTracker {
  /** by peer address and port, which pair a TLS socket or HTTP/2 session with its TCP connection */
  private readonly open = new Map<string, Connection>();
  private readonly byTLS = new WeakMap<TLSSocket, Connection>();
  private readonly bySession = new WeakMap<Http2Session, Connection>();
  private readonly unauthenticated: UnauthenticatedConnections;
  private refused = 0;
  private draining = false;

  constructor(
    server: Http2SecureServer,
    private readonly limits: ConnectionLimits,
  ) {
    this.unauthenticated = new UnauthenticatedConnections(limits.maxUnauthenticatedPerAddress);
    // ahead of tls's own listener: a refused connection costs no TLS state
    server.prependListener('connection', (raw: Socket) => this.accepted(raw));
    // ahead of node:http2's listener, which starts the session (or HTTP/1.1) at once
    server.prependListener('secureConnection', (tls: TLSSocket) => this.secured(tls));
    server.on('session', (session: Http2Session) => this.sessionStarted(session));
    // ahead of the request handler, which may read the body at once
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.requestStarted(req, res));
  }

  /** a request on this connection passed authentication: the connection no longer counts against its address */
  authenticated(req: IncomingMessage): void {
    const conn = req.httpVersionMajor >= 2 ? this.sessionOf(req) : this.byTLS.get(req.socket as TLSSocket);
    if (!conn?.counted) return;
    conn.counted = false;
    this.unauthenticated.remove(conn.address);
  }

  stats(): ConnectionStats {
    return {
      open: this.open.size,
      unauthenticated: this.unauthenticated.total,
      unauthenticatedAddresses: this.unauthenticated.addresses,
      refused: this.refused,
    };
  }

  /** no new requests: GOAWAY to every session, idle connections closed now, busy ones after their last response */
  drain(): void {
    this.draining = true;
    for (const conn of this.open.values()) {
      if (conn.inFlight === 0) this.close(conn);
      else conn.session?.close();
    }
  }

  /** what is still open after the drain timeout */
  destroyAll(): void {
    for (const conn of this.open.values()) {
      conn.session?.destroy();
      (conn.tls ?? conn.raw).destroy();
    }
  }

  private sessionOf(req: IncomingMessage): Connection | undefined {
    const session = (req as unknown as Http2ServerRequest).stream.session;
    return session ? this.bySession.get(session) : undefined;
  }

  private accepted(raw: Socket): void {
    const address = raw.remoteAddress;
    if (address === undefined || this.draining) {
      raw.destroy();
      return;
    }
    if (!this.unauthenticated.tryAdd(address)) {
      this.refused++;
      raw.destroy();
      return;
    }
    const conn: Connection = {
      key: peerKey(raw),
      address,
      raw,
      spokeHTTP2: false,
      counted: true,
      inFlight: 0,
      closed: false,
    };
    this.open.set(conn.key, conn);
    raw.once('close', () => this.closed(conn));
  }

  private secured(tls: TLSSocket): void {
    const conn = this.open.get(peerKey(tls));
    if (!conn || conn.closed) return;
    conn.tls = tls;
    this.byTLS.set(tls, conn);
    tls.once('close', () => this.closed(conn));
    this.arm(conn, this.limits.readHeaderTimeoutMs);
  }

  private sessionStarted(session: Http2Session): void {
    const conn = this.open.get(peerKey(session.socket));
    if (!conn || conn.closed) return;
    conn.session = session;
    this.bySession.set(session, conn);
    session.once('remoteSettings', () => (conn.spokeHTTP2 = true));
    session.on('stream', (stream) => {
      this.begin(conn);
      stream.once('close', () => this.end(conn));
    });
    if (this.draining) session.close();
  }

  private requestStarted(req: IncomingMessage, res: ServerResponse): void {
    if (hasBody(req)) this.limitBody(req, res);
    if (req.httpVersionMajor >= 2) return; // HTTP/2 work is counted by its streams
    const conn = this.byTLS.get(req.socket as TLSSocket);
    if (!conn) return;
    this.begin(conn);
    res.once('close', () => this.end(conn));
  }

  /** a body not received within the request timeout: readBody answers 408; here the request is cut once answered */
  private limitBody(req: IncomingMessage, res: ServerResponse): void {
    limitBodyTime(req, this.limits.requestTimeoutMs);
    let answered = false;
    let late = false;
    const timer = setTimeout(() => {
      if (bodyReceived(req)) return;
      late = true;
      if (answered) cutRequest(req);
      // the 408 still to come says so (HTTP/2 has no connection header: the stream is cut instead)
      else if (req.httpVersionMajor < 2 && !res.headersSent) res.setHeader('Connection', 'close');
    }, this.limits.requestTimeoutMs);
    timer.unref();
    // the answer is out: the response's 'finish' (HTTP/1.1), the stream's writable side (HTTP/2,
    // whose compatibility response emits 'finish' only once the whole stream closed)
    const written = req.httpVersionMajor >= 2 ? (res as unknown as Http2ServerResponse).stream : res;
    written.once('finish', () => {
      answered = true;
      if (late) cutRequest(req);
      else if (bodyReceived(req)) clearTimeout(timer);
    });
    res.once('close', () => {
      if (bodyReceived(req)) clearTimeout(timer);
    });
  }

  private begin(conn: Connection): void {
    conn.inFlight++;
    this.disarm(conn);
  }

  private end(conn: Connection): void {
    conn.inFlight--;
    if (conn.inFlight > 0 || conn.closed) return;
    if (this.draining) this.close(conn);
    else this.arm(conn, this.limits.idleTimeoutMs);
  }

  /** closes the connection after `ms` unless a request starts first */
  private arm(conn: Connection, ms: number): void {
    this.disarm(conn);
    conn.timer = setTimeout(() => {
      conn.timer = undefined;
      if (conn.inFlight === 0) this.close(conn);
    }, ms);
    conn.timer.unref();
  }

  private disarm(conn: Connection): void {
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = undefined;
  }

  /** closes a connection with nothing in flight (a session: GOAWAY first) */
  private close(conn: Connection): void {
    this.disarm(conn);
    if (!conn.session || !conn.spokeHTTP2) {
      conn.session?.destroy();
      (conn.tls ?? conn.raw).destroy();
      return;
    }
    conn.session.close();
    // node:http2 destroys a closed session once its GOAWAY is written; a peer that never lets it
    // out does not keep the socket
    const session = conn.session;
    conn.timer = setTimeout(() => session.destroy(), this.limits.readHeaderTimeoutMs);
    conn.timer.unref();
  }

  private closed(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.disarm(conn);
    if (conn.counted) {
      conn.counted = false;
      this.unauthenticated.remove(conn.address);
    }
    if (this.open.get(conn.key) === conn) this.open.delete(conn.key);
  }
}

/** stops receiving the rest of an answered request's body */
function cutRequest(req: IncomingMessage): void {
  if (req.httpVersionMajor >= 2) {
    const stream = (req as unknown as Http2ServerRequest).stream;
    if (!stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
    return;
  }
  // the answer is written; FIN after it, and the idle timeout ends a peer that never closes its side
  if (!req.socket.destroyed) req.socket.end();
}
