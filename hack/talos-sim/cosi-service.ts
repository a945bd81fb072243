// cosi.resource.State as a configured node's machined answers it through apid (`talosctl get`),
// for the two Kubernetes resources a fleet manager reads, in namespace k8s: KubeletSpecs (id
// `kubelet`, every node) and StaticPodStatuses (`kube-system/<pod>-<node name>`, control planes).
// Specs travel as YAML, the PodStatus written as the spec itself (as Talos's marshaller does).
// Anything else is NotFound, as for a resource that does not exist.
import { status } from '@grpc/grpc-js';
import { stringify } from 'yaml';
import type { StateHandlers } from '../../src/talos/gen/cosi/resource/State.js';
import type { Resource } from '../../src/talos/gen/cosi/resource/Resource.js';
import { STATIC_POD_NAMES, type ControlPlaneComponent } from './kubernetes.js';
import { timestamp } from './machine-service.js';
import type { RunningComponent, SimNode } from './node.js';
import { RpcError } from './rpc-error.js';
import { serverStream, unary, type HandlerEnv } from './rpc.js';

export const K8S_NAMESPACE = 'k8s';
export const KUBELET_SPEC_TYPE = 'KubeletSpecs.kubernetes.talos.dev';
export const STATIC_POD_STATUS_TYPE = 'StaticPodStatuses.kubernetes.talos.dev';

const S = '/cosi.resource.State/';
const CONTROL_PLANE = Object.keys(STATIC_POD_NAMES) as ControlPlaneComponent[];

function resource(type: string, id: string, owner: string, c: RunningComponent, spec: unknown): Resource {
  return {
    metadata: {
      namespace: K8S_NAMESPACE,
      type,
      id,
      version: String(c.version),
      owner,
      phase: 'running',
      created: timestamp(c.created),
      updated: timestamp(c.since),
      finalizers: [],
      labels: {},
      annotations: {},
    },
    spec: { yamlSpec: stringify(spec) },
  };
}

function kubeletSpec(node: SimNode): Resource[] {
  const kubelet = node.kubernetes.get('kubelet');
  if (!kubelet) return [];
  const spec = {
    image: kubelet.image,
    args: [
      '--cert-dir=/var/lib/kubelet/pki',
      '--config=/etc/kubernetes/kubelet.yaml',
      `--hostname-override=${node.name}`,
      '--kubeconfig=/etc/kubernetes/kubeconfig-kubelet',
      `--node-ip=${node.ip}`,
    ],
    expectedNodename: node.name,
    config: { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration' },
  };
  return [resource(KUBELET_SPEC_TYPE, 'kubelet', 'k8s.KubeletSpecController', kubelet, spec)];
}

/** A v1 PodStatus as the kubelet reports a control-plane static pod: running, or a new container that does not come up. */
function podStatus(node: SimNode, name: string, c: RunningComponent): Record<string, unknown> {
  const since = c.since.toISOString();
  const condition = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: since });
  const container = c.ready
    ? { ready: true, started: true, restartCount: 0, state: { running: { startedAt: since } } }
    : {
        ready: false,
        started: false,
        restartCount: 1,
        state: {
          waiting: { reason: 'CrashLoopBackOff', message: 'simulated failure: the new container does not come up' },
        },
      };
  return {
    phase: 'Running',
    conditions: [
      condition('Initialized', true),
      condition('Ready', c.ready),
      condition('ContainersReady', c.ready),
      condition('PodScheduled', true),
    ],
    hostIP: node.ip,
    podIP: node.ip,
    podIPs: [{ ip: node.ip }],
    startTime: c.created.toISOString(),
    qosClass: 'Burstable',
    containerStatuses: [{ name, image: c.image, imageID: '', ...container }],
  };
}

function staticPodStatuses(node: SimNode): Resource[] {
  return CONTROL_PLANE.flatMap((component) => {
    const c = node.kubernetes.get(component);
    if (!c) return [];
    const name = STATIC_POD_NAMES[component];
    const id = `kube-system/${name}-${node.name}`;
    return [resource(STATIC_POD_STATUS_TYPE, id, 'k8s.KubeletStaticPodController', c, podStatus(node, name, c))];
  });
}

function resources(node: SimNode, namespace: string, type: string): Resource[] {
  if (namespace !== K8S_NAMESPACE) return [];
  if (type === KUBELET_SPEC_TYPE) return kubeletSpec(node);
  if (type === STATIC_POD_STATUS_TYPE) return staticPodStatuses(node);
  return [];
}

function idFilter(regexp: string | undefined): (id: string) => boolean {
  if (!regexp) return () => true;
  try {
    const re = new RegExp(regexp);
    return (id) => re.test(id);
  } catch {
    throw new RpcError(status.INVALID_ARGUMENT, `id query ${JSON.stringify(regexp)} is not a valid regular expression`);
  }
}

export function cosiService(env: HandlerEnv): StateHandlers {
  return {
    Get: unary(env, `${S}Get`, (req, { node }) => {
      const found = resources(node, req.namespace, req.type).find((r) => r.metadata?.id === req.id);
      if (!found)
        throw new RpcError(
          status.NOT_FOUND,
          `resource ${req.type}(${req.namespace}/${req.id}@undefined) doesn't exist`,
        );
      return { resource: found };
    }),
    List: serverStream(env, `${S}List`, (req, { node }, send) => {
      const keep = idFilter(req.options?.idQuery?.regexp);
      for (const r of resources(node, req.namespace, req.type)) if (keep(r.metadata?.id ?? '')) send({ resource: r });
      return Promise.resolve();
    }),
  };
}
