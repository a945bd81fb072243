// Sends one fuzz request over HTTPS/1.1 (a keep-alive agent) or HTTP/2 (one session, opened again
// when the server or an error closes it), with the admin client certificate. A streaming request
// (watch) is read for a bounded time and then hung up on; any other request has a deadline, and
// missing it is reported as a timeout, not waited out.
import { Agent, request as h1request } from 'node:https';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import type { Identity } from './server.js';

export interface FuzzRequest {
  seq: number;
  proto: 'h1' | 'h2';
  method: string;
  /** as sent: already percent-encoded where the generator meant it */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** HTTP/1.1: send the body chunked, without Content-Length */
  chunked?: boolean;
  /** a stream (watch): read for this long, then hang up */
  streamMs?: number;
  /** what the generator meant: a verb label for the summary (get, list, watch, create, ...) */
  verb: string;
  /** group/resource the request aims at, when it aims at one */
  resource?: string;
  /** the generator asked for dryRun=All (query or DeleteOptions) */
  dryRun: boolean;
}

export interface FuzzResponse {
  /** 0 when no status arrived (transport error, client-side timeout) */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** transport error, if any: the answer is missing or incomplete */
  error?: string;
  /** no answer within the deadline */
  timedOut?: boolean;
  /** a stream we hung up on after streamMs, as meant */
  cut?: boolean;
}

/** header blocks larger than this may be refused by the protocol layer (HTTP/1.1: 431) */
export const OVERSIZED_HEADERS = 16_384;
export const AFTER_OVERSIZED = '(on a connection that sent an oversized header block)';

