// Who may use `kubectl talos dashboard`'s local listener. It carries the user's own credentials
// to the API server, so any web page open in the same browser must not be able to use it:
// - Host must name the listener itself (127.0.0.1:PORT or localhost:PORT): a foreign name that
//   resolves to 127.0.0.1 (DNS rebinding) is refused, so its page cannot read our answers;
// - Origin, when a browser sends one, must be this page's own: another page's fetch or form is
//   refused; a request that changes something must carry it (browsers always do for those);
// - a random token, in the printed URL once and then in an HttpOnly SameSite=Strict cookie,
//   proves the request comes from the person who started the dashboard.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface Guard {
  port: number;
  token: string;
}

export interface RequestFacts {
  method: string;
  /** path and query, as in the request line */
  url: string;
  host: string | undefined;
  origin: string | undefined;
  cookie: string | undefined;
}

export type Verdict =
  /** serve it */
  | { kind: 'allow' }
  /** the token arrived in the URL: set the cookie and send the browser to `location` without it */
  | { kind: 'login'; location: string; setCookie: string }
  | { kind: 'refuse'; message: string };

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** the cookie's name carries the port: cookies are not kept apart by port, two dashboards are */
export const cookieName = (port: number) => `talos-dashboard-${port}`;

export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function judgeRequest(g: Guard, r: RequestFacts): Verdict {
  const host = r.host?.toLowerCase();
  if (!host || !allowedHosts(g.port).includes(host))
    return {
      kind: 'refuse',
      message: `Host "${r.host ?? ''}" is not this dashboard's: open it as http://127.0.0.1:${g.port}/ or http://localhost:${g.port}/`,
    };
  const own = `http://${host}`;
  if (r.origin !== undefined && r.origin.toLowerCase() !== own)
    return { kind: 'refuse', message: `requests from another page (Origin "${r.origin}") are not served` };
  if (!SAFE_METHODS.has(r.method) && r.origin === undefined)
    return { kind: 'refuse', message: `a ${r.method} request must come from the dashboard's own page (Origin ${own})` };

  const url = new URL(r.url, own);
  const inUrl = url.searchParams.get('token');
  if (inUrl !== null) {
    if (!sameSecret(inUrl, g.token) || !SAFE_METHODS.has(r.method))
      return {
        kind: 'refuse',
        message: 'the token in the URL is not this dashboard\'s: use the URL "kubectl talos dashboard" printed',
      };
    url.searchParams.delete('token');
    return {
      kind: 'login',
      location: url.pathname + url.search,
      setCookie: `${cookieName(g.port)}=${g.token}; Path=/; HttpOnly; SameSite=Strict`,
    };
  }
  const cookie = cookieValue(r.cookie, cookieName(g.port));
  if (cookie === undefined || !sameSecret(cookie, g.token))
    return { kind: 'refuse', message: 'no valid dashboard token: open the URL "kubectl talos dashboard" printed' };
  return { kind: 'allow' };
}
