// kubectl-talos validate / gen secrets / gen config, run as a user would run the plugin binary,
// on a directory of good and bad manifests, with no cluster.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configErrors, validateMachineConfig } from '../../src/machineconfig/validate/index.js';
import { parseSecretsYaml } from '../../src/machineconfig/secretsyaml.js';
import { parseTalosconfig } from '../../src/talos/talosconfig.js';
import { ROOT } from '../helpers/server.js';
import { tempDir } from '../e2e/kubectl-helpers.js';

const CLI = join(ROOT, 'dist/src/cli/main.js');
const tmp = tempDir();

function talos(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
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

const cluster = (name: string, extra: string) => `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata:
  name: ${name}
spec:
  data: {clusterUid: u, clusterId: ${name}-id, provider: talos, environment: dev, datacenter: dc, project: p, region: r, workorder: w, zone: z, workspace: ws}
  topology:
    version: "1.33"
    controlplane: {replicas: 3, version: "1.33"}
    workers: [{name: pool-a, replicas: 2, version: "1.33"}]
${extra}`;

afterAll(() => tmp.remove());

describe('kubectl talos --version', () => {
  it("prints the package's version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const r = await talos(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('kubectl talos validate', () => {
  it('prints file:line:column: kind/name: path: message for every problem and exits 1; a clean directory exits 0', async () => {
    mkdirSync(join(tmp.dir, 'manifests/nested'), { recursive: true });
    tmp.write('manifests/good.yaml', cluster('good', '  talos:\n    endpoint: https://10.0.0.1:6443\n'));
    tmp.write(
      'manifests/nested/bad.yaml',
      [
        cluster('bad', '  talos:\n    endpoint: https://10.0.0.1:6443\n')
          .replace('replicas: 3', 'replicas: 2')
          .replace('version: "1.33"\n    controlplane', 'version: "1.20"\n    controlplane'),
        'apiVersion: metal.sidero.dev/v1alpha2\nkind: AdoptedServer\nmetadata:\n  name: Bad_Name\nspec:\n  talos:\n    endpoint: "192.168.1.10"\n    nodeType: router\n',
      ].join('---\n'),
    );
    const flat = await talos(['validate', '-f', 'manifests']);
    expect(flat).toMatchObject({ code: 0, stdout: '1 object(s) valid\n' });
    const r = await talos(['validate', '-f', 'manifests', '-R']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain(
      'manifests/nested/bad.yaml:9:20: KubernetesCluster/bad: spec.topology.controlplane.replicas: Invalid value: 2: must be odd',
    );
    // kube's words for a name, without the regex kube appends to them
    expect(lines).toContain(
      `manifests/nested/bad.yaml:17:3: AdoptedServer/Bad_Name: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')`,
    );
    expect(
      lines.some((l) => /AdoptedServer\/Bad_Name: spec\.talos\.nodeType: Unsupported value: "router"/.test(l)),
    ).toBe(true);
    // the endpoint's rule in words, not its 300-character pattern
    expect(lines).toContain(
      'manifests/nested/bad.yaml:20:5: AdoptedServer/Bad_Name: spec.talos.endpoint: Invalid value: "192.168.1.10": must be host:port, where host is a DNS name, an IPv4 address or an IPv6 address in brackets, and port is 1-65535',
    );
    expect(lines.at(-1)).toMatch(/^\d+ problem\(s\) in 3 object\(s\)$/);
  });

  it('reports the Kubernetes version against the target Talos range (validating admission, offline)', async () => {
    tmp.write('old.yaml', cluster('old', '  talos:\n    version: v1.13.9\n').replaceAll('"1.33"', '"1.20"'));
    const r = await talos(['validate', '-f', 'old.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'old.yaml:9:33: KubernetesCluster/old: spec.topology.controlplane.version: Invalid value: Kubernetes 1.20.0 is outside 1.31',
    );
  });

  it('a CNI Talos does not know by name: the names it accepts and how to run that CNI, at the line of cni', async () => {
    const text = cluster('cni', '  talos:\n    endpoint: https://10.0.0.1:6443\n    network:\n      cni: cilium\n');
    tmp.write('cni.yaml', text);
    const line = text.split('\n').findIndex((l) => l.includes('cni: cilium')) + 1;
    const r = await talos(['validate', '-f', 'cni.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `cni.yaml:${line}:7: KubernetesCluster/cni: spec.talos.network.cni: Unsupported value: "cilium": supported values: "flannel", "custom", "none": ` +
        'Talos deploys flannel itself and no other CNI by name; to run cilium, use "none" and install it yourself once the cluster is up, ' +
        'or "custom" with the URLs of its manifests in spec.talos.network.cniURLs, which Talos applies at bootstrap\n',
    );
    // gen config refuses it the same way, naming the manifest's field rather than a URL
    const gen = await talos(['gen', 'config', '-f', 'cni.yaml', '-o', 'cni-out']);
    expect(gen.code).toBe(1);
    expect(gen.stderr).toContain(
      'error: KubernetesCluster.vitistack.io "cni" is invalid: spec.talos.network.cni: Unsupported value: "cilium"',
    );
    expect(gen.stderr).not.toMatch(/URL:|http:\/\/ or https:\/\//);
  });

  it('a missing path is a usage error (exit 2)', async () => {
    const r = await talos(['validate', '-f', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('does not exist');
  });
});

describe('kubectl talos gen', () => {
  it('gen secrets writes a talosctl secrets.yaml (mode 0600) and refuses to overwrite without --force', async () => {
    expect((await talos(['gen', 'secrets', '-o', 'secrets.yaml'])).code).toBe(0);
    const file = join(tmp.dir, 'secrets.yaml');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(parseSecretsYaml(readFileSync(file, 'utf8')).ok).toBe(true);
    const again = await talos(['gen', 'secrets', '-o', 'secrets.yaml']);
    expect(again.code).toBe(2); // a usage error: nothing was written
    expect(again.stderr).toContain('exists; use --force');
  });

  it('gen config writes controlplane.yaml, worker.yaml and talosconfig from a manifest; the configs validate', async () => {
    tmp.write('cluster.yaml', cluster('demo', '  talos:\n    installDisk: /dev/vda\n'));
    const r = await talos([
      'gen',
      'config',
      '-f',
      'cluster.yaml',
      '--endpoint',
      'https://10.5.0.1:6443',
      '--secrets',
      'secrets.yaml',
      '--talos-version',
      'v1.11',
      '-o',
      'out',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('generated controlplane.yaml, worker.yaml, talosconfig in out for Talos v1.11.6\n');
    const cp = readFileSync(join(tmp.dir, 'out/controlplane.yaml'), 'utf8');
    expect(parse(cp)).toMatchObject({
      machine: { type: 'controlplane', install: { disk: '/dev/vda' } },
      cluster: { clusterName: 'demo', controlPlane: { endpoint: 'https://10.5.0.1:6443' } },
    });
    for (const f of ['controlplane.yaml', 'worker.yaml']) {
      expect(
        configErrors(
          validateMachineConfig(readFileSync(join(tmp.dir, 'out', f), 'utf8'), {
            talosVersion: 'v1.11.6',
            mode: 'metal',
          }),
        ),
      ).toEqual([]);
    }
    const tc = parseTalosconfig(readFileSync(join(tmp.dir, 'out/talosconfig'), 'utf8'));
    expect(tc.contexts.demo!.endpoints).toEqual(['10.5.0.1']);
    // the same bundle: the OS CA in the config is the one of secrets.yaml
    const bundle = parseSecretsYaml(readFileSync(join(tmp.dir, 'secrets.yaml'), 'utf8'));
    expect(bundle.ok && Buffer.from(parse(cp).machine.ca.crt, 'base64').toString()).toBe(
      bundle.ok ? bundle.bundle.certs.os.crt : '',
    );
  });

  it('gen config without an endpoint says how to give one', async () => {
    tmp.write('noendpoint.yaml', cluster('x', ''));
    const r = await talos(['gen', 'config', '-f', 'noendpoint.yaml', '-o', 'out2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --endpoint https://HOST:6443');
  });
});
