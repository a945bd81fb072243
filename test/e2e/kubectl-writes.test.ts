// The real kubectl writing to the server: create, apply, patch, label, annotate, edit, delete
// (with finalizers), --dry-run=server on every write, --validate, the status subresource,
// namespaces and secrets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';
import {
  adoptedServer,
  createNamespace,
  expectClean,
  expectFailure,
  getJSON,
  kubernetesCluster,
  ok,
  tempDir,
} from './kubectl-helpers.js';

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

describe('kubectl create', () => {
  const NS = 'create';
  beforeAll(() => createNamespace(s, NS));

  it('creates from a file and from stdin, and refuses a second create', async () => {
    const f = files.write('create-as.yaml', adoptedServer('c-1', NS, { hostname: 'c-1' }));
    expect(await ok(s, ['create', '-f', f])).toBe('adoptedserver.metal.sidero.dev/c-1 created\n');
    expect(await ok(s, ['create', '-f', '-'], { input: kubernetesCluster('c-kc', NS) })).toBe(
      'kubernetescluster.vitistack.io/c-kc created\n',
    );
    const obj = await getJSON(s, ['as', 'c-1', '-n', NS]);
    expect(obj.spec.talos).toEqual({ endpoint: '10.0.0.1:50000', nodeType: 'worker', hostname: 'c-1' });
    const again = await s.kubectl(['create', '-f', f]);
    expectFailure(
      again,
      /^Error from server \(AlreadyExists\): error when creating ".*create-as\.yaml": adoptedservers\.metal\.sidero\.dev "c-1" already exists$/m,
    );
  });

  it('creates cluster-scoped kinds', async () => {
    const env =
      'apiVersion: metal.sidero.dev/v1alpha2\nkind: Environment\nmetadata:\n  name: default-env\nspec:\n  kernel:\n    url: http://e/vmlinuz\n';
    expect(await ok(s, ['create', '-f', '-'], { input: env })).toBe(
      'environment.metal.sidero.dev/default-env created\n',
    );
    const out = await ok(s, ['get', 'environments']);
    expect(out).toMatch(/^NAME\s+KERNEL\s+INITRD\s+READY\s+AGE\ndefault-env\s+http:\/\/e\/vmlinuz\s+\d+s\n$/);
  });

  it('rejects an invalid object with the field causes', async () => {
    const bad = adoptedServer('c-bad', NS, { endpoint: 'no-port', nodeType: 'gpu' });
    const r = await s.kubectl(['create', '-f', '-'], { input: bad });
    expectFailure(r, /^The AdoptedServer "c-bad" is invalid: /m);
    expect(r.stderr).toContain(
      'spec.talos.nodeType: Unsupported value: "gpu": supported values: "controlplane", "worker"',
    );
    expect(r.stderr).toMatch(/spec\.talos\.endpoint: Invalid value: "no-port"/);
    expect(await getJSON(s, ['as', 'c-bad', '-n', NS])).toBeUndefined();
    const evenCp = kubernetesCluster('c-even', NS).replace('replicas: 1', 'replicas: 2');
    expectFailure(
      await s.kubectl(['create', '-f', '-'], { input: evenCp }),
      /spec\.topology\.controlplane\.replicas: Invalid value: 2: must be odd/,
    );
  });

  it('names a refused object alike whether the schema or the admission refused it, as kube-apiserver does', async () => {
    const schema = await s.kubectl(['create', '-f', '-'], {
      input: kubernetesCluster('c-schema', NS).replace('name: pool-a', 'name: Pool_A'),
    });
    expectFailure(
      schema,
      /^The KubernetesCluster "c-schema" is invalid: spec\.topology\.workers\[0\]\.name: Invalid value: "Pool_A": must be an RFC 1123 label/m,
    );
    // spec.topology.version beside per-role 1.33: no role reads it, the admission still judges it
    const admission = await s.kubectl(['create', '-f', '-'], {
      input: kubernetesCluster('c-admit', NS).replace(
        'version: "1.33"\n    controlplane',
        'version: "1.20"\n    controlplane',
      ),
    });
    expectFailure(
      admission,
      /^The KubernetesCluster "c-admit" is invalid: spec\.topology\.version: Invalid value: "1\.20": Kubernetes 1\.20 is outside 1\.\d+ – 1\.\d+, the range Talos 1\.\d+ accepts$/m,
    );
    expect(await getJSON(s, ['kc', 'c-schema', '-n', NS])).toBeUndefined();
    expect(await getJSON(s, ['kc', 'c-admit', '-n', NS])).toBeUndefined();
    // the Status's own message, which clients other than kubectl (and the plugin) print: Kind.group "name"
    const raw = await s.request('POST', `/apis/vitistack.io/v1alpha1/namespaces/${NS}/kubernetesclusters`, {
      body: kubernetesCluster('c-admit', NS).replace(
        'version: "1.33"\n    controlplane',
        'version: "1.20"\n    controlplane',
      ),
      headers: { 'content-type': 'application/yaml' },
    });
    expect(raw.status).toBe(422);
    const status = JSON.parse(raw.body) as { message: string; details: Record<string, unknown> };
    expect(status.message).toMatch(/^KubernetesCluster\.vitistack\.io "c-admit" is invalid: spec\.topology\.version: /);
    expect(status.details).toMatchObject({ name: 'c-admit', group: 'vitistack.io', kind: 'KubernetesCluster' });
  });

  it('--dry-run=server validates and answers but stores nothing', async () => {
    const m = adoptedServer('c-dry', NS);
    expect(await ok(s, ['create', '-f', '-', '--dry-run=server'], { input: m })).toBe(
      'adoptedserver.metal.sidero.dev/c-dry created (server dry run)\n',
    );
    const yaml = await ok(s, ['create', '-f', '-', '--dry-run=server', '-o', 'yaml'], { input: m });
    expect(yaml).toMatch(/^ {2}uid: /m);
    expect(yaml).toMatch(/^ {2}creationTimestamp: /m);
    expect(await getJSON(s, ['as', 'c-dry', '-n', NS])).toBeUndefined();
    const invalid = await s.kubectl(['create', '-f', '-', '--dry-run=server'], {
      input: adoptedServer('c-dry', NS, { nodeType: 'gpu' }),
    });
    expectFailure(invalid, /Unsupported value: "gpu"/);
  });
});

