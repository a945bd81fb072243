// The order config patches are applied in: cluster, then control plane or pool, then machine.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { SecretsBundle } from '../../../../src/machineconfig/bundle.js';
import { generateMachineConfig } from '../../../../src/machineconfig/generate/generate.js';
import { applyPatches, type Patch } from '../../../../src/machineconfig/patch/apply.js';
import { orderedPatches } from '../../../../src/machineconfig/patch/order.js';
import { fixtureBundle, GOLDEN_INPUTS } from './fixtures.js';

const disk = (name: string, path: string): Patch => ({ name, strategic: `machine:\n  install:\n    disk: ${path}\n` });
const san = (name: string): Patch => ({ name, strategic: `machine:\n  certSANs: [${name}.example]\n` });

let bundle: SecretsBundle;
beforeAll(async () => {
  bundle = await fixtureBundle();
});

describe('orderedPatches', () => {
  it('concatenates cluster, role and machine patches, each level in its own order', () => {
    const ordered = orderedPatches({ machine: [san('m1')], cluster: [san('c1'), san('c2')], role: [san('r1')] });
    expect(ordered.map((p) => p.name)).toEqual(['c1', 'c2', 'r1', 'm1']);
    expect(orderedPatches({ role: [san('r1')] }).map((p) => p.name)).toEqual(['r1']);
    expect(orderedPatches({})).toEqual([]);
  });

  it('lets the more specific level win when applied in that order', () => {
    const config = generateMachineConfig('worker', { ...GOLDEN_INPUTS, talosVersion: '1.13' }, bundle);
    const patches = orderedPatches({
      machine: [disk('machine', '/dev/nvme1n1'), san('machine')],
      role: [disk('pool', '/dev/nvme0n1'), san('pool')],
      cluster: [disk('cluster', '/dev/vda'), san('cluster')],
    });
    const machine = (
      parseAllDocuments(applyPatches(config, patches))[0]?.toJS() as {
        machine: { install: { disk: string }; certSANs: string[] };
      }
    ).machine;
    expect(machine.install.disk).toBe('/dev/nvme1n1');
    expect(machine.certSANs).toEqual(['cluster.example', 'pool.example', 'machine.example']);
  });
});
