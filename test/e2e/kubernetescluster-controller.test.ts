// The KubernetesCluster controller with the real kubectl: a cluster's Machines are generated with
// their machine configs, follow the spec's replicas, get their configs regenerated when the
// cluster's spec changes them, keep the fields the cluster owns, wait for a terminating Machine
// before the next removal, leave Machines they do not control alone, honour talos-operator's
// do-not-reconcile switch, and go (with their Secrets) when the cluster is deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { createNamespace, eventually, getJSON, ok } from './kubectl-helpers.js';

const NS = 'fleet';
let s: TestServer;

function cluster(
  name: string,
  opts: { workers?: number; installDisk?: string; project?: string; cpReplicas?: number; ns?: string } = {},
): string {
  return `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata: {name: ${name}, namespace: ${opts.ns ?? NS}}
spec:
  data: {clusterUid: u-${name}, clusterId: ${name}-id, provider: talos, environment: dev, datacenter: dc1, project: ${opts.project ?? 'p'}, region: r, workorder: w, zone: z, workspace: ws}
  topology:
    version: "1.33"
    controlplane: {replicas: ${opts.cpReplicas ?? 1}, version: "1.33", provider: kubevirt}
    workers:
      - {name: pool-a, replicas: ${opts.workers ?? 2}, version: "1.33", provider: kubevirt, storage: [{class: fast, path: /, size: 40Gi}]}
  talos: {endpoint: "https://10.20.0.1:6443", version: v1.13.9, installDisk: ${opts.installDisk ?? '/dev/vda'}}
`;
}

/** the v1alpha1 document of a (possibly multi-document) machine config */
const firstDocument = (text: string) => parseAllDocuments(text)[0]!.toJS();
const apply = (text: string) => ok(s, ['apply', '-f', '-'], { input: text });

/** once the controller has acted on the cluster's current generation, and `condition` holds */
async function settled(name: string, condition = 'MachinesReconciled'): Promise<any> {
  const generation = (await getJSON(s, ['-n', NS, 'kc', name])).metadata.generation;
  await ok(s, [
    '-n',
    NS,
    'wait',
    `kc/${name}`,
    `--for=jsonpath={.status.observedGeneration}=${generation}`,
    '--timeout=30s',
  ]);
  await ok(s, ['-n', NS, 'wait', `kc/${name}`, `--for=condition=${condition}`, '--timeout=30s']);
  return getJSON(s, ['-n', NS, 'kc', name]);
}

const machinesOf = async (name: string) =>
  (await getJSON(s, ['-n', NS, 'machines', '-l', `cluster.vitistack.io/cluster-name=${name}`])).items as any[];
const machineNames = async (name: string) => (await machinesOf(name)).map((m) => m.metadata.name).sort();

beforeAll(async () => {
  // the Machines and their configs only: no node is ever given to them (test/e2e/cluster-lifecycle.test.ts)
  s = await startServer({ args: ['--controllers', '*,-adoptedserver,-machine,-clusterlifecycle'] });
  await createNamespace(s, NS);
});

afterAll(async () => {
  await disposeServer(s);
});

