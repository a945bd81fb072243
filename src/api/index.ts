// Every kind this server declares. `allKinds` are ours (metal.sidero.dev, vitistack.io);
// `coreKinds` are the core/v1 kinds served only in standalone mode.
import type { CustomSubresource } from '../machinery/discovery.js';
import type { KindDefinition } from '../machinery/kind.js';
import { adoptedServerKind } from './adoptedserver.js';
import { serverKind } from './server.js';
import { serverClassKind } from './serverclass.js';
import { environmentKind } from './environment.js';
import { kubernetesClusterKind } from './kubernetescluster.js';
import { machineKind } from './machine.js';
import { namespaceKind } from './core/namespace.js';
import { secretKind } from './core/secret.js';
import { eventKind } from './core/event.js';
import { configSubresources } from './configsubresources.js';
import { adoptedServerSubresources } from './live.js';
import { selfSubjectAccessReviewKind, selfSubjectRulesReviewKind } from './authorization.js';
import { kubernetesClusterSubresources } from './clusterlive.js';

export const allKinds: KindDefinition[] = [
  adoptedServerKind,
  serverKind,
  serverClassKind,
  environmentKind,
  kubernetesClusterKind,
  machineKind,
];

export const coreKinds: KindDefinition[] = [namespaceKind, secretKind, eventKind];

/** authorization.k8s.io/v1 reviews: answered by code (never stored), in standalone mode only */
export const selfReviewKinds: KindDefinition[] = [selfSubjectAccessReviewKind, selfSubjectRulesReviewKind];

const customSubresources: CustomSubresource[] = [
  ...adoptedServerSubresources,
  ...configSubresources,
  ...kubernetesClusterSubresources,
];

/**
 * The subresources beyond /status one of our kinds serves (the install's RBAC roles are generated
 * from them). A declaration names its parent by plural, which is unique among allKinds.
 */
export function subresourcesOf(kind: KindDefinition): CustomSubresource[] {
  return allKinds.includes(kind) ? customSubresources.filter((s) => s.resource === kind.plural) : [];
}

export {
  adoptedServerKind,
  serverKind,
  serverClassKind,
  environmentKind,
  kubernetesClusterKind,
  machineKind,
  namespaceKind,
  secretKind,
  eventKind,
  selfSubjectAccessReviewKind,
  selfSubjectRulesReviewKind,
};
export { adoptedServerFinalizer, adoptedServerConditionTypes } from './adoptedserver.js';
export { namespaceFinalizer } from './core/namespace.js';

export type { AdoptedServer, AdoptedServerSpec, AdoptedServerStatus } from './adoptedserver.js';
export type { Server, ServerSpec, ServerStatus, HardwareInformation } from './server.js';
export type { ServerClass, ServerClassSpec, ServerClassStatus } from './serverclass.js';
export type { Environment, EnvironmentSpec, EnvironmentStatus } from './environment.js';
export type {
  KubernetesCluster,
  KubernetesClusterSpec,
  KubernetesClusterStatus,
  WorkerPool,
} from './kubernetescluster.js';
export type { Machine, MachineSpec, MachineStatus } from './machine.js';
export type { Namespace } from './core/namespace.js';
export type { Secret } from './core/secret.js';
export type { Event } from './core/event.js';
export type { Condition, ConfigPatch, NodeAddress, ObjectReference } from './schema.js';
