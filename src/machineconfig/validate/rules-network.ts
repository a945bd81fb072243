// No VIP on workers, network interfaces (bonds, bridges, VLANs, WireGuard) and KubeSpan, plus the
// plain network entries: hostname, nameservers, search domains, extra host entries.
import { decodeBase64Strict } from '../base64.js';
import type { RuleContext } from './context.js';
import { joinIndex, show } from './problem.js';
import { checkBond } from './rules-bond.js';
import { cidrFamily, ipFamily, isAddressOrCIDR, isDNSName, isSubnetFilter, parseHostPort } from './syntax.js';
import { boolAt, isNonEmpty, isSet, mapAt, mapItems, numAt, strAt, stringItems } from './values.js';
import type { PlainMap } from './yamltree.js';

/** WireGuard keys are Curve25519 keys: 32 bytes, base64. */
function isWireGuardKey(text: string): boolean {
  return decodeBase64Strict(text)?.length === 32;
}

/** Addressing shared by interfaces and VLANs: cidr/addresses, VIP, routes. */
function checkAddressing(ctx: RuleContext, path: string, link: PlainMap): void {
  const cidr = strAt(link, 'cidr');
  if (cidr !== undefined && cidr !== '') {
    if (isNonEmpty(link, 'addresses')) ctx.v1.error(`${path}.cidr`, 'cidr and addresses are mutually exclusive');
    else ctx.v1.warning(`${path}.cidr`, 'deprecated: use addresses');
    if (!isAddressOrCIDR(cidr)) ctx.v1.error(`${path}.cidr`, `${show(cidr)} is not an address in CIDR notation`);
  }
  for (const [i, address] of stringItems(link, 'addresses')) {
    if (!isAddressOrCIDR(address))
      ctx.v1.error(joinIndex(`${path}.addresses`, i), `${show(address)} is not an address in CIDR notation`);
  }
  const vip = mapAt(link, 'vip');
  if (vip) {
    if (ctx.isWorker) ctx.v1.error(`${path}.vip`, 'a shared VIP is for control-plane nodes only, not workers');
    const ip = strAt(vip, 'ip') ?? '';
    if (!ipFamily(ip))
      ctx.v1.error(
        `${path}.vip.ip`,
        ip === '' ? 'required: the shared IP address' : `${show(ip)} is not an IP address`,
      );
  }
  for (const [i, route] of mapItems(link, 'routes')) {
    const routePath = joinIndex(`${path}.routes`, i);
    const network = strAt(route, 'network') ?? '';
    const gateway = strAt(route, 'gateway') ?? '';
    if (network === '' && gateway === '') ctx.v1.error(routePath, 'a route needs a network or a gateway');
    if (network !== '' && !cidrFamily(network)) ctx.v1.error(`${routePath}.network`, `${show(network)} is not a CIDR`);
    if (gateway !== '' && !ipFamily(gateway))
      ctx.v1.error(`${routePath}.gateway`, `${show(gateway)} is not an IP address`);
  }
}

function checkWireGuard(ctx: RuleContext, path: string, wireguard: PlainMap): void {
  const privateKey = strAt(wireguard, 'privateKey');
  if (privateKey && !isWireGuardKey(privateKey))
    ctx.v1.error(`${path}.privateKey`, 'must be a WireGuard key: 32 bytes, base64');
  for (const [i, peer] of mapItems(wireguard, 'peers')) {
    const peerPath = joinIndex(`${path}.peers`, i);
    const publicKey = strAt(peer, 'publicKey') ?? '';
    if (!isWireGuardKey(publicKey)) ctx.v1.error(`${peerPath}.publicKey`, 'must be a WireGuard key: 32 bytes, base64');
    const endpoint = strAt(peer, 'endpoint');
    if (endpoint) {
      const hp = parseHostPort(endpoint, true);
      if ('error' in hp) ctx.v1.error(`${peerPath}.endpoint`, `${show(endpoint)} ${hp.error}`);
    }
    for (const [j, allowed] of stringItems(peer, 'allowedIPs')) {
      if (!cidrFamily(allowed)) ctx.v1.error(joinIndex(`${peerPath}.allowedIPs`, j), `${show(allowed)} is not a CIDR`);
    }
  }
}

/** One interface entry, recording its bond/bridge members in `members` (name -> owner path). */
function checkInterface(ctx: RuleContext, path: string, entry: PlainMap, members: Map<string, string>): void {
  const named = isNonEmpty(entry, 'interface');
  const selected = isSet(entry, 'deviceSelector');
  if (named && selected) ctx.v1.error(path, 'interface and deviceSelector are mutually exclusive');
  if (!named && !selected) ctx.v1.error(path, 'needs an interface name or a deviceSelector');
  if (selected && !isNonEmpty(entry, 'deviceSelector'))
    ctx.v1.error(`${path}.deviceSelector`, 'must not be empty: it would match every link');

  const bond = mapAt(entry, 'bond');
  const bridge = mapAt(entry, 'bridge');
  if (bond && bridge) ctx.v1.error(`${path}.bridge`, 'bond and bridge are mutually exclusive on one interface');
  if (bond) {
    checkBond(ctx.v1, `${path}.bond`, bond);
    mapItems(bond, 'deviceSelectors').forEach(([i, selector]) => {
      if (Object.keys(selector).length === 0)
        ctx.v1.error(joinIndex(`${path}.bond.deviceSelectors`, i), 'must not be empty: it would match every link');
    });
  }
  for (const [kind, section] of [
    ['bond', bond],
    ['bridge', bridge],
  ] as const) {
    for (const [i, member] of stringItems(section, 'interfaces')) {
      const memberPath = joinIndex(`${path}.${kind}.interfaces`, i);
      const owner = members.get(member);
      if (owner !== undefined)
        ctx.v1.error(
          memberPath,
          `interface ${show(member)} is already a member of ${owner}: a link belongs to one bond or bridge`,
        );
      else members.set(member, `${path}.${kind}`);
    }
  }

  checkAddressing(ctx, path, entry);
  for (const [i, vlan] of mapItems(entry, 'vlans')) checkAddressing(ctx, joinIndex(`${path}.vlans`, i), vlan);
  const wireguard = mapAt(entry, 'wireguard');
  if (wireguard) checkWireGuard(ctx, `${path}.wireguard`, wireguard);
}