describe('a KubernetesCluster with a Talos endpoint', () => {
  it('gets its Machines, each with a generated machine config of its role, and reaches ConfigGenerated', async () => {
    await apply(cluster('prod'));
    const kc = await settled('prod', 'ConfigGenerated');
    expect(kc.status).toMatchObject({ phase: 'ConfigGenerated', workers: 2, observedGeneration: 1 });
    expect(kc.status.message).toBeUndefined();
    expect(await machineNames('prod')).toEqual(['prod-ctp0', 'prod-wrk0', 'prod-wrk1']);
    const wrk = (await machinesOf('prod')).find((m) => m.metadata.name === 'prod-wrk0');
    expect(wrk.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'vitistack.io/v1alpha1',
        kind: 'KubernetesCluster',
        name: 'prod',
        uid: kc.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(wrk.spec).toMatchObject({
      name: 'prod-wrk0',
      provider: 'kubevirt',
      machineClass: 'medium',
      disks: [{ name: 'disk-0', type: 'fast', sizeGB: 40, boot: true }],
    });
    for (const [machine, type] of [
      ['prod-ctp0', 'controlplane'],
      ['prod-wrk0', 'worker'],
    ]) {
      const config = firstDocument(
        await ok(s, ['get', '--raw', `/apis/vitistack.io/v1alpha1/namespaces/${NS}/machines/${machine}/machineconfig`]),
      );
      expect(config.machine.type).toBe(type);
      expect(config.machine.install.disk).toBe('/dev/vda');
    }
    const secrets = (await getJSON(s, ['-n', NS, 'secrets', '-l', 'cluster.vitistack.io/cluster-name=prod'])).items
      .map((x: any) => x.metadata.name)
      .sort();
    expect(secrets).toEqual([
      'prod-ctp0-machineconfig',
      'prod-talos-secrets',
      'prod-talosconfig',
      'prod-wrk0-machineconfig',
      'prod-wrk1-machineconfig',
    ]);
    const events = (
      await getJSON(s, ['-n', NS, 'events', '--field-selector', 'involvedObject.name=prod,reason=SuccessfulCreate'])
    ).items;
    expect(events.map((e: any) => e.message).sort()).toEqual([
      'Created machine: prod-ctp0',
      'Created machine: prod-wrk0',
      'Created machine: prod-wrk1',
    ]);
  });

  it("keeps one secrets bundle: the controller's status writes never store another", async () => {
    const bundle = await getJSON(s, ['-n', NS, 'secret', 'prod-talos-secrets']);
    // each of these writes runs the cluster's admission again
    await apply(cluster('prod', { project: 'p2' }));
    await settled('prod', 'ConfigGenerated');
    const after = await getJSON(s, ['-n', NS, 'secret', 'prod-talos-secrets']);
    expect([after.metadata.uid, after.metadata.resourceVersion]).toEqual([
      bundle.metadata.uid,
      bundle.metadata.resourceVersion,
    ]);
  });

  it('a spec change that changes no config writes no Machine; one that does regenerates every config', async () => {
    const before = new Map((await machinesOf('prod')).map((m) => [m.metadata.name, m]));
    await apply(cluster('prod', { project: 'p3' }));
    await settled('prod', 'ConfigGenerated');
    for (const m of await machinesOf('prod'))
      expect(m.metadata.resourceVersion).toBe(before.get(m.metadata.name).metadata.resourceVersion);

    await apply(cluster('prod', { project: 'p3', installDisk: '/dev/nvme0n1' }));
    await settled('prod', 'ConfigGenerated');
    for (const m of await machinesOf('prod')) {
      const hash = 'talos.vitistack.io/config-hash';
      expect(m.metadata.annotations[hash]).not.toBe(before.get(m.metadata.name).metadata.annotations[hash]);
      const config = firstDocument(
        await ok(s, [
          'get',
          '--raw',
          `/apis/vitistack.io/v1alpha1/namespaces/${NS}/machines/${m.metadata.name}/machineconfig`,
        ]),
      );
      expect(config.machine.install.disk).toBe('/dev/nvme0n1');
    }
  });

  it("puts back a field it owns when a Machine is edited, keeping the edit's other fields", async () => {
    await ok(s, [
      '-n',
      NS,
      'patch',
      'machine',
      'prod-wrk1',
      '--type=merge',
      '-p',
      '{"metadata":{"labels":{"team":"a"}},"spec":{"machineClass":"tiny","sshKeys":["ssh-ed25519 AAAA"]}}',
    ]);
    await ok(s, ['-n', NS, 'wait', 'machine/prod-wrk1', '--for=jsonpath={.spec.machineClass}=medium', '--timeout=30s']);
    const m = await getJSON(s, ['-n', NS, 'machine', 'prod-wrk1']);
    expect([m.metadata.labels.team, m.spec.sshKeys]).toEqual(['a', ['ssh-ed25519 AAAA']]);
  });

  it('scales down one at a time: the next removal waits until a terminating Machine is gone', async () => {
    // a finalizer holds the highest worker in Terminating
    await ok(s, [
      '-n',
      NS,
      'patch',
      'machine',
      'prod-wrk1',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["example.com/drain"]}}',
    ]);
    await apply(cluster('prod', { project: 'p3', installDisk: '/dev/nvme0n1', workers: 0 }));
    const waiting = await settled('prod', 'Valid');
    await ok(s, [
      '-n',
      NS,
      'wait',
      'kc/prod',
      '--for=jsonpath={.status.message}=waiting for machine prod-wrk1 to be deleted',
      '--timeout=30s',
    ]);
    expect(waiting.metadata.generation).toBe(5);
    const held = await getJSON(s, ['-n', NS, 'machine', 'prod-wrk1']);
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expect(await machineNames('prod')).toEqual(['prod-ctp0', 'prod-wrk0', 'prod-wrk1']);
    const status = (await getJSON(s, ['-n', NS, 'kc', 'prod'])).status;
    expect(status.conditions.find((c: any) => c.type === 'MachinesReconciled')).toMatchObject({
      status: 'False',
      reason: 'WaitingForDeletion',
    });
    expect(status.workers).toBe(1);

    await ok(s, ['-n', NS, 'patch', 'machine', 'prod-wrk1', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    const done = await settled('prod', 'ConfigGenerated');
    expect(await machineNames('prod')).toEqual(['prod-ctp0']);
    // a removed Machine's config (secret material, owned by the cluster) is deleted with it
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=delete',
      'secret/prod-wrk0-machineconfig',
      'secret/prod-wrk1-machineconfig',
      '--timeout=30s',
    ]);
    expect(done.status).toMatchObject({ phase: 'ConfigGenerated', workers: 0 });
  });

  it('a damaged secrets bundle is named with the fields to fix, as kube-apiserver names an invalid object', async () => {
    const bundle = await getJSON(s, ['-n', NS, 'secret', 'prod-talos-secrets']);
    const original = bundle.data['secrets.yaml'] as string;
    const damaged = Buffer.from(original, 'base64')
      .toString('utf8')
      .replace(/^(\s+)id: .*$/m, '$1id: ""');
    const setBundle = (b64: string) =>
      ok(s, [
        '-n',
        NS,
        'patch',
        'secret',
        'prod-talos-secrets',
        '--type=merge',
        '-p',
        JSON.stringify({ data: { 'secrets.yaml': b64 } }),
      ]);
    await setBundle(Buffer.from(damaged).toString('base64'));
    try {
      // the cluster's change is stored; its Secrets cannot be written, and the warning says why
      const r = await s.kubectl(['apply', '-f', '-'], { input: cluster('prod', { project: 'p-damaged' }) });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        'the Talos secrets of KubernetesCluster prod could not be written (Secret "prod-talos-secrets" is invalid: data[secrets.yaml].cluster.id: Required value)',
      );
    } finally {
      await setBundle(original);
    }
    await apply(cluster('prod', { project: 'p2' }));
    await settled('prod', 'ConfigGenerated');
  });

  it('deleting the cluster deletes its Machines and their Secrets', async () => {
    await apply(cluster('prod', { project: 'p3', installDisk: '/dev/nvme0n1', workers: 1 }));
    await settled('prod', 'ConfigGenerated');
    expect(await machineNames('prod')).toEqual(['prod-ctp0', 'prod-wrk0']);
    expect(await ok(s, ['-n', NS, 'delete', 'kc', 'prod'])).toBe('kubernetescluster.vitistack.io "prod" deleted\n');
    await ok(s, [
      '-n',
      NS,
      'wait',
      '--for=delete',
      'machine/prod-ctp0',
      'machine/prod-wrk0',
      'secret/prod-ctp0-machineconfig',
      'secret/prod-talos-secrets',
      '--timeout=30s',
    ]);
    expect(await machineNames('prod')).toEqual([]);
  });
});

