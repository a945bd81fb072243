// A small client for a Kubernetes API server: a kubeconfig (file, or the pod's service account)
// loaded by @kubernetes/client-node, so every credential kubectl accepts works; plain JSON
// requests, and watches as newline-delimited events. Used by cluster mode (TokenReview,
// SubjectAccessReview, the authentication ConfigMap, Secrets, Events, Namespaces) and by the
// kubectl plugin.
import type { IncomingMessage } from 'node:http';
import { request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeReply {
  code: number;
  contentType: string;
  body: string;
}

export interface WatchEvent {
  type: string;
  object: Record<string, unknown>;
}

/** a failure to reach the server at all (a reply with an error code is a KubeReply) */
export class KubeUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeUnreachable';
  }
}

export interface KubeConfigSource {
  /** a kubeconfig file; without it KUBECONFIG / ~/.kube/config */
  file?: string;
  /** the pod's service account (in-cluster) */
  inCluster?: boolean;
  context?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class KubeAPI {
  private constructor(
    private readonly kc: KubeConfig,
    readonly server: URL,
    /** the current context's namespace, `default` when it names none */
    readonly namespace: string,
  ) {}

  /** throws an Error saying what is wrong with the configuration */
  static load(src: KubeConfigSource): KubeAPI {
    const kc = new KubeConfig();
    if (src.inCluster) kc.loadFromCluster();
    else if (src.file) kc.loadFromFile(src.file);
    else kc.loadFromDefault();
    if (src.context) {
      if (!kc.getContextObject(src.context))
        throw new Error(`context "${src.context}" does not exist in the kubeconfig`);
      kc.setCurrentContext(src.context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster?.server) throw new Error('the kubeconfig has no current cluster');
    const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
    return new KubeAPI(kc, new URL(cluster.server), namespace);
  }

  private async options(
    method: string,
    path: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<RequestOptions> {
    const url = new URL(this.server.pathname.replace(/\/$/, '') + path, this.server);
    const opts: RequestOptions = {
      method,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || 443,
      path: url.pathname + url.search,
      headers: { ...headers },
      timeout: timeoutMs,
    };
    await this.kc.applyToHTTPSOptions(opts);
    return opts;
  }

  private async open(
    method: string,
    path: string,
    body: string | undefined,
    accept: string,
    timeoutMs: number,
    userAgent: string,
    contentType = 'application/json',
    answerWithinMs = 0,
  ): Promise<IncomingMessage> {
    const headers: Record<string, string> = { Accept: accept, 'User-Agent': userAgent };
    if (body !== undefined) headers['Content-Type'] = contentType;
    const opts = await this.options(method, path, headers, timeoutMs);
    return new Promise((resolve, reject) => {
      // a stream's body may be quiet for minutes, but its answer (the status line) must come
      const noAnswer = answerWithinMs
        ? setTimeout(() => req.destroy(new Error(`no answer within ${answerWithinMs} ms`)), answerWithinMs)
        : undefined;
      const req = request(opts, (res) => {
        clearTimeout(noAnswer);
        resolve(res);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (e) => {
        clearTimeout(noAnswer);
        reject(new KubeUnreachable(`cannot reach the API server at ${this.server.origin}: ${e.message}`));
      });
      req.end(body);
    });
  }

  async call(
    method: string,
    path: string,
    opts: { body?: unknown; accept?: string; contentType?: string; timeoutMs?: number; userAgent?: string } = {},
  ): Promise<KubeReply> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const res = await this.open(
      method,
      path,
      body,
      opts.accept ?? 'application/json',
      timeoutMs,
      opts.userAgent ?? 'talos-fleet-apiserver',
      opts.contentType,
    );
    const chunks: Buffer[] = [];
    try {
      for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
    } catch (e) {
      throw new KubeUnreachable(`${method} ${path}: the reply broke off: ${(e as Error).message}`);
    }
    return {
      code: res.statusCode ?? 0,
      contentType: String(res.headers['content-type'] ?? ''),
      body: Buffer.concat(chunks).toString('utf8'),
    };
  }

  /**
   * The reply as it arrives, status and headers first, for a proxy that passes it on (a watch
   * included: no deadline). The caller destroys it when its own client goes away.
   */
  stream(
    method: string,
    path: string,
    opts: { body?: string; accept?: string; contentType?: string; userAgent?: string; answerWithinMs?: number } = {},
  ): Promise<IncomingMessage> {
    const accept = opts.accept ?? 'application/json';
    const userAgent = opts.userAgent ?? 'talos-fleet-apiserver';
    return this.open(method, path, opts.body, accept, 0, userAgent, opts.contentType, opts.answerWithinMs);
  }

  /**
   * Reads watch events until onEvent returns true ('done'), the server ends the stream ('ended')
   * or the signal fires ('ended'). A reply with an error code is returned as it is.
   */
  async watch(
    path: string,
    onEvent: (ev: WatchEvent) => boolean,
    signal: AbortSignal,
    userAgent = 'talos-fleet-apiserver',
  ): Promise<'done' | 'ended' | KubeReply> {
    // a watch is long-running: only the connection attempt has a deadline
    const res = await this.open('GET', path, undefined, 'application/json', 0, userAgent);
    if ((res.statusCode ?? 0) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
      return {
        code: res.statusCode ?? 0,
        contentType: String(res.headers['content-type'] ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
      };
    }
    if (signal.aborted) {
      // aborted while the server was still answering: its 'abort' event is gone
      res.destroy();
      return 'ended';
    }
    const stop = () => res.destroy();
    signal.addEventListener('abort', stop, { once: true });
    let buffered = '';
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line && onEvent(JSON.parse(line) as WatchEvent)) return 'done';
        }
      }
      return 'ended';
    } catch (e) {
      if (signal.aborted) return 'ended';
      throw new KubeUnreachable(`watch ${path}: ${(e as Error).message}`);
    } finally {
      signal.removeEventListener('abort', stop);
      res.destroy();
    }
  }
}

/** the reason and message of a Status reply, for error texts */
export function statusOf(reply: KubeReply): { reason: string; message: string } {
  try {
    const s = JSON.parse(reply.body) as { reason?: string; message?: string };
    return { reason: s.reason || `HTTP ${reply.code}`, message: s.message || reply.body.trim() || 'no message' };
  } catch {
    return { reason: `HTTP ${reply.code}`, message: reply.body.trim() || 'no message' };
  }
}
