// kubernetesclusters/{name}/upgrade: the imperative way to ask what a spec change asks. The request's
// target is written into the cluster's spec (spec.talos.version, the Kubernetes versions,
// spec.upgradeStrategy) as the caller, so the admission that judges every spec change judges it by
// the same upgrade rule (a refusal is the 422 of that write, and nothing changes) and the rollout
// that follows is the declarative path's.
import {
  clusterUpgradeRequestBodySchema,
  kubernetesClusterSubresources,
  retargetClusterSpec,
  validateClusterUpgradeRequest,
  type ClusterUpgradeRequestSpec,
} from '../api/clusterlive.js';
import { kubernetesClusterKind } from '../api/index.js';
import { fieldErr, invalidOptions } from '../machinery/errors.js';
import { groupVersion, type KubeObject } from '../machinery/kind.js';
import { cloneObject } from '../machinery/registry/codec.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import type { SubresourceCall, SubresourceHandler, SubresourceReply } from '../machinery/registry/subresource.js';
import { compileKindSchema } from '../machinery/schema.js';
import { decodeRequestSpec } from './requestbody.js';

const GROUP = kubernetesClusterKind.group;
const API_VERSION = groupVersion(kubernetesClusterKind);
const requestBody = compileKindSchema(clusterUpgradeRequestBodySchema);
/** the field manager the recorded target carries in managedFields */
export const UPGRADE_REQUEST_MANAGER = 'upgrade-request';

type ClusterSpec = Parameters<typeof retargetClusterSpec>[0] & {
  upgradeStrategy?: { maxUnavailable?: number; allowDowngrade?: boolean };
};

function requestSpec(call: SubresourceCall): ClusterUpgradeRequestSpec {
  return decodeRequestSpec(call, {
    apiVersion: API_VERSION,
    kind: 'UpgradeRequest',
    group: GROUP,
    schema: requestBody,
    check: validateClusterUpgradeRequest,
  });
}

/** the cluster with the request's target in its spec */
export function retargeted(cluster: KubeObject, req: ClusterUpgradeRequestSpec): KubeObject {
  const next = cloneObject(cluster);
  const spec = (next.spec ?? {}) as ClusterSpec;
  retargetClusterSpec(spec, { talos: req.talosVersion, kubernetes: req.kubernetesVersion });
  const strategy = { ...(spec.upgradeStrategy ?? {}) };
  if (req.maxUnavailable !== undefined) strategy.maxUnavailable = req.maxUnavailable;
  // the request's own word on downgrades, not one left in the spec by an earlier change
  if (req.allowDowngrade) strategy.allowDowngrade = true;
  else if (strategy.allowDowngrade) strategy.allowDowngrade = false;
  if (Object.keys(strategy).length > 0) spec.upgradeStrategy = strategy;
  next.spec = spec;
  return next;
}

/** `?dryRun=All` judges and answers without writing, as for any create */
function dryRunOf(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  for (const v of values)
    if (v !== 'All') throw invalidOptions('CreateOptions', [fieldErr.notSupported('dryRun', v, ['All'])]);
  return values.length > 0;
}

async function upgrade(registry: APIRegistry, call: SubresourceCall): Promise<SubresourceReply> {
  const dryRun = dryRunOf(call.query);
  const cluster = call.parent;
  const name = cluster.metadata.name!;
  const req = requestSpec(call);
  const before = (cluster.spec ?? {}) as ClusterSpec;
  const next = retargeted(cluster, req);
  const store = registry.storeOf(kubernetesClusterKind)!;
  // an update at the resourceVersion that was read: a change meanwhile is a 409, never overwritten
  const updated = await store.update(
    cluster.metadata.namespace,
    name,
    { value: next, duplicates: [] },
    {
      user: call.user,
      dryRun,
      fieldManager: UPGRADE_REQUEST_MANAGER,
      fieldValidation: 'Strict',
      warnings: [],
      signal: call.signal,
    },
  );
  // a dry run stores nothing (the resourceVersion stays): what it would change is the spec
  const changed = dryRun
    ? JSON.stringify(updated.spec) !== JSON.stringify(cluster.spec)
    : updated.metadata.resourceVersion !== cluster.metadata.resourceVersion;
  const after = (updated.spec ?? {}) as ClusterSpec;
  const recorded = [
    after.talos?.version && `Talos ${after.talos.version}`,
    after.topology?.version && `Kubernetes ${after.topology.version}`,
  ]
    .filter(Boolean)
    .join(', ');
  const reply = {
    apiVersion: API_VERSION,
    kind: 'UpgradeRequest',
    metadata: { name, namespace: cluster.metadata.namespace },
    spec: req,
    status: {
      phase: changed ? 'Recorded' : 'Unchanged',
      ...(before.talos?.version ? { fromTalosVersion: before.talos.version } : {}),
      ...(before.topology?.version ? { fromKubernetesVersion: before.topology.version } : {}),
      resourceVersion: updated.metadata.resourceVersion,
      message: changed
        ? `the cluster now asks for ${recorded}; the rollout shows in status.upgrade`
        : `the cluster already asks for ${recorded}`,
    },
  };
  return { type: 'object', code: changed ? 201 : 200, object: reply };
}

export function clusterUpgradeHandler(registry: APIRegistry): SubresourceHandler {
  const declaration = kubernetesClusterSubresources.find((s) => s.name === 'upgrade')!;
  return { group: GROUP, declaration, serve: (call) => upgrade(registry, call) };
}
