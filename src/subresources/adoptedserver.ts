// adoptedservers/{name}/health, /kubeconfig and /upgrade: each asks the node at request time.
// A node that cannot be asked answers with the Status of why (503 unreachable, 504 too slow, 400
// no credentials or a worker's kubeconfig); it never hangs past the probe budget.
import { adoptedServerKind, type AdoptedServerSpec, type AdoptedServerStatus } from '../api/adoptedserver.js';
import {
  adoptedServerSubresources,
  upgradeRequestBodySchema,
  validateUpgradeRequest,
  type UpgradeRequestSpec,
} from '../api/live.js';
import { badRequest, conflict, invalid } from '../machinery/errors.js';
import { groupVersion, type KubeObject } from '../machinery/kind.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { systemContext } from '../machinery/registry/context.js';
import type { SubresourceCall, SubresourceHandler, SubresourceReply } from '../machinery/registry/subresource.js';
import { compileKindSchema } from '../machinery/schema.js';
import { decodeRequestSpec } from './requestbody.js';
import type { EventRecorder } from '../events/recorder.js';
import { talosUpgradeProblems } from '../machineconfig/upgradepolicy.js';
import { withNode, type NodeAccess } from '../nodeaccess/connect.js';
import { PROBE_BUDGET_MS, probeNode } from '../nodeaccess/health.js';
import { defaultInstallerImage } from '../machineconfig/generate/versions.js';
import { startUpgrade, upgradeInProgress, type UpgradeProgress } from '../nodeaccess/upgrade.js';
import { nodeFailureStatus } from './failures.js';

const GROUP = adoptedServerKind.group;
const API_VERSION = groupVersion(adoptedServerKind);
const upgradeBody = compileKindSchema(upgradeRequestBodySchema);

export interface LiveDeps {
  access: NodeAccess;
  registry: APIRegistry;
  events: EventRecorder;
}

const specOf = (obj: KubeObject) => (obj.spec ?? {}) as Partial<AdoptedServerSpec>;
const ref = { group: GROUP, resource: adoptedServerKind.plural };

function declaration(name: string) {
  const d = adoptedServerSubresources.find((s) => s.name === name);
  if (!d) throw new Error(`no subresource ${name} is declared`);
  return d;
}

async function health(deps: LiveDeps, call: SubresourceCall): Promise<SubresourceReply> {
  const obj = call.parent;
  const probe = await withNode(deps.access, obj, (client) =>
    probeNode(client, {
      callTimeoutMs: deps.access.callTimeoutMs,
      signal: call.signal,
    }),
  );
  const report = {
    apiVersion: API_VERSION,
    kind: 'HealthReport',
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    },
    status: probe.status,
    checks: probe.checks,
  };
  return { type: 'object', code: 200, object: report };
}

/**
 * Why a kubeconfig is not asked for: a worker has none. When the node itself reported a type other
 * than the declared one (condition NodeTypeMatches=False), the message says so and what to change.
 */
function kubeconfigRefusal(obj: KubeObject): string | undefined {
  const declared = specOf(obj).talos?.nodeType;
  const observed = (obj.status as AdoptedServerStatus | undefined)?.nodeInfo?.nodeType;
  const name = `${adoptedServerKind.plural} "${obj.metadata.name}"`;
  if (declared === 'worker' && observed === 'controlplane')
    return `${name} is declared a worker (spec.talos.nodeType), but the node reported it is a control plane (condition NodeTypeMatches): set spec.talos.nodeType to controlplane to get its kubeconfig`;
  if (declared === 'worker') return `${name} is a worker node: the kubeconfig comes from a control-plane node`;
  if (observed === 'worker')
    return `${name} is declared a control plane (spec.talos.nodeType), but the node reported it is a worker (condition NodeTypeMatches), and a worker has no kubeconfig: ask a control-plane node, and set spec.talos.nodeType to worker`;
  return undefined;
}

