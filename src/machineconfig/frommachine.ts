// A Machine's own facts as generator inputs (pure): its hostname, its install disk and its network
// links, as a per-node patch on top of `talosctl gen config` would set them. The spec says what is
// wanted; the status says what the provider reported (disk devices, NIC hardware addresses), which
// is how a wanted link or disk is found on the node. docs/per-node-configs.md has the mapping.
//
// A fact that cannot be used is left out and reported: `refusable` problems come from the spec (the
// write that brings one in is refused with it), the others only warn, since a hostname taken from
// a Machine's name or a value a provider reported is no writer's mistake.
import { BlockList, isIP } from 'node:net';
import type { MachineSpec, MachineStatus } from '../api/index.js';
import type { KubeObject } from '../machinery/kind.js';
import {
  checkCidr,
  checkDevicePath,
  checkHardwareAddr,
  checkHostname,
  checkInterfaceAddress,
} from './generate/inputcheck.js';
import type { ConfigInputs, NodeInterfaceInput } from './generate/inputs.js';

export interface MachineFactProblem {
  /** the Machine field, e.g. `spec.network.privateIP` or `status.disks[0].device` */
  field: string;
  /** the value found there */
  value: string;
  message: string;
  refusable: boolean;
}

export type MachineFactInputs = Pick<ConfigInputs, 'hostname' | 'installDisk' | 'interfaces'>;

export interface MachineFacts {
  /** only the facts the Machine has: spread over the cluster's inputs, they win */
  inputs: MachineFactInputs;
  problems: MachineFactProblem[];
}

type Disk = NonNullable<MachineSpec['disks']>[number];
type StatusDisk = NonNullable<MachineStatus['disks']>[number];
type SpecInterface = NonNullable<NonNullable<MachineSpec['network']>['interfaces']>[number];
type StatusInterface = NonNullable<MachineStatus['networkInterfaces']>[number];

/** the Machine's value as read: mutating admission sees objects before schema validation */
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const items = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]).filter((x) => typeof x === 'object' && !!x) : []);

function hostnameOf(m: KubeObject, problems: MachineFactProblem[]): string | undefined {
  const fromSpec = text((m.spec as MachineSpec | undefined)?.name);
  const name = fromSpec ?? m.metadata.name;
  if (name === undefined) return undefined;
  const problem = checkHostname(name);
  if (!problem) return name;
  problems.push({
    field: fromSpec ? 'spec.name' : 'metadata.name',
    value: name,
    message: `not used as the node's hostname (it ${problem}); the node gets Talos's automatic stable hostname`,
    refusable: false,
  });
  return undefined;
}

/**
 * The install disk: the boot disk's (first `boot: true`) own `device` when someone set it; else the
 * device the provider reported for the status disk of the same name; else, when the spec marks no
 * boot disk, the device of the only status disk that reports one.
 */
function installDiskOf(spec: MachineSpec, status: MachineStatus, problems: MachineFactProblem[]): string | undefined {
  const disks = items<Disk>(spec.disks);
  const bootIndex = disks.findIndex((d) => d.boot === true);
  const boot = disks[bootIndex];
  const device = text(boot?.device);
  if (device !== undefined) {
    const problem = checkDevicePath(device);
    if (!problem) return device;
    problems.push({ field: `spec.disks[${bootIndex}].device`, value: device, message: problem, refusable: true });
    return undefined;
  }
  const reported = items<StatusDisk>(status.disks)
    .map((d, i) => ({ d, i }))
    .filter(({ d }) => text(d.device) !== undefined);
  const bootName = text(boot?.name);
  const chosen = boot
    ? reported.find(({ d }) => bootName !== undefined && text(d.name) === bootName)
    : reported.length === 1
      ? reported[0]
      : undefined;
  if (!chosen) return undefined;
  const found = text(chosen.d.device)!;
  const problem = checkDevicePath(found);
  if (!problem) return found;
  problems.push({
    field: `status.disks[${chosen.i}].device`,
    value: found,
    message: `${problem}; the install disk is not taken from it`,
    refusable: false,
  });
  return undefined;
}

/** `ip` with the prefix length of the first subnet that is a CIDR holding it, else the full length */
function withPrefix(ip: string, subnets: (string | undefined)[]): string {
  const family = isIP(ip);
  for (const subnet of subnets) {
    if (subnet === undefined || checkCidr(subnet)) continue;
    const [network, length] = subnet.split('/') as [string, string];
    if (isIP(network) !== family) continue;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const list = new BlockList();
    list.addSubnet(network, Number(length), type);
    if (list.check(ip, type)) return `${ip}/${Number(length)}`;
  }
  return `${ip}/${family === 4 ? 32 : 128}`;
}

