// The outbound allow-list (--allowed-outbound-networks): which addresses the server may dial as
// Talos endpoints. The client checks the resolved address BEFORE it opens any socket, so a
// user-supplied endpoint cannot make the server probe networks it was not meant to reach.
import { getServers } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/** A malformed --allowed-outbound-networks value (refused at startup). */
export class AllowListError extends Error {
  constructor(message: string) {
    super(`invalid --allowed-outbound-networks: ${message}`);
    this.name = 'AllowListError';
  }
}

const V4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

export class OutboundAllowList {
  private constructor(
    private readonly list: BlockList | undefined,
    /** the networks as given, normalised to address/prefix */
    readonly networks: readonly string[],
  ) {}

  /** Allows every address: what an empty or absent flag means. */
  static allowAll(): OutboundAllowList {
    return new OutboundAllowList(undefined, []);
  }

  /**
   * Parses a comma-separated list of CIDRs (`127.0.0.0/8,::1/128`); a bare address means a
   * single host. Empty or undefined allows every address.
   */
  static parse(text: string | undefined): OutboundAllowList {
    const items = (text ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (items.length === 0) return OutboundAllowList.allowAll();
    const list = new BlockList();
    const networks: string[] = [];
    for (const item of items) {
      const [address, prefixText, extra] = item.split('/');
      const family = isIP(address ?? '');
      if (!address || family === 0 || extra !== undefined)
        throw new AllowListError(`${JSON.stringify(item)} is not an IP network`);
      const max = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (!/^\d+$/.test(prefixText ?? String(max)) || prefix > max) {
        throw new AllowListError(`${JSON.stringify(item)} has an invalid prefix length (0-${max})`);
      }
      list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
      networks.push(`${address}/${prefix}`);
    }
    return new OutboundAllowList(list, networks);
  }

  get allowsAll(): boolean {
    return this.list === undefined;
  }

  /** Whether the IP address may be dialed. Anything that is not an IP address is refused. */
  check(ip: string): boolean {
    const address = ip.replace(/^\[(.*)\]$/, '$1');
    const family = isIP(address);
    if (family === 0) return false;
    if (!this.list) return true;
    if (family === 4) return this.list.check(address, 'ipv4');
    // an IPv4-mapped IPv6 address reaches the IPv4 host, so judge it as that host
    const mapped = V4_MAPPED.exec(address);
    if (mapped?.[1]) return this.list.check(mapped[1], 'ipv4');
    return this.list.check(address, 'ipv6');
  }

  toString(): string {
    return this.networks.join(',');
  }
}

/** names RFC 6761 reserves for loopback: resolved from the hosts file, never by asking a DNS server */
export function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/**
 * Resolving a name asks the system's DNS servers, which is outbound traffic too: with a restrictive
 * allow-list, the DNS servers outside it (an empty list means the name may be resolved).
 */
export function refusedResolvers(
  allowList: OutboundAllowList,
  host: string,
  servers: () => string[] = getServers,
): string[] {
  if (allowList.allowsAll || isIP(host.replace(/^\[(.*)\]$/, '$1')) || isLocalhostName(host)) return [];
  return servers()
    .map((s) => s.replace(/^\[([^\]]+)\](:\d+)?$/, '$1').replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, '$1'))
    .filter((ip) => !allowList.check(ip));
}