describe('kubectl apply (client-side)', () => {
  const NS = 'apply';
  beforeAll(() => createNamespace(s, NS));

  it('created, then configured after a change, then unchanged', async () => {
    const v1 = adoptedServer('a-1', NS, { hostname: 'first', labels: { tier: 'one' } });
    const f = files.write('apply.yaml', v1);
    expect(await ok(s, ['apply', '-f', f])).toBe('adoptedserver.metal.sidero.dev/a-1 created\n');
    const created = await getJSON(s, ['as', 'a-1', '-n', NS]);
    expect(
      JSON.parse(created.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).spec.talos.hostname,
    ).toBe('first');

    // change a field, drop the hostname entirely (apply must remove it), add a label
    files.write(
      'apply.yaml',
      adoptedServer('a-1', NS, { nodeType: 'controlplane', labels: { tier: 'one', extra: 'yes' } }),
    );
    expect(await ok(s, ['apply', '-f', f])).toBe('adoptedserver.metal.sidero.dev/a-1 configured\n');
    const configured = await getJSON(s, ['as', 'a-1', '-n', NS]);
    expect(configured.spec.talos).toEqual({ endpoint: '10.0.0.1:50000', nodeType: 'controlplane' });
    expect(configured.metadata.labels).toEqual({ tier: 'one', extra: 'yes' });
    expect(configured.metadata.generation).toBe(2);

    expect(await ok(s, ['apply', '-f', f])).toBe('adoptedserver.metal.sidero.dev/a-1 unchanged\n');
    const unchanged = await getJSON(s, ['as', 'a-1', '-n', NS]);
    expect(unchanged.metadata.resourceVersion).toBe(configured.metadata.resourceVersion);
  });

  it('applies a multi-document file of several kinds', async () => {
    const f = files.write('apply-multi.yaml', [adoptedServer('a-2', NS), kubernetesCluster('a-kc', NS)].join('---\n'));
    expect(await ok(s, ['apply', '-f', f])).toBe(
      'adoptedserver.metal.sidero.dev/a-2 created\nkubernetescluster.vitistack.io/a-kc created\n',
    );
    const before = await getJSON(s, ['kc', 'a-kc', '-n', NS]);
    // Worker pools carry no server-side defaults, so re-applying an unchanged manifest is a no-op
    // for kubectl too (a default inside a list item would make it resend the list: "configured").
    expect(await ok(s, ['apply', '-f', f])).toBe(
      'adoptedserver.metal.sidero.dev/a-2 unchanged\nkubernetescluster.vitistack.io/a-kc unchanged\n',
    );
    const after = await getJSON(s, ['kc', 'a-kc', '-n', NS]);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.metadata.generation).toBe(1);
  });

  it('--dry-run=server on create and on change stores nothing', async () => {
    expect(await ok(s, ['apply', '-f', '-', '--dry-run=server'], { input: adoptedServer('a-dry', NS) })).toBe(
      'adoptedserver.metal.sidero.dev/a-dry created (server dry run)\n',
    );
    expect(await getJSON(s, ['as', 'a-dry', '-n', NS])).toBeUndefined();
    const before = await getJSON(s, ['as', 'a-2', '-n', NS]);
    expect(
      await ok(s, ['apply', '-f', '-', '--dry-run=server'], {
        input: adoptedServer('a-2', NS, { hostname: 'changed' }),
      }),
    ).toBe('adoptedserver.metal.sidero.dev/a-2 configured (server dry run)\n');
    const after = await getJSON(s, ['as', 'a-2', '-n', NS]);
    expect(after).toEqual(before);
  });

  it('--server-side applies (server-side apply has its own suite: kubectl-server-side-apply.test.ts)', async () => {
    expect(await ok(s, ['apply', '--server-side', '-f', '-'], { input: adoptedServer('a-ssa', NS) })).toBe(
      'adoptedserver.metal.sidero.dev/a-ssa serverside-applied\n',
    );
  });
});

