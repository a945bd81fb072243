// Who is asking, in kube-apiserver's order: the front proxy's request headers (only behind a
// verified proxy certificate), a client certificate, a bearer token reviewed by kube-apiserver,
// then anonymous when allowed. The first that applies wins.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { X509Certificate } from 'node:crypto';
import type { UserInfo } from '../../src/machinery/registry/context.js';
import { socketVerifiesTo, subjectValues, tlsConnectionOf } from './x509.js';

export type Authenticator = (req: IncomingMessage) => Promise<UserInfo | undefined> | UserInfo | undefined;

export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

/** the front proxy's settings (flags, or the extension-apiserver-authentication ConfigMap) */
export interface RequestHeaderConfig {
  roots: X509Certificate[];
  /** CNs the proxy certificate may have; empty: any certificate from `roots` */
  allowedNames: string[];
  usernameHeaders: string[];
  uidHeaders: string[];
  groupHeaders: string[];
  extraPrefixes: string[];
}

/**
 * Every header line of the request as (lower-cased name, value), from rawHeaders: one entry per
 * line, never comma-joined, for HTTP/1.1 and HTTP/2 requests alike (HTTP/2's compatibility
 * request has no headersDistinct).
 */
function headerLines(req: IncomingMessage): [string, string][] {
  const raw = req.rawHeaders;
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}

function headerValues(req: IncomingMessage, name: string): string[] {
  const n = name.toLowerCase();
  return headerLines(req)
    .filter(([h, v]) => h === n && v !== '')
    .map(([, v]) => v);
}

/** identity from X-Remote-* headers, trusted only behind a proxy certificate that verifies */
export function requestHeaderAuthenticator(config: () => RequestHeaderConfig | undefined): Authenticator {
  return (req) => {
    const c = config();
    if (!c || c.roots.length === 0) return undefined;
    const chain = socketVerifiesTo(tlsConnectionOf(req), c.roots);
    if (!chain) return undefined;
    if (c.allowedNames.length > 0 && !subjectValues(chain.leaf, 'CN').some((cn) => c.allowedNames.includes(cn)))
      return undefined;
    const name = c.usernameHeaders.map((h) => headerValues(req, h)[0]).find((v) => v);
    if (!name) return undefined;
    const uid = c.uidHeaders.map((h) => headerValues(req, h)[0]).find((v) => v);
    const groups = c.groupHeaders.flatMap((h) => headerValues(req, h));
    const extra: Record<string, string[]> = {};
    for (const [header, value] of headerLines(req)) {
      const prefix = c.extraPrefixes.find((p) => header.startsWith(p.toLowerCase()));
      if (!prefix) continue;
      let key = header.slice(prefix.length).toLowerCase();
      try {
        key = decodeURIComponent(key);
      } catch {
        // not valid percent-encoding: keep the key as sent
      }
      (extra[key] ??= []).push(value);
    }
    return { name, ...(uid ? { uid } : {}), groups, ...(Object.keys(extra).length ? { extra } : {}) };
  };
}

/** user = CN, groups = O of a client certificate that verifies against `roots` */
export function x509Authenticator(roots: () => X509Certificate[]): Authenticator {
  return (req) => {
    const chain = socketVerifiesTo(tlsConnectionOf(req), roots());
    if (!chain) return undefined;
    const name = subjectValues(chain.leaf, 'CN')[0];
    if (!name) return undefined;
    return { name, groups: subjectValues(chain.leaf, 'O') };
  };
}

export type TokenReviewer = (token: string) => Promise<UserInfo | undefined>;

/** `Authorization: Bearer` through a reviewer (TokenReview), each verdict cached for `ttlMs` */
export function bearerTokenAuthenticator(review: TokenReviewer, ttlMs = 10_000, maxEntries = 10_000): Authenticator {
  const cache = new Map<string, { at: number; user: UserInfo | undefined }>();
  return async (req) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    // keyed by a hash: the cache holds no token
    const key = createHash('sha256').update(m[1]!).digest('base64');
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < ttlMs) return hit.user;
    const user = await review(m[1]!);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(key, { at: Date.now(), user });
    return user;
  };
}

/** the first authenticator that names a user; everyone authenticated is in system:authenticated */
export function authenticationChain(authenticators: Authenticator[], anonymous: boolean): Authenticator {
  return async (req) => {
    for (const a of authenticators) {
      const user = await a(req);
      if (!user) continue;
      return user.groups.includes('system:authenticated')
        ? user
        : { ...user, groups: [...user.groups, 'system:authenticated'] };
    }
    return anonymous ? ANONYMOUS : undefined;
  };
}
