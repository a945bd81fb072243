// Network rules: no VIP on workers, network interfaces, bonds, bridges, VLANs, WireGuard, KubeSpan,
// and the plain network entries.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectProblem,
  makeSecrets,
  problemsAfter,
  type Doc,
  type FixtureRole,
  type FixtureSecrets,
} from './fixtures.js';

let s: FixtureSecrets;
beforeAll(async () => {
  s = await makeSecrets();
});

const IF = 'machine.network.interfaces';
// 1.11 is the last release whose schema lists these sections (1.12 decodes them as deprecated)
const withNetwork = (role: FixtureRole, network: Doc) =>
  problemsAfter(s, '1.11', role, (d) => (d[0].machine.network = network));
const withInterfaces = (interfaces: Doc[], role: FixtureRole = 'controlplane') => withNetwork(role, { interfaces });
const WG_KEY = Buffer.alloc(32, 7).toString('base64');

describe('interface entries', () => {
  it('need exactly one of interface and deviceSelector, and a selector that selects', () => {
    const problems = withInterfaces([
      { interface: 'eth0', deviceSelector: { driver: 'virtio' } },
      { dhcp: true },
      { deviceSelector: {} },
    ]);
    expectProblem(problems, `${IF}[0]`, 'mutually exclusive');
    expectProblem(problems, `${IF}[1]`, 'needs an interface name or a deviceSelector');
    expectProblem(problems, `${IF}[2].deviceSelector`, 'must not be empty');
  });

  it('cidr and addresses are exclusive, cidr is deprecated, addresses parse', () => {
    const problems = withInterfaces([
      { interface: 'eth0', cidr: '10.0.0.2/24', addresses: ['10.0.0.3/24'] },
      { interface: 'eth1', cidr: '10.1.0.2/24' },
      { interface: 'eth2', addresses: ['10.2.0.2/24', 'fd00::2/64', 'ten'] },
    ]);
    expectProblem(problems, `${IF}[0].cidr`, 'mutually exclusive');
    expectProblem(problems, `${IF}[1].cidr`, 'deprecated', 'warning');
    expectProblem(problems, `${IF}[2].addresses[2]`, 'not an address in CIDR notation');
    expect(problems.filter((p) => p.path === `${IF}[2].addresses[0]` || p.path === `${IF}[2].addresses[1]`)).toEqual(
      [],
    );
  });

  it('routes need a network or a gateway, each parsing', () => {
    const problems = withInterfaces([
      {
        interface: 'eth0',
        routes: [
          { metric: 1024 },
          { network: '0.0.0.0/0', gateway: '10.0.0.256' },
          { network: '10.0.0.0', gateway: '10.0.0.1' },
        ],
      },
    ]);
    expectProblem(problems, `${IF}[0].routes[0]`, 'needs a network or a gateway');
    expectProblem(problems, `${IF}[0].routes[1].gateway`, 'not an IP address');
    expectProblem(problems, `${IF}[0].routes[2].network`, 'not a CIDR');
  });

  it('a VIP needs a valid IP, and is refused on workers, also on VLANs', () => {
    expectProblem(
      withInterfaces([{ interface: 'eth0', vip: { ip: '10.0.0.300' } }]),
      `${IF}[0].vip.ip`,
      'not an IP address',
    );
    const worker = withInterfaces(
      [{ interface: 'eth0', vip: { ip: '10.0.0.10' }, vlans: [{ vlanId: 10, vip: { ip: '10.10.0.10' } }] }],
      'worker',
    );
    expectProblem(worker, `${IF}[0].vip`, 'control-plane nodes only');
    expectProblem(worker, `${IF}[0].vlans[0].vip`, 'control-plane nodes only');
  });

  it('bond and bridge are exclusive; bond members and selectors are exclusive', () => {
    const problems = withInterfaces([
      {
        interface: 'bond0',
        bond: { interfaces: ['eth0'], deviceSelectors: [{ driver: 'e1000' }] },
        bridge: { interfaces: ['eth1'] },
      },
    ]);
    expectProblem(problems, `${IF}[0].bridge`, 'bond and bridge are mutually exclusive');
    expectProblem(problems, `${IF}[0].bond.deviceSelectors`, 'mutually exclusive');
  });

  it('a link belongs to one bond or bridge, and members carry no addressing', () => {
    const problems = withInterfaces([
      { interface: 'bond0', bond: { interfaces: ['eth0', 'eth1'], mode: 'active-backup' }, addresses: ['10.0.0.2/24'] },
      { interface: 'br0', bridge: { interfaces: ['eth1'] } },
      { interface: 'eth0', addresses: ['10.9.0.2/24'], dhcp: true },
    ]);
    expectProblem(problems, `${IF}[1].bridge.interfaces[0]`, 'already a member of machine.network.interfaces[0].bond');
    expectProblem(problems, `${IF}[2].addresses`, 'must not have addressing of its own');
    expectProblem(problems, `${IF}[2].dhcp`, 'must not run DHCP');
  });

  it('WireGuard keys are 32 bytes of base64, peers have valid endpoints and allowed IPs; keys are never quoted', () => {
    const badKey = 'c2hvcnQta2V5';
    const problems = withInterfaces([
      {
        interface: 'wg0',
        wireguard: {
          privateKey: badKey,
          peers: [
            { publicKey: WG_KEY, endpoint: 'peer.example.com', allowedIPs: ['10.8.0.0/24', '10.8.0.1'] },
            { publicKey: badKey, endpoint: '[fd00::1]:51820' },
          ],
        },
      },
    ]);
    expectProblem(problems, `${IF}[0].wireguard.privateKey`, '32 bytes, base64');
    expectProblem(problems, `${IF}[0].wireguard.peers[0].endpoint`, 'has no port');
    expectProblem(problems, `${IF}[0].wireguard.peers[0].allowedIPs[1]`, 'not a CIDR');
    expectProblem(problems, `${IF}[0].wireguard.peers[1].publicKey`, '32 bytes, base64');
    expect(JSON.stringify(problems)).not.toContain(badKey);
  });
});

