// Every kubectl command a user of this server needs, with each kubectl from 1.27 to 1.33: the
// outputs and exit codes kube-apiserver would give. The `kubectl` on PATH may be a dispatcher; the
// real versions sit beside its real path as kubectl.1.27 ... kubectl.1.33. By default (and in CI)
// the oldest and newest run; KUBECTL_VERSIONS=all or a comma list (1.29,1.31) runs others. A
// version asked for but not installed fails its block: it is never skipped.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { KubectlResult, TestServer } from '../helpers/server.js';
import { disposeServer, SAMPLE_OBJECTS_ONLY, startServer } from '../helpers/server.js';
import {
  createNamespace,
  kubernetesCluster,
  standaloneUser,
  startKubectl,
  tempDir,
  type KubectlProcess,
} from './kubectl-helpers.js';

const ALL = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'];
const DEFAULT = ['1.27', '1.33'];

function wantedVersions(): string[] {
  const raw = (process.env.KUBECTL_VERSIONS ?? '').trim();
  if (raw === '') return DEFAULT;
  if (raw === 'all') return ALL;
  return raw
    .split(',')
    .map((v) => v.trim().replace(/^v/, ''))
    .filter(Boolean);
}

/** the directory of the real kubectl: the PATH entry resolved through its symlinks */
function kubectlDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'kubectl');
    try {
      accessSync(candidate, constants.X_OK);
      return dirname(realpathSync(candidate));
    } catch {
      // not here
    }
  }
  return undefined;
}

const DIR = kubectlDir();
const VERSIONS = wantedVersions();

let s: TestServer;
let viewerKubeconfig: string;
const files = tempDir();
const running: KubectlProcess[] = [];

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  viewerKubeconfig = (await standaloneUser(s, 'viewer')).kubeconfig;
  // KUBE_EDITOR for `kubectl edit`: changes one field of the file kubectl hands it, in place
  files.write('editor.sh', '#!/bin/sh\nsed -i \'s/^\\( *workorder:\\) w$/\\1 edited/\' "$1"\n', 0o755);
});

afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
  await disposeServer(s);
  files.remove();
});

