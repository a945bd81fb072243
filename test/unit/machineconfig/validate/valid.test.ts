// The hand-built configs of every contract family validate clean for their own Talos version, in
// every mode; older contracts stay valid on newer Talos, newer keys/kinds are refused by older.
import { beforeAll, describe, expect, it } from 'vitest';
import { validateMachineConfig, type ConfigProblem } from '../../../../src/machineconfig/validate/index.js';
import {
  buildDocuments,
  expectNoErrors,
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

/** No errors, and every warning is about a key the target's schema dropped (Talos still decodes it). */
function expectOnlyDeprecations(problems: ConfigProblem[], paths: string[]): void {
  expectNoErrors(problems);
  expect(problems.every((p) => p.message.startsWith('deprecated key '))).toBe(true);
  expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(paths));
}

describe('contract compatibility', () => {
  it('a config for contract 1.13 is valid on Talos 1.14 (legacy v1alpha1 fields still decode there, with a deprecation warning each)', () => {
    const yaml = toYaml(buildDocuments(s, '1.13', 'controlplane'));
    const problems = validateMachineConfig(yaml, { talosVersion: 'v1.14.0', mode: 'metal' });
    expectOnlyDeprecations(problems, ['machine.kubelet', 'machine.install', 'cluster.apiServer', 'cluster.network']);
    const kubelet = expectProblem(problems, 'machine.kubelet', 'configure it with a KubeletConfig document', 'warning');
    expect(kubelet.message).toContain('not in the schema of Talos v1.14 (last in v1.13)');
  });

  it("a config for contract 1.11 is valid on Talos 1.12 (its Kubernetes 1.34 is in 1.12's range)", () => {
    const yaml = toYaml(buildDocuments(s, '1.11', 'worker'));
    const problems = validateMachineConfig(yaml, { talosVersion: '1.12' });
    expectOnlyDeprecations(problems, ['machine.features.rbac', 'machine.features.stableHostname']);
  });

  it('machine.install.grubUseUKICmdline (added in 1.12) is an unknown key for a 1.11 target and accepted for 1.12', () => {
    const yaml = yamlWith(s, '1.11', 'controlplane', (d) => {
      d[0].machine.install.grubUseUKICmdline = true;
    });
    const old = validateMachineConfig(yaml, { talosVersion: 'v1.11.6' });
    const p = expectProblem(old, 'machine.install.grubUseUKICmdline', 'added in Talos v1.12');
    expect(p.line).toBe(yaml.split('\n').findIndex((l) => l.includes('grubUseUKICmdline')) + 1);
    expect(old.filter((x) => x.severity === 'error')).toHaveLength(1);
    const young = validateMachineConfig(yaml, { talosVersion: 'v1.12.11' });
    expectOnlyDeprecations(young, ['machine.features.rbac']);
    expect(young.filter((p) => p.path === 'machine.install.grubUseUKICmdline')).toEqual([]);
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