describe('kubectl patch', () => {
  const NS = 'patch';
  beforeAll(async () => {
    await createNamespace(s, NS);
    await ok(s, ['create', '-f', '-'], {
      input: [adoptedServer('p-1', NS, { hostname: 'h1' }), kubernetesCluster('p-kc', NS)].join('---\n'),
    });
  });

  it('--type=merge', async () => {
    expect(
      await ok(s, [
        'patch',
        'as',
        'p-1',
        '-n',
        NS,
        '--type=merge',
        '-p',
        '{"spec":{"accepted":true,"talos":{"hostname":null}}}',
      ]),
    ).toBe('adoptedserver.metal.sidero.dev/p-1 patched\n');
    const obj = await getJSON(s, ['as', 'p-1', '-n', NS]);
    expect(obj.spec.accepted).toBe(true);
    expect(obj.spec.talos.hostname).toBeUndefined();
    expect(obj.metadata.generation).toBe(2);
    expect(await ok(s, ['patch', 'as', 'p-1', '-n', NS, '--type=merge', '-p', '{"spec":{"accepted":true}}'])).toBe(
      'adoptedserver.metal.sidero.dev/p-1 patched (no change)\n',
    );
  });

  it('--type=json', async () => {
    const patch = JSON.stringify([
      { op: 'test', path: '/spec/topology/workers/0/name', value: 'pool-a' },
      { op: 'replace', path: '/spec/topology/workers/0/replicas', value: 5 },
      { op: 'add', path: '/metadata/labels', value: { patched: 'json' } },
    ]);
    expect(await ok(s, ['patch', 'kc', 'p-kc', '-n', NS, '--type=json', '-p', patch])).toBe(
      'kubernetescluster.vitistack.io/p-kc patched\n',
    );
    const obj = await getJSON(s, ['kc', 'p-kc', '-n', NS]);
    expect(obj.spec.topology.workers[0].replicas).toBe(5);
    expect(obj.metadata.labels).toEqual({ patched: 'json' });
  });

  it('a failing json-patch test op changes nothing', async () => {
    const before = await getJSON(s, ['kc', 'p-kc', '-n', NS]);
    const r = await s.kubectl([
      'patch',
      'kc',
      'p-kc',
      '-n',
      NS,
      '--type=json',
      '-p',
      '[{"op":"test","path":"/spec/topology/version","value":"9.9"},{"op":"replace","path":"/spec/topology/version","value":"1.34"}]',
    ]);
    expectFailure(
      r,
      /^The request is invalid: jsonpatch test operation \[0\] failed: the value at "\/spec\/topology\/version" is not equal/m,
    );
    expect(await getJSON(s, ['kc', 'p-kc', '-n', NS])).toEqual(before);
  });

  it('a patch producing an invalid object is rejected', async () => {
    const r = await s.kubectl([
      'patch',
      'kc',
      'p-kc',
      '-n',
      NS,
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/topology/controlplane/replicas","value":2}]',
    ]);
    expectFailure(
      r,
      /KubernetesCluster "p-kc" is invalid: spec\.topology\.controlplane\.replicas: Invalid value: 2: must be odd/,
    );
    const imm = await s.kubectl([
      'patch',
      'kc',
      'p-kc',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"data":{"clusterId":"other"}}}',
    ]);
    expectFailure(imm, /spec\.data\.clusterId: Invalid value: "other": field is immutable/);
  });

  it('default (strategic merge) patch fails with a clear error', async () => {
    const r = await s.kubectl(['patch', 'as', 'p-1', '-n', NS, '-p', '{"spec":{"accepted":false}}']);
    expectFailure(
      r,
      /application\/strategic-merge-patch\+json is not supported by metal\.sidero\.dev\/v1alpha2, Kind=AdoptedServer/,
    );
    expect(r.stderr).toMatch(/application\/json-patch\+json, application\/merge-patch\+json/);
    expect((await getJSON(s, ['as', 'p-1', '-n', NS])).spec.accepted).toBe(true);
  });

  it('--dry-run=server changes nothing', async () => {
    const before = await getJSON(s, ['as', 'p-1', '-n', NS]);
    // kubectl patch does not mark its message as a dry run; the request carries dryRun=All
    const r = await s.kubectl([
      'patch',
      'as',
      'p-1',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"accepted":false}}',
      '--dry-run=server',
      '-v=6',
    ]);
    expectClean(r);
    expect(r.stdout).toBe('adoptedserver.metal.sidero.dev/p-1 patched\n');
    expect(r.stderr).toMatch(/verb="PATCH" url="[^"]*\/adoptedservers\/p-1\?dryRun=All&[^"]*" status="200 OK"/);
    const out = await ok(s, [
      'patch',
      'as',
      'p-1',
      '-n',
      NS,
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/talos/nodeType","value":"controlplane"}]',
      '--dry-run=server',
      '-o',
      'jsonpath={.spec.talos.nodeType}',
    ]);
    expect(out).toBe('controlplane');
    expect(await getJSON(s, ['as', 'p-1', '-n', NS])).toEqual(before);
  });
});

