// /configdata: the exact bytes of the machine config of the Machine a Server is bound to, for
// that machine only. Refusals say nothing about the config; the source address must be one the
// Server's agent registered, and the server must be accepted and allocated at the time.
import { MACHINECONFIG_KEY, machineconfigSecretName } from '../secrets/clustersecrets.js';
import type { SecretReader } from '../secrets/reader.js';
import { badRequest, forbidden, notFoundWithMessage } from '../machinery/errors.js';
import { boundMachine, normalAddress, serverNameOf } from './names.js';
import type { BootObjects } from './objects.js';

export interface ConfigData {
  bytes: Buffer;
  /** `<namespace>/<machine>`, for the log */
  machine: string;
}

export async function configData(
  objects: BootObjects,
  secrets: SecretReader,
  uuid: unknown,
  clientAddress: string,
): Promise<ConfigData> {
  if (uuid === undefined || uuid === '') throw badRequest('the uuid query parameter is required');
  const name = serverNameOf(uuid);
  if (!name) throw badRequest('uuid must be an SMBIOS UUID (8-4-4-4-12 hexadecimal digits)');
  const server = await objects.server(name);
  const machine = server && boundMachine(server.metadata.annotations);
  // unknown and unbound look the same from outside
  if (!server || !machine) throw notFoundWithMessage(`server "${name}" is not allocated`);
  const registered = (server.status?.addresses ?? []).some((a) => normalAddress(a.address) === clientAddress);
  if (!registered)
    throw forbidden(`${clientAddress} is not an address server "${name}" registered; its config is served only to it`);
  if (!server.spec?.accepted) throw forbidden(`server "${name}" is not accepted`);
  const data = await secrets.read(machine.namespace, machineconfigSecretName(machine.name));
  const value = data?.[MACHINECONFIG_KEY];
  if (value === undefined)
    throw notFoundWithMessage(`the config of machine ${machine.namespace}/${machine.name} is not generated yet`);
  return { bytes: Buffer.from(value, 'base64'), machine: `${machine.namespace}/${machine.name}` };
}
