// The boot agent's JSON requests (docs/boot-agent.md): decoded strictly (an unknown field is a
// 400, not silently dropped), then checked by their schemas; a wrong value is a 422 naming it.
import { isIP } from 'node:net';
import { HardwareInformation } from '../api/server.js';
import { Int, List, NodeAddress, Obj, Opt, Str, Type, atomicList, type Static } from '../api/schema.js';
import { badRequest, fieldErr, invalid, type FieldError } from '../machinery/errors.js';
import type { KindDefinition } from '../machinery/kind.js';
import { compileKindSchema, type KindSchema } from '../machinery/schema.js';
import { serverNameOf } from './names.js';

const uuid = Str('SMBIOS UUID of the machine; the Server is named by it.');
const addresses = List(NodeAddress, 'Addresses of the machine.', atomicList);

const RegisterRequest = Type.Object({
  uuid,
  hostname: Opt(Str('Hostname the machine reports.')),
  hardware: Opt(HardwareInformation),
  addresses: Opt(addresses),
  bmc: Opt(
    Obj(
      { address: Str('Address of the BMC.'), port: Opt(Int('IPMI port.', { minimum: 1, maximum: 65535 })) },
      'The BMC the machine found.',
    ),
  ),
});
const AddressesRequest = Type.Object({ uuid, addresses });
const ServerRequest = Type.Object({ uuid });

export type RegisterRequest = Static<typeof RegisterRequest>;
export type AddressesRequest = Static<typeof AddressesRequest>;
export type ServerRequest = Static<typeof ServerRequest>;

const ADDRESS_TYPES = ['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS'];

function addressErrors(list: { type: string; address: string }[] | undefined): FieldError[] {
  const errors: FieldError[] = [];
  (list ?? []).forEach((a, i) => {
    const at = `addresses[${i}]`;
    if (!ADDRESS_TYPES.includes(a.type)) errors.push(fieldErr.notSupported(`${at}.type`, a.type, ADDRESS_TYPES));
    else if (a.type.endsWith('IP') && !isIP(a.address))
      errors.push(fieldErr.invalid(`${at}.address`, a.address, 'must be an IP address'));
  });
  return errors;
}

interface WireType<T> {
  what: string;
  schema: KindSchema;
  check(body: T): FieldError[];
}

const wire = <T>(what: string, schema: unknown, check: (body: T) => FieldError[] = () => []): WireType<T> => ({
  what,
  schema: compileKindSchema({ schema: schema as KindDefinition['schema'] }),
  check,
});

export const REGISTER = wire<RegisterRequest>('register', RegisterRequest, (b) => addressErrors(b.addresses));
export const ADDRESSES = wire<AddressesRequest>('addresses', AddressesRequest, (b) => addressErrors(b.addresses));
export const SERVER_ONLY = wire<ServerRequest>('server', ServerRequest);

/** the decoded request and the Server name its uuid gives */
export function decodeRequest<T extends { uuid: string }>(t: WireType<T>, body: unknown): { request: T; name: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw badRequest(`the ${t.what} request must be a JSON object`);
  const unknown = t.schema.prune(body).filter((p) => !p.startsWith('metadata'));
  for (const top of ['apiVersion', 'kind', 'metadata']) if (top in body) unknown.push(top);
  if (unknown.length > 0)
    throw badRequest(`strict decoding error: ${unknown.map((p) => `unknown field "${p}"`).join(', ')}`);
  const errors = t.schema.validate(body);
  const request = body as T;
  if (errors.length === 0) errors.push(...t.check(request));
  const name = errors.length === 0 ? serverNameOf(request.uuid) : undefined;
  if (errors.length === 0 && !name)
    errors.push(fieldErr.invalid('uuid', request.uuid, 'must be an SMBIOS UUID (8-4-4-4-12 hexadecimal digits)'));
  if (errors.length > 0 || !name)
    throw invalid({ group: '', kind: `${t.what} request` }, String(request.uuid ?? ''), errors);
  return { request, name };
}