/** the requested private IP, bare and with its prefix length; undefined when none is (usably) set */
function privateAddressOf(
  network: NonNullable<MachineSpec['network']>,
  primary: SpecInterface | undefined,
  problems: MachineFactProblem[],
): { given: string; ip: string; address: string } | undefined {
  const given = text(network.privateIP);
  if (given === undefined) return undefined;
  const [ip = '', length] = given.split('/');
  const checked = checkInterfaceAddress(length === undefined ? `${ip}/${isIP(ip) === 6 ? 128 : 32}` : given);
  if ('problem' in checked || given.split('/').length > 2) {
    problems.push({
      field: 'spec.network.privateIP',
      value: given,
      message: 'must be an IP address, or one with its prefix length such as 10.0.0.5/24',
      refusable: true,
    });
    return undefined;
  }
  const address = length === undefined ? withPrefix(ip, [text(primary?.subnet), text(network.subnet)]) : checked.value;
  return { given, ip: ip.toLowerCase(), address: address.toLowerCase() };
}

const bareAddresses = (s: StatusInterface) =>
  [...(Array.isArray(s.ipAddresses) ? s.ipAddresses : []), ...(Array.isArray(s.ipv6Addresses) ? s.ipv6Addresses : [])]
    .filter((a): a is string => typeof a === 'string')
    .map((a) => a.split('/')[0]!.toLowerCase());

/**
 * The links: each of spec.network.interfaces (the primary one first: `primary: true`, else the
 * first), or with none listed an implicit primary when a private IP is asked for. A link is found
 * on the node by the hardware address the provider reported for the status interface of the same
 * name; the primary also by the status interface that reports the private IP, or as the only one
 * reported. The primary carries the private IP as its static address; every link also asks DHCP,
 * since the Machine names no gateway or DNS servers.
 */
function interfacesOf(spec: MachineSpec, status: MachineStatus, problems: MachineFactProblem[]): NodeInterfaceInput[] {
  const network = (typeof spec.network === 'object' && spec.network) || {};
  const listed = items<SpecInterface>(network.interfaces);
  const primaryIndex = Math.max(
    0,
    listed.findIndex((l) => l.primary === true),
  );
  const primary = listed[primaryIndex];
  const privateAddress = privateAddressOf(network, primary, problems);
  const wanted: { link?: SpecInterface; primary: boolean }[] = listed.length
    ? [primaryIndex, ...listed.keys()]
        .filter((i, k, all) => all.indexOf(i) === k)
        .map((i) => ({ link: listed[i], primary: i === primaryIndex }))
    : privateAddress
      ? [{ primary: true }]
      : [];
  const reported = items<StatusInterface>(status.networkInterfaces).map((s, i) => ({ s, i }));
  const taken = new Set<string>();
  const links: NodeInterfaceInput[] = [];
  for (const w of wanted) {
    const name = text(w.link?.name);
    let found = name === undefined ? undefined : reported.find((r) => text(r.s.name) === name);
    if (!found && w.primary && privateAddress)
      found = reported.find((r) => bareAddresses(r.s).includes(privateAddress.ip));
    if (!found && w.primary && listed.length <= 1 && reported.length === 1) found = reported[0];
    const mac = found && text(found.s.macAddress);
    const checked = mac === undefined ? undefined : checkHardwareAddr(mac);
    if (found && checked && 'problem' in checked) {
      problems.push({
        field: `status.networkInterfaces[${found.i}].macAddress`,
        value: mac!,
        message: `${checked.problem}; the interface is not in the machine config`,
        refusable: false,
      });
    }
    if (!checked || 'problem' in checked || taken.has(checked.value)) {
      if (w.primary && privateAddress)
        problems.push({
          field: 'spec.network.privateIP',
          value: privateAddress.given,
          message:
            'not in the machine config yet: no hardware address of the primary interface is reported in status.networkInterfaces',
          refusable: false,
        });
      continue;
    }
    taken.add(checked.value);
    links.push({
      hardwareAddr: checked.value,
      ...(w.primary && privateAddress ? { addresses: [privateAddress.address] } : {}),
      dhcp: true,
    });
  }
  return links;
}

/** The Machine's facts as generator inputs, and the facts that could not be used. */
export function machineFacts(m: KubeObject): MachineFacts {
  const spec = ((typeof m.spec === 'object' && m.spec) || {}) as MachineSpec;
  const status = ((typeof m.status === 'object' && m.status) || {}) as MachineStatus;
  const problems: MachineFactProblem[] = [];
  const inputs: MachineFactInputs = {};
  const hostname = hostnameOf(m, problems);
  if (hostname !== undefined) inputs.hostname = hostname;
  const installDisk = installDiskOf(spec, status, problems);
  if (installDisk !== undefined) inputs.installDisk = installDisk;
  const interfaces = interfacesOf(spec, status, problems);
  if (interfaces.length > 0) inputs.interfaces = interfaces;
  return { inputs, problems };
}
