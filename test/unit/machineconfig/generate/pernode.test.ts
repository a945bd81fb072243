// A node's own facts in its generated config, per contract: hostname and links in v1alpha1's
// machine.network up to 1.11, HostnameConfig and link documents from 1.12, the install disk in
// whichever place the contract installs from; every such config still passes the validator.
import { beforeAll, describe, expect, it } from 'vitest';
import type { SecretsBundle } from '../../../../src/machineconfig/bundle.js';
import { generateMachineConfig } from '../../../../src/machineconfig/generate/generate.js';
import { ConfigInputError, type ConfigInputs } from '../../../../src/machineconfig/generate/inputs.js';
import { validateMachineConfig } from '../../../../src/machineconfig/validate/index.js';
import { fixtureBundle, GOLDEN_INPUTS, type Plain, yamlDocuments } from './fixtures.js';

const ROLES = ['controlplane', 'worker'] as const;
const NODE: Partial<ConfigInputs> = {
  hostname: 'c-wrk0',
  installDisk: '/dev/vdb',
  interfaces: [
    { hardwareAddr: '52:54:00:AA:00:01', addresses: ['10.0.0.5/24', '2001:DB8::5/64'], dhcp: true },
    { hardwareAddr: '52:54:00:aa:00:02', dhcp: true },
  ],
};

let bundle: SecretsBundle;
beforeAll(async () => {
  bundle = await fixtureBundle();
});

const generate = (role: (typeof ROLES)[number], talosVersion: string, node: Partial<ConfigInputs> = NODE) =>
  generateMachineConfig(role, { ...GOLDEN_INPUTS, talosVersion, ...node }, bundle);
const kinds = (yaml: string) => yamlDocuments(yaml).map((d) => d.kind ?? 'v1alpha1');
const ofKind = (yaml: string, kind: string) => yamlDocuments(yaml).filter((d) => d.kind === kind);

const LINK_DOCUMENTS = [
  {
    apiVersion: 'v1alpha1',
    kind: 'LinkAliasConfig',
    name: 'net0',
    selector: { match: 'mac(link.hardware_addr) == "52:54:00:aa:00:01"' },
  },
  {
    apiVersion: 'v1alpha1',
    kind: 'LinkConfig',
    name: 'net0',
    addresses: [{ address: '10.0.0.5/24' }, { address: '2001:db8::5/64' }],
  },
  { apiVersion: 'v1alpha1', kind: 'DHCPv4Config', name: 'net0' },
  {
    apiVersion: 'v1alpha1',
    kind: 'LinkAliasConfig',
    name: 'net1',
    selector: { match: 'mac(link.hardware_addr) == "52:54:00:aa:00:02"' },
  },
  { apiVersion: 'v1alpha1', kind: 'LinkConfig', name: 'net1' },
  { apiVersion: 'v1alpha1', kind: 'DHCPv4Config', name: 'net1' },
];

describe('contracts 1.8 to 1.11: the v1alpha1 document', () => {
  it.each(['1.8', '1.11'])(
    '%s: machine.network has the hostname and one interface per link, by hardwareAddr',
    (contract) => {
      for (const role of ROLES) {
        const yaml = generate(role, contract);
        expect(kinds(yaml)).toEqual(['v1alpha1']);
        const { machine } = yamlDocuments(yaml)[0] as Plain;
        expect(machine.network).toEqual({
          hostname: 'c-wrk0',
          interfaces: [
            {
              deviceSelector: { hardwareAddr: '52:54:00:aa:00:01' },
              addresses: ['10.0.0.5/24', '2001:db8::5/64'],
              dhcp: true,
            },
            { deviceSelector: { hardwareAddr: '52:54:00:aa:00:02' }, dhcp: true },
          ],
        });
        // Talos's struct order: the selector, then the addresses, then dhcp
        expect(Object.keys(machine.network.interfaces[0])).toEqual(['deviceSelector', 'addresses', 'dhcp']);
        expect(machine.install.disk).toBe('/dev/vdb');
        // gen config's stable hostname stays; a static hostname outranks it on the node
        expect(machine.features.stableHostname).toBe(true);
      }
    },
  );

  it('writes the empty network section as before for a config that is not per node', () => {
    expect((yamlDocuments(generate('worker', '1.11', {}))[0] as Plain).machine.network).toEqual({});
  });
});

