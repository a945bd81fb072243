// What a Machine bound to a Server reports and keeps, for the Server allocator (allocator.ts): its
// status as the Server's provider (phase, addresses, providerID, ServerAllocated and
// ServerConfigPatched), its config following the Server's and class's patches, and the Server's
// PXEBooted once the node runs its config.
import { machineKind, type MachineStatus } from '../../api/machine.js';
import {
  MACHINE_CONFIG_ERROR_ANNOTATION,
  MACHINE_SERVER_ANNOTATION,
  MACHINE_SERVER_PATCHES_ANNOTATION,
  MACHINE_SERVERCLASS_ANNOTATION,
  type Server,
} from '../../api/server.js';
import type { EventRecorder } from '../../events/recorder.js';
import { StatusError } from '../../machinery/errors.js';
import { groupVersion, type KubeObject } from '../../machinery/kind.js';
import type { RequestContext } from '../../machinery/registry/context.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { MACHINECONFIG_SECRET_ANNOTATION } from '../../machineconfig/fromcluster.js';
import { serverPatchesStamp } from '../../machineconfig/serverpatches.js';
import { conditionOf, setCondition, type Condition, type ConditionUpdate } from '../conditions.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { internalAddresses, machineKey } from './eligibility.js';
import { ignore, is } from './serverrelease.js';

export const SERVER_ALLOCATED = 'ServerAllocated';
export const SERVER_CONFIG_PATCHED = 'ServerConfigPatched';

/** what the allocator's writes go through */
export interface AllocatorDeps {
  machines: ResourceStore;
  servers: ResourceStore;
  classes: ResourceStore;
  events: EventRecorder;
  ctx: () => RequestContext;
}

export const annotation = (o: KubeObject, key: string) => o.metadata.annotations?.[key];

/** the Machine's node runs the cluster's config (the Machine controller's BootstrapReady): Talos is installed */
export const installed = (m: KubeObject) =>
  conditionOf((m.status as MachineStatus | undefined)?.conditions as Condition[], 'BootstrapReady')?.status === 'True';

export const conditionsOf = (m: KubeObject) =>
  ((m.status as MachineStatus | undefined)?.conditions ?? []) as Condition[];

export const notAllocated = (reason: string, message: string): ConditionUpdate => ({
  type: SERVER_ALLOCATED,
  status: 'False',
  severity: 'Warning',
  reason,
  message,
});

/** the Machine's status as its Server's provider: phase, addresses, providerID, conditions */
export async function reportBound(
  d: AllocatorDeps,
  machine: KubeObject,
  server: Server,
): Promise<ReconcileResult | void> {
  const serverName = server.metadata.name!;
  if (annotation(machine, MACHINE_SERVER_ANNOTATION) !== serverName) {
    // bound by hand, or the record was lost: the config follows the binding
    const named = await annotateMachine(d, machine, serverName).catch((e: unknown) => {
      if (!is(e, 400, 422)) throw e;
      return e as StatusError;
    });
    if (named instanceof StatusError) {
      await writeStatus(d, machine, {}, [
        notAllocated('ConfigPatchFailed', `server ${serverName} is bound to the machine: ${named.message}`),
      ]);
      return;
    }
    machine = named;
  }
  machine = await regenerateIfStale(d, machine, server);
  const addresses = internalAddresses(server);
  const className = annotation(machine, MACHINE_SERVERCLASS_ANNOTATION);
  const configError = annotation(machine, MACHINE_CONFIG_ERROR_ANNOTATION);
  const conditions: ConditionUpdate[] = [
    {
      type: SERVER_ALLOCATED,
      status: 'True',
      reason: 'Allocated',
      message: `server ${serverName}${className ? ` of ServerClass ${className}` : ''}`,
    },
    configError
      ? {
          type: SERVER_CONFIG_PATCHED,
          status: 'False',
          severity: 'Error',
          reason: 'PatchFailed',
          message: `the machine keeps its previous config: ${configError}`,
        }
      : {
          type: SERVER_CONFIG_PATCHED,
          status: 'True',
          reason: 'Applied',
          message: `the config carries the patches of server ${serverName} and its class`,
        },
  ];
  const was = conditionOf(conditionsOf(machine), SERVER_CONFIG_PATCHED);
  await writeStatus(
    d,
    machine,
    {
      // the node is there to be reached once the server has an address (the agent reported it)
      phase: addresses.length ? 'Running' : 'Creating',
      publicIPAddresses: addresses,
      providerID: `sidero://${serverName}`,
    },
    conditions,
  );
  if (configError && (was?.status !== 'False' || !was.message?.endsWith(configError)))
    await d.events.record(machine, 'Warning', 'ServerConfigPatchFailed', configError);
  if (installed(machine)) return markInstalled(d, server, machine);
}