describe('kubectl label and annotate', () => {
  const NS = 'meta';
  beforeAll(async () => {
    await createNamespace(s, NS);
    await ok(s, ['create', '-f', '-'], { input: [adoptedServer('l-1', NS), adoptedServer('l-2', NS)].join('---\n') });
  });

  it('label: add, select, refuse to overwrite, --overwrite, remove with key-', async () => {
    expect(await ok(s, ['label', 'as', 'l-1', '-n', NS, 'env=dev', 'team=metal'])).toBe(
      'adoptedserver.metal.sidero.dev/l-1 labeled\n',
    );
    expect(await ok(s, ['get', 'as', '-n', NS, '-l', 'env=dev', '-o', 'name'])).toBe(
      'adoptedserver.metal.sidero.dev/l-1\n',
    );
    const refused = await s.kubectl(['label', 'as', 'l-1', '-n', NS, 'env=prod']);
    expectFailure(refused, /'env' already has a value \(dev\), and --overwrite is false/);
    expect(await ok(s, ['label', 'as', 'l-1', '-n', NS, 'env=prod', '--overwrite'])).toBe(
      'adoptedserver.metal.sidero.dev/l-1 labeled\n',
    );
    expect(await ok(s, ['label', 'as', 'l-1', '-n', NS, 'team-'])).toBe(
      'adoptedserver.metal.sidero.dev/l-1 unlabeled\n',
    );
    expect((await getJSON(s, ['as', 'l-1', '-n', NS])).metadata.labels).toEqual({ env: 'prod' });
    // labelling every object of a kind
    expect(await ok(s, ['label', 'as', '--all', '-n', NS, 'fleet=a'])).toBe(
      'adoptedserver.metal.sidero.dev/l-1 labeled\nadoptedserver.metal.sidero.dev/l-2 labeled\n',
    );
  });

  it('an invalid label value is rejected (by kubectl, and by the server in a patch)', async () => {
    expectFailure(await s.kubectl(['label', 'as', 'l-2', '-n', NS, 'bad=-x-']), /invalid label value: "bad=-x-"/);
    const r = await s.kubectl([
      'patch',
      'as',
      'l-2',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"metadata":{"labels":{"bad":"-x-"}}}',
    ]);
    expectFailure(r, /AdoptedServer "l-2" is invalid: metadata\.labels: Invalid value: "-x-"/);
  });

  it('label --dry-run=server changes nothing', async () => {
    expect(await ok(s, ['label', 'as', 'l-2', '-n', NS, 'dry=run', '--dry-run=server'])).toBe(
      'adoptedserver.metal.sidero.dev/l-2 labeled (server dry run)\n',
    );
    expect((await getJSON(s, ['as', 'l-2', '-n', NS])).metadata.labels).toEqual({ fleet: 'a' });
  });

  it('annotate: add, refuse to overwrite, --overwrite, remove with key-', async () => {
    expect(await ok(s, ['annotate', 'as', 'l-2', '-n', NS, 'note=first'])).toBe(
      'adoptedserver.metal.sidero.dev/l-2 annotated\n',
    );
    const refused = await s.kubectl(['annotate', 'as', 'l-2', '-n', NS, 'note=second']);
    expectFailure(
      refused,
      /--overwrite is false but found the following declared annotation\(s\): 'note' already has a value \(first\)/,
    );
    expect(await ok(s, ['annotate', 'as', 'l-2', '-n', NS, 'note=second', '--overwrite'])).toBe(
      'adoptedserver.metal.sidero.dev/l-2 annotated\n',
    );
    expect((await getJSON(s, ['as', 'l-2', '-n', NS])).metadata.annotations).toEqual({ note: 'second' });
    expect(await ok(s, ['annotate', 'as', 'l-2', '-n', NS, 'note-'])).toBe(
      'adoptedserver.metal.sidero.dev/l-2 annotated\n',
    );
    expect((await getJSON(s, ['as', 'l-2', '-n', NS])).metadata.annotations).toBeUndefined();
  });

  it('annotate --dry-run=server changes nothing', async () => {
    expect(await ok(s, ['annotate', 'as', 'l-2', '-n', NS, 'dry=run', '--dry-run=server'])).toBe(
      'adoptedserver.metal.sidero.dev/l-2 annotated (server dry run)\n',
    );
    expect((await getJSON(s, ['as', 'l-2', '-n', NS])).metadata.annotations).toBeUndefined();
  });
});

