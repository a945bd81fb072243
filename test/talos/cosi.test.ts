// COSI resource reads (`talosctl get kubeletspec`, `talosctl get staticpodstatus`) through our client
// against the simulator over real mTLS: what a control plane and a worker report, NotFound, roles,
// maintenance mode, NO_REBOOT config changes of component images (and the /state log of them), and
// the fail-kubernetes-upgrade fault until the faults are cleared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecretsBundle } from '../../src/machineconfig/bundle.js';
import { parseContract } from '../../src/machineconfig/contract.js';
import { generateMachineConfig } from '../../src/machineconfig/generate/generate.js';
import { generateTalosconfig, nodeTlsCredentials } from '../../src/machineconfig/talosconfig.js';
import {
  kubernetesComponents,
  KUBELET_SPEC_TYPE,
  STATIC_POD_STATUS_TYPE,
} from '../../src/nodeaccess/kubernetescomponents.js';
import { TalosClient } from '../../src/talos/client.js';
import { startSimulator } from '../../hack/talos-sim/simulator.js';
import type { KubernetesChange } from '../../hack/talos-sim/kubernetes.js';
import { kubernetesImages } from '../../hack/talos-sim/config-facts.js';
import {
  clientFor,
  clientWithCert,
  controlPlane,
  expectFailure,
  failureOf,
  nodeUntil,
  simulator,
  worker,
  type Simulator,
} from './helpers.js';

const K = '1.35.4';
const image = (repo: string, version: string) => `${repo}:v${version}`;

/** A config a node takes live (NO_REBOOT): the role it has, and the component images to run. */
function imagesConfig(role: 'controlplane' | 'worker', kubelet: string, apiServer?: string): string {
  const cluster = apiServer ? `cluster:\n  apiServer:\n    image: ${apiServer}\n` : '';
  return `version: v1alpha1\nmachine:\n  type: ${role}\n  kubelet:\n    image: ${kubelet}\n${cluster}`;
}

interface StateNode {
  name: string;
  kubernetes: Record<string, string | null>;
}
interface State {
  nodes: StateNode[];
  kubernetesChanges: KubernetesChange[];
}

/** GET /state of the control endpoint, as a test outside the process reads it. */
async function controlState(sim: Simulator): Promise<State> {
  const res = await fetch(`${sim.control.url}/state`);
  expect(res.status).toBe(200);
  return (await res.json()) as State;
}