/**
 * Sidero's PXEBooted: once the node runs its config, Talos is on the server's disk, so its
 * next boots go to the disk (the boot listener's /ipxe), unless pxeBootAlways. The Server
 * controller drops the condition when the server is released.
 */
export async function markInstalled(
  d: AllocatorDeps,
  server: Server,
  machine: KubeObject,
): Promise<ReconcileResult | void> {
  const conditions = (server.status?.conditions ?? []) as Condition[];
  if (conditionOf(conditions, 'PXEBooted')?.status === 'True') return;
  const update: ConditionUpdate = {
    type: 'PXEBooted',
    status: 'True',
    reason: 'TalosInstalled',
    message: `machine ${machineKey(machine.metadata.namespace!, machine.metadata.name!)} runs its config`,
  };
  const patch = {
    metadata: { resourceVersion: server.metadata.resourceVersion },
    status: { conditions: setCondition(conditions, update).conditions },
  };
  const written = await d.servers
    .patch(undefined, server.metadata.name!, 'merge', patch, d.ctx(), 'status')
    .catch(ignore(404, 409));
  // changed meanwhile: looked at again with what it says now
  return written ? undefined : { requeue: true };
}

/**
 * The config follows its Server's and class's patches: when either spec changed since the config
 * was patched, an empty write has the admission generate it again (a failure keeps the config and
 * says so in metal.sidero.dev/config-error).
 */
export async function regenerateIfStale(d: AllocatorDeps, machine: KubeObject, server: Server): Promise<KubeObject> {
  if (!annotation(machine, MACHINECONFIG_SECRET_ANNOTATION)) return machine;
  const className = annotation(machine, MACHINE_SERVERCLASS_ANNOTATION);
  const cls = className ? await d.classes.get(undefined, className).catch(ignore(404)) : undefined;
  if (annotation(machine, MACHINE_SERVER_PATCHES_ANNOTATION) === serverPatchesStamp(server, cls)) return machine;
  const { namespace, name } = machine.metadata;
  const written = await d.machines.patch(namespace, name!, 'merge', {}, d.ctx()).catch(ignore(400, 404, 422));
  return written ?? machine;
}

export function annotateMachine(d: AllocatorDeps, machine: KubeObject, server: string | null): Promise<KubeObject> {
  const patch = { metadata: { annotations: { [MACHINE_SERVER_ANNOTATION]: server } } };
  return d.machines.patch(machine.metadata.namespace, machine.metadata.name!, 'merge', patch, d.ctx());
}

/** server-side apply of our fields and conditions on the status, when they differ */
export async function writeStatus(
  d: AllocatorDeps,
  machine: KubeObject,
  fields: Partial<Pick<MachineStatus, 'phase' | 'publicIPAddresses' | 'providerID'>>,
  updates: ConditionUpdate[],
): Promise<void> {
  const current = (machine.status ?? {}) as MachineStatus;
  let all = conditionsOf(machine);
  for (const u of updates) all = setCondition(all, u).conditions;
  const mine = all.filter((c) => updates.some((u) => u.type === c.type));
  const unchanged =
    Object.entries(fields).every(([k, v]) => JSON.stringify(current[k as keyof MachineStatus]) === JSON.stringify(v)) &&
    mine.every((c) => {
      const had = conditionOf(conditionsOf(machine), c.type);
      return had && had.status === c.status && had.reason === c.reason && had.message === c.message;
    });
  if (unchanged) return;
  const body = {
    apiVersion: groupVersion(machineKind),
    kind: machineKind.kind,
    metadata: { name: machine.metadata.name, namespace: machine.metadata.namespace },
    status: { ...fields, conditions: mine },
  };
  await d.machines
    .apply(machine.metadata.namespace, machine.metadata.name!, { value: body, duplicates: [] }, d.ctx(), true, 'status')
    .catch(ignore(404));
}
