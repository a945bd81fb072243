// Garbage collection in standalone mode, driven by the real kubectl: `kubectl delete` with each
// --cascade policy, the Secrets a KubernetesCluster owns going with it, and dependents whose owner
// never existed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';
import { createNamespace, eventually, expectClean, getJSON, ok } from './kubectl-helpers.js';

const NS = 'gc';
let s: TestServer;

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  await createNamespace(s, NS);
});

afterAll(async () => {
  await disposeServer(s);
});

/** a Secret owned by the objects given (uid and kind), optionally held by a finalizer */
function ownedSecret(
  name: string,
  owners: { apiVersion: string; kind: string; name: string; uid: string }[],
  finalizers: string[] = [],
  blockOwnerDeletion = true,
): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: NS, ownerReferences: owners.map((o) => ({ ...o, blockOwnerDeletion })), finalizers },
    stringData: { k: 'v' },
  });
}

async function ownerSecret(name: string): Promise<{ apiVersion: string; kind: string; name: string; uid: string }> {
  await ok(s, ['-n', NS, 'create', 'secret', 'generic', name, '--from-literal=a=b']);
  const obj = await getJSON(s, ['-n', NS, 'secret', name]);
  return { apiVersion: 'v1', kind: 'Secret', name, uid: obj.metadata.uid };
}

async function waitDeleted(...names: string[]): Promise<void> {
  const r = await s.kubectl(['-n', NS, 'wait', '--for=delete', ...names.map((n) => `secret/${n}`), '--timeout=30s']);
  expect(r.code, r.stderr).toBe(0);
}

