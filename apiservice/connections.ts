// The listener's connections, for a graceful shutdown of an HTTP/2 server that also speaks
// HTTP/1.1 (node:http2 has no closeIdleConnections): HTTP/2 sessions get a GOAWAY, so their
// streams in flight finish and no new ones start; HTTP/1.1 connections close as soon as they have
// no response in flight.
import type { Socket } from 'node:net';
import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';

export class ConnectionTracker {
  /** HTTP/1.1 connections and their responses in flight */
  private readonly sockets = new Map<Socket, number>();
  private readonly sessions = new Set<Http2Session>();
  private draining = false;

  constructor(server: Http2SecureServer) {
    server.on('secureConnection', (sock: TLSSocket) => {
      if (sock.alpnProtocol === 'h2') return;
      this.sockets.set(sock, 0);
      sock.once('close', () => this.sockets.delete(sock));
    });
    server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      if (this.draining) session.close();
    });
    server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
      if (req.httpVersionMajor >= 2) return;
      const sock = req.socket as unknown as Socket;
      this.sockets.set(sock, (this.sockets.get(sock) ?? 0) + 1);
      res.once('close', () => {
        const left = (this.sockets.get(sock) ?? 1) - 1;
        this.sockets.set(sock, left);
        if (this.draining && left === 0) sock.destroy();
      });
    });
  }

  /** no new requests: GOAWAY to every session, idle HTTP/1.1 connections closed now, busy ones after their last response */
  drain(): void {
    this.draining = true;
    for (const s of this.sessions) s.close();
    for (const [sock, inFlight] of this.sockets) if (inFlight === 0) sock.destroy();
  }

  /** what is still open after the drain timeout */
  destroyAll(): void {
    for (const s of this.sessions) s.destroy();
    for (const sock of this.sockets.keys()) sock.destroy();
  }
}
