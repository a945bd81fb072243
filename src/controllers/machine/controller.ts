// The Machine controller (`machine` in --controllers): keeps each Machine's status true to its
// node. Once the provider reports the node (phase Running, an IPv4 in publicIPAddresses), it asks
// the node, with the cluster's talosconfig or, in maintenance mode, without verification, and
// writes what the node says (hostname, Talos version, architecture, BootstrapReady and Ready)
// by server-side apply on the status subresource under its own field manager, so the provider's
// fields stay the provider's. A Machine on its way is looked at every poll interval, a Ready one
// every resync period.
import { machineKind, type MachineStatus } from '../../api/machine.js';
import { StatusError } from '../../machinery/errors.js';
import { groupVersion, type KubeObject } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext } from '../../machinery/registry/context.js';
import { CLUSTER_LABEL } from '../../machineconfig/fromcluster.js';
import { clusterCredentials, machineEndpoint, type MachineNodes } from '../../nodeaccess/machinenode.js';
import { sightNode } from '../../nodeaccess/sighting.js';
import type { SecretStore } from '../../secrets/secretstore.js';
import { rfc3339 } from '../conditions.js';
import type { ControllerSpec } from '../runtime/controller.js';
import { splitKey } from '../runtime/listwatch.js';
import { registryListWatch } from '../runtime/registrylistwatch.js';
import { factsDiffer, nodeFacts } from './status.js';

export const MACHINE_FIELD_MANAGER = 'machine-controller';

export interface MachineControllerOptions {
  registry: APIRegistry;
  secrets: SecretStore;
  nodes: MachineNodes;
  /** a Machine whose node is not Ready is looked at again after this */
  pollMs: number;
  /** a Ready one after this (--resync-period) */
  resyncMs: number;
}

/** what calls for a look: where the node is, deletion, the spec; not our own status writes */
const stampOf = (m: KubeObject) => {
  const s = (m.status ?? {}) as MachineStatus;
  return JSON.stringify([m.metadata.generation, m.metadata.deletionTimestamp, s.phase, s.publicIPAddresses]);
};

export function machineController(o: MachineControllerOptions): ControllerSpec {
  const store = o.registry.storeOf(machineKind);
  if (!store) throw new Error('the machines kind is not registered');
  const apiVersion = groupVersion(machineKind);
  return {
    name: 'machine',
    workers: 8,
    setup(ctx) {
      const key = (m: KubeObject) => `${m.metadata.namespace}/${m.metadata.name}`;
      ctx.inform(registryListWatch(store), { resyncMs: 0 }).addEventHandler({
        add: (m) => ctx.queue.add(key(m)),
        update: (old, cur) => {
          if (stampOf(old) !== stampOf(cur)) ctx.queue.add(key(cur));
        },
      });
    },
    async reconcile(key) {
      const { namespace, name } = splitKey(key);
      const ns = namespace!;
      const machine = await store.get(ns, name).catch((e: unknown) => {
        if (e instanceof StatusError && e.code === 404) return undefined;
        throw e;
      });
      if (!machine || machine.metadata.deletionTimestamp) return;
      const endpoint = machineEndpoint(machine, o.nodes.talosApiPort);
      const cluster = machine.metadata.labels?.[CLUSTER_LABEL];
      const creds = endpoint && cluster ? await clusterCredentials(o.secrets, ns, cluster) : undefined;
      const sighting = endpoint ? await sightNode(o.nodes, endpoint, creds) : undefined;
      const current = machine.status as MachineStatus | undefined;
      const facts = nodeFacts(current, sighting, rfc3339());
      if (factsDiffer(current, facts)) {
        const body = { apiVersion, kind: machineKind.kind, metadata: { name, namespace: ns }, status: facts };
        await store
          .apply(
            ns,
            name,
            { value: body, duplicates: [] },
            { ...systemContext(), fieldManager: MACHINE_FIELD_MANAGER },
            true,
            'status',
          )
          .catch((e: unknown) => {
            // gone meanwhile: nothing to say about it
            if (!(e instanceof StatusError && e.code === 404)) throw e;
          });
      }
      const ready = facts.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
      return { requeueAfterMs: ready ? o.resyncMs : o.pollMs };
    },
  };
}
