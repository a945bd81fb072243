// Fields of the network documents (links, bonds, bridges, VLANs, DHCP, resolver, time, KubeSpan,
// firewall, routing, probes, BGP), per Talos release: the kind's own release is in kinds.ts, keys
// added later carry theirs here.
import { bool, int, intOrStr, list, listMin, map, obj, oneOf, since, str, type Shape } from './schema.js';

const route = obj({ destination: str, gateway: str, metric: int, mtu: int, source: str, table: str });

const address = obj({ address: str, routePriority: int }, ['address']);

/** What every link kind has: addresses, routes, MTU, multicast, up. */
const linkFields = { addresses: list(address), mtu: int, multicast: bool, name: str, routes: list(route), up: bool };

export const linkConfig: Shape = obj(linkFields, ['name']);

export const dummyLinkConfig: Shape = obj({ ...linkFields, hardwareAddr: str }, ['name']);

export const bondConfig: Shape = obj(
  {
    ...linkFields,
    adActorSysPrio: int,
    adLACPActive: oneOf('on', 'off'),
    adSelect: oneOf('stable', 'bandwidth', 'count'),
    adUserPortKey: int,
    allSlavesActive: int,
    arpAllTargets: oneOf('any', 'all'),
    arpInterval: int,
    arpIpTargets: list(str),
    arpValidate: oneOf('none', 'active', 'backup', 'all', 'filter', 'filter-active', 'filter-backup'),
    bondMode: oneOf('balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'),
    downdelay: int,
    failOverMac: oneOf('none', 'active', 'follow'),
    hardwareAddr: str,
    lacpRate: oneOf('slow', 'fast'),
    links: list(str),
    lpInterval: int,
    miimon: int,
    minLinks: int,
    missedMax: int,
    nsIp6Targets: list(str),
    numPeerNotif: int,
    packetsPerSlave: int,
    peerNotifDelay: int,
    primaryReselect: oneOf('always', 'better', 'failure'),
    resendIGMP: int,
    tlbLogicalLb: int,
    updelay: int,
    useCarrier: bool,
    xmitHashPolicy: oneOf('layer2', 'layer3+4', 'layer2+3', 'encap2+3', 'encap3+4'),
  },
  ['bondMode', 'links', 'name'],
);

export const bridgeConfig: Shape = obj(
  { ...linkFields, hardwareAddr: str, links: list(str), stp: obj({ enabled: bool }), vlan: obj({ filtering: bool }) },
  ['links', 'name'],
);

export const vlanConfig: Shape = obj(
  { ...linkFields, parent: str, vlanID: int, vlanMode: oneOf('802.1q', '802.1ad') },
  ['name', 'parent', 'vlanID'],
);

export const vrfConfig: Shape = obj({ ...linkFields, hardwareAddr: str, links: list(str), table: str }, [
  'links',
  'name',
  'table',
]);

export const vethConfig: Shape = obj({ ...linkFields, peer: obj(linkFields, ['name']) }, ['name', 'peer']);

export const wireguardConfig: Shape = obj(
  {
    ...linkFields,
    firewallMark: int,
    listenPort: int,
    peers: list(
      obj(
        { allowedIPs: list(str), endpoint: str, persistentKeepaliveInterval: str, presharedKey: str, publicKey: str },
        ['publicKey'],
      ),
    ),
    privateKey: str,
  },
  ['name', 'privateKey'],
);

const dhcpFields = { clientIdentifier: oneOf('none', 'mac', 'duid'), duidRaw: str, ignoreHostname: bool, name: str };

export const dhcpv4Config: Shape = obj({ ...dhcpFields, ignoreRoutes: since(1, 14, bool), routeMetric: int }, ['name']);

export const dhcpv6Config: Shape = obj({ ...dhcpFields, routeMetric: int }, ['name']);

export const ethernetConfig: Shape = obj(
  {
    channels: obj({ combined: int, other: int, rx: int, tx: int }),
    features: map(bool),
    name: str,
    rings: obj({
      'cqe-size': int,
      rx: int,
      'rx-buf-len': int,
      'rx-jumbo': int,
      'rx-mini': int,
      'rx-push': bool,
      'tcp-data-split': bool,
      tx: int,
      'tx-push': bool,
      'tx-push-buf-len': int,
    }),
    wakeOnLan: since(1, 12, list(str)),
  },
  ['name'],
);

export const hostnameConfig: Shape = obj({ auto: oneOf('stable', 'off'), hostname: str });

export const resolverConfig: Shape = obj({
  hostDNS: since(1, 14, obj({ enabled: bool, forwardKubeDNSToHost: bool, resolveMemberNames: bool })),
  nameservers: list(
    obj({ address: str, protocol: since(1, 14, oneOf('Do53', 'DoT', 'DoH')), tlsServerName: since(1, 14, str) }),
  ),
  searchDomains: obj({ disableDefault: bool, domains: list(str) }),
});

export const staticHostConfig: Shape = obj({ hostnames: list(str), name: str }, ['name']);

export const timeSyncConfig: Shape = obj({
  bootTimeout: str,
  enabled: bool,
  ntp: obj({ servers: list(str), useNTS: since(1, 14, bool) }),
  ptp: obj({ devices: list(str) }),
});

export const kubeSpanConfig: Shape = obj({
  advertiseKubernetesNetworks: bool,
  allowDownPeerBypass: bool,
  enabled: bool,
  filters: obj({ endpoints: list(str), excludeAdvertisedNetworks: list(str) }),
  harvestExtraEndpoints: bool,
  mtu: int,
});

export const kubeSpanEndpoints: Shape = obj({ extraAnnouncedEndpoints: list(str) });

export const networkDefaultActionConfig: Shape = obj({ ingress: oneOf('accept', 'block') });

export const networkRuleConfig: Shape = obj(
  {
    ingress: list(obj({ except: str, subnet: str })),
    name: str,
    portSelector: obj({ ports: list(intOrStr), protocol: oneOf('tcp', 'udp', 'icmp', 'icmpv6') }),
  },
  ['name'],
);

export const hcloudVIPConfig: Shape = obj({ apiToken: str, link: str, name: str }, ['name']);

export const layer2VIPConfig: Shape = obj({ link: str, name: str }, ['name']);

export const linkAliasConfig: Shape = obj({ name: str, selector: obj({ match: str }) }, ['name']);

export const blackholeRouteConfig: Shape = obj({ metric: int, name: str }, ['name']);

export const routingRuleConfig: Shape = obj(
  { action: int, dst: str, fwMark: int, fwMask: int, iifName: str, name: str, oifName: str, src: str, table: str },
  ['name', 'table'],
);

const probeFields = { failureThreshold: int, interval: str, name: str, timeout: str };

export const tcpProbeConfig: Shape = obj({ ...probeFields, endpoint: str }, ['endpoint', 'name']);

export const httpProbeConfig: Shape = obj({ ...probeFields, url: str }, ['name', 'url']);

export const bgpInstanceConfig: Shape = obj(
  {
    advertise: list(str),
    importRoutes: list(obj({ bgpInstance: str, prefixes: listMin(1, str) }, ['bgpInstance', 'prefixes'])),
    installRoutes: bool,
    localASN: int,
    maxPaths: int,
    multipath: bool,
    name: str,
    neighbors: list(
      obj({
        address: str,
        bfd: obj({ detectMultiplier: int, receiveInterval: str, transmitInterval: str }),
        holdTime: str,
        link: str,
        localASN: int,
        passive: bool,
        peerASN: int,
      }),
    ),
    routeSource: str,
    routerID: str,
    vrf: str,
  },
  ['localASN', 'name'],
);