describe('Machines the cluster does not control', () => {
  it('are left alone; the cluster reports the one in its way, and takes the name once it is gone', async () => {
    await apply(`apiVersion: vitistack.io/v1alpha1
kind: Machine
metadata: {name: other-ctp0, namespace: ${NS}, labels: {owner: me}}
spec: {provider: manual, machineClass: special}
`);
    await apply(cluster('other', { workers: 1 }));
    await ok(s, ['-n', NS, 'wait', 'kc/other', '--for=jsonpath={.status.phase}=ValidationError', '--timeout=30s']);
    const status = (await getJSON(s, ['-n', NS, 'kc', 'other'])).status;
    expect(status.message).toBe('Machine other-ctp0 exists and is not controlled by this cluster');
    expect(status.conditions.find((c: any) => c.type === 'Valid')).toMatchObject({
      status: 'False',
      reason: 'ValidationFailed',
    });
    const mine = await getJSON(s, ['-n', NS, 'machine', 'other-ctp0']);
    expect([mine.spec.machineClass, mine.metadata.ownerReferences]).toEqual(['special', undefined]);
    // nothing was created while the cluster was invalid
    expect(await machineNames('other')).toEqual([]);

    await ok(s, ['-n', NS, 'delete', 'machine', 'other-ctp0']);
    await settled('other', 'ConfigGenerated');
    expect(await machineNames('other')).toEqual(['other-ctp0', 'other-wrk0']);
  });
});

