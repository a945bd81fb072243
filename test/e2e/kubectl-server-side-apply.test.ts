// The real kubectl doing server-side apply: the upstream example manifests, a second manager on one
// worker pool, conflicts and --force-conflicts, removing a pool, kubectl diff, --dry-run=server,
// managedFields as `get --show-managed-fields` shows them, clearing them, and moving from
// client-side apply.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  disposeServer,
  startServer,
  type KubectlResult,
  type TestServer,
  SAMPLE_OBJECTS_ONLY,
} from '../helpers/server.js';
import {
  adoptedServer,
  createNamespace,
  expectClean,
  expectFailure,
  FIXTURES,
  getJSON,
  ok,
  tempDir,
  kubernetesCluster,
} from './kubectl-helpers.js';

let s: TestServer;
const files = tempDir();

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  await createNamespace(s, 'fleet');
});

afterAll(async () => {
  await disposeServer(s);
  files.remove();
});

const EXAMPLES = [
  'adoptedserver-spokane-control-1.yaml',
  'adoptedserver-spokane-worker-1.yaml',
  'kubernetescluster-simple-cluster.yaml',
];

const cluster = (name: string, pools: [string, number][]) => kubernetesCluster(name, 'fleet', `${name}-id`, pools);

/** the +/- lines of a unified diff, without the file headers */
function changedLines(r: KubectlResult): string[] {
  return r.stdout
    .split('\n')
    .filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l))
    .map((l) => l.replace(/\s+/g, ' '));
}

async function managedFields(args: string[]): Promise<any[]> {
  return parse(await ok(s, ['get', ...args, '-o', 'yaml', '--show-managed-fields'])).metadata.managedFields ?? [];
}

const summary = (mf: any[]) => mf.map((e) => `${e.manager}:${e.operation}${e.subresource ? ':' + e.subresource : ''}`);

