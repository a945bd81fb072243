// The plugin's way to the API server: the user's kubeconfig as kubectl reads it (KUBECONFIG or
// ~/.kube/config, --kubeconfig, --context, -n). Errors from the server arrive as Status objects;
// their message is what the user sees.
import type { IncomingMessage } from 'node:http';
import { KubeAPI, KubeUnreachable, statusOf, type KubeReply, type WatchEvent } from '../kubeapi/client.js';
import { EXIT, exitCodeOfReply, type ExitCode } from './exitcodes.js';

export interface ConnectionFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** a failure the plugin reports in one line and exits non-zero for */
export class CLIError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.serverError,
    /** the HTTP code of the server's refusal, when it is one */
    readonly httpCode?: number,
  ) {
    super(message);
    this.name = 'CLIError';
  }
}

/** how long the API server may take to begin its answer to a stream (a watch answers at once) */
const ANSWER_WITHIN_MS = 30_000;
const USER_AGENT = 'kubectl-talos';

function serverError(reply: KubeReply): CLIError {
  const s = statusOf(reply);
  return new CLIError(`Error from server (${s.reason}): ${s.message}`, exitCodeOfReply(reply.code), reply.code);
}

async function reachable<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof KubeUnreachable) throw new CLIError(e.message, EXIT.serverError);
    throw e;
  }
}

export class KubeClient {
  private constructor(
    private readonly api: KubeAPI,
    readonly namespace: string,
  ) {}

  static load(flags: ConnectionFlags): KubeClient {
    let api: KubeAPI;
    try {
      api = KubeAPI.load({ file: flags.kubeconfig, context: flags.context });
    } catch (e) {
      throw new CLIError(`cannot load the kubeconfig: ${(e as Error).message}`, EXIT.usage);
    }
    return new KubeClient(api, flags.namespace || api.namespace);
  }

  async call(method: string, path: string, body?: unknown, accept?: string): Promise<KubeReply> {
    // a live subresource may take as long as the server allows a node (about 40 s)
    const reply = await reachable(
      this.api.call(method, path, { body, accept, timeoutMs: 60_000, userAgent: USER_AGENT }),
    );
    if (reply.code >= 400) throw serverError(reply);
    return reply;
  }

  /** the API server's reply as it arrives, error codes included (the dashboard's proxy) */
  /** a request whose body is passed on as it arrives; its answer must come within ANSWER_WITHIN_MS */
  stream(method: string, path: string, body?: string, contentType?: string): Promise<IncomingMessage> {
    return reachable(
      this.api.stream(method, path, { body, contentType, userAgent: USER_AGENT, answerWithinMs: ANSWER_WITHIN_MS }),
    );
  }

  /** the API server's address, as the kubeconfig names it */
  get server(): string {
    return this.api.server.origin;
  }

  /** reads watch events until onEvent returns true, the stream ends or the signal fires */
  async watch(path: string, onEvent: (ev: WatchEvent) => boolean, signal: AbortSignal): Promise<'done' | 'ended'> {
    const r = await reachable(this.api.watch(path, onEvent, signal, USER_AGENT));
    if (typeof r === 'object') throw serverError(r);
    return r;
  }
}