describe('COSI resources on a running cluster', () => {
  let sim: Simulator;
  let cp: string;
  let wk: string;
  let admin: TalosClient;

  beforeAll(async () => {
    sim = await simulator({ nodes: 3, controlPlanes: 1, kubernetesVersion: K });
    cp = controlPlane(sim);
    wk = worker(sim);
    admin = clientFor(sim, cp);
  });
  afterAll(async () => {
    admin?.close();
    await sim?.stop();
  });

  it('a control plane lists its kubelet spec and its three static pods, running at the default version', async () => {
    const [kubelet] = await admin.listResources('k8s', KUBELET_SPEC_TYPE);
    expect(kubelet).toMatchObject({
      metadata: { namespace: 'k8s', type: KUBELET_SPEC_TYPE, id: 'kubelet', version: '1', phase: 'running' },
      spec: { image: image('ghcr.io/siderolabs/kubelet', K), expectedNodename: cp },
    });
    const pods = await admin.listResources('k8s', STATIC_POD_STATUS_TYPE);
    expect(pods.map((p) => p.metadata.id)).toEqual([
      `kube-system/kube-apiserver-${cp}`,
      `kube-system/kube-controller-manager-${cp}`,
      `kube-system/kube-scheduler-${cp}`,
    ]);
    // the PodStatus is the spec itself, as Talos writes it
    expect(pods[0]!.spec).toMatchObject({
      phase: 'Running',
      conditions: expect.arrayContaining([{ type: 'Ready', status: 'True', lastTransitionTime: expect.any(String) }]),
      containerStatuses: [
        {
          name: 'kube-apiserver',
          image: image('registry.k8s.io/kube-apiserver', K),
          ready: true,
          started: true,
          restartCount: 0,
        },
      ],
    });
    const one = await admin.getResource('k8s', STATIC_POD_STATUS_TYPE, `kube-system/kube-scheduler-${cp}`);
    expect(one.spec).toMatchObject({ containerStatuses: [{ name: 'kube-scheduler', ready: true }] });
    expect(await kubernetesComponents(admin)).toEqual({
      kubelet: { image: image('ghcr.io/siderolabs/kubelet', K), version: K },
      controlPlane: [
        { component: 'kube-apiserver', image: image('registry.k8s.io/kube-apiserver', K), version: K, ready: true },
        {
          component: 'kube-controller-manager',
          image: image('registry.k8s.io/kube-controller-manager', K),
          version: K,
          ready: true,
        },
        { component: 'kube-scheduler', image: image('registry.k8s.io/kube-scheduler', K), version: K, ready: true },
      ],
    });
  });

  it('a worker has the kubelet and no static pods, asked directly or through a control plane (node metadata)', async () => {
    const direct = clientFor(sim, wk);
    try {
      expect(await direct.listResources('k8s', STATIC_POD_STATUS_TYPE)).toEqual([]);
      expect(await kubernetesComponents(direct)).toEqual({
        kubelet: { image: image('ghcr.io/siderolabs/kubelet', K), version: K },
        controlPlane: [],
      });
    } finally {
      direct.close();
    }
    const kubelet = await admin.getResource('k8s', KUBELET_SPEC_TYPE, 'kubelet', { node: wk });
    expect(kubelet.spec).toMatchObject({ expectedNodename: wk });
    expect(await admin.listResources('k8s', STATIC_POD_STATUS_TYPE, { node: wk })).toEqual([]);
  });

  it('a missing id, type or namespace is NotFound (404 at the live subresources)', async () => {
    const e = await expectFailure(admin.getResource('k8s', KUBELET_SPEC_TYPE, 'no-such-id'), 'NotFound', 404);
    expect(e.message).toContain("KubeletSpecs.kubernetes.talos.dev(k8s/no-such-id@undefined) doesn't exist");
    await expectFailure(admin.getResource('k8s', 'Nothings.talos.dev', 'kubelet'), 'NotFound', 404);
    await expectFailure(admin.getResource('runtime', KUBELET_SPEC_TYPE, 'kubelet'), 'NotFound', 404);
    // a worker has no static pods to get
    await expectFailure(
      admin.getResource('k8s', STATIC_POD_STATUS_TYPE, `kube-system/kube-apiserver-${wk}`, { node: wk }),
      'NotFound',
      404,
    );
    expect(await admin.listResources('runtime', KUBELET_SPEC_TYPE)).toEqual([]);
  });

  it('os:reader may read; a certificate without a reading role may not', async () => {
    const reader = await clientWithCert(sim, cp, ['os:reader']);
    const backup = await clientWithCert(sim, cp, ['os:etcd:backup']);
    try {
      expect((await kubernetesComponents(reader)).controlPlane).toHaveLength(3);
      expect((await reader.getResource('k8s', KUBELET_SPEC_TYPE, 'kubelet')).metadata.id).toBe('kubelet');
      const e = await failureOf(backup.listResources('k8s', STATIC_POD_STATUS_TYPE));
      expect(e.failure).toBe('PermissionDenied');
      expect((await failureOf(backup.getResource('k8s', KUBELET_SPEC_TYPE, 'kubelet'))).failure).toBe(
        'PermissionDenied',
      );
    } finally {
      reader.close();
      backup.close();
    }
  });

  it('NO_REBOOT applies changing component images change what nodes report, logged in order in /state', async () => {
    const next = '1.36.3';
    const before = (await controlState(sim)).kubernetesChanges.length;
    const r = await admin.applyConfiguration({
      data: imagesConfig(
        'controlplane',
        image('ghcr.io/siderolabs/kubelet', next),
        image('registry.k8s.io/kube-apiserver', next),
      ),
      mode: 'NO_REBOOT',
    });
    expect(r.mode).toBe('NO_REBOOT');
    // reported at once: the static pod and the kubelet restart with the apply
    const got = await kubernetesComponents(admin);
    expect(got.kubelet).toEqual({ image: image('ghcr.io/siderolabs/kubelet', next), version: next });
    expect(got.controlPlane.map((p) => [p.component, p.version, p.ready])).toEqual([
      ['kube-apiserver', next, true],
      ['kube-controller-manager', K, true],
      ['kube-scheduler', K, true],
    ]);
    expect((await admin.getResource('k8s', KUBELET_SPEC_TYPE, 'kubelet')).metadata.version).toBe('2');
    // then the worker's kubelet
    await admin.applyConfiguration(
      { data: imagesConfig('worker', image('ghcr.io/siderolabs/kubelet', next)), mode: 'NO_REBOOT' },
      { node: wk },
    );
    const state = await controlState(sim);
    expect(
      state.kubernetesChanges.slice(before).map(({ at, ...c }) => ({ ...c, at: Number.isNaN(Date.parse(at)) })),
    ).toEqual([
      { node: cp, component: 'kubelet', from: K, to: next, at: false },
      { node: cp, component: 'apiServer', from: K, to: next, at: false },
      { node: wk, component: 'kubelet', from: K, to: next, at: false },
    ]);
    expect(state.nodes.find((n) => n.name === cp)?.kubernetes).toEqual({
      kubelet: next,
      apiServer: next,
      controllerManager: K,
      scheduler: K,
    });
    expect(state.nodes.find((n) => n.name === wk)?.kubernetes).toEqual({
      kubelet: next,
      apiServer: null,
      controllerManager: null,
      scheduler: null,
    });
    // applying the same images again changes nothing
    await admin.applyConfiguration(
      { data: imagesConfig('worker', image('ghcr.io/siderolabs/kubelet', next)), mode: 'NO_REBOOT' },
      { node: wk },
    );
    expect((await controlState(sim)).kubernetesChanges.length).toBe(before + 3);
  });

  it('fail-kubernetes-upgrade: changed components report the new image but never get ready until heal', async () => {
    const next = '1.37.0';
    const res = await fetch(`${sim.control.url}/nodes/${cp}/fail-kubernetes-upgrade`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { faults: Record<string, unknown> }).faults['failKubernetesUpgrade']).toBe(true);
    const services = async () => (await admin.serviceList()).find((s) => s.id === 'kubelet')?.health;
    // before a change the fault changes nothing
    expect((await services())?.healthy).toBe(true);
    await admin.applyConfiguration({
      data: imagesConfig(
        'controlplane',
        image('ghcr.io/siderolabs/kubelet', next),
        image('registry.k8s.io/kube-apiserver', next),
      ),
      mode: 'NO_REBOOT',
    });
    const failing = await kubernetesComponents(admin);
    expect(failing.kubelet?.version).toBe(next);
    expect(failing.controlPlane.map((p) => [p.component, p.version, p.ready])).toEqual([
      ['kube-apiserver', next, false],
      ['kube-controller-manager', K, true],
      ['kube-scheduler', K, true],
    ]);
    const pod = await admin.getResource('k8s', STATIC_POD_STATUS_TYPE, `kube-system/kube-apiserver-${cp}`);
    expect(pod.spec).toMatchObject({
      conditions: expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'False' })]),
      containerStatuses: [{ name: 'kube-apiserver', ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } } }],
    });
    expect(await services()).toMatchObject({ healthy: false, lastMessage: expect.stringContaining('kubelet') });
    // the versions changed all the same
    const log = (await controlState(sim)).kubernetesChanges.slice(-2);
    expect(log.map((c) => [c.node, c.component, c.to])).toEqual([
      [cp, 'kubelet', next],
      [cp, 'apiServer', next],
    ]);

    await sim.inject(cp, 'heal');
    const healed = await kubernetesComponents(admin);
    expect(healed.controlPlane.every((p) => p.ready)).toBe(true);
    expect(healed.controlPlane[0]).toMatchObject({ component: 'kube-apiserver', version: next });
    expect((await services())?.healthy).toBe(true);
  });
});