describe('kubectl edit', () => {
  const NS = 'edit';
  beforeAll(async () => {
    await createNamespace(s, NS);
    await ok(s, ['create', '-f', '-'], {
      input: [adoptedServer('e-1', NS), kubernetesCluster('e-kc', NS)].join('---\n'),
    });
  });

  it('saves the change made by KUBE_EDITOR', async () => {
    const editor = files.write(
      'edit-nodetype.sh',
      '#!/bin/sh\nsed -i "s/nodeType: worker/nodeType: controlplane/" "$1"\n',
      0o755,
    );
    expect(await ok(s, ['edit', 'as', 'e-1', '-n', NS], { env: { KUBE_EDITOR: editor } })).toBe(
      'adoptedserver.metal.sidero.dev/e-1 edited\n',
    );
    const obj = await getJSON(s, ['as', 'e-1', '-n', NS]);
    expect(obj.spec.talos.nodeType).toBe('controlplane');
    expect(obj.metadata.generation).toBe(2);
  });

  it('saves the change made by EDITOR, in JSON', async () => {
    const editor = files.write(
      'edit-replicas.sh',
      '#!/bin/sh\nsed -i \'s/"replicas": 2/"replicas": 7/\' "$1"\n',
      0o755,
    );
    // -o json edits in JSON and prints the saved object
    const saved = JSON.parse(await ok(s, ['edit', 'kc', 'e-kc', '-n', NS, '-o', 'json'], { env: { EDITOR: editor } }));
    expect(saved.spec.topology.workers[0].replicas).toBe(7);
    expect((await getJSON(s, ['kc', 'e-kc', '-n', NS])).spec.topology.workers[0].replicas).toBe(7);
  });

  it('an edit that changes nothing is cancelled', async () => {
    const r = await s.kubectl(['edit', 'as', 'e-1', '-n', NS], { env: { KUBE_EDITOR: 'true' } });
    expectClean(r);
    expect(r.stderr).toBe('Edit cancelled, no changes made.\n');
  });
});

