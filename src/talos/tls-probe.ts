// Why did a connection close before gRPC started? Under TLS 1.3 a server that rejects our client
// certificate does so after the handshake looks done, and grpc-js then reports only "Failed to
// connect". One plain TLS connection with the same credentials tells the cases apart: a rejecting
// peer sends an alert (Go's apid) or just hangs up after the handshake (Node's TLS), while an
// accepting HTTP/2 server sends its SETTINGS frame at once.
import { isIP } from 'node:net';
import { checkServerIdentity, connect } from 'node:tls';

export interface ProbeTarget {
  /** the already allow-listed address the channel dials */
  address: string;
  port: number;
  /** name the server certificate is checked against (SNI too when it is a DNS name) */
  verifyName: string | undefined;
  /** mTLS material; absent: a maintenance-mode probe that verifies nothing and shows no certificate */
  credentials?: { ca: Buffer; crt: Buffer; key: Buffer };
}

/** The TLS error text if the peer refuses our certificate or we refuse its; undefined otherwise. */
export function probeTls(t: ProbeTarget, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({
      host: t.address,
      port: t.port,
      ...(t.credentials
        ? { ca: t.credentials.ca, cert: t.credentials.crt, key: t.credentials.key }
        : { rejectUnauthorized: false }),
      ALPNProtocols: ['h2'],
      // SNI only carries DNS names (an IPv6 address too is none); for an IP the certificate's IP SANs are checked
      ...(t.verifyName && isIP(t.verifyName) === 0 ? { servername: t.verifyName } : {}),
      ...(t.verifyName ? { checkServerIdentity: (_host, cert) => checkServerIdentity(t.verifyName ?? '', cert) } : {}),
    });
    const finish = (verdict: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.once('error', (e: Error) =>
      finish(/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ETIMEDOUT/.test(e.message) ? undefined : e.message),
    );
    socket.once('data', () => finish(undefined));
    socket.once('end', () =>
      finish(
        socket.authorized || !t.credentials
          ? 'the node closed the connection right after the handshake: it most likely rejected our client certificate'
          : undefined,
      ),
    );
    socket.once('close', () => finish(undefined));
  });
}
