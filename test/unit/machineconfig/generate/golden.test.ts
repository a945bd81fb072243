// The generator's output per contract and role, byte for byte, against committed golden files. A
// changed golden file is a changed machine config: review the diff.
import { beforeAll, describe, it } from 'vitest';
import type { SecretsBundle } from '../../../../src/machineconfig/bundle.js';
import { generateMachineConfig } from '../../../../src/machineconfig/generate/generate.js';
import type { ConfigInputs } from '../../../../src/machineconfig/generate/inputs.js';
import { expectGolden, fixtureBundle, GOLDEN_INPUTS } from './fixtures.js';

export const GOLDEN_CONTRACTS = ['1.8', '1.11', '1.12', '1.13', '1.14'] as const;
const ROLES = ['controlplane', 'worker'] as const;

/** every optional input at once, to pin where each lands */
const WITH_OPTIONS: ConfigInputs = {
  ...GOLDEN_INPUTS,
  kubernetesVersion: 'v1.33.2',
  installDisk: '/dev/nvme0n1',
  installImage: 'registry.example.com/talos/installer:custom',
  certSANs: ['api.golden.example', '10.5.0.100'],
  network: {
    podSubnets: ['10.200.0.0/16'],
    serviceSubnets: ['10.100.0.0/16'],
    cni: { name: 'custom', urls: ['https://example.com/cni.yaml'] },
  },
  dnsDomain: 'golden.internal',
  nodeLabels: { 'topology.kubernetes.io/zone': 'zone-a', role: 'edge' },
  nodeTaints: { dedicated: 'edge:NoSchedule' },
  allowSchedulingOnControlPlanes: true,
};

let bundle: SecretsBundle;
beforeAll(async () => {
  bundle = await fixtureBundle();
});

describe('generateMachineConfig: golden files with default inputs', () => {
  for (const contract of GOLDEN_CONTRACTS) {
    for (const role of ROLES) {
      it(`Talos ${contract} ${role}`, () => {
        expectGolden(
          `v${contract}-${role}.yaml`,
          generateMachineConfig(role, { ...GOLDEN_INPUTS, talosVersion: contract }, bundle),
        );
      });
    }
  }
});

describe('generateMachineConfig: golden files with every option set', () => {
  for (const contract of ['1.11', '1.13', '1.14'] as const) {
    for (const role of ROLES) {
      it(`Talos ${contract} ${role}`, () => {
        expectGolden(
          `v${contract}-${role}-options.yaml`,
          generateMachineConfig(role, { ...WITH_OPTIONS, talosVersion: contract }, bundle),
        );
      });
    }
  }
});