describe('kubectl delete', () => {
  const NS = 'delete';
  beforeAll(async () => {
    await createNamespace(s, NS);
    await ok(s, ['create', '-f', '-'], {
      input: ['d-1', 'd-2', 'd-3', 'd-4', 'd-fin']
        .map((n) => adoptedServer(n, NS, { labels: { group: n === 'd-3' || n === 'd-4' ? 'x' : 'y' } }))
        .join('---\n'),
    });
  });

  it('deletes, then NotFound, then --ignore-not-found', async () => {
    expect(await ok(s, ['delete', 'as', 'd-1', '-n', NS])).toBe('adoptedserver.metal.sidero.dev "d-1" deleted\n');
    expect(await getJSON(s, ['as', 'd-1', '-n', NS])).toBeUndefined();
    expectFailure(
      await s.kubectl(['delete', 'as', 'd-1', '-n', NS]),
      /\(NotFound\): adoptedservers\.metal\.sidero\.dev "d-1" not found/,
    );
    const r = await s.kubectl(['delete', 'as', 'd-1', '-n', NS, '--ignore-not-found']);
    expectClean(r);
    expect(r.stdout).toBe('');
  });

  it('deletes by label selector', async () => {
    expect(await ok(s, ['delete', 'as', '-n', NS, '-l', 'group=x'])).toBe(
      'adoptedserver.metal.sidero.dev "d-3" deleted\nadoptedserver.metal.sidero.dev "d-4" deleted\n',
    );
    expect(await ok(s, ['get', 'as', '-n', NS, '-o', 'name'])).toBe(
      'adoptedserver.metal.sidero.dev/d-2\nadoptedserver.metal.sidero.dev/d-fin\n',
    );
  });

  it('--dry-run=server deletes nothing', async () => {
    expect(await ok(s, ['delete', 'as', 'd-2', '-n', NS, '--dry-run=server'])).toBe(
      'adoptedserver.metal.sidero.dev "d-2" deleted (server dry run)\n',
    );
    expect((await getJSON(s, ['as', 'd-2', '-n', NS])).metadata.deletionTimestamp).toBeUndefined();
  });

  it('with a finalizer: the object stays with a deletionTimestamp until the finalizer is removed', async () => {
    await ok(s, [
      'patch',
      'as',
      'd-fin',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["example.com/hold"]}}',
    ]);
    expect(await ok(s, ['delete', 'as', 'd-fin', '-n', NS, '--wait=false'])).toBe(
      'adoptedserver.metal.sidero.dev "d-fin" deleted\n',
    );
    const marked = await getJSON(s, ['as', 'd-fin', '-n', NS]);
    expect(marked.metadata.deletionTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(marked.metadata.finalizers).toEqual(['example.com/hold']);
    // a second delete keeps it marked; spec changes are still allowed while terminating
    await ok(s, ['delete', 'as', 'd-fin', '-n', NS, '--wait=false']);
    await ok(s, ['patch', 'as', 'd-fin', '-n', NS, '--type=merge', '-p', '{"spec":{"accepted":true}}']);
    // adding a new finalizer to a terminating object is refused
    const add = await s.kubectl([
      'patch',
      'as',
      'd-fin',
      '-n',
      NS,
      '--type=json',
      '-p',
      '[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/more"}]',
    ]);
    expectFailure(add, /Forbidden: no new finalizers can be added if the object is being deleted/);
    const got = await ok(s, ['get', 'as', '-n', NS, '-o', 'name']);
    expect(got).toContain('adoptedserver.metal.sidero.dev/d-fin');

    expect(
      await ok(s, [
        'patch',
        'as',
        'd-fin',
        '-n',
        NS,
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/metadata/finalizers"}]',
      ]),
    ).toBe('adoptedserver.metal.sidero.dev/d-fin patched\n');
    expect(await getJSON(s, ['as', 'd-fin', '-n', NS])).toBeUndefined();
  });
});