describe('bond options', () => {
  const bond = (options: Doc) =>
    withInterfaces([{ interface: 'bond0', bond: { interfaces: ['eth0', 'eth1'], ...options } }]);
  const at = (option: string) => `${IF}[0].bond.${option}`;

  it('knows the bond modes', () => {
    expectProblem(bond({ mode: 'fastest' }), at('mode'), 'unknown bond mode "fastest"');
  });

  it.each([
    [{ mode: 'active-backup', lacpRate: 'fast' }, 'lacpRate', 'only applies in bond mode 802.3ad'],
    [{ mode: 'balance-rr', adActorSysPrio: 100 }, 'adActorSysPrio', 'only applies in bond mode 802.3ad'],
    [{ mode: 'active-backup', adUserPortKey: 1 }, 'adUserPortKey', 'only applies in bond mode 802.3ad'],
    [
      { mode: '802.3ad', primary: 'eth0' },
      'primary',
      'only applies in bond mode active-backup or balance-alb or balance-tlb',
    ],
    [{ mode: 'active-backup', packetsPerSlave: 2 }, 'packetsPerSlave', 'only applies in bond mode balance-rr'],
    [{ mode: 'balance-rr', tlbDynamicLb: 1 }, 'tlbDynamicLb', 'only applies in bond mode balance-alb or balance-tlb'],
    [{ mode: '802.3ad', arpInterval: 100 }, 'arpInterval', 'ARP monitoring does not apply in bond mode 802.3ad'],
    [{ mode: 'balance-tlb', arpValidate: 'all' }, 'arpValidate', 'ARP monitoring does not apply'],
    [{ mode: 'active-backup', arpIPTarget: ['10.0.0.1'] }, 'arpIPTarget', 'not supported'],
    [{ mode: '802.3ad', adActorSystem: '00:11:22:33:44:55' }, 'adActorSystem', 'not supported'],
    [{ mode: 'active-backup', upDelay: 200 }, 'upDelay', 'needs a non-zero miimon'],
    [{ mode: 'active-backup', miimon: 100, downDelay: 250 }, 'downDelay', 'must be a multiple of miimon (100)'],
    [{ mode: 'active-backup', miimon: 100, updelay: 150 }, 'updelay', 'must be a multiple of miimon'],
  ])('%j is refused at %s', (options, option, fragment) => {
    expectProblem(bond(options), at(option), fragment);
  });

  it('accepts options in their modes', () => {
    const fine = bond({
      mode: '802.3ad',
      lacpRate: 'fast',
      miimon: 100,
      updelay: 200,
      downdelay: 200,
      adActorSysPrio: 65535,
    });
    expect(fine.filter((p) => p.path.startsWith(IF))).toEqual([]);
  });
});

describe('KubeSpan', () => {
  it('needs MTU >= 1280, discovery, and the cluster identity; filters parse', () => {
    const problems = problemsAfter(s, '1.12', 'worker', (d) => {
      d[0].machine.network.kubespan = {
        enabled: true,
        mtu: 1200,
        filters: { endpoints: ['0.0.0.0/0', '!10.0.0.0/40'], excludeAdvertisedNetworks: ['fd00::/129'] },
      };
      d[0].cluster.discovery.enabled = false;
      delete d[0].cluster.secret;
    });
    const path = 'machine.network.kubespan';
    expectProblem(problems, `${path}.mtu`, 'at least 1280');
    expectProblem(problems, `${path}.enabled`, 'requires cluster.discovery.enabled: true');
    expectProblem(problems, `${path}.enabled`, 'requires cluster.id and cluster.secret');
    expectProblem(problems, `${path}.filters.endpoints[1]`, 'not a CIDR');
    expectProblem(problems, `${path}.filters.excludeAdvertisedNetworks[0]`, 'not a CIDR');
  });
});

describe('network entries', () => {
  it('hostname, nameservers, search domains and host entries are checked', () => {
    const problems = withNetwork('worker', {
      hostname: 'node_1',
      nameservers: ['1.1.1.1', 'dns.example.com'],
      searchDomains: ['example.com', 'bad..example.com'],
      extraHostEntries: [
        { ip: '10.0.0.1', aliases: ['registry', 'registry.lan'] },
        { ip: 'ten', aliases: ['-x'] },
      ],
    });
    expectProblem(problems, 'machine.network.hostname', 'not a valid host name');
    expectProblem(problems, 'machine.network.nameservers[1]', 'not an IP address');
    expectProblem(problems, 'machine.network.searchDomains[1]', 'not a valid DNS name');
    expectProblem(problems, 'machine.network.extraHostEntries[1].ip', 'not an IP address');
    expectProblem(problems, 'machine.network.extraHostEntries[1].aliases[0]', 'not a valid host name');
    expect(problems.filter((p) => p.path.startsWith('machine.network.extraHostEntries[0]'))).toEqual([]);
  });
});
