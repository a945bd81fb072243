// One place that turns an AdoptedServer into a Talos client: its own spec.talos.endpoint (never
// an endpoint from the talosconfig, so the object says where the server dials), the credentials
// of its talosconfig Secret, the outbound allow-list and a deadline per call.
import type { AdoptedServerSpec } from '../api/adoptedserver.js';
import type { KubeObject } from '../machinery/kind.js';
import { TalosClient } from '../talos/client.js';
import type { CallObserver } from '../talos/connection.js';
import type { OutboundAllowList } from '../talos/outbound.js';
import { selectContext } from '../talos/talosconfig.js';
import type { SecretReader } from '../secrets/reader.js';
import { talosconfigFor } from './credentials.js';

export interface NodeAccessOptions {
  secrets: SecretReader;
  allowList: OutboundAllowList;
  /** deadline of one Talos call */
  callTimeoutMs: number;
  /** told about every Talos call (metrics) */
  observer?: CallObserver;
}

export interface NodeAccess {
  /** a client for the object's node; the caller closes it */
  connect(obj: KubeObject): Promise<TalosClient>;
  readonly callTimeoutMs: number;
}

export function endpointOf(obj: KubeObject): string {
  return (obj.spec as AdoptedServerSpec | undefined)?.talos?.endpoint ?? '';
}

export function nodeAccess(opts: NodeAccessOptions): NodeAccess {
  return {
    callTimeoutMs: opts.callTimeoutMs,
    async connect(obj) {
      const config = await talosconfigFor(obj, opts.secrets);
      const ctx = selectContext(config);
      return new TalosClient({
        endpoint: endpointOf(obj),
        ca: ctx.ca,
        crt: ctx.crt,
        key: ctx.key,
        allowList: opts.allowList,
        timeoutMs: opts.callTimeoutMs,
        observer: opts.observer,
      });
    },
  };
}

/** runs fn with a client that is closed afterwards, whatever happens */
export async function withNode<T>(
  access: NodeAccess,
  obj: KubeObject,
  fn: (client: TalosClient) => Promise<T>,
): Promise<T> {
  const client = await access.connect(obj);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
