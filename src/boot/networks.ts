// The boot listener's allow-list of client networks (--boot-allowed-networks): CIDRs, IPv4 or IPv6.
import { BlockList, isIP } from 'node:net';

export class ClientNetworks {
  private constructor(private readonly list: BlockList | undefined) {}

  /** comma-separated CIDRs; undefined or empty: every address; throws on a malformed entry */
  static parse(cidrs: string | undefined): ClientNetworks {
    const entries = (cidrs ?? '')
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    if (entries.length === 0) return new ClientNetworks(undefined);
    const list = new BlockList();
    for (const cidr of entries) {
      const [ip, bits, ...rest] = cidr.split('/');
      const family = isIP(ip ?? '');
      const prefix = Number(bits);
      const max = family === 6 ? 128 : 32;
      if (!family || rest.length > 0 || bits === undefined || !/^\d+$/.test(bits) || prefix > max)
        throw new Error(`"${cidr}" is not a CIDR such as 10.0.0.0/8 or fd00::/8`);
      list.addSubnet(ip!, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
    return new ClientNetworks(list);
  }

  allows(address: string): boolean {
    if (!this.list) return true;
    const family = isIP(address);
    return family !== 0 && this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}
