// REST client of the Talos Management API an AdoptedServer may sync with. Sidero Metal's Adopted
// Server feature names three endpoints (GET /health, PATCH /api/v1/sidero/sync-status/{name},
// DELETE /api/v1/sidero/server/{name}); cluster and node registration are ours, documented in
// docs/management-api.md. Every dial goes through the outbound allow-list first, to the address
// that was checked (no second DNS lookup that could answer differently).
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { refusedResolvers, type OutboundAllowList } from '../talos/outbound.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_REPLY_BYTES = 1024 * 1024;

export type ManagementAPIFailure = 'InvalidEndpoint' | 'OutboundNotAllowed' | 'Unreachable' | 'Timeout' | 'HTTPError';

export class ManagementAPIError extends Error {
  constructor(
    readonly reason: ManagementAPIFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ManagementAPIError';
  }
}

/** what the controller reports for one AdoptedServer (PATCH sync-status body) */
export interface NodeSyncStatus {
  name: string;
  namespace: string;
  uid: string;
  endpoint: string;
  nodeType: string;
  hostname?: string;
  talosVersion?: string;
  connected: boolean;
  ready: boolean;
  health?: string;
  addresses?: { type: string; address: string }[];
  lastContactTime?: string;
}

export interface ClusterRegistration {
  name: string;
  id?: string;
}

export class ManagementAPIClient {
  private readonly base: URL;

  constructor(
    endpoint: string,
    private readonly allowList: OutboundAllowList,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ManagementAPIError(
        'InvalidEndpoint',
        `managementAPI.endpoint ${JSON.stringify(endpoint)} is not a URL`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ManagementAPIError(
        'InvalidEndpoint',
        `managementAPI.endpoint must be an http:// or https:// URL, not ${url.protocol}`,
      );
    }
    this.base = url;
  }

  async health(): Promise<unknown> {
    return this.call('GET', '/health');
  }

  /** PUT /api/v1/sidero/clusters/{cluster}: creates or updates the cluster record */
  async registerCluster(cluster: ClusterRegistration): Promise<unknown> {
    return this.call('PUT', `/api/v1/sidero/clusters/${encodeURIComponent(cluster.name)}`, cluster);
  }

  /** PUT /api/v1/sidero/clusters/{cluster}/nodes/{name}: creates or updates the node record */
  async registerNode(cluster: string, node: NodeSyncStatus): Promise<unknown> {
    return this.call(
      'PUT',
      `/api/v1/sidero/clusters/${encodeURIComponent(cluster)}/nodes/${encodeURIComponent(node.name)}`,
      node,
    );
  }

  async syncStatus(node: NodeSyncStatus): Promise<unknown> {
    return this.call('PATCH', `/api/v1/sidero/sync-status/${encodeURIComponent(node.name)}`, node);
  }

  /** a node the Management API no longer knows is as unregistered as can be: 404 counts as done */
  async unregister(name: string): Promise<void> {
    try {
      await this.call('DELETE', `/api/v1/sidero/server/${encodeURIComponent(name)}`);
    } catch (e) {
      if (e instanceof ManagementAPIError && e.status === 404) return;
      throw e;
    }
  }

  private async resolve(): Promise<string> {
    const host = this.base.hostname.replace(/^\[(.*)\]$/, '$1');
    let address = host;
    const resolvers = refusedResolvers(this.allowList, host);
    if (resolvers.length > 0) {
      throw new ManagementAPIError(
        'OutboundNotAllowed',
        `refusing to resolve ${host}: asking DNS server ${resolvers.join(', ')} would leave --allowed-outbound-networks (${this.allowList.toString()}); no connection was made`,
      );
    }
    if (isIP(host) === 0) {
      try {
        address = (await lookup(host)).address;
      } catch (e) {
        throw new ManagementAPIError('Unreachable', `cannot resolve ${host}: ${(e as Error).message}`);
      }
    }
    if (!this.allowList.check(address)) {
      throw new ManagementAPIError(
        'OutboundNotAllowed',
        `the Management API address ${address} is outside --allowed-outbound-networks (${this.allowList.toString()}); no connection was made`,
      );
    }
    return address;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const address = await this.resolve();
    const url = new URL(path.replace(/^\//, ''), this.base.href.endsWith('/') ? this.base.href : `${this.base.href}/`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        {
          method,
          host: address,
          port: url.port || (url.protocol === 'https:' ? 443 : 80),
          path: url.pathname + url.search,
          servername: isIP(url.hostname) === 0 ? url.hostname : undefined,
          headers: {
            Host: url.host,
            Accept: 'application/json',
            ...(payload !== undefined
              ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
              : {}),
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          readReply(res, method, url.pathname).then(resolve, reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(
          new ManagementAPIError('Timeout', `${method} ${url.pathname}: no answer within ${this.timeoutMs} ms`),
        ),
      );
      req.on('error', (e) =>
        reject(
          e instanceof ManagementAPIError
            ? e
            : new ManagementAPIError('Unreachable', `${method} ${url.pathname}: ${e.message}`),
        ),
      );
      req.end(payload);
    });
  }
}

async function readReply(res: IncomingMessage, method: string, path: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_REPLY_BYTES)
      throw new ManagementAPIError('HTTPError', `${method} ${path}: the reply is larger than ${MAX_REPLY_BYTES} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const code = res.statusCode ?? 0;
  if (code < 200 || code > 299) {
    throw new ManagementAPIError(
      'HTTPError',
      `${method} ${path}: HTTP ${code}${text ? `: ${text.slice(0, 200)}` : ''}`,
      code,
    );
  }
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