describe('COSI resources on a maintenance-mode node', () => {
  let sim: Simulator;
  let client: TalosClient;
  beforeAll(async () => {
    sim = await startSimulator({ maintenance: true, nodes: 1, rebootMs: 5, shutdownMs: 5, installMs: 5 });
    client = TalosClient.maintenance({ endpoint: sim.nodes()[0]!.endpoint, timeoutMs: 3_000 });
  });
  afterAll(async () => {
    client?.close();
    await sim?.stop();
  });

  it('are refused before a config is installed, then follow the installed 1.14 documents', async () => {
    const e = await expectFailure(client.getResource('k8s', KUBELET_SPEC_TYPE, 'kubelet'), 'Unimplemented', 400);
    expect(e.message).toContain('not available in maintenance mode');
    await expectFailure(client.listResources('k8s', STATIC_POD_STATUS_TYPE), 'Unimplemented', 400);

    const bundle = await generateSecretsBundle({ contract: parseContract('1.14') });
    const config = generateMachineConfig(
      'controlplane',
      { clusterName: 'c14', endpoint: 'https://c14.example:6443', talosVersion: '1.14', kubernetesVersion: '1.34.2' },
      bundle,
    );
    expect(config).toContain('kind: KubeAPIServerConfig');
    await client.applyConfiguration({ data: config, mode: 'AUTO' });
    const node = sim.node('node-0');
    await nodeUntil(
      node,
      'installed and listening',
      () => node.configured && node.listening && node.phase === 'running',
    );
    const talosconfig = await generateTalosconfig({ clusterName: 'c14', osCA: bundle.certs.os });
    const tls = nodeTlsCredentials(talosconfig.contexts['c14']!);
    const configured = new TalosClient({
      endpoint: node.endpoint,
      ca: tls.ca,
      crt: tls.cert,
      key: tls.key,
      timeoutMs: 3_000,
    });
    try {
      expect(await kubernetesComponents(configured)).toEqual({
        kubelet: { image: 'ghcr.io/siderolabs/kubelet:v1.34.2', version: '1.34.2' },
        controlPlane: [
          {
            component: 'kube-apiserver',
            image: 'registry.k8s.io/kube-apiserver:v1.34.2',
            version: '1.34.2',
            ready: true,
          },
          {
            component: 'kube-controller-manager',
            image: 'registry.k8s.io/kube-controller-manager:v1.34.2',
            version: '1.34.2',
            ready: true,
          },
          {
            component: 'kube-scheduler',
            image: 'registry.k8s.io/kube-scheduler:v1.34.2',
            version: '1.34.2',
            ready: true,
          },
        ],
      });
    } finally {
      configured.close();
    }
  });
});

