// Which Servers a Machine of a ServerClass may be given, and what a bound Server tells its Machine
// (pure). Eligible, as Sidero picks from a class: a member of the class (accepted, not cordoned,
// its selector and qualifiers match), not in use, not on its way out, and clean (its disks wiped by
// the agent), first by name. A server whose name cannot be a label value cannot carry the
// metal.sidero.dev/uuid node label and is never offered.
import { SERVER_MACHINE_ANNOTATION, type Server, type ServerStatus } from '../../api/server.js';
import type { ServerClassSpec } from '../../api/serverclass.js';
import { validateLabelValue } from '../../machinery/labels.js';
import { classStatus } from './qualifiers.js';

/** the servers a Machine of the class may be given now, in the order they are tried (by name) */
export function eligibleServers(spec: ServerClassSpec | undefined, servers: readonly Server[]): Server[] {
  const available = new Set(classStatus(spec, servers).serversAvailable);
  return servers
    .filter((s) => available.has(s.metadata.name!))
    .filter((s) => (s.status as ServerStatus | undefined)?.isClean === true)
    .filter((s) => validateLabelValue(s.metadata.name!).length === 0)
    .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
}

/** `<namespace>/<name>`: how a Server's binding annotation names its Machine */
export const machineKey = (namespace: string, name: string) => `${namespace}/${name}`;

/** the servers bound to the Machine `key`, by name (one, unless someone bound more by hand) */
export function serversBoundTo(servers: readonly Server[], key: string): Server[] {
  return servers
    .filter((s) => s.metadata.annotations?.[SERVER_MACHINE_ANNOTATION] === key)
    .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
}

/** the addresses the Machine reports for its node: the Server's InternalIP addresses, in their order */
export function internalAddresses(server: Server): string[] {
  return ((server.status as ServerStatus | undefined)?.addresses ?? [])
    .filter((a) => a.type === 'InternalIP' && a.address)
    .map((a) => a.address);
}