async function kubeconfig(deps: LiveDeps, call: SubresourceCall): Promise<SubresourceReply> {
  const obj = call.parent;
  const refusal = kubeconfigRefusal(obj);
  if (refusal) throw badRequest(refusal);
  const text = await withNode(deps.access, obj, async (client) =>
    (await client.kubeconfig({ timeoutMs: PROBE_BUDGET_MS, signal: call.signal })).toString('utf8'),
  );
  return { type: 'text', code: 200, contentType: 'application/yaml', text };
}

function upgradeSpec(call: SubresourceCall): UpgradeRequestSpec {
  return decodeRequestSpec(call, {
    apiVersion: API_VERSION,
    kind: 'UpgradeRequest',
    group: GROUP,
    schema: upgradeBody,
    check: validateUpgradeRequest,
  });
}

async function upgrade(deps: LiveDeps, call: SubresourceCall): Promise<SubresourceReply> {
  const obj = call.parent;
  const name = obj.metadata.name!;
  const spec = upgradeSpec(call);
  if (!specOf(obj).accepted)
    throw conflict(ref, name, 'the server is not accepted (spec.accepted is false): accept it before upgrading');
  const current = (obj.status as AdoptedServerStatus | undefined)?.upgrade as UpgradeProgress | undefined;
  if (upgradeInProgress(current) && !spec.force) {
    throw conflict(
      ref,
      name,
      `an upgrade to ${current!.toVersion ?? current!.image} is in progress (${current!.phase}); wait for it, or set spec.force`,
    );
  }
  // judged against what the node runs now, before it is asked: a refused upgrade starts nothing
  const vet = (running: string, target: string | undefined) => {
    if (!target) return; // an image without a version tag: only the node can tell what it holds
    const kubernetes = (obj.status as AdoptedServerStatus | undefined)?.nodeInfo?.kubernetesVersion;
    const errors = talosUpgradeProblems(
      { from: running, to: target, allowDowngrade: spec.allowDowngrade, ...(kubernetes ? { kubernetes } : {}) },
      { talos: spec.version ? 'spec.version' : 'spec.image' },
    );
    if (errors.length > 0) throw invalid({ group: GROUP, kind: 'UpgradeRequest' }, name, errors);
  };
  const progress = await withNode(deps.access, obj, (client) =>
    startUpgrade(
      client,
      { ...spec, image: spec.image ?? defaultInstallerImage(spec.version!) },
      { timeoutMs: deps.access.callTimeoutMs, signal: call.signal },
      vet,
    ),
  );
  const store = deps.registry.storeOf(adoptedServerKind)!;
  // the node has started: record it even if the client has gone meanwhile
  const updated = await store.patch(
    obj.metadata.namespace,
    name,
    'merge',
    { status: { upgrade: progress } },
    systemContext(),
    'status',
  );
  await deps.events.record(
    updated,
    'Normal',
    progress.phase === 'Staged' ? 'UpgradeStaged' : 'UpgradeStarted',
    progress.message,
  );
  const reply = {
    apiVersion: API_VERSION,
    kind: 'UpgradeRequest',
    metadata: { name, namespace: obj.metadata.namespace },
    spec,
    status: {
      phase: 'Started',
      image: progress.image,
      fromVersion: progress.fromVersion,
      actorID: progress.actorID,
      message: progress.message,
    },
  };
  return { type: 'object', code: 201, object: reply };
}

/** the edge of the live subresources: a node that could not be asked answers with its Status */
function answering(
  serve: (deps: LiveDeps, call: SubresourceCall) => Promise<SubresourceReply>,
  deps: LiveDeps,
): SubresourceHandler['serve'] {
  return async (call) => {
    try {
      return await serve(deps, call);
    } catch (e) {
      throw nodeFailureStatus(e) ?? e;
    }
  };
}

export function adoptedServerHandlers(deps: LiveDeps): SubresourceHandler[] {
  return [
    { group: GROUP, declaration: declaration('health'), serve: answering(health, deps) },
    { group: GROUP, declaration: declaration('kubeconfig'), serve: answering(kubeconfig, deps) },
    { group: GROUP, declaration: declaration('upgrade'), serve: answering(upgrade, deps) },
  ];
}
