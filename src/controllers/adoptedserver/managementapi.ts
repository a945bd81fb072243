// The Management API step of the AdoptedServer controller: register the cluster and the node, then
// report the node's state (PATCH sync-status); on delete, unregister it (behind the finalizer).
import type { AdoptedServerStatus } from '../../api/adoptedserver.js';
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
    return {
      state: 'failed',
      reason: e.reason === 'OutboundNotAllowed' ? 'OutboundNotAllowed' : 'SyncFailed',
      message: e.message,
    };
  }
  throw e;
}

export async function syncManagementAPI(obj: KubeObject, contact: Contact, deps: SyncDeps): Promise<SyncOutcome> {
  const m = specOf(obj).managementAPI;
  if (!m?.enabled) return { state: 'disabled' };
  if (!specOf(obj).accepted)
    return {
      state: 'failed',
      reason: 'NotAccepted',
      message: 'the server is not accepted (spec.accepted is false): nothing is synced',
    };
  if (!m.endpoint) return { state: 'failed', reason: 'SyncFailed', message: 'spec.managementAPI.endpoint is not set' };
  try {
    const client = new ManagementAPIClient(m.endpoint, deps.allowList);
    const node = nodeStatus(obj, contact);
    // registration once (again after a failed sync); the status report on every look
    const synced = (obj.status as AdoptedServerStatus | undefined)?.managementAPIStatus?.synced === true;
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

/**
 * Throws while the Management API cannot be told, so the finalizer stays and deletion waits.
 * Resolves to a reason when there is nothing to wait for: the server was never registered, or the
 * endpoint can never be reached from here (refused by the allow-list, not a URL); waiting would
 * block the deletion (and its namespace's) for good.
 */
export async function unregisterFromManagementAPI(obj: KubeObject, deps: SyncDeps): Promise<string | undefined> {
  const endpoint = specOf(obj).managementAPI?.endpoint;
  if (!endpoint) return 'spec.managementAPI.endpoint is not set: nothing to unregister from';
  const synced = (obj.status as AdoptedServerStatus | undefined)?.managementAPIStatus?.synced === true;
  // only an accepted server is ever registered
  if (!specOf(obj).accepted && !synced) return 'the server was not accepted and is not synced: nothing to unregister';
  try {
    await new ManagementAPIClient(endpoint, deps.allowList).unregister(obj.metadata.name!);
    return undefined;
  } catch (e) {
    if (e instanceof ManagementAPIError && (e.reason === 'OutboundNotAllowed' || e.reason === 'InvalidEndpoint')) {
      return `the Management API cannot be reached from here (${e.message}): not unregistered`;
    }
    throw e;
  }
}
