// `kubectl talos validate -f . -R` on a GitOps repository (test/fixtures/gitops), run as a user runs
// it: kubectl finds the plugin binary kubectl-talos on PATH. Our kinds and the Talos machine config
// are checked, everything else is counted and skipped (--strict refuses it), every problem of an
// object is listed at the file:line:column of its field, and -o json gives CI the same findings.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';
import { pluginOnPath, tempDir } from '../e2e/kubectl-helpers.js';

const REPO = join(ROOT, 'test/fixtures/gitops');
const tmp = tempDir();
let pathWithPlugin = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kubectl talos validate ...` in `cwd` (the fixture repository unless told) */
function validate(args: string[], cwd = REPO): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      ['talos', 'validate', ...args],
      { cwd, timeout: 60_000, env: { ...process.env, PATH: pathWithPlugin } },
      (err, stdout, stderr) => {
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

/** `line:column` of the first `fragment` in a fixture file, 1-based, as an editor counts */
function at(file: string, fragment: string): string {
  const lines = readFileSync(join(REPO, file), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(fragment));
  if (i < 0) throw new Error(`"${fragment}" is not in ${file}`);
  return `${i + 1}:${lines[i]!.indexOf(fragment) + 1}`;
}

const STAGING = 'clusters/staging.yaml';
/** every problem of the broken cluster, in the file's order */
const stagingProblems = () => [
  `${STAGING}:${at(STAGING, 'version: "1.20"')}: KubernetesCluster/staging: spec.topology.version: Invalid value: "1.20": Kubernetes 1.20 is outside 1.31 – 1.36, the range Talos 1.13 accepts`,
  `${STAGING}:${at(STAGING, 'replicas: 2')}: KubernetesCluster/staging: spec.topology.controlplane.replicas: Invalid value: 2: must be odd`,
  `${STAGING}:${at(STAGING, 'machineClas:')}: KubernetesCluster/staging: spec.topology.controlplane.machineClas: unknown field`,
  `${STAGING}:${at(STAGING, 'name: Pool_A')}: KubernetesCluster/staging: spec.topology.workers[0].name: Invalid value: "Pool_A": must be an RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit`,
  `${STAGING}:${at(STAGING, 'effect: NoPlace')}: KubernetesCluster/staging: spec.topology.workers[0].taints[0].effect: Unsupported value: "NoPlace": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`,
];
const MACHINE_CONFIG_HEADER =
  'talos/worker.yaml: Talos machine config, checked for Talos v1.13.9 in metal mode (version: the tag of machine.install.image)';
const SKIPPED = 'skipped 4 objects of other kinds, 3 documents that are not Kubernetes objects, 1 template file';

beforeAll(() => {
  pathWithPlugin = pluginOnPath(tmp.dir);
});

afterAll(() => tmp.remove());

describe('kubectl talos validate on a GitOps repository', () => {
  it('checks our kinds and the machine config, lists every problem at its field, and skips the rest with a count', async () => {
    const r = await validate(['-f', '.', '-R']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    // nothing about the Deployment, Service, Kustomizations, CRD, Chart, values or template; the
    // valid cluster and the valid machine config say nothing but the config's header
    expect(r.stdout.split('\n')).toEqual([
      ...stagingProblems(),
      MACHINE_CONFIG_HEADER,
      `5 problem(s) in 1 machine config(s) and 2 object(s); ${SKIPPED}`,
      '',
    ]);
  });

  it('-o json: the same findings as an array for CI annotations, the summary on standard error', async () => {
    const r = await validate(['-f', '.', '-R', '-o', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`5 problem(s) in 1 machine config(s) and 2 object(s); ${SKIPPED}\n`);
    const findings = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(findings).toHaveLength(5);
    for (const f of findings)
      expect(Object.keys(f)).toEqual(['file', 'line', 'column', 'kind', 'name', 'path', 'message', 'severity']);
    const [line, column] = at(STAGING, 'machineClas:').split(':').map(Number);
    expect(findings[2]).toEqual({
      file: STAGING,
      line,
      column,
      kind: 'KubernetesCluster',
      name: 'staging',
      path: 'spec.topology.controlplane.machineClas',
      message: 'unknown field',
      severity: 'error',
    });
    // the text form is the JSON, line for line
    expect(
      findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.kind}/${f.name}: ${f.path}: ${f.message}`),
    ).toEqual(stagingProblems());
  });

  it('--strict: objects of other kinds, documents that are no objects and templates are problems too', async () => {
    const r = await validate(['-f', '.', '-R', '--strict']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        ...stagingProblems(),
        `apps/kustomization.yaml:1:1: not a Kubernetes object (no apiVersion and kind)`,
        `apps/web/deployment.yaml:1:1: Deployment/web: apps/v1 Deployment is not a kind this tool checks`,
        `apps/web/deployment.yaml:${at('apps/web/deployment.yaml', 'apiVersion: v1')}: Service/web: v1 Service is not a kind this tool checks`,
        `apps/web/kustomization.yaml:1:1: Kustomization/?: kustomize.config.k8s.io/v1beta1 Kustomization is not a kind this tool checks`,
        `charts/web/templates/deployment.yaml:1:1: a template ({{ }}), not YAML this tool can read`,
        `crds/widgets.example.com.yaml:1:1: CustomResourceDefinition/widgets.example.com: apiextensions.k8s.io/v1 CustomResourceDefinition is not a kind this tool checks`,
      ]),
    );
    expect(lines.at(-1)).toBe(
      `13 problem(s) in 1 machine config(s) and 2 object(s); ${SKIPPED.replace('skipped', 'not checked')}`,
    );
  });

  it('exit 0 where nothing of ours is wrong, also with nothing of ours at all; --strict then fails on the rest', async () => {
    expect(await validate(['-f', 'clusters/prod.yaml'])).toEqual({
      code: 0,
      stdout: '1 object(s) valid\n',
      stderr: '',
    });
    expect(await validate(['-f', 'apps', '-R'])).toEqual({
      code: 0,
      stdout: '0 object(s) valid; skipped 3 objects of other kinds, 1 document that is not a Kubernetes object\n',
      stderr: '',
    });
    const json = await validate(['-f', 'apps', '-R', '-o', 'json']);
    expect(json).toMatchObject({ code: 0, stdout: '[]\n' });
    expect((await validate(['-f', 'apps', '-R', '--strict'])).code).toBe(1);
  });

  it('usage errors exit 2: an unknown output format, a path that does not exist', async () => {
    const format = await validate(['-f', '.', '-o', 'yaml']);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("argument 'yaml' is invalid");
    const missing = await validate(['-f', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('error: the path "nope" does not exist\n');
  });

  it('-o json: a machine config problem carries the line and column of its key, kind MachineConfig', async () => {
    const text = readFileSync(join(REPO, 'talos/worker.yaml'), 'utf8').replace('    disk: /dev/sda\n', '');
    tmp.write('worker.yaml', text);
    const r = await validate(['-f', 'worker.yaml', '-o', 'json'], tmp.dir);
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.stdout) as { line: number; column: number }[];
    expect(findings).toHaveLength(1);
    const line = text.split('\n')[findings[0]!.line - 1]!;
    expect(findings[0]).toEqual({
      file: 'worker.yaml',
      line: findings[0]!.line,
      column: line.indexOf('install:') + 1,
      kind: 'MachineConfig',
      name: '',
      path: 'machine.install.disk',
      message: expect.stringContaining('metal mode') as unknown,
      severity: 'error',
    });
    expect(r.stderr).toBe('1 problem(s) in 1 machine config(s)\n');
  });

  it('our group with a version or kind this server does not serve, and a key written twice, are problems', async () => {
    const file = tmp.write(
      'ours.yaml',
      [
        'apiVersion: metal.sidero.dev/v1alpha1\nkind: Server\nmetadata:\n  name: old-api\n',
        'apiVersion: metal.sidero.dev/v1alpha2\nkind: AdoptedServer\nmetadata:\n  name: twice\nspec:\n  talos:\n    endpoint: 10.0.0.1:50000\n    nodeType: worker\n    nodeType: gpu\n',
      ].join('---\n'),
    );
    const r = await validate(['-f', file], tmp.dir);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')).toEqual([
      'ours.yaml:1:1: Server/old-api: metal.sidero.dev/v1alpha1 Server is not a kind of this server (it serves metal.sidero.dev/v1alpha2 AdoptedServer, metal.sidero.dev/v1alpha2 Server, metal.sidero.dev/v1alpha2 ServerClass, metal.sidero.dev/v1alpha2 Environment)',
      'ours.yaml:14:5: AdoptedServer/twice: duplicate field "nodeType"',
      // the value read is the last one, and it is still judged
      'ours.yaml:14:5: AdoptedServer/twice: spec.talos.nodeType: Unsupported value: "gpu": supported values: "controlplane", "worker"',
      '3 problem(s) in 2 object(s)',
      '',
    ]);
  });
});
