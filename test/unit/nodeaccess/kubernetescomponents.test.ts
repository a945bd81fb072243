import { describe, expect, it } from 'vitest';
import {
  kubernetesComponents,
  kubernetesVersionOfImage,
  KUBELET_SPEC_TYPE,
  STATIC_POD_STATUS_TYPE,
  type ResourceReader,
} from '../../../src/nodeaccess/kubernetescomponents.js';
import { TalosError, type TalosFailure } from '../../../src/talos/errors.js';
import type { TalosResource } from '../../../src/talos/resources.js';

const resource = (type: string, id: string, spec: unknown): TalosResource => ({
  metadata: { namespace: 'k8s', type, id, version: '1', phase: 'running', labels: {}, annotations: {} },
  spec,
});

const podStatus = (component: string, image: string, ready = true) => ({
  phase: ready ? 'Running' : 'Pending',
  conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  containerStatuses: [{ name: component, image, ready, started: ready, restartCount: 0 }],
});

/** A node that answers with these resources, or fails a type with a Talos failure reason. */
function node(opts: {
  kubelet?: unknown;
  pods?: TalosResource[];
  fail?: Record<string, TalosFailure>;
}): ResourceReader {
  const failIf = (type: string) => {
    const failure = opts.fail?.[type];
    if (failure) throw new TalosError(failure, `Talos node x (${type}): ${failure}`);
  };
  return {
    getResource: async (namespace, type, id) => {
      expect([namespace, type, id]).toEqual(['k8s', KUBELET_SPEC_TYPE, 'kubelet']);
      failIf(type);
      if (opts.kubelet === undefined) throw new TalosError('NotFound', 'not found');
      return resource(type, id, opts.kubelet);
    },
    listResources: async (namespace, type) => {
      expect([namespace, type]).toEqual(['k8s', STATIC_POD_STATUS_TYPE]);
      failIf(type);
      return opts.pods ?? [];
    },
  };
}

describe('kubernetesComponents', () => {
  it('reads the kubelet image and the control-plane pods, in component order, versions without the v', async () => {
    const pods = [
      resource(
        STATIC_POD_STATUS_TYPE,
        'kube-system/kube-scheduler-cp-1',
        podStatus('kube-scheduler', 'registry.k8s.io/kube-scheduler:v1.31.4'),
      ),
      resource(
        STATIC_POD_STATUS_TYPE,
        'kube-system/kube-apiserver-cp-1',
        podStatus('kube-apiserver', 'registry.k8s.io/kube-apiserver:v1.32.0', false),
      ),
      resource(
        STATIC_POD_STATUS_TYPE,
        'kube-system/kube-controller-manager-cp-1',
        podStatus('kube-controller-manager', 'registry.k8s.io/kube-controller-manager:v1.31.4'),
      ),
      // a user's static pod is not a control-plane component
      resource(STATIC_POD_STATUS_TYPE, 'default/nginx-cp-1', podStatus('nginx', 'nginx:1.27.0')),
    ];
    const got = await kubernetesComponents(
      node({ kubelet: { image: 'ghcr.io/siderolabs/kubelet:v1.31.4', args: [] }, pods }),
    );
    expect(got).toEqual({
      kubelet: { image: 'ghcr.io/siderolabs/kubelet:v1.31.4', version: '1.31.4' },
      controlPlane: [
        {
          component: 'kube-apiserver',
          image: 'registry.k8s.io/kube-apiserver:v1.32.0',
          version: '1.32.0',
          ready: false,
        },
        {
          component: 'kube-controller-manager',
          image: 'registry.k8s.io/kube-controller-manager:v1.31.4',
          version: '1.31.4',
          ready: true,
        },
        {
          component: 'kube-scheduler',
          image: 'registry.k8s.io/kube-scheduler:v1.31.4',
          version: '1.31.4',
          ready: true,
        },
      ],
    });
  });

  it('a worker: the kubelet and no control plane', async () => {
    expect(await kubernetesComponents(node({ kubelet: { image: 'ghcr.io/siderolabs/kubelet:v1.33.6' } }))).toEqual({
      kubelet: { image: 'ghcr.io/siderolabs/kubelet:v1.33.6', version: '1.33.6' },
      controlPlane: [],
    });
  });

  it('reads a PodStatus wrapped in podStatus too, and a Running pod whose Ready condition is False is not ready', async () => {
    const status = {
      ...podStatus('kube-apiserver', 'registry.k8s.io/kube-apiserver:v1.31.4'),
      conditions: [{ type: 'Ready', status: 'False' }],
    };
    const pods = [resource(STATIC_POD_STATUS_TYPE, 'kube-system/kube-apiserver-cp', { podStatus: status })];
    const got = await kubernetesComponents(node({ kubelet: { image: 'k:v1.31.4' }, pods }));
    expect(got.controlPlane).toEqual([
      { component: 'kube-apiserver', image: 'registry.k8s.io/kube-apiserver:v1.31.4', version: '1.31.4', ready: false },
    ]);
  });

  it('a pod with no container status yet: no image, no version, not ready', async () => {
    const pods = [resource(STATIC_POD_STATUS_TYPE, 'kube-system/kube-scheduler-cp', { phase: 'Pending' })];
    const got = await kubernetesComponents(node({ pods }));
    expect(got).toEqual({ controlPlane: [{ component: 'kube-scheduler', image: '', ready: false }] });
  });

  it('a type the node does not know (NotFound, Unimplemented) yields what the other told', async () => {
    const pods = [
      resource(
        STATIC_POD_STATUS_TYPE,
        'kube-system/kube-apiserver-cp',
        podStatus('kube-apiserver', 'r/kube-apiserver:v1.30.1'),
      ),
    ];
    expect(await kubernetesComponents(node({ pods, fail: { [KUBELET_SPEC_TYPE]: 'Unimplemented' } }))).toEqual({
      controlPlane: [
        { component: 'kube-apiserver', image: 'r/kube-apiserver:v1.30.1', version: '1.30.1', ready: true },
      ],
    });
    expect(
      await kubernetesComponents(
        node({ kubelet: { image: 'k:v1.30.1' }, fail: { [STATIC_POD_STATUS_TYPE]: 'NotFound' } }),
      ),
    ).toEqual({ kubelet: { image: 'k:v1.30.1', version: '1.30.1' }, controlPlane: [] });
  });

  it('any other failure is the caller’s to handle', async () => {
    await expect(
      kubernetesComponents(node({ fail: { [STATIC_POD_STATUS_TYPE]: 'Unreachable' } })),
    ).rejects.toMatchObject({
      failure: 'Unreachable',
    });
    await expect(
      kubernetesComponents(node({ fail: { [KUBELET_SPEC_TYPE]: 'PermissionDenied' } })),
    ).rejects.toMatchObject({
      failure: 'PermissionDenied',
    });
  });

  it('versions from image tags: digests ignored, no tag or a non-version tag gives none', () => {
    expect(kubernetesVersionOfImage('registry.k8s.io/kube-apiserver:v1.31.4')).toBe('1.31.4');
    expect(kubernetesVersionOfImage('registry.k8s.io/kube-apiserver:v1.31.4@sha256:abc')).toBe('1.31.4');
    expect(kubernetesVersionOfImage('localhost:5000/kubelet:1.37.0-rc.0')).toBe('1.37.0-rc.0');
    expect(kubernetesVersionOfImage('registry.k8s.io/kube-apiserver')).toBeUndefined();
    expect(kubernetesVersionOfImage('registry.k8s.io/kube-apiserver:latest')).toBeUndefined();
    expect(kubernetesVersionOfImage('')).toBeUndefined();
  });
});
