// The plugin's way to the API server: the user's kubeconfig as kubectl reads it (KUBECONFIG or
// ~/.kube/config, --kubeconfig, --context, -n), loaded by @kubernetes/client-node so every kind of
// credential kubectl accepts works here too. Errors from the server arrive as Status objects; their
// message is what the user sees.
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

export interface ConnectionFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** a failure the plugin reports in one line and exits non-zero for */
export class CLIError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CLIError';
  }
}

export interface Reply {
  code: number;
  contentType: string;
  body: string;
}

export class KubeClient {
  private constructor(
    private readonly kc: KubeConfig,
    private readonly server: URL,
    readonly namespace: string,
  ) {}

  static load(flags: ConnectionFlags): KubeClient {
    const kc = new KubeConfig();
    try {
      if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
      else kc.loadFromDefault();
      if (flags.context) kc.setCurrentContext(flags.context);
    } catch (e) {
      throw new CLIError(`cannot load the kubeconfig: ${(e as Error).message}`);
    }
    if (flags.context && !kc.getContextObject(flags.context)) throw new CLIError(`context "${flags.context}" does not exist in the kubeconfig`);
    const cluster = kc.getCurrentCluster();
    if (!cluster?.server) throw new CLIError('the kubeconfig has no current cluster: set one with kubectl config use-context, or pass --context');
    const namespace = flags.namespace || kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
    return new KubeClient(kc, new URL(cluster.server), namespace);
  }

  private async options(method: string, path: string, headers: Record<string, string>): Promise<RequestOptions> {
    const url = new URL(this.server.pathname.replace(/\/$/, '') + path, this.server);
    const opts: RequestOptions = { method, hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port || 443, path: url.pathname + url.search, headers: { ...headers } };
    await this.kc.applyToHTTPSOptions(opts);
    return opts;
  }

  private async open(method: string, path: string, body?: string, accept = 'application/json'): Promise<IncomingMessage> {
    const headers: Record<string, string> = { Accept: accept, 'User-Agent': 'kubectl-talos' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const opts = await this.options(method, path, headers);
    return new Promise((resolve, reject) => {
      const req = request(opts, resolve);
      req.on('error', (e) => reject(new CLIError(`cannot reach the API server at ${this.server.origin}: ${e.message}`)));
      req.end(body);
    });
  }

  async call(method: string, path: string, body?: unknown, accept?: string): Promise<Reply> {
    const res = await this.open(method, path, body === undefined ? undefined : JSON.stringify(body), accept);
    const chunks: Buffer[] = [];
    for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
    const reply = { code: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') };
    if (reply.code >= 400) throw new CLIError(`Error from server (${statusReason(reply)}): ${statusMessage(reply)}`);
    return reply;
  }

  /** reads newline-delimited watch events until onEvent returns true, the stream ends or the signal fires */
  async watch(path: string, onEvent: (ev: { type: string; object: Record<string, unknown> }) => boolean, signal: AbortSignal): Promise<'done' | 'ended'> {
    const res = await this.open('GET', path);
    if ((res.statusCode ?? 0) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
      const reply = { code: res.statusCode ?? 0, contentType: '', body: Buffer.concat(chunks).toString('utf8') };
      throw new CLIError(`Error from server (${statusReason(reply)}): ${statusMessage(reply)}`);
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
          if (line && onEvent(JSON.parse(line) as { type: string; object: Record<string, unknown> })) return 'done';
        }
      }
      return 'ended';
    } catch (e) {
      if (signal.aborted) return 'ended';
      throw e;
    } finally {
      signal.removeEventListener('abort', stop);
      res.destroy();
    }
  }
}

function parsed(reply: Reply): { reason?: string; message?: string } | undefined {
  try {
    return JSON.parse(reply.body) as { reason?: string; message?: string };
  } catch {
    return undefined;
  }
}

function statusReason(reply: Reply): string {
  return parsed(reply)?.reason || `HTTP ${reply.code}`;
}

function statusMessage(reply: Reply): string {
  return parsed(reply)?.message || reply.body.trim() || 'no message';
}
