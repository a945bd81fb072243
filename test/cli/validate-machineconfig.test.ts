// kubectl talos validate on raw Talos machine configs, run as a user runs the plugin binary: configs
// our own `gen config` writes for several Talos versions pass (the version read from the installer
// image), broken ones are reported with file, line and path like `talosctl validate --mode metal`,
// and exit 1; the version can be given, modes and --strict change what counts.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectTalosVersion, isTalosMachineConfig } from '../../src/cli/machineconfigfiles.js';
import { ROOT } from '../helpers/server.js';
import { tempDir } from '../e2e/kubectl-helpers.js';

const CLI = join(ROOT, 'dist/src/cli/main.js');
const tmp = tempDir();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function talos(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: tmp.dir, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({
        code: err ? ((err as { code?: number }).code ?? 1) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });
}

/** a Kubernetes version inside each Talos line's accepted range */
const VERSIONS: [talos: string, kubernetes: string][] = [
  ['v1.8', '1.31'],
  ['v1.10', '1.32'],
  ['v1.12', '1.33'],
  ['v1.13', '1.33'],
  ['v1.14', '1.33'],
];

const clusterManifest = (kubernetes: string) => `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata:
  name: demo
spec:
  data: {clusterUid: u, clusterId: demo-id, provider: talos, environment: dev, datacenter: dc, project: p, region: r, workorder: w, zone: z, workspace: ws}
  topology:
    version: "${kubernetes}"
    controlplane: {replicas: 1, version: "${kubernetes}"}
    workers: [{name: pool-a, replicas: 2, version: "${kubernetes}"}]
  talos:
    endpoint: https://10.5.0.1:6443
`;

/** the generated config of a Talos line and role */
const generated = (line: string, role: 'controlplane' | 'worker') =>
  readFileSync(join(tmp.dir, `gen/${line}/${role}.yaml`), 'utf8');

/** 1-based line of the first line of `text` containing `fragment` */
function lineNumberOf(text: string, fragment: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(fragment));
  if (i < 0) throw new Error(`"${fragment}" is not in the text`);
  return i + 1;
}

/** writes `text` as `name` and returns `text` */
function write(name: string, text: string): string {
  tmp.write(name, text);
  return text;
}

beforeAll(async () => {
  mkdirSync(join(tmp.dir, 'gen'), { recursive: true });
  expect((await talos(['gen', 'secrets', '-o', 'secrets.yaml'])).code).toBe(0);
  for (const [line, kubernetes] of VERSIONS) {
    tmp.write(`cluster-${line}.yaml`, clusterManifest(kubernetes));
    const r = await talos([
      'gen',
      'config',
      '-f',
      `cluster-${line}.yaml`,
      '--secrets',
      'secrets.yaml',
      '--talos-version',
      line,
      '-o',
      `gen/${line}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
}, 120_000);

afterAll(() => tmp.remove());

describe('kubectl talos validate: generated machine configs', () => {
  it('every generated config of every version passes, checked for the version its installer image names', async () => {
    const r = await talos(['validate', '-f', 'gen', '-R']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    for (const [line] of VERSIONS) {
      for (const role of ['controlplane', 'worker']) {
        expect(lines).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^gen/${line.replace('.', '\\.')}/${role}\\.yaml: Talos machine config, checked for Talos ${line.replace('.', '\\.')}\\.\\d+\\S* in metal mode \\(version: (the tag of (machine\\.install\\.image|UnattendedInstallConfig image)|no installer image names a version: the oldest release that knows its document kinds)\\)$`,
            ),
          ),
        );
      }
    }
    expect(lines.at(-1)).toBe(`${VERSIONS.length * 2} machine config(s) valid`);
    expect(lines).toHaveLength(VERSIONS.length * 2 + 1);
  });

  it('the configs of 1.12 and later passed above are multi-document: every document was read', () => {
    const docs = generated('v1.14', 'controlplane').split(/^---$/m);
    expect(docs.length).toBeGreaterThan(5);
    expect(generated('v1.12', 'worker')).toContain('kind: HostnameConfig');
  });

  it('manifests and machine configs side by side: each file checked as what it is', async () => {
    mkdirSync(join(tmp.dir, 'mixed'), { recursive: true });
    write('mixed/cluster.yaml', clusterManifest('1.33'));
    write('mixed/worker.yaml', generated('v1.13', 'worker'));
    const r = await talos(['validate', '-f', 'mixed']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('1 machine config(s) and 1 object(s) valid');
  });
});

