// One look at a cluster Machine's node: which mode it is in and what it says about itself. A
// node that accepts the cluster's client certificate is configured for the cluster; one that
// answers only without verification is in maintenance mode, waiting for a configuration; one
// that refuses both is configured for someone else (or we have no credentials to tell).
import type { ServiceInfo, TalosClient } from '../talos/client.js';
import { TalosError, type TalosFailure } from '../talos/errors.js';
import { using, type ClusterCredentials, type MachineNodes } from './machinenode.js';

export type NodeMode = 'configured' | 'maintenance' | 'foreign' | 'unreachable';

/** etcd on a control plane: running, waiting for Bootstrap (or to join), or not there */
export type EtcdState = 'running' | 'waiting' | 'failed' | 'absent';

export interface NodeSighting {
  mode: NodeMode;
  endpoint: string;
  talosVersion?: string;
  architecture?: string;
  hostname?: string;
  /** configured nodes: every service */
  services?: ServiceInfo[];
  etcd?: EtcdState;
  /** why the node could not be asked (unreachable, foreign) */
  error?: string;
  failure?: TalosFailure;
}

/** failures that mean "this node does not take our certificate", not "it is away" */
const REFUSED: readonly TalosFailure[] = ['TLSError', 'Unauthenticated', 'PermissionDenied'];

export function etcdStateOf(services: readonly ServiceInfo[]): EtcdState {
  const etcd = services.find((s) => s.id === 'etcd');
  if (!etcd) return 'absent';
  if (etcd.state === 'Running') return 'running';
  if (etcd.state === 'Failed') return 'failed';
  return 'waiting';
}

/** services not running healthy, as `id (state: message)` */
export function unhealthyServices(services: readonly ServiceInfo[]): string[] {
  return services
    .filter((s) => {
      if (s.state === 'Finished' || s.state === 'Skipped') return false;
      if (s.state !== 'Running') return true;
      return !!s.health && !s.health.unknown && !s.health.healthy;
    })
    .map((s) => `${s.id} (${s.state}${s.health?.lastMessage ? `: ${s.health.lastMessage}` : ''})`);
}

async function configuredLook(client: TalosClient, endpoint: string): Promise<NodeSighting> {
  const v = await client.version();
  const hostname = await client.hostname();
  const services = await client.serviceList();
  return {
    mode: 'configured',
    endpoint,
    talosVersion: v.version.tag,
    architecture: v.version.arch,
    hostname,
    services,
    etcd: etcdStateOf(services),
  };
}

function away(endpoint: string, e: unknown): NodeSighting {
  if (!(e instanceof TalosError)) throw e;
  return { mode: 'unreachable', endpoint, error: e.message, failure: e.failure };
}

/** looks at the node at `endpoint`; `creds` undefined: only maintenance mode can be recognised */
export async function sightNode(
  nodes: MachineNodes,
  endpoint: string,
  creds: ClusterCredentials | undefined,
): Promise<NodeSighting> {
  let refusal: TalosError | undefined;
  if (creds) {
    try {
      return await using(nodes.configured(endpoint, creds), (c) => configuredLook(c, endpoint));
    } catch (e) {
      if (!(e instanceof TalosError) || !REFUSED.includes(e.failure)) return away(endpoint, e);
      refusal = e;
    }
  }
  try {
    const v = await using(nodes.maintenance(endpoint), (c) => c.version());
    return { mode: 'maintenance', endpoint, talosVersion: v.version.tag, architecture: v.version.arch };
  } catch (e) {
    if (!(e instanceof TalosError) || !REFUSED.includes(e.failure)) return away(endpoint, e);
    const why = creds
      ? `the node at ${endpoint} is configured, but not for this cluster: it refuses the cluster's client certificate (${refusal?.message ?? e.message})`
      : `the node at ${endpoint} is configured, and the cluster's talosconfig is not there to tell whose it is`;
    return { mode: 'foreign', endpoint, error: why, failure: e.failure };
  }
}