export function headerBytes(req: { path: string; headers: Record<string, string> }): number {
  return req.path.length + Object.entries(req.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
}

/** the generator made a request Node's client will not send (not the server's doing) */
export const CLIENT_REFUSED = 'client refused to send';

/** of a stream (watch), only the start is kept; other bodies are kept whole */
const MAX_KEPT_STREAM = 4 * 1024 * 1024;

export class Transport {
  private readonly agent: Agent;
  private readonly base: URL;
  private session: ClientHttp2Session | undefined;
  /** sessions a request with an oversized header block went out on */
  private readonly oversized = new WeakSet<ClientHttp2Session>();

  constructor(
    private readonly url: string,
    private readonly identity: Identity,
    /** the deadline of a request that is not a stream */
    private readonly deadlineMs: number,
  ) {
    // idle sockets are dropped after 2 s, well before the server's 5 s keep-alive timeout: otherwise
    // a request could go out on a socket the server is closing that instant (a hang-up not its fault)
    this.agent = new Agent({ keepAlive: true, maxSockets: 16, maxFreeSockets: 16, timeout: 2000, ...identity });
    this.base = new URL(url);
  }

  send(r: FuzzRequest): Promise<FuzzResponse> {
    return r.proto === 'h2' ? this.sendH2(r) : this.sendH1(r);
  }

  close(): void {
    this.agent.destroy();
    this.session?.destroy();
  }

  private sendH1(r: FuzzRequest): Promise<FuzzResponse> {
    return new Promise((resolve) => {
      const { head, data, finish } = collectAnswer(r, this.deadlineMs, resolve, () => req.destroy());
      const headersOut: Record<string, string | number> = { ...r.headers };
      // Node's client chunks a body only when told for DELETE, OPTIONS and the like: without the
      // header it would send the body unframed, to be read as a next request
      if (r.body !== undefined) {
        if (r.chunked) headersOut['Transfer-Encoding'] = 'chunked';
        else headersOut['Content-Length'] = r.body.length;
      }
      let req: ReturnType<typeof h1request>;
      try {
        // the path goes out verbatim (a URL object would resolve dot segments and re-encode it)
        const target = { hostname: this.base.hostname, port: this.base.port, path: r.path };
        req = h1request({ ...target, method: r.method, agent: this.agent, headers: headersOut }, (res) => {
          head(res.statusCode ?? 0, res.headers);
          res.on('data', data);
          res.on('end', () => finish({}));
          res.on('aborted', () => finish({ error: 'the server broke off the answer' }));
          res.on('error', (e) => finish({ error: e.message }));
        });
      } catch (e) {
        finish({ error: `${CLIENT_REFUSED}: ${(e as Error).message}` });
        return;
      }
      req.on('error', (e) => finish({ error: e.message }));
      if (r.body !== undefined && r.chunked && r.body.length > 1) {
        req.write(r.body.subarray(0, r.body.length >> 1));
        req.end(r.body.subarray(r.body.length >> 1));
      } else {
        req.end(r.body);
      }
    });
  }

  /**
   * The server answers a header block past HTTP/2's list size by refusing that stream and then
   * closing the connection (GOAWAY): streams refused on such a connection say so.
   */
  private collateral(session: ClientHttp2Session | undefined): string {
    return session && this.oversized.has(session) ? ` ${AFTER_OVERSIZED}` : '';
  }

  private h2session(): ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      // the client's own session holds what it is still sending: at Node's default of 10 MB a body
      // one byte past --max-request-bytes (3 MiB) beside others in flight made this client refuse
      // its own streams (ENHANCE_YOUR_CALM) — the server never saw them
      const s = connect(this.url, { ...this.identity, maxSessionMemory: 256 });
      s.on('error', () => undefined); // the next request opens another session
      s.on('goaway', () => s.close());
      this.session = s;
    }
    return this.session;
  }

  private sendH2(r: FuzzRequest): Promise<FuzzResponse> {
    return new Promise((resolve) => {
      const { head, data, finish } = collectAnswer(r, this.deadlineMs, resolve, () =>
        stream?.close(constants.NGHTTP2_CANCEL),
      );
      let stream: ReturnType<ClientHttp2Session['request']> | undefined;
      let session: ClientHttp2Session | undefined;
      try {
        session = this.h2session();
        if (headerBytes(r) > OVERSIZED_HEADERS) this.oversized.add(session);
        stream = session.request(
          {
            ':method': r.method,
            ':path': r.path,
            ...r.headers,
            ...(r.body ? { 'content-length': String(r.body.length) } : {}),
          },
          { endStream: r.body === undefined },
        );
      } catch (e) {
        finish({ error: `${CLIENT_REFUSED}: ${(e as Error).message}` });
        return;
      }
      stream.on('response', (h) => head(Number(h[':status'] ?? 0), h));
      stream.on('data', data);
      stream.on('end', () => finish({}));
      // closed before its end: reset by the server (our own hang-up has finished already)
      stream.on('close', () =>
        finish({ error: `stream reset by the server (code ${stream!.rstCode})${this.collateral(session)}` }),
      );
      stream.on('error', (e) => finish({ error: `${e.message}${this.collateral(session)}` }));
      if (r.body !== undefined) stream.end(r.body);
    });
  }
}

/**
 * One answer as both protocols deliver it: status and headers, the body (a stream's only up to
 * MAX_KEPT_STREAM), settled once, by its end, an error, or the deadline (a stream's read time),
 * which also hangs up through `abort`.
 */
function collectAnswer(r: FuzzRequest, deadlineMs: number, resolve: (res: FuzzResponse) => void, abort: () => void) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let status = 0;
  let headers: FuzzResponse['headers'] = {};
  let done = false;
  const finish = (extra: Partial<FuzzResponse>) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    resolve({ status, headers, body: Buffer.concat(chunks), ...extra });
  };
  const timer = setTimeout(() => {
    finish(r.streamMs !== undefined ? { cut: true } : { timedOut: true });
    abort();
  }, r.streamMs ?? deadlineMs);
  return {
    head(code: number, h: FuzzResponse['headers']) {
      status = code;
      headers = h;
    },
    data(c: Buffer) {
      if (r.streamMs === undefined || kept < MAX_KEPT_STREAM) chunks.push(c);
      kept += c.length;
    },
    finish,
  };
}
