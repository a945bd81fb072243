import { describe, expect, it } from 'vitest';
import { applyPatch, type Operation } from 'fast-json-patch';
import { kubernetesClusterKind } from '../../../src/api/kubernetescluster.js';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { compileKindSchema } from '../../../src/machinery/schema.js';
import { check, createErrors, yamlDoc } from './helpers.js';

// The example of the Viti Talos operator's README, unchanged (no namespace; non-ASCII zone).
const readmeExample = `
apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata:
  name: simple-cluster
spec:
  data:
    clusterUid: "a30fbc8d-596f-48d0-8541-dbc23bca28a1"
    clusterId: "simple-cluster-id"
    provider: talos
    environment: dev
    datacenter: trd1
    project: simple-project
    region: west-trondelag
    workorder: "simple-workorder"
    zone: "Trøndelag"
    workspace: "simple-workspace"
  topology:
    version: "1.33"
    controlplane:
      replicas: 1
      version: "1.33"
    workers:
      - name: worker-pool-1
        replicas: 2
        version: "1.33"
`;

const kind = kubernetesClusterKind;
const example = () => yamlDoc(readmeExample);
const patched = (ops: Operation[], doc: KubeObject = example()) => applyPatch(doc, ops, true, false).newDocument;
const errorsOf = (obj: unknown) => {
  const { schema, strategy } = createErrors(kind, obj);
  return [...schema, ...strategy.map((e) => e.message)];
};