describe('garbage collection', () => {
  it('deleting a KubernetesCluster deletes the Secrets it owns (background cascade)', async () => {
    const cluster = `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata: {name: gone, namespace: ${NS}}
spec:
  data: {clusterUid: u-gone, clusterId: gone-id, provider: talos, environment: dev, datacenter: dc1, project: p, region: r, workorder: w, zone: z, workspace: ws}
  topology:
    version: "1.33"
    controlplane: {replicas: 1, version: "1.33"}
    workers: []
  talos: {endpoint: "https://10.10.0.1:6443", version: v1.13.9, installDisk: /dev/vda}
`;
    await ok(s, ['apply', '-f', '-'], { input: cluster });
    const owned = (await getJSON(s, ['-n', NS, 'secrets', '-l', 'cluster.vitistack.io/cluster-name=gone'])).items
      .map((x: any) => x.metadata.name)
      .sort();
    expect(owned).toEqual(['gone-talos-secrets', 'gone-talosconfig']);
    expect(await ok(s, ['-n', NS, 'delete', 'kc', 'gone'])).toBe('kubernetescluster.vitistack.io "gone" deleted\n');
    await waitDeleted(...owned);
    expect(
      await ok(s, ['-n', NS, 'get', 'secrets', '-l', 'cluster.vitistack.io/cluster-name=gone', '-o', 'name']),
    ).toBe('');
  });

  it('--cascade=foreground keeps the owner until its dependents are gone', async () => {
    const owner = await ownerSecret('fg-owner');
    await ok(s, ['apply', '-f', '-'], { input: ownedSecret('fg-dep', [owner], ['example.com/hold']) });
    await ok(s, ['apply', '-f', '-'], { input: ownedSecret('fg-dep-2', [owner]) });
    expect(await ok(s, ['-n', NS, 'delete', 'secret', 'fg-owner', '--cascade=foreground', '--wait=false'])).toBe(
      'secret "fg-owner" deleted\n',
    );

    // the collector deletes the dependents; the held one stays (terminating) and so does the owner
    await waitDeleted('fg-dep-2');
    const held = await eventually(async () => {
      const dep = await getJSON(s, ['-n', NS, 'secret', 'fg-dep']);
      return dep?.metadata.deletionTimestamp ? dep : undefined;
    }, 'the held dependent to be terminating');
    expect(held.metadata.finalizers).toEqual(['example.com/hold']);
    const waiting = await getJSON(s, ['-n', NS, 'secret', 'fg-owner']);
    expect(waiting.metadata.deletionTimestamp).toBeDefined();
    expect(waiting.metadata.finalizers).toEqual(['foregroundDeletion']);

    await ok(s, ['-n', NS, 'patch', 'secret', 'fg-dep', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await waitDeleted('fg-dep', 'fg-owner');
  });

  it('--cascade=foreground does not wait for a dependent whose reference does not block owner deletion', async () => {
    const owner = await ownerSecret('fgl-owner');
    await ok(s, ['apply', '-f', '-'], { input: ownedSecret('fgl-dep', [owner], ['example.com/hold'], false) });
    // kubectl waits for the owner to be gone: it goes although its held dependent stays
    const r = await s.kubectl(['-n', NS, 'delete', 'secret', 'fgl-owner', '--cascade=foreground', '--timeout=30s']);
    expectClean(r);
    expect(await getJSON(s, ['-n', NS, 'secret', 'fgl-owner'])).toBeUndefined();
    const dep = await eventually(async () => {
      const d = await getJSON(s, ['-n', NS, 'secret', 'fgl-dep']);
      return d?.metadata.deletionTimestamp ? d : undefined;
    }, 'the loose dependent to be terminating');
    expect(dep.metadata.finalizers).toEqual(['example.com/hold']);
    await ok(s, ['-n', NS, 'patch', 'secret', 'fgl-dep', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await waitDeleted('fgl-dep');
  });

  it('--cascade=orphan deletes the owner and leaves its dependents without the reference', async () => {
    const owner = await ownerSecret('or-owner');
    const other = await ownerSecret('or-other');
    await ok(s, ['apply', '-f', '-'], { input: ownedSecret('or-dep', [owner]) });
    await ok(s, ['apply', '-f', '-'], { input: ownedSecret('or-dep-shared', [owner, other]) });
    // kubectl waits until the owner is gone, which needs the collector to drop the orphan finalizer
    const r = await s.kubectl(['-n', NS, 'delete', 'secret', 'or-owner', '--cascade=orphan', '--timeout=30s']);
    expectClean(r);
    expect(r.stdout).toBe('secret "or-owner" deleted\n');
    expect(await getJSON(s, ['-n', NS, 'secret', 'or-owner'])).toBeUndefined();
    const dep = await getJSON(s, ['-n', NS, 'secret', 'or-dep']);
    expect(dep.metadata.ownerReferences).toBeUndefined();
    expect(dep.metadata.deletionTimestamp).toBeUndefined();
    const shared = await getJSON(s, ['-n', NS, 'secret', 'or-dep-shared']);
    expect(shared.metadata.ownerReferences.map((o: any) => o.name)).toEqual(['or-other']);
  });

  it('a dependent is deleted only when every owner is gone', async () => {
    const a = await ownerSecret('two-a');
    const b = await ownerSecret('two-b');
    await ok(s, ['apply', '-f', '-'], { input: ownedSecret('two-dep', [a, b]) });
    await ok(s, ['-n', NS, 'delete', 'secret', 'two-a']);
    // the owner left is read back before deciding; the dependent is deleted once it goes too
    await ok(s, ['-n', NS, 'delete', 'secret', 'two-b']);
    await waitDeleted('two-dep');
  });

  it('a dependent whose owner never existed is deleted; a namesake with another uid is not its owner', async () => {
    // an owner of a kind this server does not serve cannot be proven absent, so (as with kube's
    // collector) its dependent stays; it is written first, so the collector has looked at it by
    // the time it deletes the later one
    const foreign = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'elsewhere',
      uid: '22222222-2222-2222-2222-222222222222',
    };
    await ok(s, ['apply', '-f', '-'], { input: ownedSecret('foreign-dep', [foreign]) });
    await ok(s, ['apply', '-f', '-'], {
      input: ownedSecret('lost-dep', [
        { apiVersion: 'v1', kind: 'Secret', name: 'nobody', uid: '00000000-0000-0000-0000-000000000000' },
      ]),
    });
    await ownerSecret('namesake');
    await ok(s, ['apply', '-f', '-'], {
      input: ownedSecret('namesake-dep', [
        { apiVersion: 'v1', kind: 'Secret', name: 'namesake', uid: '11111111-1111-1111-1111-111111111111' },
      ]),
    });
    await waitDeleted('lost-dep', 'namesake-dep');
    expect(await getJSON(s, ['-n', NS, 'secret', 'namesake'])).toBeDefined();
    const foreignDep = await getJSON(s, ['-n', NS, 'secret', 'foreign-dep']);
    expect(foreignDep, 'the dependent of a foreign owner was deleted').toBeDefined();
    expect(foreignDep.metadata.deletionTimestamp).toBeUndefined();
  });
});
