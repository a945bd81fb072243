// Metal mode (install rules) and container mode (host DNS), and that neither applies
// outside its mode.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, makeSecrets, problemsAfter, type Doc, type Family, type FixtureSecrets } from './fixtures.js';

let s: FixtureSecrets;
beforeAll(async () => {
  s = await makeSecrets();
});

const inMode = (mode: 'metal' | 'container' | undefined, edit: (docs: Doc[]) => void, family: Family = '1.13') =>
  problemsAfter(s, family, 'worker', edit, mode ? { mode } : {});
const metal = (edit: (v1: Doc) => void, family: Family = '1.13') => inMode('metal', (d) => edit(d[0]), family);

describe('metal mode', () => {
  it('machine.install is required (#27), and only in metal mode', () => {
    expectProblem(
      metal((v) => delete v.machine.install),
      'machine.install',
      'required in metal mode',
    );
    const cloud = inMode(undefined, (d) => delete d[0].machine.install);
    expect(cloud.filter((p) => p.path.startsWith('machine.install'))).toEqual([]);
  });

  it('on 1.14 an UnattendedInstall document with a disk selector stands in for machine.install', () => {
    const without = inMode(
      'metal',
      (d) =>
        d.splice(
          d.findIndex((x) => x.kind === 'UnattendedInstall'),
          1,
        ),
      '1.14',
    );
    expectProblem(without, 'machine.install', 'an UnattendedInstall document says which disk to install to');
    const noSelector = inMode(
      'metal',
      (d) => (d.find((x) => x.kind === 'UnattendedInstall')!.provisioning = { wipe: false }),
      '1.14',
    );
    const missing = noSelector.find((p) => p.path.endsWith('(UnattendedInstall).provisioning.diskSelector.match'));
    expect(missing?.message).toContain('required in metal mode');
  });

  it('needs install.disk or install.diskSelector (#27)', () => {
    expectProblem(
      metal((v) => delete v.machine.install.disk),
      'machine.install.disk',
      'set install.disk or install.diskSelector',
    );
    const selector = metal((v) => {
      delete v.machine.install.disk;
      v.machine.install.diskSelector = { size: '>= 100GB', type: 'nvme' };
    });
    expect(selector.filter((p) => p.path.startsWith('machine.install'))).toEqual([]);
  });

  it('an empty or unparsable disk selector is an error (#27)', () => {
    expectProblem(
      metal((v) => (v.machine.install = { diskSelector: {}, wipe: false })),
      'machine.install.diskSelector',
      'must not be empty',
    );
    expectProblem(
      metal((v) => (v.machine.install = { diskSelector: { size: 'big' }, wipe: false })),
      'machine.install.diskSelector.size',
      'not a size criterion',
    );
  });

  it('extraKernelArgs cannot be combined with grubUseUKICmdline: true (#28, 1.12+)', () => {
    const edit = (v: Doc) => (v.machine.install.extraKernelArgs = ['console=ttyS0']);
    expectProblem(metal(edit), 'machine.install.extraKernelArgs', 'cannot be used with grubUseUKICmdline: true');
    const withoutUKI = metal((v) => {
      edit(v);
      v.machine.install.grubUseUKICmdline = false;
    });
    // from 1.12 the schema no longer lists extraKernelArgs: a deprecation warning, not an error
    const errorAt = (problems: typeof withoutUKI) =>
      problems.filter((p) => p.path === 'machine.install.extraKernelArgs' && p.severity === 'error');
    expect(errorAt(withoutUKI)).toEqual([]);
    expectProblem(withoutUKI, 'machine.install.extraKernelArgs', 'deprecated key "extraKernelArgs"', 'warning');
    expect(errorAt(inMode('container', (d) => edit(d[0])))).toEqual([]);
  });
});

describe('container mode', () => {
  it('host DNS must be enabled and forward Kubernetes DNS (#30)', () => {
    const problems = inMode('container', (d) => (d[0].machine.features.hostDNS = { enabled: false }));
    expectProblem(problems, 'machine.features.hostDNS.enabled', 'must be true in container mode');
    expectProblem(problems, 'machine.features.hostDNS.forwardKubeDNSToHost', 'must be true in container mode');
    expectProblem(
      inMode('container', (d) => delete d[0].machine.features.hostDNS, '1.11'),
      'machine.features.hostDNS.enabled',
      'must be true in container mode',
    );
  });

  it('does not apply in metal mode, and container mode skips the install rules', () => {
    const metalProblems = inMode('metal', (d) => (d[0].machine.features.hostDNS = { enabled: false }));
    expect(metalProblems.filter((p) => p.path.startsWith('machine.features.hostDNS'))).toEqual([]);
    const container = inMode('container', (d) => delete d[0].machine.install);
    expect(container.filter((p) => p.severity === 'error')).toEqual([]);
  });
});
