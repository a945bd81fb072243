// What a bare-metal Server adds to the config of the Machine bound to it (pure), in Sidero's
// order: the ServerClass's RFC 6902 patches, then its strategic patches, then the Server's RFC 6902
// patches, then its strategic patches, and last the kubelet node label metal.sidero.dev/uuid=<server>
// (so no patch can take it away). These come after the cluster's, pool's and Machine's own patches:
// the hardware knows best where to install and how its NICs are named.
import type { Operation } from 'fast-json-patch';
import { SERVER_UUID_NODE_LABEL, type ServerSpec } from '../api/server.js';
import type { ServerClassSpec } from '../api/serverclass.js';
import type { KubeObject } from '../machinery/kind.js';
import type { TalosContract } from './contract.js';
import { contractAtLeast } from './contract.js';
import type { Patch } from './patch/apply.js';

type PatchFields = Pick<ServerSpec, 'configPatches' | 'strategicPatches'>;

function patchesOf(fields: PatchFields | undefined, where: string): Patch[] {
  const out: Patch[] = [];
  if (fields?.configPatches?.length)
    out.push({ name: `${where} spec.configPatches`, jsonPatch: fields.configPatches as Operation[] });
  (fields?.strategicPatches ?? []).forEach((text, i) =>
    out.push({ name: `${where} spec.strategicPatches[${i}]`, strategic: text }),
  );
  return out;
}

/**
 * The node label as a strategic patch of the document that holds node labels for the contract:
 * the v1alpha1 document's machine.nodeLabels up to Talos 1.13, the KubeNodeConfig document from 1.14.
 */
export function uuidLabelPatch(serverName: string, contract: TalosContract): Patch {
  const label = `${SERVER_UUID_NODE_LABEL}: ${JSON.stringify(serverName)}`;
  const strategic = contractAtLeast(contract, 1, 14)
    ? `apiVersion: v1alpha1\nkind: KubeNodeConfig\nlabels:\n  ${label}\n`
    : `machine:\n  nodeLabels:\n    ${label}\n`;
  return { name: `the node label ${SERVER_UUID_NODE_LABEL}`, strategic };
}

export interface BoundServer {
  name: string;
  spec?: PatchFields;
  /** the class the Machine's Server comes from, when it still exists */
  serverClass?: { name: string; spec?: Pick<ServerClassSpec, 'configPatches' | 'strategicPatches'> };
}

/** the patches a bound Server adds, applied after every patch of the cluster and the Machine */
export function serverPatches(server: BoundServer, contract: TalosContract): Patch[] {
  return [
    ...(server.serverClass ? patchesOf(server.serverClass.spec, `ServerClass ${server.serverClass.name}`) : []),
    ...patchesOf(server.spec, `Server ${server.name}`),
    uuidLabelPatch(server.name, contract),
  ];
}

/**
 * Which specs of the Server and its class a config was patched from (uid and generation of each):
 * when it differs from theirs now, the config is generated again.
 */
export function serverPatchesStamp(server: KubeObject, serverClass?: KubeObject): string {
  const of = (o: KubeObject) => `${o.metadata.uid}/${o.metadata.generation ?? 0}`;
  return serverClass ? `${of(server)},${of(serverClass)}` : of(server);
}
