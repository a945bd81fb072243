// Upstream example manifests, unchanged: the AdoptedServer manifests of Sidero Metal's Adopted
// Server feature (its ```yaml block and its `kubectl apply -f - <<EOF` heredoc), the
// KubernetesCluster of the Viti Talos operator's README, the kubectl commands those documents show,
// and KubeDC's JSON-patch scale up / scale down / add pool / remove pool sequence for worker pools,
// translated to our KubernetesCluster's spec.topology.workers list.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { FIXTURES, expectClean, expectFailure, fixture, getJSON, ok } from './kubectl-helpers.js';

let s: TestServer;
const CONTROL = join(FIXTURES, 'upstream-examples/adoptedserver-spokane-control-1.yaml');
const WORKER = join(FIXTURES, 'upstream-examples/adoptedserver-spokane-worker-1.yaml');
const CLUSTER = join(FIXTURES, 'upstream-examples/kubernetescluster-simple-cluster.yaml');

beforeAll(async () => {
  s = await startServer();
});

afterAll(async () => {
  await disposeServer(s);
});

describe("AdoptedServer examples of Sidero Metal's Adopted Server feature", () => {
  it('the ```yaml example applies unchanged', async () => {
    expect(await ok(s, ['apply', '-f', CONTROL])).toBe('adoptedserver.metal.sidero.dev/spokane-control-1 created\n');
    const obj = await getJSON(s, ['adoptedserver', 'spokane-control-1', '-n', 'default']);
    expect(obj.spec).toEqual({
      talos: {
        endpoint: '192.168.1.10:50000',
        nodeType: 'controlplane',
        talosVersion: 'v1.8.3',
        kubernetesVersion: 'v1.31.1',
        hostname: 'spokane-control-1',
      },
      managementAPI: {
        enabled: true,
        endpoint: 'http://management-api.example.com:8090',
        clusterName: 'production-spokane',
        clusterID: '550e8400-e29b-41d4-a716-446655440000',
      },
      sideroLink: { enabled: true },
      accepted: true,
      labels: { location: 'spokane', environment: 'production' },
    });
    expect(await ok(s, ['apply', '-f', CONTROL])).toBe('adoptedserver.metal.sidero.dev/spokane-control-1 unchanged\n');
  });

  it('the heredoc example applies from stdin unchanged (namespace from the kubeconfig context)', async () => {
    const out = await ok(s, ['apply', '-f', '-'], {
      input: fixture('upstream-examples/adoptedserver-spokane-worker-1.yaml'),
    });
    expect(out).toBe('adoptedserver.metal.sidero.dev/spokane-worker-1 created\n');
    const obj = await getJSON(s, ['adoptedserver', 'spokane-worker-1']);
    expect(obj.metadata.namespace).toBe('default');
    expect(obj.spec.talos).toEqual({
      endpoint: '192.168.1.20:50000',
      nodeType: 'worker',
      talosVersion: 'v1.8.3',
      kubernetesVersion: 'v1.31.1',
    });
    expect(obj.spec.accepted).toBe(true);
    expect(obj.spec.sideroLink).toBeUndefined();
    expect(await ok(s, ['apply', '-f', WORKER])).toBe('adoptedserver.metal.sidero.dev/spokane-worker-1 unchanged\n');
  });

  it('the kubectl commands the feature shows: get, get -o wide, get -o yaml, describe', async () => {
    // the examples name no talosconfig Secret: the controller reports that, and dials nothing
    await ok(s, [
      'wait',
      '--for=jsonpath={.status.conditions[?(@.type=="Connected")].reason}=NoCredentials',
      'adoptedserver',
      '--all',
      '--timeout=30s',
    ]);
    const table = await ok(s, ['get', 'adoptedservers']);
    expect(table).toMatch(/^NAME\s+HOSTNAME\s+TYPE\s+ACCEPTED\s+CONNECTED\s+READY\s+HEALTH\s+AGE\n/);
    expect(table).toMatch(
      /^spokane-control-1\s+spokane-control-1\s+controlplane\s+true\s+false\s+false\s+Unknown\s+\d+s$/m,
    );
    expect(table).toMatch(/^spokane-worker-1\s+worker\s+true\s+false\s+false\s+Unknown\s+\d+s$/m);

    const wide = await ok(s, ['get', 'adoptedservers', '-o', 'wide']);
    expect(wide).toMatch(
      /^NAME\s+HOSTNAME\s+ENDPOINT\s+TYPE\s+ACCEPTED\s+CONNECTED\s+READY\s+HEALTH\s+TALOS\s+REASON\s+AGE\n/,
    );
    expect(wide).toMatch(
      /^spokane-control-1\s+spokane-control-1\s+192\.168\.1\.10:50000\s+controlplane\s+true\s+false\s+false\s+Unknown\s+NoCredentials\s+\d+s$/m,
    );
    expect(wide).toMatch(
      /^spokane-worker-1\s+192\.168\.1\.20:50000\s+worker\s+true\s+false\s+false\s+Unknown\s+NoCredentials\s+\d+s$/m,
    );

    const yaml = await ok(s, ['get', 'adoptedservers', 'spokane-control-1', '-o', 'yaml']);
    expect(yaml).toMatch(/^ {4}clusterID: 550e8400-e29b-41d4-a716-446655440000$/m);
    expect(yaml).toMatch(/^ {2}name: spokane-control-1$/m);

    const described = await ok(s, ['describe', 'adoptedserver', 'spokane-worker-1']);
    expect(described).toMatch(/^Name:\s+spokane-worker-1$/m);
    expect(described).toMatch(/^\s+Cluster Name:\s+production-spokane$/m);
    expect(described).toMatch(/^\s+Endpoint:\s+192\.168\.1\.20:50000$/m);
    expect(described).toMatch(/^\s+Reason:\s+NoCredentials$/m);
    expect(described).toMatch(/^\s+Reason:\s+OutboundNotAllowed$/m); // the Management API's name is not even resolved
    expect(described).toMatch(/^\s+Reason:\s+Disabled$/m); // SideroLinkReady: the worker has no sideroLink
    expect(described).toMatch(/Warning\s+NoCredentials\s+.*has no spec\.talos\.talosconfigSecretRef/);
  });

  it('field selectors on node type and acceptance, which the feature promises, work on the example objects', async () => {
    expect(await ok(s, ['get', 'as', '--field-selector', 'spec.talos.nodeType=controlplane', '-o', 'name'])).toBe(
      'adoptedserver.metal.sidero.dev/spokane-control-1\n',
    );
    expect(await ok(s, ['get', 'as', '--field-selector', 'spec.accepted=true', '-o', 'name'])).toBe(
      'adoptedserver.metal.sidero.dev/spokane-control-1\nadoptedserver.metal.sidero.dev/spokane-worker-1\n',
    );
  });
});