describe('--validate', () => {
  const NS = 'validate';
  beforeAll(() => createNamespace(s, NS));
  const withUnknown = (name: string) => adoptedServer(name, NS, { extraSpec: '  foo: bar\n' });

  it('--validate=strict: an unknown field is an error naming it', async () => {
    const r = await s.kubectl(['create', '-f', '-', '--validate=strict'], { input: withUnknown('v-strict') });
    expectFailure(r, /unknown field "spec\.foo"/);
    expect(await getJSON(s, ['as', 'v-strict', '-n', NS])).toBeUndefined();
    const applied = await s.kubectl(['apply', '-f', '-', '--validate=strict'], { input: withUnknown('v-strict') });
    expectFailure(applied, /unknown field "spec\.foo"/);
  });

  it('--validate=warn: a warning is printed and the object is created without the field', async () => {
    const r = await s.kubectl(['create', '-f', '-', '--validate=warn'], { input: withUnknown('v-warn') });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('adoptedserver.metal.sidero.dev/v-warn created\n');
    expect(r.stderr).toBe('Warning: unknown field "spec.foo"\n');
    const obj = await getJSON(s, ['as', 'v-warn', '-n', NS]);
    expect(obj.spec).not.toHaveProperty('foo');
  });

  it('--validate=false: no warning, the field is dropped', async () => {
    const r = await s.kubectl(['create', '-f', '-', '--validate=false'], { input: withUnknown('v-off') });
    expectClean(r);
    expect(r.stderr).toBe('');
    expect((await getJSON(s, ['as', 'v-off', '-n', NS])).spec).not.toHaveProperty('foo');
  });
});

describe('status subresource', () => {
  const NS = 'status';
  beforeAll(async () => {
    await createNamespace(s, NS);
    await ok(s, ['create', '-f', '-'], { input: adoptedServer('st-1', NS) });
  });

  it('--subresource=status changes only status and leaves generation alone', async () => {
    const before = await getJSON(s, ['as', 'st-1', '-n', NS]);
    expect(before.metadata.generation).toBe(1);
    const patch =
      '{"status":{"connected":true,"ready":true,"nodeInfo":{"talosVersion":"v1.8.3"}},"spec":{"accepted":true}}';
    expect(await ok(s, ['patch', 'as', 'st-1', '-n', NS, '--subresource=status', '--type=merge', '-p', patch])).toBe(
      'adoptedserver.metal.sidero.dev/st-1 patched\n',
    );
    const after = await getJSON(s, ['as', 'st-1', '-n', NS]);
    expect(after.status).toEqual({ connected: true, ready: true, nodeInfo: { talosVersion: 'v1.8.3' } });
    expect(after.spec).toEqual(before.spec);
    expect(after.metadata.generation).toBe(1);
    // the table shows the status columns now
    expect(await ok(s, ['get', 'as', 'st-1', '-n', NS, '-o', 'wide'])).toMatch(
      /^st-1\s+10\.0\.0\.1:50000\s+worker\s+false\s+true\s+true\s+v1\.8\.3\s+\d+s$/m,
    );
    // kubectl get --subresource=status reads it
    expect(await ok(s, ['get', 'as', 'st-1', '-n', NS, '--subresource=status', '-o', 'jsonpath={.status.ready}'])).toBe(
      'true',
    );
  });

  it('a spec patch bumps generation; the main endpoint ignores status', async () => {
    const before = await getJSON(s, ['as', 'st-1', '-n', NS]);
    await ok(s, [
      'patch',
      'as',
      'st-1',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"accepted":true},"status":{"ready":false}}',
    ]);
    const after = await getJSON(s, ['as', 'st-1', '-n', NS]);
    expect(after.spec.accepted).toBe(true);
    expect(after.status).toEqual(before.status);
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);
    const onlyStatus = await ok(s, [
      'patch',
      'as',
      'st-1',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"status":{"ready":false}}',
    ]);
    expect(onlyStatus).toBe('adoptedserver.metal.sidero.dev/st-1 patched (no change)\n');
    expect((await getJSON(s, ['as', 'st-1', '-n', NS])).metadata.generation).toBe(after.metadata.generation);
  });

  it('a status patch with --dry-run=server changes nothing', async () => {
    const before = await getJSON(s, ['as', 'st-1', '-n', NS]);
    await ok(s, [
      'patch',
      'as',
      'st-1',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"ready":false}}',
      '--dry-run=server',
    ]);
    expect(await getJSON(s, ['as', 'st-1', '-n', NS])).toEqual(before);
  });
});