describe('kubectl apply --server-side of the upstream example manifests', () => {
  it('creates them, and re-applying changes nothing', async () => {
    for (const example of EXAMPLES) {
      const out = await ok(s, ['apply', '--server-side', '-f', `${FIXTURES}/upstream-examples/${example}`]);
      expect(out).toMatch(/^[a-z.]+\/[a-z0-9-]+ serverside-applied\n$/);
    }
    const before = await getJSON(s, ['kc', 'simple-cluster']);
    expect(summary(before.metadata.managedFields ?? (await managedFields(['kc', 'simple-cluster'])))).toEqual([
      'kubectl:Apply',
    ]);
    for (const example of EXAMPLES)
      await ok(s, ['apply', '--server-side', '-f', `${FIXTURES}/upstream-examples/${example}`]);
    const after = await getJSON(s, ['kc', 'simple-cluster']);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const diff = await s.kubectl(['diff', '--server-side', '-f', `${FIXTURES}/upstream-examples/`]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toBe('');
  });

  it('--dry-run=server stores nothing', async () => {
    const out = await ok(s, ['apply', '--server-side', '--dry-run=server', '-f', '-'], {
      input: cluster('dry', [['pool-a', 1]]),
    });
    expect(out).toBe('kubernetescluster.vitistack.io/dry serverside-applied (server dry run)\n');
    expect(await getJSON(s, ['kc', 'dry', '-n', 'fleet'])).toBeUndefined();
  });
});

describe('a second manager on one worker pool', () => {
  const file = () =>
    files.write(
      'fleet.yaml',
      cluster('fleet', [
        ['pool-a', 2],
        ['pool-b', 1],
      ]),
    );
  const gitops = (f: string, ...extra: string[]) =>
    s.kubectl(['apply', '--server-side', '--field-manager=gitops', ...extra, '-f', f]);

  it('lets "scaler" own pool-a replicas while gitops owns the rest; gitops then conflicts', async () => {
    expectClean(await gitops(file()));
    await ok(s, [
      'patch',
      'kc',
      'fleet',
      '-n',
      'fleet',
      '--type=json',
      '--field-manager=scaler',
      '-p',
      '[{"op":"replace","path":"/spec/topology/workers/0/replicas","value":5}]',
    ]);
    const mf = await managedFields(['kc', 'fleet', '-n', 'fleet']);
    expect(summary(mf)).toEqual(['gitops:Apply', 'scaler:Update']);
    expect(mf[1].fieldsV1).toEqual({
      'f:spec': { 'f:topology': { 'f:workers': { 'k:{"name":"pool-a"}': { 'f:replicas': {} } } } },
    });
    expect(mf[0].fieldsV1['f:spec']['f:topology']['f:workers']['k:{"name":"pool-a"}']).toEqual({
      '.': {},
      'f:name': {},
      'f:version': {},
    });

    const conflict = await gitops(file());
    expectFailure(
      conflict,
      /Apply failed with 1 conflict: conflict with "scaler" using vitistack.io\/v1alpha1: \.spec\.topology\.workers\[name="pool-a"\]\.replicas/,
    );
    expect(conflict.stderr).toMatch(/--force-conflicts/);
    expect((await getJSON(s, ['kc', 'fleet', '-n', 'fleet'])).spec.topology.workers[0].replicas).toBe(5);
  });

  it('kubectl diff shows exactly the pending change, and --force-conflicts takes the field', async () => {
    const diff = await s.kubectl([
      'diff',
      '--server-side',
      '--field-manager=gitops',
      '--force-conflicts',
      '-f',
      file(),
    ]);
    expect(diff.code, diff.stderr).toBe(1);
    expect(changedLines(diff)).toEqual(['- generation: 2', '+ generation: 3', '- replicas: 5', '+ replicas: 2']);

    expectClean(await gitops(file(), '--force-conflicts'));
    const obj = await getJSON(s, ['kc', 'fleet', '-n', 'fleet']);
    expect(obj.spec.topology.workers.map((w: any) => [w.name, w.replicas])).toEqual([
      ['pool-a', 2],
      ['pool-b', 1],
    ]);
    expect(summary(await managedFields(['kc', 'fleet', '-n', 'fleet']))).toEqual(['gitops:Apply']);
    const clean = await s.kubectl(['diff', '--server-side', '--field-manager=gitops', '-f', file()]);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
  });

  it('an applier sharing a value gets no conflict; changing it then conflicts with that applier', async () => {
    const partial = `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata:
  name: fleet
  namespace: fleet
spec:
  topology:
    workers:
      - name: pool-b
        replicas: 1
`;
    expectClean(await s.kubectl(['apply', '--server-side', '--field-manager=scaler', '-f', '-'], { input: partial }));
    expect(summary(await managedFields(['kc', 'fleet', '-n', 'fleet']))).toEqual(['gitops:Apply', 'scaler:Apply']);
    const conflict = await gitops(
      files.write(
        'fleet-b3.yaml',
        cluster('fleet', [
          ['pool-a', 2],
          ['pool-b', 3],
        ]),
      ),
    );
    expectFailure(conflict, /conflict with "scaler": \.spec\.topology\.workers\[name="pool-b"\]\.replicas/);
    // the scaler lets go of pool-b: applying an empty configuration removes nothing gitops still owns
    const empty = partial.slice(0, partial.indexOf('spec:'));
    expectClean(await s.kubectl(['apply', '--server-side', '--field-manager=scaler', '-f', '-'], { input: empty }));
    expect(summary(await managedFields(['kc', 'fleet', '-n', 'fleet']))).toEqual(['gitops:Apply']);
    expect((await getJSON(s, ['kc', 'fleet', '-n', 'fleet'])).spec.topology.workers[1]).toEqual({
      name: 'pool-b',
      replicas: 1,
      version: '1.33',
    });
  });

  it('removing a pool from the applied file removes it', async () => {
    const diff = await s.kubectl([
      'diff',
      '--server-side',
      '--field-manager=gitops',
      '-f',
      files.write('fleet-a.yaml', cluster('fleet', [['pool-a', 2]])),
    ]);
    expect(diff.code, diff.stderr).toBe(1);
    expect(changedLines(diff)).toEqual([
      '- generation: 3',
      '+ generation: 4',
      '- - name: pool-b',
      '- replicas: 1',
      '- version: "1.33"',
    ]);
    expectClean(await gitops(files.write('fleet-a.yaml', cluster('fleet', [['pool-a', 2]]))));
    const obj = await getJSON(s, ['kc', 'fleet', '-n', 'fleet']);
    expect(obj.spec.topology.workers.map((w: any) => w.name)).toEqual(['pool-a']);
    expect(JSON.stringify(await managedFields(['kc', 'fleet', '-n', 'fleet']))).not.toContain('pool-b');
  });
});

describe('managedFields of ordinary kubectl writes', () => {
  const manifest = () =>
    files.write(
      'mixed.yaml',
      adoptedServer('mixed', 'fleet', { labels: { tier: 'one', extra: 'yes' }, hostname: 'first' }),
    );

  it('records client-side apply and patch as Update entries, and [{}] clears them', async () => {
    expect(await ok(s, ['apply', '-f', manifest()])).toBe('adoptedserver.metal.sidero.dev/mixed created\n');
    await ok(s, ['patch', 'as', 'mixed', '-n', 'fleet', '--type=merge', '-p', '{"spec":{"accepted":true}}']);
    const mf = await managedFields(['as', 'mixed', '-n', 'fleet']);
    expect(summary(mf)).toEqual(['kubectl-client-side-apply:Update', 'kubectl-patch:Update']);
    expect(mf[0].fieldsV1['f:metadata']['f:annotations']).toEqual({
      '.': {},
      'f:kubectl.kubernetes.io/last-applied-configuration': {},
    });
    expect(mf[0].fieldsV1['f:metadata']['f:labels']).toEqual({ '.': {}, 'f:extra': {}, 'f:tier': {} });
    expect(mf[1].fieldsV1).toEqual({ 'f:spec': { 'f:accepted': {} } });
    for (const e of mf)
      expect(e).toMatchObject({
        apiVersion: 'metal.sidero.dev/v1alpha2',
        fieldsType: 'FieldsV1',
        time: expect.stringMatching(/Z$/),
      });

    const kc = await managedFields(['kc', 'simple-cluster']);
    expect(Object.keys(kc[0].fieldsV1['f:spec']['f:topology']['f:workers'])).toEqual(['k:{"name":"worker-pool-1"}']);

    await ok(s, ['patch', 'kc', 'simple-cluster', '--type=merge', '-p', '{"metadata":{"managedFields":[{}]}}']);
    expect(await managedFields(['kc', 'simple-cluster'])).toEqual([]);
  });

  it('moves from client-side to server-side apply (kubectl migrates the ownership) and back', async () => {
    const out = await ok(s, ['apply', '--server-side', '-f', manifest()]);
    expect(out).toBe('adoptedserver.metal.sidero.dev/mixed serverside-applied\n');
    const mf = await managedFields(['as', 'mixed', '-n', 'fleet']);
    expect(summary(mf)).not.toContain('kubectl-client-side-apply:Update');
    expect(summary(mf)).toContain('kubectl:Apply');
    expect(summary(mf)).toContain('kubectl-patch:Update');

    // now owned by the server-side applier: dropping a label and the hostname removes them
    const changed = files.write('mixed.yaml', adoptedServer('mixed', 'fleet', { labels: { tier: 'one' } }));
    await ok(s, ['apply', '--server-side', '-f', changed]);
    const obj = await getJSON(s, ['as', 'mixed', '-n', 'fleet']);
    expect(obj.metadata.labels).toEqual({ tier: 'one' });
    expect(obj.spec.talos.hostname).toBeUndefined();
    expect(obj.spec.accepted).toBe(true); // kubectl-patch's field stays
    expect(
      JSON.parse(obj.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).metadata.labels,
    ).toEqual({ tier: 'one' });

    // the annotation kept up to date lets client-side apply carry on where server-side apply left off:
    // kubectl only rewrites the annotation in its own format (it adds "annotations":{}), as with kube-apiserver
    expect(await ok(s, ['apply', '-f', changed])).toBe('adoptedserver.metal.sidero.dev/mixed configured\n');
    const again = await getJSON(s, ['as', 'mixed', '-n', 'fleet']);
    expect(again.spec).toEqual(obj.spec);
    expect(again.metadata.labels).toEqual(obj.metadata.labels);
    expect(await ok(s, ['apply', '-f', changed])).toBe('adoptedserver.metal.sidero.dev/mixed unchanged\n');
  });
});

describe('kubectl diff (client-side apply)', () => {
  it('shows the pending change (exit 1) and nothing once applied (exit 0)', async () => {
    const f = files.write('csa.yaml', cluster('csa', [['pool-a', 1]]));
    expect(await ok(s, ['apply', '-f', f])).toBe('kubernetescluster.vitistack.io/csa created\n');
    const none = await s.kubectl(['diff', '-f', f]);
    expect(none.code, none.stdout + none.stderr).toBe(0);
    files.write('csa.yaml', cluster('csa', [['pool-a', 4]]));
    const diff = await s.kubectl(['diff', '-f', f]);
    expect(diff.code, diff.stderr).toBe(1);
    expect(changedLines(diff)).toEqual(['- generation: 1', '+ generation: 2', '- replicas: 1', '+ replicas: 4']);
    expect(await ok(s, ['apply', '-f', f])).toBe('kubernetescluster.vitistack.io/csa configured\n');
    expect((await s.kubectl(['diff', '-f', f])).code).toBe(0);
  });
});