describe('the component images a config names', () => {
  it('v1alpha1 (1.13) and the 1.14 Kube*Config documents; a worker names only the kubelet', async () => {
    const images = (v: string) => ({
      kubelet: `ghcr.io/siderolabs/kubelet:v${v}`,
      apiServer: `registry.k8s.io/kube-apiserver:v${v}`,
      controllerManager: `registry.k8s.io/kube-controller-manager:v${v}`,
      scheduler: `registry.k8s.io/kube-scheduler:v${v}`,
      proxy: `registry.k8s.io/kube-proxy:v${v}`,
    });
    for (const [contract, talosVersion, k] of [
      ['1.13', 'v1.13.9', '1.33.6'],
      ['1.14', '1.14', '1.35.4'],
    ] as const) {
      const bundle = await generateSecretsBundle({ contract: parseContract(contract) });
      const inputs = { clusterName: 'c', endpoint: 'https://c.example:6443', talosVersion, kubernetesVersion: k };
      expect(kubernetesImages(Buffer.from(generateMachineConfig('controlplane', inputs, bundle)))).toEqual(images(k));
      expect(kubernetesImages(Buffer.from(generateMachineConfig('worker', inputs, bundle)))).toEqual({
        kubelet: images(k).kubelet,
      });
    }
    expect(kubernetesImages(Buffer.from('version: v1alpha1\nmachine:\n  type: worker\n'))).toEqual({});
  });
});