describe('KubernetesCluster', () => {
  it('accepts the talos-operator README example unchanged', () => {
    const doc = example();
    expect(errorsOf(doc)).toEqual([]);
    expect((doc.spec as { data: { zone: string } }).data.zone).toBe('Trøndelag');
  });

  it('requires exactly the fields the talos-operator README example has', () => {
    const required = [
      ...[
        'clusterUid',
        'clusterId',
        'provider',
        'environment',
        'datacenter',
        'project',
        'region',
        'workorder',
        'zone',
        'workspace',
      ].map((k) => `/spec/data/${k}`),
      '/spec/data',
      '/spec/topology',
      '/spec/topology/version',
      '/spec/topology/controlplane',
      '/spec/topology/controlplane/replicas',
      '/spec/topology/controlplane/version',
      '/spec/topology/workers/0/name',
      '/spec/topology/workers/0/replicas',
      '/spec/topology/workers/0/version',
    ];
    for (const path of required) {
      const missing = path.slice(path.lastIndexOf('/') + 1);
      const parent = path.slice(0, path.lastIndexOf('/'));
      expect(check(kind, patched([{ op: 'remove', path }])).errors, path).toContain(`${parent} required ${missing}`);
    }
    expect(check(kind, { metadata: { name: 'x' } }).errors).toEqual([' required spec']);
  });

  it('leaves the worker list optional, so the last pool can be removed', () => {
    expect(errorsOf(patched([{ op: 'remove', path: '/spec/topology/workers' }]))).toEqual([]);
    expect(errorsOf(patched([{ op: 'remove', path: '/spec/topology/workers/0' }]))).toEqual([]);
  });

  it("accepts every optional field of talos-operator's KubernetesCluster and the talos block", () => {
    const pool = {
      name: 'gpu',
      replicas: 0,
      version: '1.33',
      provider: 'kubevirt',
      providerConfig: { anything: { nested: [1, 2] } },
      machineClass: 'large',
      metadata: { labels: { a: 'b' }, annotations: { c: 'd' } },
      taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }],
      storage: [{ class: 'fast', path: '/var', size: '50Gi' }],
      architecture: 'arm64',
      autoscaling: { enabled: true, minReplicas: 0, maxReplicas: 3, scalingRules: ['cpu>80'] },
      configPatches: [{ op: 'add', path: '/machine/install/wipe', value: true }],
      strategicPatches: ['machine:\n  kubelet: {}\n'],
    };
    const doc = patched([
      { op: 'add', path: '/spec/topology/workers/-', value: pool },
      { op: 'add', path: '/spec/data/networkNamespaceName', value: 'nn' },
      {
        op: 'add',
        path: '/spec/topology/controlplane',
        value: {
          replicas: 3,
          version: '1.33',
          provider: 'kubevirt',
          machineClass: 'large',
          metadata: { labels: {} },
          storage: [{ class: 'c', path: '/', size: '20Gi' }],
          configPatches: [{ op: 'remove', path: '/cluster/proxy' }],
          strategicPatches: [],
        },
      },
      {
        op: 'add',
        path: '/spec/talos',
        value: {
          version: 'v1.10.3',
          endpoint: 'https://10.0.0.10:6443',
          installDisk: '/dev/sda',
          installImage: 'ghcr.io/siderolabs/installer:v1.10.3',
          certSANs: ['api.example.com'],
          network: { podSubnets: ['10.244.0.0/16'], serviceSubnets: ['10.96.0.0/12'], cni: 'none' },
          configPatches: [{ op: 'replace', path: '/machine/time', value: { disabled: true } }],
          strategicPatches: ['cluster:\n  allowSchedulingOnControlPlanes: true\n'],
        },
      },
    ]);
    expect(errorsOf(doc)).toEqual([]);
  });

  it('defaults the control plane architecture to amd64, but not inside worker pool list items', () => {
    const { obj } = check(kind, example());
    const topo = (obj.spec as { topology: { controlplane: object; workers: object[] } }).topology;
    expect(topo.controlplane).toEqual({ replicas: 1, version: '1.33', architecture: 'amd64' });
    // a default inside list items would make every client-side re-apply report "configured"
    expect(topo.workers[0]).toEqual({ name: 'worker-pool-1', replicas: 2, version: '1.33' });
    expect(obj.spec).not.toHaveProperty('talos');
  });

  it('rejects an even number of control planes with the CEL-style message', () => {
    const doc = patched([{ op: 'replace', path: '/spec/topology/controlplane/replicas', value: 2 }]);
    const { schema, strategy } = createErrors(kind, doc);
    expect(schema).toEqual([]);
    expect(strategy).toEqual([
      {
        type: 'FieldValueInvalid',
        field: 'spec.topology.controlplane.replicas',
        message: 'spec.topology.controlplane.replicas: Invalid value: 2: must be odd',
      },
    ]);
    expect(errorsOf(patched([{ op: 'replace', path: '/spec/topology/controlplane/replicas', value: 3 }]))).toEqual([]);
  });

  it('needs at least one control plane and no negative pool', () => {
    expect(errorsOf(patched([{ op: 'replace', path: '/spec/topology/controlplane/replicas', value: 0 }]))).toEqual([
      '/spec/topology/controlplane/replicas minimum',
    ]);
    expect(errorsOf(patched([{ op: 'replace', path: '/spec/topology/workers/0/replicas', value: 0 }]))).toEqual([]);
    expect(errorsOf(patched([{ op: 'replace', path: '/spec/topology/workers/0/replicas', value: -1 }]))).toEqual([
      '/spec/topology/workers/0/replicas minimum',
    ]);
    expect(errorsOf(patched([{ op: 'replace', path: '/spec/topology/workers/0/replicas', value: 1.5 }]))).toEqual([
      '/spec/topology/workers/0/replicas type',
    ]);
  });

  it('rejects duplicate pool names at the repeated item (generic list-map check of the schema)', () => {
    const dup = { name: 'worker-pool-1', replicas: 1, version: '1.33' };
    const doc = patched([
      { op: 'add', path: '/spec/topology/workers/-', value: { name: 'other', replicas: 1, version: '1.33' } },
      { op: 'add', path: '/spec/topology/workers/-', value: dup },
    ]);
    expect(kind.strategy.validate!(doc)).toEqual([]);
    const errors = compileKindSchema(kind).validate(doc);
    expect(errors).toHaveLength(1);
    expect(errors[0].type).toBe('FieldValueDuplicate');
    expect(errors[0].field).toBe('spec.topology.workers[2]');
    expect(errors[0].message).toContain('worker-pool-1');
  });

  it('rejects pool names that are not RFC 1123 labels, bad enums and inverted autoscaling bounds', () => {
    const bad = (value: unknown) => errorsOf(patched([{ op: 'add', path: '/spec/topology/workers/-', value }]));
    expect(bad({ name: 'Pool_1', replicas: 1, version: '1' })).toEqual(['/spec/topology/workers/1/name pattern']);
    expect(bad({ name: 'p', replicas: 1, version: '1', architecture: 'riscv' })).toEqual([
      '/spec/topology/workers/1/architecture enum',
    ]);
    expect(bad({ name: 'p', replicas: 1, version: '1', taints: [{ key: 'k', effect: 'Never' }] })).toEqual([
      '/spec/topology/workers/1/taints/0/effect enum',
    ]);
    expect(bad({ name: 'p', replicas: 1, version: '1', autoscaling: { minReplicas: 3, maxReplicas: 1 } })).toEqual([
      'spec.topology.workers[1].autoscaling.maxReplicas: Invalid value: 1: must be greater than or equal to minReplicas',
    ]);
    expect(bad({ name: 'p', replicas: 1, version: '1', configPatches: [{ op: 'merge', path: '/x' }] })).toEqual([
      '/spec/topology/workers/1/configPatches/0/op enum',
    ]);
  });

  it('makes spec.data.clusterId immutable', () => {
    const old = example();
    const changed = patched([{ op: 'replace', path: '/spec/data/clusterId', value: 'other-id' }], old);
    expect(kind.strategy.validateUpdate!(changed, old)).toEqual([
      {
        type: 'FieldValueInvalid',
        field: 'spec.data.clusterId',
        message: 'spec.data.clusterId: Invalid value: "other-id": field is immutable',
      },
    ]);
    const scaled = patched([{ op: 'replace', path: '/spec/topology/workers/0/replicas', value: 5 }], old);
    expect(kind.strategy.validateUpdate!(scaled, old)).toEqual([]);
  });

  describe("KubeDC's worker-pool JSON-patch commands, translated to spec.topology.workers", () => {
    const scaleUp: Operation[] = [{ op: 'replace', path: '/spec/topology/workers/0/replicas', value: 4 }];
    const scaleDown: Operation[] = [{ op: 'replace', path: '/spec/topology/workers/0/replicas', value: 1 }];
    // KubeDC's infrastructureProvider -> provider, its cloudsigma block -> providerConfig
    const addPool: Operation[] = [
      {
        op: 'add',
        path: '/spec/topology/workers/-',
        value: {
          name: 'high-memory',
          replicas: 2,
          version: '1.33',
          provider: 'cloudsigma',
          providerConfig: { cpu: 4000, memory: 16384, diskSize: 100, imageUUID: 'your-image-uuid', region: 'zrh' },
        },
      },
    ];
    const removePool: Operation[] = [{ op: 'remove', path: '/spec/topology/workers/1' }];

    it('scale up, scale down, add a pool and remove it, each leaving a valid object', () => {
      let doc = example();
      for (const ops of [scaleUp, scaleDown, addPool, removePool]) {
        const next = patched(ops, doc);
        expect(errorsOf(next), JSON.stringify(ops)).toEqual([]);
        expect(kind.strategy.validateUpdate!(next, doc)).toEqual([]);
        doc = next;
      }
      const workers = (doc.spec as { topology: { workers: { name: string; replicas: number }[] } }).topology.workers;
      expect(workers).toEqual([{ name: 'worker-pool-1', replicas: 1, version: '1.33' }]);
    });

    it('keeps the provider block of an added pool as sent', () => {
      const { obj } = check(kind, patched(addPool));
      const pool = (obj.spec as { topology: { workers: Record<string, unknown>[] } }).topology.workers[1]!;
      expect(pool.provider).toBe('cloudsigma');
      expect(pool.providerConfig).toEqual({
        cpu: 4000,
        memory: 16384,
        diskSize: 100,
        imageUUID: 'your-image-uuid',
        region: 'zrh',
      });
    });

    it('rejects an added pool without a version', () => {
      const noVersion: Operation[] = [
        { op: 'add', path: '/spec/topology/workers/-', value: { name: 'high-memory', replicas: 2 } },
      ];
      expect(errorsOf(patched(noVersion))).toEqual(['/spec/topology/workers/1 required version']);
    });
  });

  it('accepts a status as talos-operator writes it', () => {
    const status = {
      phase: 'Ready',
      message: 'ok',
      workers: 2,
      observedGeneration: 1,
      conditions: [
        {
          type: 'Valid',
          status: 'True',
          reason: 'ValidationPassed',
          message: 'ok',
          lastTransitionTime: '2025-06-01T10:00:00Z',
        },
      ],
      state: {
        cluster: { externalId: 'x', price: { monthly: 1 } },
        versions: [{ name: 'talos', version: 'v1.10.3', branch: '' }],
        endpoints: [{ name: 'api', address: 'https://10.0.0.10:6443' }],
        egressIP: '1.2.3.4',
        created: '2025-06-01T10:00:00Z',
        lastUpdated: '2025-06-01T10:00:00Z',
        lastUpdatedBy: 'talos-operator',
      },
    };
    expect(errorsOf({ ...example(), status })).toEqual([]);
  });

  it('is filterable by cluster id, provider, environment and region', () => {
    expect(kind.selectableFields).toEqual([
      'spec.data.clusterId',
      'spec.data.provider',
      'spec.data.environment',
      'spec.data.region',
    ]);
  });
});
