// A bound Server's patches on its Machine's config: the ServerClass's RFC 6902 then strategic
// patches, the Server's RFC 6902 then strategic patches, and the uuid node label last, in the
// document that holds node labels for the Talos contract; a patch that does not apply names itself.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseContract } from '../../../src/machineconfig/contract.js';
import { applyPatches } from '../../../src/machineconfig/patch/apply.js';
import { PatchError } from '../../../src/machineconfig/patch/patcherror.js';
import { serverPatches } from '../../../src/machineconfig/serverpatches.js';

const UUID = '4c4c4544-0042-3510-8052-b4c04f4e4e31';
const V1ALPHA1 = `version: v1alpha1
machine:
  type: worker
  install:
    disk: /dev/sda
  nodeLabels:
    pool: a
`;
const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS());

describe('serverPatches', () => {
  it('applies the class, then the server, each RFC 6902 before strategic, and the uuid label last', () => {
    const patches = serverPatches(
      {
        name: UUID,
        spec: {
          // appends to the list only the class's patches made: it must run after them
          configPatches: [{ op: 'add', path: '/machine/install/extraKernelArgs/-', value: 'c' }],
          strategicPatches: [
            `machine:\n  install:\n    extraKernelArgs: [d]\n  nodeLabels:\n    metal.sidero.dev/uuid: spoofed\n`,
          ],
        },
        serverClass: {
          name: 'rack-a',
          spec: {
            configPatches: [
              { op: 'add', path: '/machine/install/extraKernelArgs', value: ['a'] },
              { op: 'replace', path: '/machine/install/disk', value: '/dev/nvme0n1' },
            ],
            strategicPatches: ['machine:\n  install:\n    extraKernelArgs: [b]\n'],
          },
        },
      },
      parseContract('v1.11.5'),
    );
    expect(patches.map((p) => p.name)).toEqual([
      'ServerClass rack-a spec.configPatches',
      'ServerClass rack-a spec.strategicPatches[0]',
      `Server ${UUID} spec.configPatches`,
      `Server ${UUID} spec.strategicPatches[0]`,
      'the node label metal.sidero.dev/uuid',
    ]);
    const [config] = docs(applyPatches(V1ALPHA1, patches));
    expect(config.machine.install.extraKernelArgs).toEqual(['a', 'b', 'c', 'd']);
    expect(config.machine.install.disk).toBe('/dev/nvme0n1');
    // the pool's label stays, and no patch can take the server's name away
    expect(config.machine.nodeLabels).toEqual({ pool: 'a', 'metal.sidero.dev/uuid': UUID });
  });

  it('puts the label into KubeNodeConfig from Talos 1.14 on', () => {
    const config = `${V1ALPHA1}---\napiVersion: v1alpha1\nkind: KubeNodeConfig\nlabels:\n  pool: a\n`;
    const out = docs(applyPatches(config, serverPatches({ name: UUID }, parseContract('v1.14.0'))));
    expect(out[1]).toMatchObject({ kind: 'KubeNodeConfig', labels: { pool: 'a', 'metal.sidero.dev/uuid': UUID } });
    expect(out[0].machine.nodeLabels).toEqual({ pool: 'a' });
  });

  it('without a class only the server patches and the label', () => {
    expect(serverPatches({ name: UUID }, parseContract('v1.10')).map((p) => p.name)).toEqual([
      'the node label metal.sidero.dev/uuid',
    ]);
  });

  it('a patch that does not apply names the server and leaves nothing half done', () => {
    const patches = serverPatches(
      { name: UUID, spec: { configPatches: [{ op: 'remove', path: '/machine/kubelet/nodeIP' }] } },
      parseContract('v1.11'),
    );
    expect(() => applyPatches(V1ALPHA1, patches)).toThrow(PatchError);
    expect(() => applyPatches(V1ALPHA1, patches)).toThrow(`Server ${UUID} spec.configPatches`);
  });
});
