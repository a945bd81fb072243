// Every document the generator writes for every supported contract, checked against upstream
// Talos's own schema of that version (each document against the definition of its kind): both
// roles, default inputs, every option, each CNI, and configs patched with strategic merge and
// JSON6902 patches. `persist: true` is set aside by the helper (talosctl writes it; the schema
// does not list it).
import { beforeAll, expect, it } from 'vitest';
import type { SecretsBundle } from '../../../../src/machineconfig/bundle.js';
import { generateMachineConfig } from '../../../../src/machineconfig/generate/generate.js';
import type { ConfigInputs } from '../../../../src/machineconfig/generate/inputs.js';
import { applyPatches, type Patch } from '../../../../src/machineconfig/patch/apply.js';
import { describeWithTalosSchemas, type TalosSchema } from '../../../helpers/talos-schemas.js';
import { fixtureBundle, GOLDEN_INPUTS, yamlDocuments } from './fixtures.js';

const ROLES = ['controlplane', 'worker'] as const;

/** every optional input at once (the Kubernetes version stays each line's default: ranges differ) */
const EVERY_OPTION: ConfigInputs = {
  ...GOLDEN_INPUTS,
  installDisk: '/dev/nvme0n1',
  installImage: 'registry.example.com/talos/installer:custom',
  certSANs: ['api.example.com', '10.5.0.100'],
  network: {
    podSubnets: ['10.200.0.0/16', 'fd00:10:200::/56'],
    serviceSubnets: ['10.100.0.0/16', 'fd00:10:100::/112'],
    cni: { name: 'custom', urls: ['https://example.com/cni.yaml', 'https://example.com/cni-rbac.yaml'] },
  },
  dnsDomain: 'fleet.internal',
  nodeLabels: { 'topology.kubernetes.io/zone': 'zone-a', role: 'edge' },
  nodeTaints: { dedicated: 'edge:NoSchedule', maintenance: 'NoExecute' },
  allowSchedulingOnControlPlanes: true,
};

const INPUT_VARIANTS: [string, ConfigInputs][] = [
  ['default inputs', GOLDEN_INPUTS],
  ['every option', EVERY_OPTION],
  ['CNI none', { ...GOLDEN_INPUTS, network: { cni: { name: 'none' } } }],
  ['CNI flannel written out', { ...GOLDEN_INPUTS, network: { cni: { name: 'flannel' } } }],
  [
    'per-node facts (hostname, install disk, links)',
    {
      ...GOLDEN_INPUTS,
      hostname: 'node-1',
      installDisk: '/dev/vda',
      interfaces: [
        { hardwareAddr: '52:54:00:12:34:56', addresses: ['10.0.0.10/24'], dhcp: true },
        { hardwareAddr: '52:54:00:12:34:57', dhcp: true },
      ],
    },
  ],
];

const strategic = (name: string, yaml: string): Patch => ({ name, strategic: yaml });

/**
 * Patches a user would write for a contract, in the sections that contract's schema has: the
 * v1alpha1 network section up to 1.11, the typed documents that replaced it from 1.12, the
 * Kube*Config documents of 1.14.
 */
function patchesFor(minor: number): [string, Patch[]][] {
  const kubelet = strategic('kubelet', 'machine:\n  kubelet:\n    extraArgs:\n      max-pods: "150"\n');
  const sysctls = strategic('sysctls', 'machine:\n  sysctls:\n    net.core.somaxconn: "65535"\n');
  const legacyNetwork = strategic(
    'network',
    'machine:\n  network:\n    hostname: node-1\n    nameservers: [10.0.0.53]\n    interfaces:\n' +
      '      - interface: eth0\n        addresses: [10.0.0.10/24]\n        routes:\n' +
      '          - network: 0.0.0.0/0\n            gateway: 10.0.0.1\n',
  );
  const linkDocuments = strategic(
    'links',
    'apiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\naddresses:\n  - address: 10.0.0.10/24\n' +
      'routes:\n  - gateway: 10.0.0.1\n---\napiVersion: v1alpha1\nkind: ResolverConfig\n' +
      'nameservers:\n  - address: 10.0.0.53\n',
  );
  const json: Patch = {
    name: 'json',
    jsonPatch: [
      { op: 'add', path: '/machine/kubelet/extraArgs', value: { 'max-pods': '150' } },
      { op: 'replace', path: '/cluster/network/dnsDomain', value: 'patched.internal' },
      { op: 'add', path: '/machine/nodeLabels/patched', value: 'yes' },
    ],
  };
  if (minor <= 11)
    return [
      ['strategic', [kubelet, sysctls, legacyNetwork]],
      ['JSON6902', [json]],
    ];
  if (minor <= 13) return [['strategic', [kubelet, sysctls, linkDocuments]]];
  const documents = strategic(
    'kube documents',
    'apiVersion: v1alpha1\nkind: KubeletConfig\nextraArgs:\n  max-pods: "150"\n---\n' +
      'apiVersion: v1alpha1\nkind: SysctlConfig\nparams:\n  net.core.somaxconn: "65535"\n---\n' +
      'apiVersion: v1alpha1\nkind: KubeNodeConfig\nlabels:\n  patched: "yes"\n',
  );
  return [['strategic', [documents, linkDocuments]]];
}

let bundle: SecretsBundle;
beforeAll(async () => {
  bundle = await fixtureBundle();
});

/** Every schema complaint about every document of `yaml`, prefixed with the document's kind. */
function complaints(schema: TalosSchema, yaml: string): string[] {
  return yamlDocuments(yaml).flatMap((doc) =>
    schema.documentErrors(doc).map((e) => `${String(doc.kind ?? 'v1alpha1')}${e.startsWith('(') ? ' ' : ''}${e}`),
  );
}

describeWithTalosSchemas('generated configs against upstream Talos schemas', (schemas) => {
  for (const schema of schemas) {
    const minor = Number(schema.version.split('.')[1]);
    for (const role of ROLES) {
      for (const [variant, inputs] of INPUT_VARIANTS) {
        it(`Talos ${schema.version} ${role}, ${variant}`, () => {
          const yaml = generateMachineConfig(role, { ...inputs, talosVersion: schema.version }, bundle);
          expect(complaints(schema, yaml)).toEqual([]);
        });
      }
      for (const [how, patches] of patchesFor(minor)) {
        it(`Talos ${schema.version} ${role}, every option, patched (${how})`, () => {
          const yaml = generateMachineConfig(role, { ...EVERY_OPTION, talosVersion: schema.version }, bundle);
          const patched = applyPatches(yaml, patches);
          expect(patched).not.toBe(yaml);
          expect(complaints(schema, patched)).toEqual([]);
        });
      }
    }
  }

  it('the check itself refuses what a schema does not define', () => {
    const newest = schemas[schemas.length - 1]!;
    expect(newest.documentErrors({ apiVersion: 'v1alpha1', kind: 'NoSuchConfig' })).toHaveLength(1);
    expect(newest.documentErrors({ apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'stable', x: 1 })).toEqual([
      '(document): must NOT have additional properties ("x")',
    ]);
    expect(newest.documentErrors({ version: 'v1alpha1', persist: false })[0]).toContain('"persist"');
  });
});