/** once the cluster controller has acted on `generation`: the cluster's Machines as name=role/pool */
async function machinesAt(generation: number): Promise<string[]> {
  await ok(s, [
    'wait',
    'kc/simple-cluster',
    `--for=jsonpath={.status.observedGeneration}=${generation}`,
    '--timeout=30s',
  ]);
  await ok(s, ['wait', 'kc/simple-cluster', '--for=condition=MachinesReconciled', '--timeout=30s']);
  const list = await getJSON(s, ['machines', '-l', 'cluster.vitistack.io/cluster-name=simple-cluster']);
  return list.items
    .map(
      (m: any) =>
        `${m.metadata.name}=${m.metadata.labels['vitistack.io/node-role']}${m.metadata.annotations?.['vitistack.io/nodepool'] ? `/${m.metadata.annotations['vitistack.io/nodepool']}` : ''}`,
    )
    .sort();
}

describe("KubernetesCluster example of the Viti Talos operator's README", () => {
  it('the example applies unchanged, and its Machines are generated (kubectl get machines -l ...)', async () => {
    expect(await ok(s, ['apply', '-f', CLUSTER])).toBe('kubernetescluster.vitistack.io/simple-cluster created\n');
    expect(await machinesAt(1)).toEqual([
      'simple-cluster-ctp0=controlplane',
      'simple-cluster-wrk0=worker/worker-pool-1',
      'simple-cluster-wrk1=worker/worker-pool-1',
    ]);
    const obj = await getJSON(s, ['kubernetescluster', 'simple-cluster']);
    expect(obj.metadata.namespace).toBe('default');
    expect(obj.spec.data).toMatchObject({ clusterId: 'simple-cluster-id', provider: 'talos', zone: 'Trøndelag' });
    expect(obj.spec.topology).toMatchObject({ version: '1.33', controlplane: { replicas: 1, version: '1.33' } });
    expect(obj.spec.topology.workers).toEqual([{ name: 'worker-pool-1', replicas: 2, version: '1.33' }]);
    const table = await ok(s, ['get', 'kc']);
    // the example names no spec.talos.endpoint, so the machines wait for one to get their configs
    expect(table).toMatch(
      /^NAME\s+PHASE\s+PROVIDER\s+REGION\s+CPS\s+WORKERS\s+AGE\nsimple-cluster\s+Pending\s+talos\s+west-trondelag\s+1\s+2\s+\d+s\n$/,
    );
    expect(await ok(s, ['get', 'kc', '--field-selector', 'spec.data.clusterId=simple-cluster-id', '-o', 'name'])).toBe(
      'kubernetescluster.vitistack.io/simple-cluster\n',
    );
  });

  it('re-applying it changes nothing on the server', async () => {
    const read = () => getJSON(s, ['kc', 'simple-cluster', '--show-managed-fields']);
    const before = await read();
    const r = await s.kubectl(['apply', '-f', CLUSTER]);
    expectClean(r);
    // "configured", as kubectl says for a CRD whose list items get server defaults (see kubectl-writes)
    expect(r.stdout).toMatch(/^kubernetescluster\.vitistack\.io\/simple-cluster (unchanged|configured)\n$/);
    const after = await read();
    // the controllers may still be writing the cluster's status and finalizer, so the
    // resourceVersion is no witness: what kubectl owns is, unchanged to the second
    const kubectlEntries = (o: any) => o.metadata.managedFields.filter((f: any) => f.manager.startsWith('kubectl'));
    expect(kubectlEntries(before)).toHaveLength(1);
    expect(kubectlEntries(after)).toEqual(kubectlEntries(before));
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.spec).toEqual(before.spec);
    expect(after.metadata.annotations).toEqual(before.metadata.annotations);
    expect(after.metadata.labels).toEqual(before.metadata.labels);
  });
});

