// A Machine's own facts as generator inputs: which hostname, which install disk, which links with
// which static address, and which facts are left out (refused when the spec set them, warned when
// a name or a provider's report made them).
import { describe, expect, it } from 'vitest';
import { machineFacts } from '../../../src/machineconfig/frommachine.js';
import type { KubeObject } from '../../../src/machinery/kind.js';

function machine(spec: Record<string, unknown> = {}, status?: Record<string, unknown>, name = 'c-wrk0'): KubeObject {
  return {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'Machine',
    metadata: { name, namespace: 'ns' },
    spec: { provider: 'kubevirt', ...spec },
    ...(status ? { status } : {}),
  };
}

const NICS = [
  { name: 'default', macAddress: '52:54:00:AA:00:01', ipAddresses: ['10.0.0.5'] },
  { name: 'storage', macAddress: '52:54:00:aa:00:02' },
];

describe('hostname', () => {
  it("is spec.name, else the Machine's name", () => {
    expect(machineFacts(machine({ name: 'node-a' })).inputs.hostname).toBe('node-a');
    expect(machineFacts(machine()).inputs.hostname).toBe('c-wrk0');
  });

  it('is left to Talos (with a warning) when the name is not one DNS label', () => {
    const dotted = machineFacts(machine({}, undefined, 'prod.eu-wrk0'));
    expect(dotted.inputs.hostname).toBeUndefined();
    expect(dotted.problems).toEqual([
      {
        field: 'metadata.name',
        value: 'prod.eu-wrk0',
        message: expect.stringMatching(/^not used as the node's hostname \(it must be one DNS label/),
        refusable: false,
      },
    ]);
    const spec = machineFacts(machine({ name: 'Node_A' }));
    expect([spec.inputs.hostname, spec.problems.map((p) => [p.field, p.refusable])]).toEqual([
      undefined,
      [['spec.name', false]],
    ]);
  });
});

describe('install disk', () => {
  const disks = [
    { name: 'disk-0', boot: true, sizeGB: 40 },
    { name: 'disk-1', sizeGB: 100 },
  ];

  it("is the boot disk's device the provider reported for the status disk of the same name", () => {
    const status = {
      disks: [
        { name: 'disk-1', device: '/dev/vdb' },
        { name: 'disk-0', device: '/dev/vda' },
      ],
    };
    expect(machineFacts(machine({ disks }, status)).inputs.installDisk).toBe('/dev/vda');
    // reported, but not for the boot disk: nothing is guessed
    expect(machineFacts(machine({ disks }, { disks: [status.disks[0]] })).inputs.installDisk).toBeUndefined();
  });

  it("is the boot disk's own device when someone set it, whatever the status says", () => {
    const set = [{ ...disks[0], device: '/dev/disk/by-id/virtio-root' }, disks[1]];
    expect(
      machineFacts(machine({ disks: set }, { disks: [{ name: 'disk-0', device: '/dev/vda' }] })).inputs.installDisk,
    ).toBe('/dev/disk/by-id/virtio-root');
  });

  it('with no boot disk in the spec, is the only status disk that reports a device', () => {
    expect(
      machineFacts(machine({}, { disks: [{ name: 'root', device: '/dev/sdb' }, { name: 'cdrom' }] })).inputs
        .installDisk,
    ).toBe('/dev/sdb');
    expect(
      machineFacts(
        machine(
          {},
          {
            disks: [
              { name: 'a', device: '/dev/sda' },
              { name: 'b', device: '/dev/sdb' },
            ],
          },
        ),
      ).inputs.installDisk,
    ).toBeUndefined();
  });

  it('refuses a device path in the spec that is none, and only warns about one a provider reported', () => {
    const bad = machineFacts(machine({ disks: [{ name: 'disk-0', boot: true, device: 'vda"; rm' }] }));
    expect([bad.inputs.installDisk, bad.problems]).toEqual([
      undefined,
      [
        {
          field: 'spec.disks[0].device',
          value: 'vda"; rm',
          message: expect.stringMatching(/must be a device path/),
          refusable: true,
        },
      ],
    ]);
    const reported = machineFacts(machine({ disks }, { disks: [{ name: 'disk-0', device: 'C:\\disk0' }] }));
    expect([reported.inputs.installDisk, reported.problems.map((p) => [p.field, p.refusable])]).toEqual([
      undefined,
      [['status.disks[0].device', false]],
    ]);
  });
});

describe('network links', () => {
  it('finds each listed interface by the MAC reported for its name, the primary first with the private IP', () => {
    const facts = machineFacts(
      machine(
        {
          network: {
            privateIP: '10.0.0.5',
            subnet: '10.0.0.0/24',
            interfaces: [{ name: 'storage' }, { name: 'default', primary: true }],
          },
        },
        { networkInterfaces: NICS },
      ),
    );
    expect(facts.problems).toEqual([]);
    expect(facts.inputs.interfaces).toEqual([
      { hardwareAddr: '52:54:00:aa:00:01', addresses: ['10.0.0.5/24'], dhcp: true },
      { hardwareAddr: '52:54:00:aa:00:02', dhcp: true },
    ]);
  });

  it("takes the prefix from the interface's subnet, then the network's, else the full length", () => {
    const of = (network: Record<string, unknown>) =>
      machineFacts(machine({ network }, { networkInterfaces: NICS })).inputs.interfaces?.[0]?.addresses;
    expect(
      of({ privateIP: '10.0.0.5', subnet: '10.0.0.0/16', interfaces: [{ name: 'default', subnet: '10.0.0.0/28' }] }),
    ).toEqual(['10.0.0.5/28']);
    // a subnet that does not hold the address, or is a name, says nothing about its prefix
    expect(of({ privateIP: '10.0.0.5', subnet: '192.168.0.0/24' })).toEqual(['10.0.0.5/32']);
    expect(of({ privateIP: '10.0.0.5', subnet: 'subnet-0a1b' })).toEqual(['10.0.0.5/32']);
    expect(of({ privateIP: '10.0.0.5/26' })).toEqual(['10.0.0.5/26']);
    // prefix lengths as plain numbers: Go's prefix parser refuses leading zeros
    expect(of({ privateIP: '10.0.0.5/026' })).toEqual(['10.0.0.5/26']);
    expect(of({ privateIP: '10.0.0.5', subnet: '10.0.0.0/024' })).toEqual(['10.0.0.5/24']);
    expect(of({ privateIP: '2001:DB8::5', subnet: '2001:db8::/64', interfaces: [{ name: 'default' }] })).toEqual([
      '2001:db8::5/64',
    ]);
  });

  it('with no interface listed, the primary is the status interface reporting the private IP, or the only one', () => {
    const byIP = machineFacts(
      machine({ network: { privateIP: '10.0.0.5' } }, { networkInterfaces: [...NICS].reverse() }),
    );
    expect(byIP.inputs.interfaces).toEqual([
      { hardwareAddr: '52:54:00:aa:00:01', addresses: ['10.0.0.5/32'], dhcp: true },
    ]);
    const only = machineFacts(
      machine(
        { network: { privateIP: '10.9.9.9' } },
        { networkInterfaces: [{ name: 'eth0', macAddress: '52:54:00:00:00:09' }] },
      ),
    );
    expect(only.inputs.interfaces).toEqual([
      { hardwareAddr: '52:54:00:00:00:09', addresses: ['10.9.9.9/32'], dhcp: true },
    ]);
    // nothing asked for: no link is written from the status alone
    expect(machineFacts(machine({}, { networkInterfaces: NICS })).inputs.interfaces).toBeUndefined();
  });

  it('leaves out, with a warning, a private IP whose interface has no MAC reported yet', () => {
    const facts = machineFacts(machine({ network: { privateIP: '10.0.0.5', interfaces: [{ name: 'default' }] } }));
    expect(facts.inputs.interfaces).toBeUndefined();
    expect(facts.problems).toEqual([
      {
        field: 'spec.network.privateIP',
        value: '10.0.0.5',
        message: expect.stringMatching(/^not in the machine config yet/),
        refusable: false,
      },
    ]);
  });

  it('refuses a private IP that is none, and only warns about a MAC a provider reported wrong', () => {
    for (const privateIP of ['10.0.0.300', 'fe80::1%eth0', '10.0.0.5/24/1', '10.0.0.5/40'])
      expect(machineFacts(machine({ network: { privateIP } })).problems).toEqual([
        {
          field: 'spec.network.privateIP',
          value: privateIP,
          message: expect.stringMatching(/must be an IP address/),
          refusable: true,
        },
      ]);
    const facts = machineFacts(
      machine(
        { network: { interfaces: [{ name: 'default' }] } },
        { networkInterfaces: [{ name: 'default', macAddress: 'nope' }] },
      ),
    );
    expect([facts.inputs.interfaces, facts.problems.map((p) => [p.field, p.refusable])]).toEqual([
      undefined,
      [['status.networkInterfaces[0].macAddress', false]],
    ]);
  });

  it('writes one link once when two listed interfaces find the same hardware address', () => {
    const facts = machineFacts(
      machine(
        { network: { interfaces: [{ name: 'a' }, { name: 'b' }] } },
        {
          networkInterfaces: [
            { name: 'a', macAddress: '52:54:00:00:00:01' },
            { name: 'b', macAddress: '52:54:00:00:00:01' },
          ],
        },
      ),
    );
    expect(facts.inputs.interfaces).toEqual([{ hardwareAddr: '52:54:00:00:00:01', dhcp: true }]);
  });
});

describe('a Machine as mutating admission may see it (before schema validation)', () => {
  it('reads only values of the right type and never throws', () => {
    const odd = {
      ...machine(),
      spec: { name: 7, disks: 'x', network: { privateIP: 5, interfaces: [null, 'y'] } },
      status: { disks: [null], networkInterfaces: {} },
    } as unknown as KubeObject;
    expect(machineFacts(odd)).toEqual({ inputs: { hostname: 'c-wrk0' }, problems: [] });
  });
});
