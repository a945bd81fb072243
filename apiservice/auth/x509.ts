// Client certificates, verified by us rather than by the TLS layer: the listener asks for a
// certificate from any of the CAs it trusts (client CA, front-proxy CA) and lets every handshake
// through, so each authenticator checks the chain against exactly the CAs it trusts.
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const MAX_CHAIN = 5;

export interface PeerChain {
  leaf: X509Certificate;
  /** further certificates the client sent, usable as intermediates */
  intermediates: X509Certificate[];
}

const chains = new WeakMap<TLSSocket, PeerChain | null>();
const verdicts = new WeakMap<TLSSocket, WeakMap<readonly X509Certificate[], boolean>>();

/**
 * Whether the socket's client certificate verifies against `roots`, decided once per connection
 * and set of roots: the certificate cannot change during a TLS connection, and the sets of roots
 * are replaced, never changed in place, when the trusted CAs rotate. (A certificate that expires
 * during a long connection stays accepted until the client reconnects, as with TLS verification.)
 */
export function socketVerifiesTo(socket: TLSSocket, roots: readonly X509Certificate[]): PeerChain | undefined {
  let chain = chains.get(socket);
  if (chain === undefined) {
    chain = peerChain(socket) ?? null;
    chains.set(socket, chain);
  }
  if (!chain) return undefined;
  let byRoots = verdicts.get(socket);
  if (!byRoots) verdicts.set(socket, (byRoots = new WeakMap()));
  let ok = byRoots.get(roots);
  if (ok === undefined) {
    ok = verifiesTo(chain, roots);
    byRoots.set(roots, ok);
  }
  return ok ? chain : undefined;
}

/**
 * The TLS connection a request came on, as one stable object per connection. An HTTP/2 request's
 * `socket` is a new proxy for every stream, so keying the verdict on it would verify the chain on
 * every request; its session's socket is one proxy for the whole connection.
 */
export function tlsConnectionOf(req: IncomingMessage | Http2ServerRequest): TLSSocket {
  const session = (req as Http2ServerRequest).stream?.session;
  return (session?.socket ?? req.socket) as TLSSocket;
}

/** the certificates the client presented, or undefined when it sent none */
export function peerChain(socket: TLSSocket): PeerChain | undefined {
  const first = socket.getPeerCertificate(true);
  if (!first || !first.raw) return undefined;
  const certs: X509Certificate[] = [];
  const seen = new Set<string>();
  for (let c: typeof first | undefined = first; c?.raw && certs.length < MAX_CHAIN; c = c.issuerCertificate) {
    const fp = c.fingerprint256;
    if (seen.has(fp)) break; // a self-signed certificate is its own issuer
    seen.add(fp);
    certs.push(new X509Certificate(c.raw));
  }
  return { leaf: certs[0]!, intermediates: certs.slice(1) };
}

/** every certificate of a PEM bundle; a bad bundle throws with a clear message */
export function parseCABundle(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${what} holds no PEM certificate`);
  return blocks.map((b) => new X509Certificate(b));
}

function valid(c: X509Certificate, now: number): boolean {
  return Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/**
 * Whether the chain leads from the leaf to one of the roots through the intermediates, every
 * certificate valid now, and the leaf usable for client authentication (as Go's verifier with
 * ExtKeyUsageClientAuth requires).
 */
export function verifiesTo(chain: PeerChain, roots: readonly X509Certificate[], now = Date.now()): boolean {
  const { leaf } = chain;
  if (!valid(leaf, now) || leaf.ca) return false;
  const eku = leaf.keyUsage; // Node: the extended key usage OIDs; undefined when the extension is absent
  if (eku && !eku.includes(CLIENT_AUTH)) return false;
  let current = leaf;
  for (let depth = 0; depth <= chain.intermediates.length; depth++) {
    const root = roots.find((r) => valid(r, now) && issuedBy(current, r));
    if (root) return true;
    const next = chain.intermediates.find((i) => i.ca && valid(i, now) && issuedBy(current, i));
    if (!next) return false;
    current = next;
  }
  return false;
}

/** the Subject's attribute values of one kind (CN, O), in order */
export function subjectValues(cert: X509Certificate, attr: string): string[] {
  return cert.subject
    .split('\n')
    .filter((line) => line.startsWith(`${attr}=`))
    .map((line) => line.slice(attr.length + 1));
}
