// Machine configs through admission, with the real kubectl: a KubernetesCluster gets its secrets
// bundle and talosconfig Secrets (owned by it, never in spec or status), a Machine its generated
// config (annotations only on the object), dry runs write nothing, bad inputs are refused with
// field paths, and the generated talosconfig authenticates against a simulated Talos node.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { startSimulator } from '../../hack/talos-sim/simulator.js';
import { parseSecretsYaml } from '../../src/machineconfig/secretsyaml.js';
import { TalosClient } from '../../src/talos/client.js';
import { parseTalosconfig } from '../../src/talos/talosconfig.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { createNamespace, expectFailure, getJSON, ok, tempDir } from './kubectl-helpers.js';

const NS = 'prov';
let s: TestServer;
const tmp = tempDir();

function cluster(name: string, talos: string, version = '"1.33"'): string {
  return `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  data: {clusterUid: u-${name}, clusterId: ${name}-id, provider: talos, environment: dev, datacenter: dc1, project: p, region: r, workorder: w, zone: z, workspace: ws}
  topology:
    version: ${version}
    controlplane: {replicas: 1, version: ${version}}
    workers:
      - {name: pool-a, replicas: 2, version: ${version}, metadata: {labels: {tier: gold}}}
  talos:
${talos}`;
}

function machine(name: string, clusterName: string, role: string, pool?: string): string {
  return `apiVersion: vitistack.io/v1alpha1
kind: Machine
metadata:
  name: ${name}
  namespace: ${NS}
  labels: {cluster.vitistack.io/cluster-name: ${clusterName}, vitistack.io/node-role: ${role}}
${pool ? `  annotations: {vitistack.io/nodepool: ${pool}}\n` : ''}spec:
  provider: kubevirt
`;
}

const secretText = async (name: string, key: string) => {
  const sec = await getJSON(s, ['-n', NS, 'secret', name]);
  return sec ? Buffer.from(sec.data[key], 'base64').toString('utf8') : undefined;
};
const raw = (path: string) => ok(s, ['get', '--raw', `/apis/vitistack.io/v1alpha1/namespaces/${NS}/${path}`]);

beforeAll(async () => {
  // admission alone, on hand-made Machines: the cluster controller's own Machines (and their
  // Secrets) are tested in kubernetescluster-controller.test.ts
  s = await startServer({ args: ['--controllers', '*,-kubernetescluster,-machine,-clusterlifecycle'] });
  await createNamespace(s, NS);
});

afterAll(async () => {
  await disposeServer(s);
  tmp.remove();
});

