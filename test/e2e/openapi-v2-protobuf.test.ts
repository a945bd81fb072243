// kubectl 1.27 and 1.28 read the OpenAPI v2 document as protobuf (and nothing else) for explain,
// create, apply, diff and edit. They run here against the built server, each with a cache of
// its own, and must behave as against kube-apiserver.
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  disposeServer,
  startServer,
  type KubectlResult,
  type TestServer,
  SAMPLE_OBJECTS_ONLY,
} from '../helpers/server.js';
import { expectClean, kubernetesCluster, tempDir } from './kubectl-helpers.js';

/** the versioned kubectl binaries sit beside the real path of the `kubectl` on PATH */
function kubectlBinary(version: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const onPath = join(dir, 'kubectl');
    if (!existsSync(onPath)) continue;
    const versioned = join(dirname(realpathSync(onPath)), `kubectl.${version}`);
    if (existsSync(versioned)) return versioned;
  }
  throw new Error(`kubectl.${version} was not found beside the real path of any kubectl on PATH`);
}

let s: TestServer;
let files: ReturnType<typeof tempDir>;

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  files = tempDir();
});

afterAll(async () => {
  await disposeServer(s);
  files?.remove();
});

describe.each(['1.27', '1.28'])('kubectl %s with the OpenAPI v2 document as protobuf', (version) => {
  const binary = kubectlBinary(version);
  const NS = `v${version.replace('.', '-')}`;

  function kubectl(args: string[], env: Record<string, string> = {}): Promise<KubectlResult> {
    return new Promise((resolve) => {
      execFile(
        binary,
        args,
        {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: s.dataDir,
            KUBECONFIG: s.kubeconfig,
            KUBECACHEDIR: join(s.dataDir, `kubectl-cache-${version}`),
            ...env,
          },
          timeout: 60_000,
          maxBuffer: 64 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          const code = err
            ? typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : 1
            : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      ).stdin!.end();
    });
  }

  async function ok(args: string[], env: Record<string, string> = {}): Promise<string> {
    const r = await kubectl(args, env);
    expectClean(r);
    return r.stdout;
  }

  beforeAll(async () => {
    expect(await ok(['create', 'namespace', NS])).toBe(`namespace/${NS} created\n`);
  });

  it('is the version it claims to be', async () => {
    const v = JSON.parse(await ok(['version', '--client', '-o', 'json']));
    expect(v.clientVersion.minor).toBe(version.split('.')[1]);
  });

  it('explains a field deep in kubernetescluster.spec, from OpenAPI v2 protobuf and by default', async () => {
    const field = 'kubernetescluster.spec.topology.workers.autoscaling.maxReplicas';
    const v2 = await kubectl(['explain', field, '--output=plaintext-openapiv2', '-v=6']);
    expectClean({ ...v2, stderr: v2.stderr.replace(/^I\d{4} .*\n/gm, '') });
    // kubectl read the document at /openapi/v2 (the protobuf form is all it asks for there)
    expect(v2.stderr).toMatch(/GET https:\/\/127\.0\.0\.1:\d+\/openapi\/v2\?timeout=\d+s 200 OK/);
    expect(v2.stderr).not.toMatch(/swagger-2\.0\.0\.pb-v1/);
    expect(v2.stdout).toMatch(/^KIND:\s+KubernetesCluster$/m);
    expect(v2.stdout).toMatch(/^VERSION:\s+vitistack\.io\/v1alpha1$/m);
    expect(v2.stdout).toMatch(/^FIELD:\s+maxReplicas <integer>$/m);
    expect(v2.stdout).toMatch(/Upper bound when autoscaling\./);

    const byDefault = await ok(['explain', field]);
    expect(byDefault).toMatch(/maxReplicas\s+<integer>/);
    expect(byDefault).toMatch(/Upper bound when autoscaling\./);
  });

  it('creates from a file', async () => {
    const f = files.write(`create-${version}.yaml`, kubernetesCluster('created', NS));
    expect(await ok(['create', '-f', f])).toBe('kubernetescluster.vitistack.io/created created\n');
  });

  it('applies a file twice: the second apply changes nothing', async () => {
    const f = files.write(`apply-${version}.yaml`, kubernetesCluster('applied', NS));
    expect(await ok(['apply', '-f', f])).toBe('kubernetescluster.vitistack.io/applied created\n');
    const before = JSON.parse(await ok(['get', 'kc', 'applied', '-n', NS, '-o', 'json']));
    expect(await ok(['apply', '-f', f])).toBe('kubernetescluster.vitistack.io/applied unchanged\n');
    const after = JSON.parse(await ok(['get', 'kc', 'applied', '-n', NS, '-o', 'json']));
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('applies a change, client-side and server-side', async () => {
    const three = files.write(
      `apply3-${version}.yaml`,
      kubernetesCluster('applied', NS, 'applied-id', [['pool-a', 3]]),
    );
    expect(await ok(['apply', '-f', three])).toBe('kubernetescluster.vitistack.io/applied configured\n');
    const four = files.write(`apply4-${version}.yaml`, kubernetesCluster('applied', NS, 'applied-id', [['pool-a', 4]]));
    expect(await ok(['apply', '--server-side', '--force-conflicts', '-f', four])).toBe(
      'kubernetescluster.vitistack.io/applied serverside-applied\n',
    );
    const obj = JSON.parse(await ok(['get', 'kc', 'applied', '-n', NS, '-o', 'json']));
    expect(obj.spec.topology.workers[0].replicas).toBe(4);
    const ssa = files.write(`ssa-${version}.yaml`, kubernetesCluster('ssa', NS));
    expect(await ok(['apply', '--server-side', '-f', ssa])).toBe(
      'kubernetescluster.vitistack.io/ssa serverside-applied\n',
    );
  });

  it('diffs: exit 1 with the change shown, exit 0 when there is none', async () => {
    const same = files.write(`diff-same-${version}.yaml`, kubernetesCluster('created', NS));
    const none = await kubectl(['diff', '-f', same]);
    expect([none.code, none.stdout, none.stderr]).toEqual([0, '', '']);
    const changed = files.write(
      `diff-${version}.yaml`,
      kubernetesCluster('created', NS, 'created-id', [['pool-a', 5]]),
    );
    const r = await kubectl(['diff', '-f', changed]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^-\s+replicas: 2$/m);
    expect(r.stdout).toMatch(/^\+\s+replicas: 5$/m);
  });

  it('edits with a scripted EDITOR', async () => {
    const editor = files.write(`edit-${version}.sh`, '#!/bin/sh\nsed -i "s/name: pool-a/name: pool-e/" "$1"\n', 0o755);
    expect(await ok(['edit', 'kc', 'created', '-n', NS], { EDITOR: editor })).toBe(
      'kubernetescluster.vitistack.io/created edited\n',
    );
    const obj = JSON.parse(await ok(['get', 'kc', 'created', '-n', NS, '-o', 'json']));
    expect(obj.spec.topology.workers[0].name).toBe('pool-e');
  });
});
