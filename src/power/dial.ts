// Where a power call may go: every BMC or power API address is resolved and checked against the
// outbound allow-list (--allowed-outbound-networks) BEFORE anything is sent, and the call then goes
// to the address that was checked (no second lookup that could answer differently).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { refusedResolvers, type OutboundAllowList } from '../talos/outbound.js';
import { PowerError } from './power.js';

/** the IP address to dial for `host` (a name or an IP, IPv6 with or without brackets) */
export async function allowedAddress(host: string, allowList: OutboundAllowList, what: string): Promise<string> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const resolvers = refusedResolvers(allowList, bare);
  if (resolvers.length > 0) {
    throw new PowerError(
      'Refused',
      `refusing to resolve ${what} ${bare}: asking DNS server ${resolvers.join(', ')} would leave --allowed-outbound-networks (${allowList.toString()}); nothing was sent`,
    );
  }
  let address = bare;
  if (isIP(bare) === 0) {
    try {
      address = (await lookup(bare)).address;
    } catch (e) {
      throw new PowerError('Unreachable', `cannot resolve ${what} ${bare}: ${(e as Error).message}`);
    }
  }
  if (!allowList.check(address)) {
    throw new PowerError(
      'Refused',
      `${what} ${address} is outside --allowed-outbound-networks (${allowList.toString()}); nothing was sent`,
    );
  }
  return address;
}
