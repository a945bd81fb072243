// The generator and the validator were written apart, from the same facts about Talos: every
// generated config (golden files per contract, both roles, default and full options, and patched)
// must pass the validator with no error for its own target version, in metal mode.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateMachineConfig, configErrors } from '../../../src/machineconfig/validate/index.js';

const DIR = join(import.meta.dirname, '../../fixtures/machineconfig');
const goldens = readdirSync(DIR).filter((f) => /^v\d+\.\d+-(controlplane|worker)/.test(f));

describe('generated configs pass the validator', () => {
  it('has golden configs for every contract family', () => {
    expect(goldens.length).toBeGreaterThanOrEqual(10);
  });

  for (const file of goldens) {
    it(file, () => {
      const minor = /^v(\d+\.\d+)-/.exec(file)![1]!;
      const problems = configErrors(
        validateMachineConfig(readFileSync(join(DIR, file), 'utf8'), { talosVersion: `v${minor}.0`, mode: 'metal' }),
      );
      expect(problems).toEqual([]);
    });
  }

  it('an older target refuses a newer contract (strict decoding): a 1.12 config for a 1.11 node', () => {
    const problems = configErrors(
      validateMachineConfig(readFileSync(join(DIR, 'v1.12-controlplane.yaml'), 'utf8'), {
        talosVersion: 'v1.11.0',
        mode: 'metal',
      }),
    );
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['machine.install.grubUseUKICmdline']));
  });
});
