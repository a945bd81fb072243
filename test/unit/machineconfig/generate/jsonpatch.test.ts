// RFC 6902 config patches, as Talos applies them: to the v1alpha1 document converted to JSON,
// refused on multi-document configs, i.e. on every config generated for contract 1.12 or newer.
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { SecretsBundle } from '../../../../src/machineconfig/bundle.js';
import { generateMachineConfig } from '../../../../src/machineconfig/generate/generate.js';
import { applyPatches, type Patch } from '../../../../src/machineconfig/patch/apply.js';
import { PatchError } from '../../../../src/machineconfig/patch/patcherror.js';
import { fixtureBundle, GOLDEN_INPUTS, patchError, type Plain } from './fixtures.js';

let bundle: SecretsBundle;
beforeAll(async () => {
  bundle = await fixtureBundle();
});

const config = (talosVersion: string) =>
  generateMachineConfig('controlplane', { ...GOLDEN_INPUTS, talosVersion }, bundle);

const pinDisk: Patch = {
  name: 'pin-disk',
  jsonPatch: [{ op: 'replace', path: '/machine/install/disk', value: '/dev/nvme0n1' }],
};

describe('JSON patches on a single-document config (contract 1.11)', () => {
  it('change the path they name and nothing else', () => {
    const original = config('1.11');
    const patched = applyPatches(original, [pinDisk]);
    expect((parse(patched) as Plain).machine.install.disk).toBe('/dev/nvme0n1');
    expect(patched).toBe(original.replace('disk: /dev/sda', 'disk: /dev/nvme0n1'));
  });

  it('put added keys where Talos writes them (struct order), not at the end', () => {
    const patched = applyPatches(config('1.11'), [
      {
        name: 'sysctls-and-hostname',
        jsonPatch: [
          { op: 'add', path: '/machine/sysctls', value: { 'net.core.somaxconn': '65535' } },
          { op: 'add', path: '/machine/network/hostname', value: 'cp-1' },
        ],
      },
    ]);
    const machine = (parse(patched) as Plain).machine;
    const keys = Object.keys(machine);
    expect(keys.indexOf('sysctls')).toBe(keys.indexOf('install') + 1);
    expect(keys.indexOf('features')).toBe(keys.indexOf('sysctls') + 1);
    expect(machine.network).toEqual({ hostname: 'cp-1' });
  });

  it('name the patch and the operation path when an operation does not apply', () => {
    const e = patchError(config('1.11'), [
      pinDisk,
      { name: 'drop-missing', jsonPatch: [{ op: 'remove', path: '/machine/nope' }] },
    ]);
    expect(e.patch).toBe('drop-missing');
    expect(e.path).toBe('/machine/nope');
    expect(e.message).toMatch(/^config patch "drop-missing" failed at \/machine\/nope: .*missing path/);
  });

  it('report a malformed operation with the patch name', () => {
    const e = patchError(config('1.11'), [
      { name: 'typo', jsonPatch: [{ op: 'replace', path: 'machine/install/disk', value: 'x' }] },
    ]);
    expect(e.patch).toBe('typo');
    expect(e.reason).toMatch(/not a valid JSON pointer/);
  });
});

describe('JSON patches on multi-document configs', () => {
  for (const contract of ['1.12', '1.13', '1.14']) {
    it(`are refused for a contract ${contract} config, naming the patch`, () => {
      const yaml = config(contract);
      expect(parseAllDocuments(yaml).length).toBeGreaterThan(1);
      const e = patchError(yaml, [pinDisk]);
      expect(e).toBeInstanceOf(PatchError);
      expect(e.patch).toBe('pin-disk');
      expect(e.path).toBe('');
      expect(e.message).toMatch(
        /^config patch "pin-disk" failed: JSON patches \(RFC 6902\) apply only to single-document machine configs.*HostnameConfig.*use a strategic merge patch$/,
      );
    });
  }

  it('are refused once a strategic patch has made a 1.11 config multi-document', () => {
    const addDocument: Patch = {
      name: 'mirror',
      strategic:
        'apiVersion: v1alpha1\nkind: RegistryMirrorConfig\nname: docker.io\nendpoints:\n  - url: https://mirror.example\n',
    };
    expect(patchError(config('1.11'), [addDocument, pinDisk]).patch).toBe('pin-disk');
  });

  it('apply again once a strategic patch has deleted the only extra document', () => {
    const dropHostname: Patch = {
      name: 'drop-hostname-config',
      strategic: 'apiVersion: v1alpha1\nkind: HostnameConfig\n$patch: delete\n',
    };
    const patched = applyPatches(config('1.12'), [dropHostname, pinDisk]);
    expect(parseAllDocuments(patched)).toHaveLength(1);
    expect((parse(patched) as Plain).machine.install.disk).toBe('/dev/nvme0n1');
  });
});