const ADDRESSING_KEYS = ['addresses', 'cidr', 'routes', 'vip'];

export function checkInterfaces(ctx: RuleContext): void {
  const entries = mapItems(mapAt(ctx.machine, 'network'), 'interfaces');
  const members = new Map<string, string>();
  for (const [i, entry] of entries) checkInterface(ctx, joinIndex('machine.network.interfaces', i), entry, members);
  // bond and bridge members are configured through their master: addresses on them are ignored or conflict
  for (const [i, entry] of entries) {
    const name = strAt(entry, 'interface');
    const owner = name ? members.get(name) : undefined;
    if (!name || owner === undefined) continue;
    const path = joinIndex('machine.network.interfaces', i);
    for (const key of ADDRESSING_KEYS) {
      if (isNonEmpty(entry, key))
        ctx.v1.error(`${path}.${key}`, `${show(name)} is a member of ${owner} and must not have addressing of its own`);
    }
    if (boolAt(entry, 'dhcp') === true)
      ctx.v1.error(`${path}.dhcp`, `${show(name)} is a member of ${owner} and must not run DHCP`);
  }
}

/** KubeSpan: MTU of at least 1280, discovery on, cluster id and secret set, filters that parse. */
export function checkKubeSpan(ctx: RuleContext): void {
  const kubespan = mapAt(mapAt(ctx.machine, 'network'), 'kubespan');
  if (!kubespan) return;
  const path = 'machine.network.kubespan';
  const filters = mapAt(kubespan, 'filters');
  for (const [i, filter] of stringItems(filters, 'endpoints')) {
    if (!isSubnetFilter(filter))
      ctx.v1.error(
        joinIndex(`${path}.filters.endpoints`, i),
        `${show(filter)} is not a CIDR (a leading ! excludes it)`,
      );
  }
  for (const [i, network] of stringItems(filters, 'excludeAdvertisedNetworks')) {
    if (!cidrFamily(network))
      ctx.v1.error(joinIndex(`${path}.filters.excludeAdvertisedNetworks`, i), `${show(network)} is not a CIDR`);
  }
  if (boolAt(kubespan, 'enabled') !== true) return;
  const mtu = numAt(kubespan, 'mtu');
  // WireGuard over IPv6 needs the IPv6 minimum MTU
  if (mtu !== undefined && mtu < 1280) ctx.v1.error(`${path}.mtu`, 'must be at least 1280');
  if (boolAt(mapAt(ctx.cluster, 'discovery'), 'enabled') !== true) {
    ctx.v1.error(
      `${path}.enabled`,
      'KubeSpan finds its peers through discovery: requires cluster.discovery.enabled: true',
    );
  }
  if (!strAt(ctx.cluster, 'id') || !strAt(ctx.cluster, 'secret')) {
    ctx.v1.error(`${path}.enabled`, 'KubeSpan requires cluster.id and cluster.secret');
  }
}

/** hostname, nameservers, search domains and extra host entries. */
export function checkNetworkEntries(ctx: RuleContext): void {
  const network = mapAt(ctx.machine, 'network');
  if (!network) return;
  const hostname = strAt(network, 'hostname');
  if (hostname && !isDNSName(hostname))
    ctx.v1.error('machine.network.hostname', `${show(hostname)} is not a valid host name`);
  for (const [i, server] of stringItems(network, 'nameservers')) {
    if (!ipFamily(server))
      ctx.v1.error(joinIndex('machine.network.nameservers', i), `${show(server)} is not an IP address`);
  }
  for (const [i, domain] of stringItems(network, 'searchDomains')) {
    if (!isDNSName(domain))
      ctx.v1.error(joinIndex('machine.network.searchDomains', i), `${show(domain)} is not a valid DNS name`);
  }
  for (const [i, entry] of mapItems(network, 'extraHostEntries')) {
    const path = joinIndex('machine.network.extraHostEntries', i);
    const ip = strAt(entry, 'ip') ?? '';
    if (!ipFamily(ip))
      ctx.v1.error(
        `${path}.ip`,
        ip === '' ? 'required: the address the aliases resolve to' : `${show(ip)} is not an IP address`,
      );
    for (const [j, alias] of stringItems(entry, 'aliases')) {
      if (!isDNSName(alias)) ctx.v1.error(joinIndex(`${path}.aliases`, j), `${show(alias)} is not a valid host name`);
    }
  }
}
