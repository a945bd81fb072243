// The KubernetesCluster controller's planner and status: which Machines a spec asks for, which one
// goes next on a scale-down, what drifted, and what the cluster's status says about it.
import { describe, expect, it } from 'vitest';
import {
  adoptable,
  adoptionPatch,
  machineManifest,
  planCluster,
  sizeInGB,
} from '../../../src/controllers/kubernetescluster/plan.js';
import { clusterStatus } from '../../../src/controllers/kubernetescluster/status.js';
import type { KubeObject } from '../../../src/machinery/kind.js';

function cluster(
  workers: { name: string; replicas: number; [k: string]: unknown }[],
  cp: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name: 'c', namespace: 'ns', uid: 'uid-c', generation: 3 },
    spec: {
      data: { clusterId: 'c-id', networkNamespaceName: 'net' },
      topology: { version: '1.33', controlplane: { replicas: 1, version: '1.33', ...cp }, workers },
    },
  };
}

/** a Machine as the controller would have made it, or as `meta` changes it */
function machine(c: KubeObject, name: string, pool?: string, meta: Partial<KubeObject['metadata']> = {}): KubeObject {
  const plan = planCluster(c, []);
  const d = plan.create.find((x) => x.name === name) ?? {
    ...plan.create[0]!,
    name,
    pool,
    annotations: pool ? { 'vitistack.io/nodepool': pool } : {},
  };
  const m = machineManifest(c, {
    ...d,
    role: pool ? 'worker' : 'controlplane',
    labels: { ...d.labels, 'vitistack.io/node-role': pool ? 'worker' : 'controlplane' },
    annotations: pool ? { 'vitistack.io/nodepool': pool } : {},
    spec: { ...d.spec, name },
  });
  return { ...m, metadata: { ...m.metadata, uid: `uid-${name}`, ...meta } };
}

const names = (xs: { name?: string; metadata?: { name?: string } }[]) =>
  xs.map((x) => x.name ?? x.metadata?.name).sort();