describe('a KubernetesCluster gets its Talos secrets', () => {
  const talos = '    endpoint: https://10.10.0.1:6443\n    version: v1.13.9\n    installDisk: /dev/vda\n';

  it('a server-side dry run shows the object and writes no Secret', async () => {
    expect(await ok(s, ['apply', '--dry-run=server', '-f', '-'], { input: cluster('prod', talos) })).toBe(
      'kubernetescluster.vitistack.io/prod created (server dry run)\n',
    );
    expect(await ok(s, ['-n', NS, 'get', 'secrets', '-o', 'name'])).toBe('');
  });

  it('creates the bundle and the talosconfig Secrets, labelled and owned by the cluster', async () => {
    await ok(s, ['apply', '-f', '-'], { input: cluster('prod', talos) });
    const kc = await getJSON(s, ['-n', NS, 'kc', 'prod']);
    const secrets = (await getJSON(s, ['-n', NS, 'secrets', '-l', 'cluster.vitistack.io/cluster-name=prod'])).items;
    expect(secrets.map((x: any) => x.metadata.name).sort()).toEqual(['prod-talos-secrets', 'prod-talosconfig']);
    for (const sec of secrets) {
      expect(sec.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'vitistack.io/v1alpha1',
          kind: 'KubernetesCluster',
          name: 'prod',
          uid: kc.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const bundle = parseSecretsYaml((await secretText('prod-talos-secrets', 'secrets.yaml'))!);
    expect(bundle.ok).toBe(true);
    // secret material is never in the cluster object itself
    expect(JSON.stringify(kc)).not.toMatch(/PRIVATE KEY|LS0tLS1CRUdJTi/);
  });

  it("kubernetesclusters/talosconfig serves a talosconfig signed by the bundle's OS CA, usable against a node", async () => {
    const text = await raw('kubernetesclusters/prod/talosconfig');
    const config = parseTalosconfig(text);
    expect(config.context).toBe('prod');
    const ctx = config.contexts.prod!;
    expect(ctx.endpoints).toEqual(['10.10.0.1']);
    expect(new X509Certificate(ctx.crt).subject).toBe('O=os:admin');
    // a simulated node trusting the cluster's bundle accepts it
    const secretsFile = tmp.write('prod-secrets.yaml', (await secretText('prod-talos-secrets', 'secrets.yaml'))!);
    const sim = await startSimulator({ nodes: 1, controlPlanes: 1, secretsFile });
    const client = new TalosClient({
      endpoint: sim.nodes()[0]!.endpoint,
      ca: ctx.ca,
      crt: ctx.crt,
      key: ctx.key,
      timeoutMs: 5_000,
    });
    try {
      expect((await client.kubeconfig()).toString('utf8')).toMatch(/^kind: Config$/m);
    } finally {
      client.close();
      await sim.stop();
    }
  });

  it('refuses a Kubernetes version outside the target Talos range and a bad endpoint, naming the fields; nothing is stored', async () => {
    const r = await s.kubectl(['apply', '-f', '-'], {
      input: cluster('old', '    endpoint: ftp://x\n    version: v1.13.9\n', '"1.20"'),
    });
    expectFailure(r, /is invalid/);
    expect(r.stderr).toContain('spec.topology.controlplane.version: Invalid value: Kubernetes 1.20.0 is outside 1.31');
    expect(r.stderr).toContain('spec.topology.workers[0].version: Invalid value');
    expect(r.stderr).toContain('spec.talos.endpoint: Invalid value');
    expect(await getJSON(s, ['-n', NS, 'kc', 'old'])).toBeUndefined();
    expect(await getJSON(s, ['-n', NS, 'secret', 'old-talos-secrets'])).toBeUndefined();
  });

  it('refuses a CNI Talos does not know by name with the names it accepts and how to run that CNI; nothing is stored', async () => {
    const withCni = (network: string) => cluster('cni', `${talos}    network: ${network}\n`);
    const r = await s.kubectl(['apply', '-f', '-'], { input: withCni('{cni: cilium}') });
    expectFailure(r, /is invalid/);
    expect(r.stderr).toContain(
      'spec.talos.network.cni: Unsupported value: "cilium": supported values: "flannel", "custom", "none"',
    );
    expect(r.stderr).toContain('use "none" and install it yourself');
    expect(r.stderr).toContain('"custom" with the URLs of its manifests in spec.talos.network.cniURLs');
    expect(r.stderr).not.toMatch(/URL:|http:\/\/ or https:\/\//);
    expect(await getJSON(s, ['-n', NS, 'kc', 'cni'])).toBeUndefined();

    // the Status itself, as a client-go program sees it: 422 Invalid with the field and kube's cause type
    const body = JSON.stringify(parse(withCni('{cni: calico}')));
    const res = await s.request('POST', `/apis/vitistack.io/v1alpha1/namespaces/${NS}/kubernetesclusters`, {
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(422);
    const status = res.json();
    expect(status).toMatchObject({ kind: 'Status', code: 422, reason: 'Invalid' });
    expect(status.details.causes).toEqual([
      {
        reason: 'FieldValueNotSupported',
        field: 'spec.talos.network.cni',
        message: expect.stringMatching(/^Unsupported value: "calico": supported values: "flannel", "custom", "none": /),
      },
    ]);

    // custom needs its URLs; URLs need custom
    const custom = await s.kubectl(['apply', '-f', '-'], { input: withCni('{cni: custom}') });
    expectFailure(custom, /spec\.talos\.network\.cniURLs: Required value: a custom CNI is deployed from the URLs/);
    const flannel = await s.kubectl(['apply', '-f', '-'], {
      input: withCni('{cni: flannel, cniURLs: [https://example.com/cni.yaml]}'),
    });
    expectFailure(
      flannel,
      /spec\.talos\.network\.cniURLs: Forbidden: only a custom CNI is deployed from manifest URLs/,
    );
    expect(await getJSON(s, ['-n', NS, 'kc', 'cni'])).toBeUndefined();
  });

  it('deploys a custom CNI from cniURLs, and takes none', async () => {
    const urls = '{cni: custom, cniURLs: [https://example.com/a.yaml, https://example.com/b.yaml]}';
    await ok(s, ['apply', '-f', '-'], { input: cluster('cni-custom', `${talos}    network: ${urls}\n`) });
    await ok(s, ['apply', '-f', '-'], { input: machine('cni-custom-cp-0', 'cni-custom', 'controlplane') });
    const docs = parseAllDocuments(await raw('machines/cni-custom-cp-0/machineconfig')).map((d) => d.toJS());
    expect(docs[0].cluster.network.cni).toEqual({
      name: 'custom',
      urls: ['https://example.com/a.yaml', 'https://example.com/b.yaml'],
    });
    await ok(s, ['apply', '-f', '-'], { input: cluster('cni-none', `${talos}    network: {cni: none}\n`) });
    await ok(s, ['-n', NS, 'delete', 'machine', 'cni-custom-cp-0']);
    await ok(s, ['-n', NS, 'delete', 'kc', 'cni-custom', 'cni-none']);
  });

  it('refuses a patch that cannot apply, naming the patch: JSON patches on a multi-document (1.12+) config', async () => {
    const patched = `${talos}    configPatches:\n      - {op: replace, path: /machine/install/disk, value: /dev/sdb}\n`;
    const r = await s.kubectl(['apply', '-f', '-'], { input: cluster('jp', patched) });
    expectFailure(r, /is invalid/);
    expect(r.stderr).toContain('spec.talos.configPatches');
  });
});

describe('a Machine gets its machine config', () => {
  it('control plane: annotations on the object, the config in its Secret and behind machines/machineconfig', async () => {
    await ok(s, ['apply', '-f', '-'], { input: machine('prod-cp-0', 'prod', 'controlplane') });
    const m = await getJSON(s, ['-n', NS, 'machine', 'prod-cp-0']);
    expect(m.metadata.annotations).toMatchObject({
      'talos.vitistack.io/machineconfig-secret': 'prod-cp-0-machineconfig',
      'talos.vitistack.io/config-hash': expect.stringMatching(/^[0-9a-f]{64}$/),
      'talos.vitistack.io/talos-version': 'v1.13.9',
    });
    const config = await raw('machines/prod-cp-0/machineconfig');
    expect(config).toBe(await secretText('prod-cp-0-machineconfig', 'machineconfig.yaml'));
    const docs = parseAllDocuments(config).map((d) => d.toJS());
    expect(docs[0]).toMatchObject({
      version: 'v1alpha1',
      machine: { type: 'controlplane', install: { disk: '/dev/vda' } },
      cluster: { clusterName: 'prod', controlPlane: { endpoint: 'https://10.10.0.1:6443' } },
    });
    expect(docs[0].machine.kubelet.image).toBe('ghcr.io/siderolabs/kubelet:v1.33.6');
    expect(docs.map((d) => d.kind).filter(Boolean)).toContain('HostnameConfig');
  });

  it("worker in a pool: the pool's node labels; the worker config carries no CA keys", async () => {
    await ok(s, ['apply', '-f', '-'], { input: machine('prod-w-0', 'prod', 'worker', 'pool-a') });
    const doc = parse((await raw('machines/prod-w-0/machineconfig')).split('\n---\n')[0]!);
    expect(doc.machine.type).toBe('worker');
    expect(doc.machine.nodeLabels).toEqual({ tier: 'gold' });
    expect(doc.machine.ca.key).toBe('');
  });

  it('a server-side dry run shows the annotations and writes no Secret', async () => {
    const out = await ok(s, ['apply', '--dry-run=server', '-o', 'json', '-f', '-'], {
      input: machine('prod-w-9', 'prod', 'worker', 'pool-a'),
    });
    expect(JSON.parse(out).metadata.annotations['talos.vitistack.io/machineconfig-secret']).toBe(
      'prod-w-9-machineconfig',
    );
    expect(await getJSON(s, ['-n', NS, 'secret', 'prod-w-9-machineconfig'])).toBeUndefined();
  });

  it('a Machine of a cluster that does not exist yet is stored with a warning and no config', async () => {
    const r = await s.kubectl(['apply', '-f', '-'], { input: machine('lonely', 'nope', 'worker') });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('KubernetesCluster nope does not exist');
    expect(
      (await getJSON(s, ['-n', NS, 'machine', 'lonely'])).metadata.annotations?.['talos.vitistack.io/config-hash'],
    ).toBeUndefined();
    expectFailure(
      await s.kubectl(['get', '--raw', `/apis/vitistack.io/v1alpha1/namespaces/${NS}/machines/lonely/machineconfig`]),
      /has not been generated/,
    );
  });

  it('deleting the cluster removes its Secrets (owner references)', async () => {
    await ok(s, ['-n', NS, 'delete', 'kc', 'prod']);
    let left = 'x';
    for (let i = 0; i < 100 && left !== ''; i++) {
      left = await ok(s, ['-n', NS, 'get', 'secrets', '-l', 'cluster.vitistack.io/cluster-name=prod', '-o', 'name']);
    }
    expect(left).toBe('');
  });
});

describe('patches', () => {
  it('strategic patches at cluster and pool level shape the configs; a patch making an invalid config is refused', async () => {
    const talos =
      '    endpoint: https://10.20.0.1:6443\n    version: v1.13.9\n    strategicPatches:\n      - |\n        machine:\n          install:\n            disk: /dev/nvme0n1\n';
    await ok(s, ['apply', '-f', '-'], { input: cluster('patched', talos) });
    await ok(s, ['apply', '-f', '-'], { input: machine('patched-cp-0', 'patched', 'controlplane') });
    expect(parse((await raw('machines/patched-cp-0/machineconfig')).split('\n---\n')[0]!).machine.install.disk).toBe(
      '/dev/nvme0n1',
    );
    const bad =
      '    endpoint: https://10.20.0.1:6443\n    version: v1.13.9\n    strategicPatches:\n      - |\n        cluster:\n          network:\n            podSubnets: [not-a-cidr]\n';
    const r = await s.kubectl(['apply', '-f', '-'], { input: cluster('badpatch', bad) });
    expectFailure(r, /is invalid/);
    expect(r.stderr).toContain('(patched config) cluster.network.podSubnets[0]');
  });
});

describe('machine-level patches', () => {
  it("apply last, after the cluster's and the pool's", async () => {
    const m = `${machine('patched-cp-1', 'patched', 'controlplane')}  talos:\n    strategicPatches:\n      - |\n        machine:\n          install:\n            disk: /dev/sdz\n`;
    await ok(s, ['apply', '-f', '-'], { input: m });
    expect(parse((await raw('machines/patched-cp-1/machineconfig')).split('\n---\n')[0]!).machine.install.disk).toBe(
      '/dev/sdz',
    );
  });
});
