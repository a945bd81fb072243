// The Management API step of the AdoptedServer controller: register the cluster and the node, then
// report the node's state (PATCH sync-status); on delete, unregister it (behind the finalizer).
import type { KubeObject } from '../../machinery/kind.js';
import { ManagementAPIClient, ManagementAPIError, type NodeSyncStatus } from '../../managementapi/client.js';
import type { OutboundAllowList } from '../../talos/outbound.js';
import { specOf, type Contact, type SyncOutcome } from './status.js';

interface SyncDeps {
  allowList: OutboundAllowList;
}

function nodeStatus(obj: KubeObject, contact: Contact): NodeSyncStatus {
  const spec = specOf(obj);
  const probe = contact.ok === true ? contact.probe : undefined;
  return {
    name: obj.metadata.name!,
    namespace: obj.metadata.namespace!,
    uid: obj.metadata.uid!,
    endpoint: spec.talos?.endpoint ?? '',
    nodeType: spec.talos?.nodeType ?? '',
    ...(probe ? { hostname: probe.facts.hostname, talosVersion: probe.facts.talosVersion, health: probe.status } : {}),
    connected: contact.ok === true,
    ready: !!spec.accepted && contact.ok === true && probe?.status === 'Healthy',
    ...(probe ? { lastContactTime: new Date().toISOString() } : {}),
  };
}

function failed(e: unknown): SyncOutcome {
  if (e instanceof ManagementAPIError) {
    return { state: 'failed', reason: e.reason === 'OutboundNotAllowed' ? 'OutboundNotAllowed' : 'SyncFailed', message: e.message };
  }
  throw e;
}

export async function syncManagementAPI(obj: KubeObject, contact: Contact, deps: SyncDeps): Promise<SyncOutcome> {
  const m = specOf(obj).managementAPI;
  if (!m?.enabled) return { state: 'disabled' };
  if (!specOf(obj).accepted) return { state: 'failed', reason: 'NotAccepted', message: 'the server is not accepted (spec.accepted is false): nothing is synced' };
  if (!m.endpoint) return { state: 'failed', reason: 'SyncFailed', message: 'spec.managementAPI.endpoint is not set' };
  try {
    const client = new ManagementAPIClient(m.endpoint, deps.allowList);
    const node = nodeStatus(obj, contact);
    // registration once (again after a failed sync); the status report on every look
    const synced = (obj.status as { managementAPIStatus?: { synced?: boolean } } | undefined)?.managementAPIStatus?.synced === true;
    if (m.clusterName && !synced) {
      await client.registerCluster({ name: m.clusterName, ...(m.clusterID ? { id: m.clusterID } : {}) });
      await client.registerNode(m.clusterName, node);
    }
    await client.syncStatus(node);
    return { state: 'synced' };
  } catch (e) {
    return failed(e);
  }
}

/** throws while the Management API cannot be told, so the finalizer stays and deletion waits */
export async function unregisterFromManagementAPI(obj: KubeObject, deps: SyncDeps): Promise<void> {
  const endpoint = specOf(obj).managementAPI?.endpoint;
  if (!endpoint) return; // nowhere to unregister from
  await new ManagementAPIClient(endpoint, deps.allowList).unregister(obj.metadata.name!);
}