describe('a cluster re-created after `kubectl delete --cascade=orphan`', () => {
  const ownersOf = async (cl: string) =>
    Object.fromEntries((await machinesOf(cl)).map((m) => [m.metadata.name, m.metadata.ownerReferences]));

  it('adopts the Machines it left, keeping them and their names; a Machine of another clusterId is not adopted', async () => {
    await apply(cluster('orph', { workers: 2 }));
    const first = await settled('orph', 'ConfigGenerated');
    const before = new Map((await machinesOf('orph')).map((m) => [m.metadata.name, m.metadata.uid]));
    expect([...before.keys()].sort()).toEqual(['orph-ctp0', 'orph-wrk0', 'orph-wrk1']);
    // a Machine of the same name scheme and cluster label, but another cluster's id
    await apply(`apiVersion: vitistack.io/v1alpha1
kind: Machine
metadata:
  name: orph-wrk7
  namespace: ${NS}
  labels: {cluster.vitistack.io/cluster-name: orph, vitistack.io/clusterid: elsewhere-id, vitistack.io/node-role: worker}
  annotations: {vitistack.io/nodepool: pool-a}
spec: {provider: manual, machineClass: special}
`);

    expect(await ok(s, ['-n', NS, 'delete', 'kc', 'orph', '--cascade=orphan'])).toBe(
      'kubernetescluster.vitistack.io "orph" deleted\n',
    );
    // the garbage collector takes the deleted cluster out of its Machines' owners; the Machines stay
    await eventually(async () => {
      const owners = await ownersOf('orph');
      return Object.values(owners).every((o) => o === undefined) ? owners : undefined;
    }, 'the orphaned Machines without owners');
    expect((await machinesOf('orph')).map((m) => [m.metadata.name, m.metadata.uid]).sort()).toEqual(
      [...before.entries(), ['orph-wrk7', expect.any(String)]].sort(),
    );

    await apply(cluster('orph', { workers: 2 }));
    const again = await settled('orph', 'ConfigGenerated');
    expect(again.metadata.uid).not.toBe(first.metadata.uid);
    expect(again.status.phase).toBe('ConfigGenerated');
    expect(again.status.conditions.find((c: any) => c.type === 'Valid')).toMatchObject({ status: 'True' });
    const adopted = (await machinesOf('orph')).filter((m) => m.metadata.name !== 'orph-wrk7');
    // the same objects (uids kept), now controlled by the new cluster
    expect(adopted.map((m) => [m.metadata.name, m.metadata.uid]).sort()).toEqual([...before.entries()].sort());
    for (const m of adopted)
      expect(m.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'vitistack.io/v1alpha1',
          kind: 'KubernetesCluster',
          name: 'orph',
          uid: again.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    expect((await getJSON(s, ['-n', NS, 'machine', 'orph-wrk7'])).metadata.ownerReferences).toBeUndefined();
    const events = (
      await getJSON(s, ['-n', NS, 'events', '--field-selector', `involvedObject.uid=${again.metadata.uid}`])
    ).items.map((e: any) => `${e.reason}: ${e.message}`);
    expect(events.sort()).toEqual([
      'Adopted: Adopted machine: orph-ctp0',
      'Adopted: Adopted machine: orph-wrk0',
      'Adopted: Adopted machine: orph-wrk1',
    ]);
  });

  it("refuses a left Machine whose clusterid label is not the cluster's, saying so", async () => {
    await ok(s, ['-n', NS, 'delete', 'kc', 'orph', '--cascade=orphan']);
    await eventually(async () => {
      const owners = await ownersOf('orph');
      return Object.values(owners).every((o) => o === undefined) ? owners : undefined;
    }, 'the orphaned Machines without owners');
    // the Machine's admission warns that its cluster is gone (so no config is generated meanwhile)
    const relabel = await s.kubectl([
      '-n',
      NS,
      'label',
      'machine',
      'orph-ctp0',
      '--overwrite',
      'vitistack.io/clusterid=elsewhere-id',
    ]);
    expect([relabel.code, relabel.stdout, relabel.stderr]).toEqual([
      0,
      'machine.vitistack.io/orph-ctp0 labeled\n',
      'Warning: KubernetesCluster orph does not exist (yet): no machine config was generated for orph-ctp0\n',
    ]);
    await apply(cluster('orph', { workers: 2 }));
    await ok(s, ['-n', NS, 'wait', 'kc/orph', '--for=jsonpath={.status.phase}=ValidationError', '--timeout=30s']);
    const kc = await getJSON(s, ['-n', NS, 'kc', 'orph']);
    const why =
      'Machine orph-ctp0 exists and is not controlled by this cluster: its vitistack.io/clusterid label is "elsewhere-id", the cluster\'s spec.data.clusterId is "orph-id"';
    expect(kc.status.message).toBe(why);
    expect(kc.status.conditions.find((c: any) => c.type === 'Valid')).toMatchObject({
      status: 'False',
      reason: 'ValidationFailed',
      message: why,
    });
    // the others fit: they are adopted, the refused one is left as it is
    const owners = await ownersOf('orph');
    expect(owners['orph-ctp0']).toBeUndefined();
    expect(owners['orph-wrk0']?.[0]?.uid).toBe(kc.metadata.uid);
  });
});

describe('clusters this controller does not build', () => {
  it("another provider's cluster is stored and served, and gets no Machines", async () => {
    await apply(cluster('aks1', { workers: 1 }).replace('provider: talos', 'provider: aks'));
    // the same ordering barrier as below
    await apply(cluster('marker0', { workers: 0 }));
    await settled('marker0', 'ConfigGenerated');
    const kc = await getJSON(s, ['-n', NS, 'kc', 'aks1']);
    expect([kc.spec.data.provider, kc.status]).toEqual(['aks', undefined]);
    expect(await machineNames('aks1')).toEqual([]);
  });
});

describe('upgrade.vitistack.io/do-not-reconcile', () => {
  it('leaves the cluster as it is until the annotation goes', async () => {
    await apply(cluster('paused', { workers: 1 }));
    await settled('paused', 'ConfigGenerated');
    await ok(s, ['-n', NS, 'annotate', 'kc', 'paused', 'upgrade.vitistack.io/do-not-reconcile=true']);
    await ok(s, [
      '-n',
      NS,
      'patch',
      'kc',
      'paused',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/topology/workers/0/replicas","value":3}]',
    ]);
    // clusters are reconciled one at a time in the order their changes arrive: once a later
    // cluster is done, the paused one has been looked at (and left alone)
    await apply(cluster('marker', { workers: 0 }));
    await settled('marker', 'ConfigGenerated');
    expect(await machineNames('paused')).toEqual(['paused-ctp0', 'paused-wrk0']);
    expect((await getJSON(s, ['-n', NS, 'kc', 'paused'])).status.observedGeneration).toBe(1);

    await ok(s, ['-n', NS, 'annotate', 'kc', 'paused', 'upgrade.vitistack.io/do-not-reconcile-']);
    await settled('paused', 'ConfigGenerated');
    expect(await machineNames('paused')).toEqual(['paused-ctp0', 'paused-wrk0', 'paused-wrk1', 'paused-wrk2']);
  });
});

describe('deleting the namespace of a cluster', () => {
  it('removes the cluster, its Machines and Secrets, and the namespace itself (nothing is made again meanwhile)', async () => {
    await createNamespace(s, 'doomed');
    await apply(cluster('short', { workers: 2, ns: 'doomed' }));
    await ok(s, ['-n', 'doomed', 'wait', 'kc/short', '--for=condition=ConfigGenerated', '--timeout=30s']);
    expect(await ok(s, ['delete', 'namespace', 'doomed', '--timeout=60s'])).toBe('namespace "doomed" deleted\n');
    expect(await getJSON(s, ['namespace', 'doomed'])).toBeUndefined();
    expect((await getJSON(s, ['-n', 'doomed', 'machines'])).items).toEqual([]);
    expect((await getJSON(s, ['-n', 'doomed', 'secrets'])).items).toEqual([]);
  });
});