describe('contracts 1.12 and later: documents', () => {
  it.each(['1.12', '1.13'])(
    '%s: HostnameConfig names the host, the links follow it, machine.network has neither',
    (contract) => {
      for (const role of ROLES) {
        const yaml = generate(role, contract);
        expect(kinds(yaml)).toEqual(['v1alpha1', 'HostnameConfig', ...LINK_DOCUMENTS.map((d) => d.kind)]);
        const [v1, hostname, ...links] = yamlDocuments(yaml) as Plain[];
        expect(v1!.machine.network).toEqual(contract === '1.12' ? {} : undefined);
        expect(v1!.machine.install.disk).toBe('/dev/vdb');
        expect(hostname).toEqual({ apiVersion: 'v1alpha1', kind: 'HostnameConfig', hostname: 'c-wrk0' });
        expect(links).toEqual(LINK_DOCUMENTS);
      }
    },
  );

  it('1.14: the same documents, the links last, the install disk in the install document', () => {
    for (const role of ROLES) {
      const yaml = generate(role, '1.14');
      const documents = yamlDocuments(yaml);
      expect(documents.slice(-LINK_DOCUMENTS.length)).toEqual(LINK_DOCUMENTS);
      expect(ofKind(yaml, 'HostnameConfig')).toEqual([
        { apiVersion: 'v1alpha1', kind: 'HostnameConfig', hostname: 'c-wrk0' },
      ]);
      const install = documents.filter((d) => String(d.kind).startsWith('UnattendedInstall'));
      expect(install).toHaveLength(1);
      expect(JSON.stringify(install[0])).toContain('/dev/vdb');
      expect(documents[0]!.machine.network).toBeUndefined();
    }
  });

  it('keeps auto: stable without a hostname, and adds no link document without links', () => {
    for (const contract of ['1.12', '1.14']) {
      const yaml = generate('worker', contract, { installDisk: '/dev/vdb' });
      expect(ofKind(yaml, 'HostnameConfig')).toEqual([
        { apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'stable' },
      ]);
      expect(kinds(yaml).filter((k) => /^(Link|DHCP)/.test(k))).toEqual([]);
    }
  });
});

describe('per-node configs pass the validator for their own target', () => {
  it.each(['1.8', '1.9', '1.10', '1.11', '1.12', '1.13', '1.14'])(
    '%s: no problem at all, not even a warning',
    (contract) => {
      for (const role of ROLES) {
        const problems = validateMachineConfig(generate(role, contract), {
          talosVersion: `v${contract}.0`,
          mode: 'metal',
        });
        expect(problems).toEqual([]);
      }
    },
  );
});

describe('node inputs are checked like every other input', () => {
  const refused = (node: Partial<ConfigInputs>): [string, string] => {
    try {
      generate('worker', '1.13', node);
    } catch (e) {
      if (e instanceof ConfigInputError) return [e.field, e.reason];
      throw e;
    }
    throw new Error('expected a ConfigInputError');
  };

  it('names the field and the reason', () => {
    expect(refused({ hostname: 'a.b' })).toEqual([
      'hostname',
      expect.stringMatching(/^must be one DNS label: must not contain dots/),
    ]);
    expect(refused({ interfaces: [{ hardwareAddr: '52:54:00:aa' }] })[0]).toBe('interfaces[0].hardwareAddr');
    expect(
      refused({ interfaces: [{ hardwareAddr: '52:54:00:aa:00:01' }, { hardwareAddr: '52:54:00:AA:00:01' }] }),
    ).toEqual(['interfaces[1].hardwareAddr', '52:54:00:aa:00:01 is listed twice']);
    expect(refused({ interfaces: [{ hardwareAddr: '52:54:00:aa:00:01', addresses: ['10.0.0.5'] }] })).toEqual([
      'interfaces[0].addresses[0]',
      'must be an address with its prefix length, e.g. 10.0.0.5/24',
    ]);
  });
});
