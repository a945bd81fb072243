// One HTTP(S) exchange with a BMC or power API, for Redfish and Sidero's management API: to the
// allow-listed address only, within a deadline, with a bounded reply, and every failure a PowerError.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { OutboundAllowList } from '../talos/outbound.js';
import { allowedAddress } from './dial.js';
import { PowerError } from './power.js';

const MAX_REPLY_BYTES = 1024 * 1024;

export interface HttpTarget {
  /** scheme, host and port; paths are taken from each call */
  base: URL;
  allowList: OutboundAllowList;
  /** deadline of one exchange, connection included */
  timeoutMs: number;
  /** check the server's TLS certificate (https only) */
  tlsVerify: boolean;
  /** `user:password` for basic auth, sent with every request */
  basicAuth?: { user: string; pass: string };
  /** names the endpoint in messages: "Redfish service", "management API" */
  what: string;
}

export interface HttpReply {
  status: number;
  body: string;
}

/** a URL from an endpoint that may be a bare `host[:port]` (then `scheme`, and `port` if given) */
export function endpointURL(endpoint: string, scheme: 'http' | 'https', port?: number): URL {
  const text = endpoint.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${scheme}://${text}`);
  } catch {
    throw new PowerError('NotConfigured', `endpoint ${JSON.stringify(endpoint)} is not a host, host:port or URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new PowerError('NotConfigured', `endpoint ${JSON.stringify(endpoint)}: only http:// and https:// are spoken`);
  if (url.username || url.password)
    throw new PowerError(
      'NotConfigured',
      `endpoint ${JSON.stringify(endpoint)}: credentials belong in Secrets, not in the URL`,
    );
  if (!url.port && port !== undefined && port > 0) url.port = String(port);
  return url;
}

export async function httpExchange(
  target: HttpTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpReply> {
  const address = await allowedAddress(target.base.hostname, target.allowList, target.what);
  const url = new URL(path, target.base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const https = url.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  const name = `${method} ${url.pathname}`;
  const headers: Record<string, string | number> = { Host: url.host, Accept: 'application/json' };
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  if (target.basicAuth) {
    const token = Buffer.from(`${target.basicAuth.user}:${target.basicAuth.pass}`, 'utf8').toString('base64');
    headers.Authorization = `Basic ${token}`;
  }
  return new Promise<HttpReply>((resolve, reject) => {
    let settled = false;
    const finish = (e: PowerError | undefined, reply?: HttpReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(reply!);
    };
    const req = send(
      {
        method,
        host: address,
        port: url.port || (https ? 443 : 80),
        path: url.pathname + url.search,
        headers,
        agent: false,
        ...(https
          ? { servername: isIP(url.hostname.replace(/^\[(.*)\]$/, '$1')) === 0 ? url.hostname : undefined }
          : {}),
        ...(https ? { rejectUnauthorized: target.tlsVerify } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_REPLY_BYTES) {
            req.destroy();
            finish(
              new PowerError('Refused', `${target.what} ${name}: the reply is larger than ${MAX_REPLY_BYTES} bytes`),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('end', () =>
          finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (e) => finish(new PowerError('Unreachable', `${target.what} ${name}: ${e.message}`)));
      },
    );
    const timer = setTimeout(() => {
      finish(new PowerError('Timeout', `${target.what} ${name}: no answer within ${target.timeoutMs} ms`));
      req.destroy();
    }, target.timeoutMs);
    req.on('error', (e) => finish(new PowerError('Unreachable', `${target.what} ${name}: ${e.message}`)));
    req.end(payload);
  });
}

/** 401 and 403 are the credentials' fault; other answers outside 2xx are the endpoint refusing */
export function failureOf(reply: HttpReply, what: string, name: string): PowerError | undefined {
  if (reply.status >= 200 && reply.status <= 299) return undefined;
  const detail = reply.body ? `: ${reply.body.slice(0, 300)}` : '';
  if (reply.status === 401 || reply.status === 403)
    return new PowerError('Unauthorized', `${what} ${name}: HTTP ${reply.status}${detail}`);
  return new PowerError('Refused', `${what} ${name}: HTTP ${reply.status}${detail}`);
}
