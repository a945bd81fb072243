// machine.network of the v1alpha1 document: the whole section up to Talos 1.11; 1.12 keeps only
// kubespan (the rest moved to typed network documents), and 1.13 drops the section (KubeSpanConfig).
import { bool, int, list, obj, since, str, until, type Shape } from './schema.js';

const deviceSelector = obj({
  busPath: str,
  driver: str,
  hardwareAddr: str,
  pciID: str,
  permanentAddr: since(1, 9, str),
  physical: bool,
});

const vip = obj({ equinixMetal: obj({ apiToken: str }), hcloud: obj({ apiToken: str }), ip: str });

const route = obj({ gateway: str, metric: int, mtu: int, network: str, source: str });

const dhcpOptions = obj({ duidv6: str, ipv4: bool, ipv6: bool, routeMetric: int });

const bond = obj({
  adActorSysPrio: int,
  adActorSystem: str,
  adSelect: str,
  adUserPortKey: int,
  allSlavesActive: int,
  arpAllTargets: str,
  arpIPTarget: list(str),
  arpInterval: int,
  arpValidate: str,
  deviceSelectors: list(deviceSelector),
  downdelay: int,
  failOverMac: str,
  interfaces: list(str),
  lacpRate: str,
  lpInterval: int,
  miimon: int,
  minLinks: int,
  mode: str,
  numPeerNotif: int,
  packetsPerSlave: int,
  peerNotifyDelay: int,
  primary: str,
  primaryReselect: str,
  resendIgmp: int,
  tlbDynamicLb: int,
  updelay: int,
  useCarrier: bool,
  xmitHashPolicy: str,
});

const vlan = obj({
  addresses: list(str),
  dhcp: bool,
  dhcpOptions,
  mtu: int,
  routes: list(route),
  vip,
  vlanId: int,
});

const wireguard = obj({
  firewallMark: int,
  listenPort: int,
  peers: list(obj({ allowedIPs: list(str), endpoint: str, persistentKeepaliveInterval: str, publicKey: str })),
  privateKey: str,
});

const networkInterface = obj({
  addresses: list(str),
  bond,
  bridge: obj({ interfaces: list(str), stp: obj({ enabled: bool }), vlan: obj({ vlanFiltering: bool }) }),
  bridgePort: since(1, 9, obj({ master: str })),
  deviceSelector,
  dhcp: bool,
  dhcpOptions,
  dummy: bool,
  ignore: bool,
  interface: str,
  mtu: int,
  routes: list(route),
  vip,
  vlans: list(vlan),
  wireguard,
});

const kubespan = obj({
  advertiseKubernetesNetworks: bool,
  allowDownPeerBypass: bool,
  enabled: bool,
  filters: obj({ endpoints: list(str), excludeAdvertisedNetworks: since(1, 12, list(str)) }),
  harvestExtraEndpoints: bool,
  mtu: int,
});

const LINK_DOCUMENTS = 'LinkConfig, BondConfig, BridgeConfig, VLANConfig, DummyLinkConfig or WireguardConfig documents';

export const machineNetwork: Shape = obj({
  disableSearchDomain: until(1, 11, bool, 'a ResolverConfig document'),
  extraHostEntries: until(1, 11, list(obj({ aliases: list(str), ip: str })), 'StaticHostConfig documents'),
  hostname: until(1, 11, str, 'a HostnameConfig document'),
  interfaces: until(1, 11, list(networkInterface), LINK_DOCUMENTS),
  kubespan: until(1, 12, kubespan, 'a KubeSpanConfig document'),
  nameservers: until(1, 11, list(str), 'a ResolverConfig document'),
  searchDomains: since(1, 9, until(1, 11, list(str), 'a ResolverConfig document')),
});