describe("KubeDC's worker-pool JSON patches: scale up, scale down, add pool, remove pool", () => {
  const patch = async (ops: unknown[]) => {
    expect(
      await ok(s, [
        'patch',
        'kubernetescluster',
        'simple-cluster',
        '--type=json',
        `-p=${JSON.stringify(ops, null, 2)}`,
      ]),
    ).toBe('kubernetescluster.vitistack.io/simple-cluster patched\n');
    return (await getJSON(s, ['kc', 'simple-cluster'])).spec.topology.workers as Array<Record<string, unknown>>;
  };
  const summary = (workers: Array<Record<string, unknown>>) =>
    workers.map((w) => `${String(w.name)}=${String(w.replicas)}`);

  it('scale up', async () => {
    const workers = await patch([{ op: 'replace', path: '/spec/topology/workers/0/replicas', value: 4 }]);
    expect(summary(workers)).toEqual(['worker-pool-1=4']);
    expect(await machinesAt(2)).toEqual([
      'simple-cluster-ctp0=controlplane',
      ...[0, 1, 2, 3].map((i) => `simple-cluster-wrk${i}=worker/worker-pool-1`),
    ]);
  });

  it('scale down', async () => {
    const workers = await patch([{ op: 'replace', path: '/spec/topology/workers/0/replicas', value: 1 }]);
    expect(summary(workers)).toEqual(['worker-pool-1=1']);
    // the lowest-numbered worker stays (the order of removal is pinned in the planner's unit tests)
    expect(await machinesAt(3)).toEqual([
      'simple-cluster-ctp0=controlplane',
      'simple-cluster-wrk0=worker/worker-pool-1',
    ]);
    const deleted = (
      await getJSON(s, ['events', '--field-selector', 'involvedObject.name=simple-cluster,reason=SuccessfulDelete'])
    ).items;
    expect(deleted.map((e: any) => e.message).sort()).toEqual([
      'Deleted machine: simple-cluster-wrk1',
      'Deleted machine: simple-cluster-wrk2',
      'Deleted machine: simple-cluster-wrk3',
    ]);
  });

  it('add a pool', async () => {
    const workers = await patch([
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
    ]);
    expect(summary(workers)).toEqual(['worker-pool-1=1', 'high-memory=2']);
    // new workers take the lowest free indices of the one index space all pools share
    expect(await machinesAt(4)).toEqual([
      'simple-cluster-ctp0=controlplane',
      'simple-cluster-wrk0=worker/worker-pool-1',
      'simple-cluster-wrk1=worker/high-memory',
      'simple-cluster-wrk2=worker/high-memory',
    ]);
    expect((await getJSON(s, ['machine', 'simple-cluster-wrk1'])).spec).toMatchObject({
      provider: 'cloudsigma',
      machineClass: 'medium',
      tags: { cluster: 'simple-cluster-id', role: 'worker', nodepool: 'high-memory' },
    });
    expect(workers[1]).toEqual({
      name: 'high-memory',
      replicas: 2,
      version: '1.33',
      provider: 'cloudsigma',
      providerConfig: { cpu: 4000, memory: 16384, diskSize: 100, imageUUID: 'your-image-uuid', region: 'zrh' },
    });
  });

  it('adding a pool with a name already in use is rejected', async () => {
    const r = await s.kubectl([
      'patch',
      'kc',
      'simple-cluster',
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'add', path: '/spec/topology/workers/-', value: { name: 'high-memory', replicas: 1, version: '1.33' } },
      ]),
    ]);
    expectFailure(
      r,
      /KubernetesCluster "simple-cluster" is invalid: spec\.topology\.workers\[2\]: Duplicate value: .*"high-memory"/,
    );
  });

  it('remove the pool', async () => {
    const workers = await patch([{ op: 'remove', path: '/spec/topology/workers/1' }]);
    expect(summary(workers)).toEqual(['worker-pool-1=1']);
    expect(await machinesAt(5)).toEqual([
      'simple-cluster-ctp0=controlplane',
      'simple-cluster-wrk0=worker/worker-pool-1',
    ]);
    const obj = await getJSON(s, ['kc', 'simple-cluster']);
    // created at generation 1, then four spec patches (the rejected one changed nothing)
    expect(obj.metadata.generation).toBe(5);
  });
});