/** -v=6 logs each response: the watch has begun once its 200 is logged */
const WATCH_STARTED = /verb="GET" url="[^"]*[?&]watch=true[^"]*" status="200 OK"|GET [^ ]*[?&]watch=true[^ ]* 200 OK/;

for (const version of VERSIONS) {
  describe(`kubectl ${version}`, () => {
    const binary = DIR ? join(DIR, `kubectl.${version}`) : `kubectl.${version}`;
    const ns = `v${version.replace('.', '-')}`;
    const env = {
      HOME: join(files.dir, ns),
      KUBECACHEDIR: join(files.dir, ns, 'cache'),
      KUBE_EDITOR: join(files.dir, 'editor.sh'),
    };

    function kubectl(args: string[], extra: Record<string, string> = {}): Promise<KubectlResult> {
      return new Promise((resolve) => {
        execFile(
          binary,
          args,
          {
            env: { PATH: process.env.PATH ?? '', KUBECONFIG: s.kubeconfig, ...env, ...extra },
            timeout: 60_000,
            maxBuffer: 16 * 1024 * 1024,
          },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            resolve({ code, stdout: String(stdout), stderr: String(stderr) });
          },
        );
      });
    }

    /** exit 0, nothing on stderr; returns stdout */
    async function ok(args: string[]): Promise<string> {
      const r = await kubectl(args);
      expect(r.stderr, `kubectl ${version} ${args.join(' ')} (exit ${r.code})`).toBe('');
      expect(r.code).toBe(0);
      return r.stdout;
    }

    const rv = async (name: string) => ok(['get', 'kc', name, '-n', ns, '-o', 'jsonpath={.metadata.resourceVersion}']);
    const field = async (name: string, path: string) => ok(['get', 'kc', name, '-n', ns, '-o', `jsonpath={${path}}`]);
    const manifest = (name: string, edit: (text: string) => string = (t) => t) =>
      files.write(`${ns}-${name}.yaml`, edit(kubernetesCluster(name, ns)));

    // every step needs the binary: without it each fails at once, with the reason
    beforeEach(() => {
      if (!existsSync(binary)) throw new Error(`kubectl ${version} is not installed: ${binary} is missing`);
    });

    it(`is installed beside the real kubectl (${DIR ?? 'no kubectl on PATH'})`, () => {
      expect(DIR, 'kubectl is on PATH').toBeDefined();
      expect(existsSync(binary), `${binary} exists`).toBe(true);
    });

    it('api-resources lists our kinds and the self reviews', async () => {
      await createNamespace(s, ns);
      const out = await ok(['api-resources']);
      expect(out).toMatch(/^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$/m);
      expect(out).toMatch(/^kubernetesclusters\s+kc\s+vitistack\.io\/v1alpha1\s+true\s+KubernetesCluster$/m);
      expect(out).toMatch(/^adoptedservers\s+as\s+metal\.sidero\.dev\/v1alpha2\s+true\s+AdoptedServer$/m);
      expect(out).toMatch(/^selfsubjectaccessreviews\s+authorization\.k8s\.io\/v1\s+false\s+SelfSubjectAccessReview$/m);
    });

    it('explain a field deep in kubernetescluster.spec', async () => {
      const out = await ok(['explain', 'kubernetescluster.spec.topology.workers.replicas']);
      expect(out).toMatch(/KIND:\s+KubernetesCluster/);
      expect(out).toMatch(/VERSION:\s+(vitistack\.io\/)?v1alpha1/);
      expect(out).toMatch(/FIELD:\s+replicas\s+<integer>/);
      expect(out).toContain('Number of machines in the pool.');
    });

    it('create -f, then get, get -o wide, get -o yaml and describe', async () => {
      expect(await ok(['create', '-f', manifest('made')])).toBe('kubernetescluster.vitistack.io/made created\n');
      const again = await kubectl(['create', '-f', manifest('made')]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/\(AlreadyExists\).*kubernetesclusters\.vitistack\.io "made" already exists/);

      const table = (await ok(['get', 'kc', '-n', ns])).split('\n');
      expect(table[0]).toMatch(/^NAME\s+PHASE\s+PROVIDER\s+REGION\s+CPS\s+WORKERS\s+AGE$/);
      expect(table[1]).toMatch(/^made\s+talos\s+west\s+1\s+\d+s$/); // no status: no phase, no workers yet
      const wide = (await ok(['get', 'kc', 'made', '-n', ns, '-o', 'wide'])).split('\n');
      expect(wide[0]).toMatch(
        /^NAME\s+PHASE\s+PROVIDER\s+REGION\s+CPS\s+WORKERS\s+READY\s+HEALTHY\s+TALOS\s+TARGET\s+KUBERNETES\s+K8S-TARGET\s+MESSAGE\s+AGE$/,
      );
      expect(wide[1]).toMatch(/^made\s+talos\s+west\s+1\s+1\.33\s+\d+s$/);
      const obj = parse(await ok(['get', 'kc', 'made', '-n', ns, '-o', 'yaml']));
      expect(obj).toMatchObject({
        apiVersion: 'vitistack.io/v1alpha1',
        kind: 'KubernetesCluster',
        metadata: { name: 'made', namespace: ns },
        spec: { data: { clusterId: 'made-id' }, topology: { workers: [{ name: 'pool-a', replicas: 2 }] } },
      });

      const described = await ok(['describe', 'kc', 'made', '-n', ns]);
      expect(described).toMatch(/^Name:\s+made$/m);
      expect(described).toMatch(/^Namespace:\s+v\d-\d+$/m);
      expect(described).toMatch(/^Kind:\s+KubernetesCluster$/m);
      expect(described).toMatch(/^\s+Cluster Id:\s+made-id$/m);
      expect(described).toMatch(/^Events:\s+<none>$/m);
    });

    it('apply -f twice: created, then unchanged with nothing written', async () => {
      expect(await ok(['apply', '-f', manifest('applied')])).toBe('kubernetescluster.vitistack.io/applied created\n');
      const before = await rv('applied');
      expect(await ok(['apply', '-f', manifest('applied')])).toBe('kubernetescluster.vitistack.io/applied unchanged\n');
      expect(await rv('applied')).toBe(before);
      const changed = manifest('applied', (t) => t.replace('zone: "z"', 'zone: "z2"'));
      expect(await ok(['apply', '-f', changed])).toBe('kubernetescluster.vitistack.io/applied configured\n');
      expect(await field('applied', '.spec.data.zone')).toBe('z2');
    });

    it('apply --server-side: applied by the field manager kubectl, a repeat writes nothing', async () => {
      const f = manifest('ssa');
      expect(await ok(['apply', '--server-side', '-f', f])).toBe(
        'kubernetescluster.vitistack.io/ssa serverside-applied\n',
      );
      const before = await rv('ssa');
      expect(await ok(['apply', '--server-side', '-f', f])).toBe(
        'kubernetescluster.vitistack.io/ssa serverside-applied\n',
      );
      expect(await rv('ssa')).toBe(before);
      const managers = JSON.parse(await ok(['get', 'kc', 'ssa', '-n', ns, '-o', 'json', '--show-managed-fields']))
        .metadata.managedFields;
      expect(managers).toContainEqual(expect.objectContaining({ manager: 'kubectl', operation: 'Apply' }));
    });

    it('diff (client-side and --server-side): exit 1 with the difference, exit 0 without', async () => {
      for (const [name, mode] of [
        ['applied', []],
        ['ssa', ['--server-side']],
      ] as const) {
        const edit = (t: string) => (name === 'applied' ? t.replace('zone: "z"', 'zone: "z2"') : t);
        const changed = manifest(name, (t) => edit(t).replace('region: west', 'region: east'));
        const d = await kubectl(['diff', ...mode, '-f', changed]);
        expect(d.stderr, `${name}: ${d.stderr}`).toBe('');
        expect(d.code).toBe(1);
        expect(d.stdout).toMatch(/^-\s+region: west$/m);
        expect(d.stdout).toMatch(/^\+\s+region: east$/m);
        const same = await kubectl(['diff', ...mode, '-f', manifest(name, edit)]);
        expect([same.code, same.stdout, same.stderr], name).toEqual([0, '', '']);
        // a diff is a dry run: nothing changed
        expect(await field(name, '.spec.data.region')).toBe('west');
      }
    });

    it('edit with a scripted editor', async () => {
      expect(await ok(['edit', 'kc', 'made', '-n', ns])).toBe('kubernetescluster.vitistack.io/made edited\n');
      expect(await field('made', '.spec.data.workorder')).toBe('edited');
    });

    it('patch --type=merge and --type=json, label, annotate', async () => {
      const merge = ['patch', 'kc', 'made', '-n', ns, '--type=merge', '-p', '{"spec":{"data":{"zone":"z3"}}}'];
      expect(await ok(merge)).toBe('kubernetescluster.vitistack.io/made patched\n');
      const before = await rv('made');
      expect(await ok(merge)).toBe('kubernetescluster.vitistack.io/made patched (no change)\n');
      expect(await rv('made')).toBe(before);
      const ops = '[{"op":"replace","path":"/spec/topology/workers/0/replicas","value":3}]';
      expect(await ok(['patch', 'kc', 'made', '-n', ns, '--type=json', '-p', ops])).toBe(
        'kubernetescluster.vitistack.io/made patched\n',
      );
      expect(await field('made', '.spec.topology.workers[0].replicas')).toBe('3');
      expect(await ok(['label', 'kc', 'made', '-n', ns, 'team=blue'])).toBe(
        'kubernetescluster.vitistack.io/made labeled\n',
      );
      // kubectl 1.27 itself prints "annotate" here (against kube-apiserver too); later ones "annotated"
      expect(await ok(['annotate', 'kc', 'made', '-n', ns, 'note=kept'])).toMatch(
        /^kubernetescluster\.vitistack\.io\/made annotated?\n$/,
      );
      expect(await field('made', '.metadata.labels.team')).toBe('blue');
      expect(await field('made', '.metadata.annotations.note')).toBe('kept');
    });

    it('wait --for=condition: returns once a watched change meets it', async () => {
      const w = startKubectl(
        s,
        ['wait', 'kc/made', '-n', ns, '--for=condition=Ready', '--timeout=30s', '-v=6'],
        env,
        binary,
      );
      running.push(w);
      await w.waitFor(WATCH_STARTED, 'stderr');
      const status = JSON.stringify({
        status: {
          conditions: [{ type: 'Ready', status: 'True', reason: 'Probe', lastTransitionTime: '2025-01-01T00:00:00Z' }],
        },
      });
      await ok(['patch', 'kc', 'made', '-n', ns, '--subresource=status', '--type=merge', '-p', status]);
      const r = await w.exited;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('kubernetescluster.vitistack.io/made condition met\n');
    });

    it('get -w sees a change arrive', async () => {
      const w = startKubectl(s, ['get', 'kc', 'made', '-n', ns, '-w', '--output-watch-events'], env, binary);
      running.push(w);
      await w.waitFor(/^ADDED\s+made\s/m);
      await ok(['label', 'kc', 'made', '-n', ns, 'team=green', '--overwrite']);
      await w.waitFor(/^MODIFIED\s+made\s/m);
      await w.kill();
      expect(w.stdout().split('\n')[0]).toMatch(/^EVENT\s+NAME\s+PHASE\s+PROVIDER\s+REGION\s+CPS\s+WORKERS\s+AGE$/);
    });

    it('auth can-i: yes (exit 0) for the admin, no (exit 1) for a user without the right', async () => {
      const yes = await kubectl(['auth', 'can-i', 'create', 'kubernetesclusters', '-n', ns]);
      expect([yes.code, yes.stdout, yes.stderr]).toEqual([0, 'yes\n', '']);
      const no = await kubectl(['auth', 'can-i', 'delete', 'kc', '-n', ns], { KUBECONFIG: viewerKubeconfig });
      expect([no.code, no.stdout, no.stderr]).toEqual([1, 'no\n', '']);
    });

    it('delete: gone afterwards', async () => {
      expect(await ok(['delete', 'kc', 'applied', '-n', ns])).toMatch(
        /^kubernetescluster\.vitistack\.io "applied" deleted( from v\d-\d+ namespace)?\n$/,
      );
      const gone = await kubectl(['get', 'kc', 'applied', '-n', ns]);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/\(NotFound\): kubernetesclusters\.vitistack\.io "applied" not found/);
    });
  });
}
