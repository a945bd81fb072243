// Where a cluster's Machine has its node, and how it is reached. A Machine learns its node's
// address from its status as talos-operator reads it: phase Running and the first IPv4 of
// status.publicIPAddresses, on the Talos API port (--talos-api-port). The machine provider
// writes those fields. A configured node of the cluster is reached with mutual TLS and the
// cluster's talosconfig (its Secret `<cluster>-talosconfig`, os:admin); a node in maintenance mode
// (booted without a configuration) only without verification, as `talosctl --insecure` does.
import { isIP } from 'node:net';
import type { MachineStatus } from '../api/machine.js';
import type { KubeObject } from '../machinery/kind.js';
import { TALOSCONFIG_KEY, talosconfigSecretName } from '../secrets/clustersecrets.js';
import type { SecretStore } from '../secrets/secretstore.js';
import { TalosClient } from '../talos/client.js';
import type { CallObserver } from '../talos/connection.js';
import { formatEndpoint } from '../talos/endpoint.js';
import type { OutboundAllowList } from '../talos/outbound.js';
import { parseTalosconfig, selectContext } from '../talos/talosconfig.js';

/** the Machine's node address (IPv4), or undefined while the provider has not reported one */
export function machineAddress(machine: KubeObject): string | undefined {
  const s = (machine.status ?? {}) as MachineStatus;
  if (s.phase !== 'Running') return undefined;
  return (s.publicIPAddresses ?? []).find((a) => isIP(a) === 4);
}

/** `address:port` of the Machine's Talos API, or undefined while it has no address */
export function machineEndpoint(machine: KubeObject, talosApiPort: number): string | undefined {
  const address = machineAddress(machine);
  return address ? formatEndpoint({ host: address, port: talosApiPort }) : undefined;
}

/** the PEM material of the cluster's talosconfig (os:admin, signed by the cluster's OS CA) */
export interface ClusterCredentials {
  ca: string;
  crt: string;
  key: string;
}

/** the cluster's credentials, or undefined while its talosconfig Secret is not written yet */
export async function clusterCredentials(
  secrets: SecretStore,
  namespace: string,
  cluster: string,
): Promise<ClusterCredentials | undefined> {
  const text = (await secrets.get(namespace, talosconfigSecretName(cluster)))?.[TALOSCONFIG_KEY];
  if (!text) return undefined;
  const ctx = selectContext(parseTalosconfig(text));
  return { ca: ctx.ca, crt: ctx.crt, key: ctx.key };
}

export interface MachineNodeOptions {
  allowList: OutboundAllowList;
  /** deadline of one Talos call */
  callTimeoutMs: number;
  /** the port of every node's Talos API (--talos-api-port) */
  talosApiPort: number;
  observer?: CallObserver;
}

/** clients for a cluster's nodes; the caller closes each */
export interface MachineNodes {
  readonly callTimeoutMs: number;
  readonly talosApiPort: number;
  /** mutual TLS with the cluster's credentials: a configured node of the cluster */
  configured(endpoint: string, creds: ClusterCredentials): TalosClient;
  /** no verification, no client certificate: a node in maintenance mode */
  maintenance(endpoint: string): TalosClient;
}

export function machineNodes(o: MachineNodeOptions): MachineNodes {
  const dial = { allowList: o.allowList, timeoutMs: o.callTimeoutMs, observer: o.observer };
  return {
    callTimeoutMs: o.callTimeoutMs,
    talosApiPort: o.talosApiPort,
    configured: (endpoint, creds) => new TalosClient({ endpoint, ...creds, ...dial }),
    maintenance: (endpoint) => TalosClient.maintenance({ endpoint, ...dial }),
  };
}

/** runs fn with a client that is closed afterwards, whatever happens */
export async function using<T>(client: TalosClient, fn: (c: TalosClient) => Promise<T>): Promise<T> {
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