describe('planCluster', () => {
  it('asks for <cluster>-ctp<i> control planes (at least one) and pool workers from one index space', () => {
    const c = cluster(
      [
        { name: 'a', replicas: 2 },
        { name: 'b', replicas: 1, provider: 'cloudsigma', machineClass: 'big' },
      ],
      { replicas: 3 },
    );
    const plan = planCluster(c, []);
    expect(names(plan.create)).toEqual(['c-ctp0', 'c-ctp1', 'c-ctp2', 'c-wrk0', 'c-wrk1', 'c-wrk2']);
    const b = plan.create.find((d) => d.pool === 'b')!;
    expect(b.name).toBe('c-wrk2');
    expect(b.labels).toEqual({
      'cluster.vitistack.io/cluster-name': 'c',
      'vitistack.io/clusterid': 'c-id',
      'vitistack.io/node-role': 'worker',
    });
    expect(b.annotations).toEqual({ 'vitistack.io/nodepool': 'b' });
    expect(b.spec).toEqual({
      name: 'c-wrk2',
      machineClass: 'big',
      provider: 'cloudsigma',
      os: { family: 'linux', distribution: 'talos', architecture: 'amd64' },
      tags: { cluster: 'c-id', role: 'worker', nodepool: 'b' },
      network: { networkNamespaceName: 'net' },
    });
    expect(plan.create.find((d) => d.name === 'c-ctp0')!.spec).toMatchObject({ machineClass: 'large', provider: '' });
    const m = machineManifest(c, b);
    expect(m.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'vitistack.io/v1alpha1',
        kind: 'KubernetesCluster',
        name: 'c',
        uid: 'uid-c',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it('turns storage into disks, the first one booting', () => {
    const plan = planCluster(
      cluster([], {
        storage: [
          { class: 'fast', path: '/', size: '50Gi' },
          { class: 'slow', path: '/data', size: '1Ti' },
        ],
      }),
      [],
    );
    expect(plan.create[0]!.spec.disks).toEqual([
      { name: 'disk-0', type: 'fast', sizeGB: 50, boot: true },
      { name: 'disk-1', type: 'slow', sizeGB: 1024, boot: false },
    ]);
    expect([sizeInGB('512Mi'), sizeInGB('80G'), sizeInGB('lots'), sizeInGB('100000Ti')]).toEqual([
      1,
      80,
      undefined,
      undefined,
    ]);
  });

  it('a new worker takes the lowest free index, never one a Machine still holds', () => {
    const c = cluster([
      { name: 'a', replicas: 2 },
      { name: 'b', replicas: 2 },
    ]);
    const existing = [
      machine(c, 'c-ctp0'),
      machine(c, 'c-wrk0', 'a'),
      machine(c, 'c-wrk3', 'b'),
      machine(c, 'c-wrk1', 'b', { deletionTimestamp: '2026-01-01T00:00:00Z' }),
    ];
    const plan = planCluster(c, existing);
    // wrk1 is terminating: its name is still taken
    expect(plan.create.map((d) => `${d.name}/${d.pool}`)).toEqual(['c-wrk2/a', 'c-wrk4/b']);
    expect(plan.terminating).toEqual(['c-wrk1']);
    expect(plan.remove).toBeUndefined();
  });

  it('scales down one at a time: control planes first, the highest index first, none while one is terminating', () => {
    const c = cluster([{ name: 'a', replicas: 1 }], { replicas: 1 });
    const existing = [
      machine(c, 'c-ctp0'),
      machine(c, 'c-ctp1'),
      machine(c, 'c-ctp2'),
      machine(c, 'c-wrk0', 'a'),
      machine(c, 'c-wrk2', 'a'),
      machine(c, 'c-wrk10', 'a'),
      machine(c, 'c-wrk5', 'gone'),
    ];
    const first = planCluster(c, existing);
    expect(first.remove?.metadata.name).toBe('c-ctp2');
    const next = planCluster(
      c,
      existing.filter((m) => !m.metadata.name!.startsWith('c-ctp2') && !m.metadata.name!.startsWith('c-ctp1')),
    );
    // indices compare as numbers: wrk10 is the highest; the pool kept its lowest, wrk0
    expect(next.remove?.metadata.name).toBe('c-wrk10');
    expect(next.desired.map((d) => d.name)).toEqual(['c-ctp0', 'c-wrk0']);
    const waiting = planCluster(
      c,
      existing.map((m) =>
        m.metadata.name === 'c-ctp2' ? { ...m, metadata: { ...m.metadata, deletionTimestamp: 'x' } } : m,
      ),
    );
    expect(waiting.remove).toBeUndefined();
    expect(waiting.workers).toBe(4);
  });

  it('touches no Machine it does not control, and names the one in its way', () => {
    const c = cluster([{ name: 'a', replicas: 1 }]);
    const foreign = { ...machine(c, 'c-ctp0'), metadata: { name: 'c-ctp0', namespace: 'ns', uid: 'x', labels: {} } };
    const loose = {
      ...machine(c, 'c-wrk7', 'a'),
      metadata: { name: 'c-wrk7', namespace: 'ns', uid: 'y', annotations: { 'vitistack.io/nodepool': 'a' } },
    };
    const plan = planCluster(c, [foreign, loose]);
    expect(plan.problems).toEqual(['Machine c-ctp0 exists and is not controlled by this cluster']);
    expect([plan.create, plan.update, plan.remove]).toEqual([[], [], undefined]);
    const status = clusterStatus([], {
      plan,
      waitingForSecrets: false,
      failedCreates: [],
      hasEndpoint: true,
      generation: 3,
    });
    expect(status).toMatchObject({
      phase: 'ValidationError',
      message: 'Machine c-ctp0 exists and is not controlled by this cluster',
      observedGeneration: 3,
    });
  });

  it('adopts controller-less Machines that carry its identity; names why it refuses the others', () => {
    const c = cluster([{ name: 'a', replicas: 2 }]);
    const orphaned = (name: string, pool?: string, labels: Record<string, string> = {}) => {
      const m = machine(c, name, pool);
      const { ownerReferences: _gone, ...meta } = m.metadata;
      return { ...m, metadata: { ...meta, resourceVersion: '7', labels: { ...m.metadata.labels, ...labels } } };
    };
    const ctp0 = orphaned('c-ctp0');
    const wrk1 = orphaned('c-wrk1', 'a');
    // an old uid that is not a controller stays beside the new controller reference
    const bare = orphaned('c-wrk0', 'a');
    const wrk0: KubeObject = {
      ...bare,
      metadata: { ...bare.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'cm' }] },
    };
    const otherId = orphaned('c-wrk2', 'a', { 'vitistack.io/clusterid': 'someone-else' });
    const otherName = orphaned('c-wrk3', 'a', { 'cluster.vitistack.io/cluster-name': 'd' });
    const notOurScheme = orphaned('c-node1', 'a');
    const all = [ctp0, wrk0, wrk1, otherId, otherName, notOurScheme];
    expect(names(adoptable(c, all))).toEqual(['c-ctp0', 'c-wrk0', 'c-wrk1']);
    expect(adoptionPatch(c, wrk0)).toEqual({
      metadata: {
        uid: 'uid-c-wrk0',
        resourceVersion: '7',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'cm' },
          {
            apiVersion: 'vitistack.io/v1alpha1',
            kind: 'KubernetesCluster',
            name: 'c',
            uid: 'uid-c',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
    });
    // without a clusterid label the cluster-name label and the name suffice
    const { 'vitistack.io/clusterid': _id, ...noId } = ctp0.metadata.labels!;
    expect(names(adoptable(c, [{ ...ctp0, metadata: { ...ctp0.metadata, labels: noId } }]))).toEqual(['c-ctp0']);

    // a Machine in the way of a name the cluster needs: the problem says why it is not adopted
    const planOf = (m: KubeObject) => planCluster(c, [m]).problems;
    expect(planOf({ ...otherId, metadata: { ...otherId.metadata, name: 'c-ctp0' } })).toEqual([
      'Machine c-ctp0 exists and is not controlled by this cluster: its vitistack.io/clusterid label is "someone-else", the cluster\'s spec.data.clusterId is "c-id"',
    ]);
    const owned = machine(c, 'c-ctp0', undefined, {
      ownerReferences: [
        { apiVersion: 'vitistack.io/v1alpha1', kind: 'KubernetesCluster', name: 'b', uid: 'uid-b', controller: true },
      ],
    });
    expect(adoptable(c, [owned])).toEqual([]);
    expect(planOf(owned)).toEqual([
      'Machine c-ctp0 exists and is not controlled by this cluster: KubernetesCluster b (uid uid-b) controls it',
    ]);
    expect(planOf({ ...otherName, metadata: { ...otherName.metadata, name: 'c-ctp0' } })).toEqual([
      'Machine c-ctp0 exists and is not controlled by this cluster: its cluster.vitistack.io/cluster-name label is "d"',
    ]);
  });

  it("patches only the owned fields that drifted, keeping the Machine's other labels, tags and os keys", () => {
    const c = cluster([{ name: 'a', replicas: 1, machineClass: 'xl' }]);
    const m = machine(c, 'c-wrk0', 'a');
    const drifted = {
      ...m,
      metadata: { ...m.metadata, labels: { ...m.metadata.labels, mine: 'yes', 'vitistack.io/node-role': 'nope' } },
      spec: {
        ...(m.spec as object),
        machineClass: 'small',
        tags: { cluster: 'c-id', role: 'worker', nodepool: 'a', extra: '1' },
        os: { family: 'linux', distribution: 'talos', architecture: 'amd64', imageID: 'img' },
        disks: [{ name: 'd' }],
      },
    };
    const plan = planCluster(c, [machine(c, 'c-ctp0'), drifted]);
    expect(plan.update).toEqual([
      {
        name: 'c-wrk0',
        patch: {
          metadata: { labels: { 'vitistack.io/node-role': 'worker' } },
          spec: { machineClass: 'xl', disks: null },
        },
      },
    ]);
    expect(
      planCluster(c, [machine(c, 'c-ctp0'), { ...m, spec: { ...(m.spec as object), machineClass: 'xl' } }]).update,
    ).toEqual([]);
  });

  it("carries a pool's serverClass to its Machines as an annotation, and takes it away with the pool's", () => {
    const c = cluster([{ name: 'a', replicas: 1, serverClass: 'rack-a' }], { serverClass: 'rack-cp' });
    const byName = Object.fromEntries(planCluster(c, []).create.map((d) => [d.name, d.annotations]));
    expect(byName['c-ctp0']).toEqual({ 'metal.sidero.dev/serverclass': 'rack-cp' });
    expect(byName['c-wrk0']).toEqual({ 'vitistack.io/nodepool': 'a', 'metal.sidero.dev/serverclass': 'rack-a' });
    const m = machine(c, 'c-wrk0', 'a');
    const noClass = cluster([{ name: 'a', replicas: 1 }]);
    const bound = {
      ...m,
      metadata: { ...m.metadata, annotations: { ...m.metadata.annotations, 'metal.sidero.dev/serverclass': 'rack-a' } },
    };
    expect(planCluster(noClass, [machine(noClass, 'c-ctp0'), bound]).update).toEqual([
      { name: 'c-wrk0', patch: { metadata: { annotations: { 'metal.sidero.dev/serverclass': null } } } },
    ]);
    expect(planCluster(c, [machine(c, 'c-ctp0'), m]).update).toEqual([
      { name: 'c-ctp0', patch: { metadata: { annotations: { 'metal.sidero.dev/serverclass': 'rack-cp' } } } },
      { name: 'c-wrk0', patch: { metadata: { annotations: { 'metal.sidero.dev/serverclass': 'rack-a' } } } },
    ]);
  });

  it('labels with the clusterId only when it is a valid label value', () => {
    const c = cluster([]);
    (c.spec as any).data.clusterId = 'Team A / prod';
    expect(planCluster(c, []).create[0]!.labels).toEqual({
      'cluster.vitistack.io/cluster-name': 'c',
      'vitistack.io/node-role': 'controlplane',
    });
  });

  it("keeps a disk's device (and the other keys the pool does not set) while putting back the pool's", () => {
    const storage = [
      { class: 'fast', path: '/', size: '40Gi' },
      { class: 'slow', path: '/data', size: '100Gi' },
    ];
    const c = cluster([{ name: 'a', replicas: 1, storage }]);
    const m = machine(c, 'c-wrk0', 'a');
    const disks = (m.spec as { disks: Record<string, unknown>[] }).disks;
    expect(disks).toEqual([
      { name: 'disk-0', type: 'fast', sizeGB: 40, boot: true },
      { name: 'disk-1', type: 'slow', sizeGB: 100, boot: false },
    ]);
    // a provider (or a user) says where the disks are, in its own key order
    const located = {
      ...m,
      spec: {
        ...(m.spec as object),
        disks: [
          { device: '/dev/vda', boot: true, name: 'disk-0', sizeGB: 40, type: 'fast' },
          { ...disks[1], device: '/dev/vdb', encrypted: true },
        ],
      },
    };
    expect(planCluster(c, [machine(c, 'c-ctp0'), located]).update).toEqual([]);

    // the pool's own keys drifted (or the pool changed): they go back, the device stays
    const edited = {
      ...located,
      spec: {
        ...located.spec,
        disks: [{ ...located.spec.disks[0], sizeGB: 10, type: 'cheap' }, located.spec.disks[1]],
      },
    };
    const grown = cluster([{ name: 'a', replicas: 1, storage: [{ ...storage[0], size: '80Gi' }, storage[1]] }]);
    expect(planCluster(grown, [machine(c, 'c-ctp0'), edited]).update).toEqual([
      {
        name: 'c-wrk0',
        patch: {
          spec: {
            disks: [
              { name: 'disk-0', type: 'fast', sizeGB: 80, boot: true, device: '/dev/vda' },
              { name: 'disk-1', type: 'slow', sizeGB: 100, boot: false, device: '/dev/vdb', encrypted: true },
            ],
          },
        },
      },
    ]);
    // a disk the pool no longer has goes, with its device
    const shrunk = cluster([{ name: 'a', replicas: 1, storage: [storage[0]] }]);
    expect(planCluster(shrunk, [machine(c, 'c-ctp0'), located]).update[0]!.patch).toEqual({
      spec: { disks: [{ name: 'disk-0', type: 'fast', sizeGB: 40, boot: true, device: '/dev/vda' }] },
    });
  });

  it('refuses names that would not fit their machine-config Secret', () => {
    const c = cluster([{ name: 'a', replicas: 1 }]);
    c.metadata.name = 'x'.repeat(240);
    expect(planCluster(c, []).problems[0]).toMatch(/exceed 253 characters/);
  });
});

describe('clusterStatus', () => {
  const c = cluster([{ name: 'a', replicas: 1 }]);
  it('is Pending while machines are made or configs missing, ConfigGenerated once every Machine has its config', () => {
    const creating = clusterStatus([], {
      plan: planCluster(c, []),
      waitingForSecrets: false,
      failedCreates: [],
      hasEndpoint: true,
      generation: 3,
    });
    expect(creating).toMatchObject({ phase: 'Pending', message: 'creating machines: c-ctp0, c-wrk0', workers: 0 });
    const configured = (m: KubeObject) => ({
      ...m,
      metadata: {
        ...m.metadata,
        annotations: { ...m.metadata.annotations, 'talos.vitistack.io/machineconfig-secret': 's' },
      },
    });
    const all = [configured(machine(c, 'c-ctp0')), configured(machine(c, 'c-wrk0', 'a'))];
    const done = clusterStatus(creating.conditions, {
      plan: planCluster(c, all),
      waitingForSecrets: false,
      failedCreates: [],
      hasEndpoint: true,
      generation: 3,
    });
    expect(done.phase).toBe('ConfigGenerated');
    expect(done.message).toBeUndefined();
    expect(done.conditions.map((x) => `${x.type}=${x.status}/${x.reason}`)).toEqual([
      'ConfigGenerated=True/Generated',
      'MachinesReconciled=True/InSync',
      'Valid=True/ValidationPassed',
    ]);
    const noEndpoint = clusterStatus([], {
      plan: planCluster(c, all),
      waitingForSecrets: false,
      failedCreates: [],
      hasEndpoint: false,
      generation: 3,
    });
    expect(noEndpoint).toMatchObject({
      phase: 'Pending',
      message: 'spec.talos.endpoint is not set: machine configs are generated once it is',
    });
  });
});