describe('namespaces', () => {
  it('default and kube-system exist from the start', async () => {
    const out = await ok(s, ['get', 'namespaces', 'default', 'kube-system']);
    expect(out).toMatch(/^NAME\s+STATUS\s+AGE\ndefault\s+Active\s+\S+\nkube-system\s+Active\s+\S+\n$/);
  });

  it('kubectl create namespace, and creating into a missing namespace fails', async () => {
    expect(await ok(s, ['create', 'namespace', 'ns-made'])).toBe('namespace/ns-made created\n');
    expect(await ok(s, ['get', 'ns', 'ns-made', '-o', 'jsonpath={.status.phase}'])).toBe('Active');
    expect(await ok(s, ['create', 'namespace', 'ns-dry', '--dry-run=server'])).toBe(
      'namespace/ns-dry created (server dry run)\n',
    );
    expect(await getJSON(s, ['ns', 'ns-dry'])).toBeUndefined();
    const r = await s.kubectl(['create', '-f', '-'], { input: adoptedServer('orphan', 'ns-missing') });
    expectFailure(r, /namespaces "ns-missing" not found/);
    const r2 = await s.kubectl(['create', 'secret', 'generic', 'x', '-n', 'ns-missing', '--from-literal=a=b']);
    expectFailure(r2, /namespaces "ns-missing" not found/);
  });

  it('deleting a namespace deletes what is in it', async () => {
    await createNamespace(s, 'ns-doomed');
    await ok(s, ['create', '-f', '-'], {
      input: [adoptedServer('in-1', 'ns-doomed'), kubernetesCluster('in-kc', 'ns-doomed')].join('---\n'),
    });
    await ok(s, ['create', 'secret', 'generic', 'in-secret', '-n', 'ns-doomed', '--from-literal=a=b']);
    expect(await ok(s, ['delete', 'namespace', 'ns-doomed', '--timeout=30s'])).toBe('namespace "ns-doomed" deleted\n');
    expect(await getJSON(s, ['ns', 'ns-doomed'])).toBeUndefined();
    for (const kind of ['as', 'kc', 'secrets']) {
      const r = await s.kubectl(['get', kind, '-n', 'ns-doomed', '-o', 'name']);
      expectClean(r);
      expect(r.stdout).toBe('');
    }
    // and a new namespace of the same name starts empty
    await createNamespace(s, 'ns-doomed');
    expect(await ok(s, ['get', 'as', '-n', 'ns-doomed', '-o', 'name'])).toBe('');
  });

  it('kubectl delete namespace default is refused', async () => {
    const r = await s.kubectl(['delete', 'namespace', 'default']);
    expectFailure(r, /\(Forbidden\): namespaces "default" is forbidden: this namespace may not be deleted/);
    expect(await ok(s, ['get', 'ns', 'default', '-o', 'jsonpath={.status.phase}'])).toBe('Active');
  });
});

describe('secrets', () => {
  const NS = 'secrets';
  beforeAll(() => createNamespace(s, NS));

  it('kubectl create secret generic --from-literal; data is base64', async () => {
    expect(
      await ok(s, [
        'create',
        'secret',
        'generic',
        'creds',
        '-n',
        NS,
        '--from-literal=k=hello world',
        '--from-literal=user=admin',
      ]),
    ).toBe('secret/creds created\n');
    expect(await ok(s, ['get', 'secret', 'creds', '-n', NS, '-o', 'jsonpath={.data.k}'])).toBe(
      Buffer.from('hello world').toString('base64'),
    );
    const obj = await getJSON(s, ['secret', 'creds', '-n', NS]);
    expect(obj.type).toBe('Opaque');
    expect(obj.data).toEqual({ k: 'aGVsbG8gd29ybGQ=', user: 'YWRtaW4=' });
    expect(await ok(s, ['get', 'secrets', '-n', NS])).toMatch(
      /^NAME\s+TYPE\s+DATA\s+AGE\ncreds\s+Opaque\s+2\s+\d+s\n$/,
    );
    expect(await ok(s, ['describe', 'secret', 'creds', '-n', NS])).toMatch(/^k:\s+11 bytes$/m);
  });

  it('stringData is merged into data and never stored', async () => {
    const manifest = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: sd\n  namespace: ${NS}\nstringData:\n  token: abc\ntype: Opaque\n`;
    expect(await ok(s, ['apply', '-f', '-'], { input: manifest })).toBe('secret/sd created\n');
    const obj = await getJSON(s, ['secret', 'sd', '-n', NS]);
    expect(obj.data).toEqual({ token: 'YWJj' });
    expect(obj.stringData).toBeUndefined();
  });

  it('--dry-run=server creates no secret', async () => {
    expect(
      await ok(s, ['create', 'secret', 'generic', 'dry', '-n', NS, '--from-literal=a=b', '--dry-run=server']),
    ).toBe('secret/dry created (server dry run)\n');
    expect(await getJSON(s, ['secret', 'dry', '-n', NS])).toBeUndefined();
  });
});
