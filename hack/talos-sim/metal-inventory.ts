// What a simulated bare-metal machine is made of: its SMBIOS UUID, NIC MACs and the hardware
// inventory its boot agent reports (the layout of a Server's spec.hardware), with per-machine
// overrides so tests can make machines a ServerClass tells apart.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

export interface BareMetalSpec {
  /** the SMBIOS UUID (default: a random one); the Server is named by it */
  uuid?: string;
  /** merged over the default inventory, e.g. `{system: {manufacturer: 'Dell Inc.'}}` */
  hardware?: Record<string, unknown>;
  /** the BMC's basic-auth credentials (default `admin` and a random password) */
  bmcUser?: string;
  bmcPass?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface MachineFacts {
  uuid: string;
  /** colon form, lower case; the first NIC boots */
  macs: string[];
  hardware: Record<string, unknown>;
  bmcUser: string;
  bmcPass: string;
}

/** a locally administered unicast MAC */
function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function machineFacts(spec: BareMetalSpec, address: string): MachineFacts {
  if (spec.uuid !== undefined && !UUID.test(spec.uuid))
    throw new Error(`bare-metal uuid ${JSON.stringify(spec.uuid)} is not an SMBIOS UUID (8-4-4-4-12 hex digits)`);
  const uuid = (spec.uuid ?? randomUUID()).toLowerCase();
  const macs = [randomMac(), randomMac()];
  const serial = createHash('sha256').update(uuid).digest('hex').slice(0, 10).toUpperCase();
  const base: Record<string, unknown> = {
    system: { uuid, manufacturer: 'talos-sim', productName: 'Simulated Metal', serialNumber: serial },
    compute: {
      processorCount: 1,
      totalCoreCount: 8,
      totalThreadCount: 16,
      processors: [{ manufacturer: 'talos-sim', productName: 'Sim CPU 8', coreCount: 8, threadCount: 16 }],
    },
    memory: { totalSize: '16 GB', moduleCount: 2 },
    storage: {
      deviceCount: 1,
      devices: [{ type: 'SSD', size: 107374182400, name: 'sda', deviceName: '/dev/sda' }],
    },
    network: {
      interfaceCount: macs.length,
      interfaces: macs.map((mac, i) => ({
        index: i + 1,
        name: `eth${i}`,
        mac,
        ...(i === 0 ? { addresses: [`${address}/8`] } : {}),
      })),
    },
  };
  return {
    uuid,
    macs,
    hardware: merge(base, spec.hardware ?? {}),
    bmcUser: spec.bmcUser ?? 'admin',
    bmcPass: spec.bmcPass ?? randomBytes(12).toString('base64url'),
  };
}

/** `over` merged into `base`: objects key by key, anything else (lists too) replaced */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const isObj = (x: unknown): x is Record<string, unknown> =>
      typeof x === 'object' && x !== null && !Array.isArray(x);
    out[k] = isObj(b) && isObj(v) ? merge(b, v) : v;
  }
  return out;
}