describe('kubectl talos validate: broken machine configs', () => {
  it('an unknown key and a missing install section: file, line and path of each, exit 1', async () => {
    const text = write('typo.yaml', generated('v1.13', 'controlplane').replace('\n  install:\n', '\n  instal:\n'));
    const at = lineNumberOf(text, '  instal:');
    const r = await talos(['validate', '-f', 'typo.yaml']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    // with the installer image gone (it was under install), nothing names a version
    expect(lines[0]).toBe(
      'typo.yaml: Talos machine config, checked for Talos v1.13.9 in metal mode (version: no installer image names a version: the newest stable release)',
    );
    expect(lines).toContain(
      `typo.yaml:${at}: machine.instal: unknown key "instal": Talos v1.13 does not know it (machine configs are decoded strictly)`,
    );
    expect(lines).toContain(
      `typo.yaml:${lineNumberOf(text, 'machine:')}: machine.install: required in metal mode: the node must know which disk to install to`,
    );
    expect(lines.at(-1)).toBe('2 problem(s) in 1 machine config(s)');
    // cloud mode has no install rules: only the unknown key is left
    const cloud = await talos(['validate', '-f', 'typo.yaml', '--mode', 'cloud', '--talos-version', 'v1.13']);
    expect(cloud.code).toBe(1);
    expect(cloud.stdout).toContain('in cloud mode (version: --talos-version)');
    expect(cloud.stdout).not.toContain('machine.install:');
    expect(cloud.stdout.trim().split('\n').at(-1)).toBe('1 problem(s) in 1 machine config(s)');
  });

  it('metal mode needs an install disk; container mode needs host DNS', async () => {
    const base = generated('v1.12', 'worker');
    const noDisk = write('nodisk.yaml', base.replace('    disk: /dev/sda\n', ''));
    const r = await talos(['validate', '-f', 'nodisk.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `nodisk.yaml:${lineNumberOf(noDisk, '  install:')}: machine.install.disk: required in metal mode: set install.disk or install.diskSelector`,
    );
    const noDNS = write('nodns.yaml', base.replace('      forwardKubeDNSToHost: true\n', ''));
    expect((await talos(['validate', '-f', 'nodns.yaml'])).code).toBe(0);
    const container = await talos(['validate', '-f', 'nodns.yaml', '--mode', 'container']);
    expect(container.code).toBe(1);
    expect(container.stdout).toContain(
      `nodns.yaml:${lineNumberOf(noDNS, '    hostDNS:')}: machine.features.hostDNS.forwardKubeDNSToHost: must be true in container mode`,
    );
  });

  it("a typed document breaks with its own line: documents[i] (Kind), at the document's first line", async () => {
    const text = write(
      'hostname.yaml',
      generated('v1.12', 'worker').replace(
        'kind: HostnameConfig\nauto: stable',
        'kind: HostnameConfig\nauto: stable\nhostname: node-1',
      ),
    );
    const start = lineNumberOf(text, 'kind: HostnameConfig') - 1;
    expect(text.split('\n')[start - 1]).toBe('apiVersion: v1alpha1');
    const r = await talos(['validate', '-f', 'hostname.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `hostname.yaml:${start}: documents[1] (HostnameConfig): must set exactly one of auto and hostname, not both`,
    );
  });

  it('a 1.14 config checked for 1.13: every document kind 1.13 does not know, at its line', async () => {
    const text = write('v14.yaml', generated('v1.14', 'worker'));
    const r = await talos(['validate', '-f', 'v14.yaml', '--talos-version', '1.13']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('checked for Talos v1.13.9 in metal mode (version: --talos-version)');
    for (const kind of ['KubeletConfig', 'KubeNodeConfig', 'DiscoveryServiceConfig'])
      expect(r.stdout).toMatch(
        new RegExp(
          `^v14\\.yaml:${lineNumberOf(text, `kind: ${kind}`) - 1}: documents\\[\\d+\\] \\(${kind}\\): unknown document kind "${kind}" for Talos v1\\.13: it was added in Talos v1\\.14$`,
          'm',
        ),
      );
    // checked for its own version, it passes
    expect((await talos(['validate', '-f', 'v14.yaml'])).code).toBe(0);
  });

  it('warnings are printed but fail only with --strict', async () => {
    const text = write('join.yaml', generated('v1.13', 'worker').replace('  type: worker\n', '  type: join\n'));
    const r = await talos(['validate', '-f', 'join.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `join.yaml:${lineNumberOf(text, 'type: join')}: warning: machine.type: deprecated value "join": not in the schema of Talos v1.13; it is accepted as worker: write "worker"`,
    );
    expect(r.stdout.trim().split('\n').at(-1)).toBe('1 machine config(s) valid');
    const strict = await talos(['validate', '-f', 'join.yaml', '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain(
      `join.yaml:${lineNumberOf(text, 'type: join')}: machine.type: deprecated value "join"`,
    );
  });

  it('an installer image of a Talos this tool cannot check is a problem; --talos-version checks it anyway', async () => {
    write('old.yaml', generated('v1.8', 'worker').replace(/installer:v1\.8\.\d+/, 'installer:v1.7.6'));
    const r = await talos(['validate', '-f', 'old.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'old.yaml: (config): machine.install.image is Talos 1.7, which this validator does not check (1.8 to 1.14): give --talos-version to check it for a supported release',
    );
    expect((await talos(['validate', '-f', 'old.yaml', '--talos-version', 'v1.8'])).code).toBe(0);
  });

  it('an unsupported --talos-version or --mode is a usage error (exit 2)', async () => {
    const version = await talos(['validate', '-f', 'old.yaml', '--talos-version', 'v1.5']);
    expect(version.code).toBe(2);
    expect(version.stderr).toContain('Talos 1.5 is not a supported target');
    const mode = await talos(['validate', '-f', 'old.yaml', '--mode', 'metal-agent']);
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain("argument 'metal-agent' is invalid");
  });
});

describe('telling machine configs apart and finding their version', () => {
  it('by content: a v1alpha1 document with machine/cluster, or a typed document of apiVersion v1alpha1', () => {
    expect(isTalosMachineConfig([{ version: 'v1alpha1', machine: {} }])).toBe(true);
    expect(isTalosMachineConfig([{ apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'stable' }])).toBe(true);
    expect(isTalosMachineConfig([{ apiVersion: 'vitistack.io/v1alpha1', kind: 'Machine' }])).toBe(false);
    expect(isTalosMachineConfig([{ apiVersion: 'v1', kind: 'Secret' }, null, 'text'])).toBe(false);
    // a talosctl secrets.yaml has a cluster section but no version
    expect(isTalosMachineConfig([{ cluster: { id: 'x' }, secrets: {}, certs: {} }])).toBe(false);
  });

  it('from the installer tag; else the newest stable, or the oldest release knowing the document kinds', () => {
    const v1 = (image?: string) => ({ version: 'v1alpha1', machine: image ? { install: { image } } : {} });
    expect(detectTalosVersion([v1('ghcr.io/siderolabs/installer:v1.10.3')]).version).toBe('v1.10.3');
    expect(
      detectTalosVersion([v1('factory.talos.dev/metal-installer/abc:v1.11.2@sha256:' + 'a'.repeat(64))]).version,
    ).toBe('v1.11.2');
    expect(detectTalosVersion([v1('localhost:5000/installer')])).toMatchObject({
      version: 'v1.13.9',
      source: 'machine.install.image has no release tag: the newest stable release',
    });
    expect(detectTalosVersion([v1(), { apiVersion: 'v1alpha1', kind: 'KubeletConfig' }])).toMatchObject({
      version: expect.stringMatching(/^v1\.14\./),
      source: 'no installer image names a version: the oldest release that knows its document kinds',
    });
    expect(detectTalosVersion([v1('ghcr.io/siderolabs/installer:v2.0.0')]).problem).toContain('Talos 2.0');
  });
});
