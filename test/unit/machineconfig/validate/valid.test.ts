// The hand-built configs of every contract family validate clean for their own Talos version, in
// every mode; older contracts stay valid on newer Talos, newer keys/kinds are refused by older.
import { beforeAll, describe, expect, it } from 'vitest';
import { validateMachineConfig } from '../../../../src/machineconfig/validate/index.js';
import {
  buildDocuments,
  expectNoProblems,
  expectProblem,
  makeSecrets,
  TALOS_BY_FAMILY,
  toYaml,
  yamlWith,
  type Family,
  type FixtureSecrets,
} from './fixtures.js';

let s: FixtureSecrets;
beforeAll(async () => {
  s = await makeSecrets();
});

const FAMILIES: Family[] = ['1.11', '1.12', '1.13', '1.14'];
const ROLES = ['controlplane', 'worker'] as const;

describe.each(FAMILIES)('contract %s', (family) => {
  it.each(ROLES)('a %s config has zero problems in every mode', (role) => {
    const yaml = toYaml(buildDocuments(s, family, role));
    for (const mode of [undefined, 'metal', 'container'] as const) {
      expectNoProblems(
        validateMachineConfig(yaml, { talosVersion: TALOS_BY_FAMILY[family], ...(mode ? { mode } : {}) }),
      );
    }
  });

  it.each(ROLES)('a %s config has zero problems in strict mode too', (role) => {
    const yaml = toYaml(buildDocuments(s, family, role));
    expectNoProblems(
      validateMachineConfig(yaml, { talosVersion: TALOS_BY_FAMILY[family], mode: 'metal', strict: true }),
    );
  });
});

describe('contract compatibility', () => {
  it('a config for contract 1.13 is valid on Talos 1.14 (legacy v1alpha1 fields still decode there)', () => {
    const yaml = toYaml(buildDocuments(s, '1.13', 'controlplane'));
    expectNoProblems(validateMachineConfig(yaml, { talosVersion: 'v1.14.0', mode: 'metal' }));
  });

  it("a config for contract 1.11 is valid on Talos 1.12 (its Kubernetes 1.34 is in 1.12's range)", () => {
    const yaml = toYaml(buildDocuments(s, '1.11', 'worker'));
    expectNoProblems(validateMachineConfig(yaml, { talosVersion: '1.12' }));
  });

  it('machine.install.grubUseUKICmdline (added in 1.12) is an unknown key for a 1.11 target and accepted for 1.12', () => {
    const yaml = yamlWith(s, '1.11', 'controlplane', (d) => {
      d[0].machine.install.grubUseUKICmdline = true;
    });
    const old = validateMachineConfig(yaml, { talosVersion: 'v1.11.6' });
    const p = expectProblem(old, 'machine.install.grubUseUKICmdline', 'added in Talos v1.12');
    expect(p.line).toBe(yaml.split('\n').findIndex((l) => l.includes('grubUseUKICmdline')) + 1);
    expect(old.filter((x) => x.severity === 'error')).toHaveLength(1);
    expectNoProblems(validateMachineConfig(yaml, { talosVersion: 'v1.12.11' }));
  });

  it('a 1.12 config (with its HostnameConfig document) is refused by a 1.11 node', () => {
    const problems = validateMachineConfig(toYaml(buildDocuments(s, '1.12', 'worker')), { talosVersion: 'v1.11' });
    expectProblem(problems, 'documents[1] (HostnameConfig)', 'added in Talos v1.12');
  });

  it('a 1.14 multi-document config is refused by a 1.13 node (unknown kinds)', () => {
    const problems = validateMachineConfig(toYaml(buildDocuments(s, '1.14', 'controlplane')), {
      talosVersion: 'v1.13.9',
    });
    expectProblem(
      problems,
      'documents[1] (KubeClusterConfig)',
      'unknown document kind "KubeClusterConfig" for Talos v1.13',
    );
    expectProblem(problems, 'documents[3] (KubeAPIServerCAConfig)', 'added in Talos v1.14');
    // its slim v1alpha1 document has no endpoint of its own, and a 1.13 node reads it from nowhere else
    expectProblem(problems, 'cluster.controlPlane.endpoint', 'required');
  });
});
