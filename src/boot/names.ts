// Names the boot listener shares with the rest of bare metal: the binding of a Server to a
// Machine (written by the Machine-on-Server allocator), the agent's token hash, and the field
// manager our writes carry in managedFields.

/** `<namespace>/<machine>`: the Machine a Server is bound to; its presence makes the Server allocated */
export const BINDING_ANNOTATION = 'metal.sidero.dev/machine';
/** SHA-256 (hex) of the token a registered boot agent must present; never the token itself */
export const AGENT_TOKEN_HASH_ANNOTATION = 'metal.sidero.dev/agent-token-sha256';
/** the field manager of every write the boot listener makes */
export const BOOT_FIELD_MANAGER = 'boot-listener';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** an SMBIOS UUID in the form Servers are named by (lower case), or undefined when it is not one */
export function serverNameOf(uuid: unknown): string | undefined {
  if (typeof uuid !== 'string') return undefined;
  const name = uuid.toLowerCase();
  return UUID.test(name) ? name : undefined;
}

/** the Machine a Server is bound to, from the binding annotation; undefined when it is not bound */
export function boundMachine(
  annotations: Record<string, string> | undefined,
): { namespace: string; name: string } | undefined {
  const value = annotations?.[BINDING_ANNOTATION];
  if (!value) return undefined;
  const [namespace, name, ...rest] = value.split('/');
  if (!namespace || !name || rest.length > 0) return undefined;
  return { namespace, name };
}

/** whether the Server is allocated: the binding annotation is there (whatever its value) */
export function isBound(annotations: Record<string, string> | undefined): boolean {
  return !!annotations?.[BINDING_ANNOTATION];
}

/** an address as compared with a Server's registered ones: IPv4-mapped IPv6 as plain IPv4, lower case */
export function normalAddress(address: string): string {
  const a = address.toLowerCase();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice('::ffff:'.length) : a;
}
