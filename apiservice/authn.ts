// Who is asking. Standalone mode: a TLS client certificate verified against the client CA
// (user = CN, groups = O). The front-proxy and token authenticators of cluster mode slot in here.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { UserInfo } from '../src/machinery/registry/context.js';

export type Authenticator = (req: IncomingMessage) => UserInfo | undefined;

export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

export function clientCertAuthenticator(): Authenticator {
  return (req) => {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) return undefined; // no certificate, or one our client CA did not sign
    const cert = socket.getPeerCertificate();
    if (!cert || !cert.subject) return undefined;
    const cn = cert.subject.CN;
    const o = cert.subject.O;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (!name) return undefined;
    const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
    return { name, groups: [...groups, 'system:authenticated'] };
  };
}

/** standalone authorization: only system:masters may act; health endpoints are always allowed */
export function standaloneAuthorize(user: UserInfo): boolean {
  return user.groups.includes('system:masters');
}
