// Container image references, and the node's version check: it refuses a kubelet (and, on a control
// plane, an apiserver, controller-manager or scheduler) whose Kubernetes version its Talos release
// does not support. That check runs on the node when the config is applied; it is done here so a
// config is not generated for a node that would refuse it.
import { formatContract } from '../contract.js';
import type { RuleContext } from './context.js';
import { joinIndex, show, type DocumentScope } from './problem.js';
import { mapAt, mapItems, strAt } from './values.js';
import { kubernetesRange, kubernetesVersionOfTag, parseImageReference } from './versions.js';

/** Image fields that only need to be valid references. */
const IMAGE_FIELDS: [string, string][] = [
  ['machine.install', 'image'],
  ['cluster.proxy', 'image'],
  ['cluster.etcd', 'image'],
  ['cluster.coreDNS', 'image'],
];

/**
 * Kubernetes component images whose version the node checks; `controlPlaneOnly` ones only on
 * control planes.
 */
const KUBERNETES_IMAGES: { section: string; component: string; controlPlaneOnly: boolean; document: string }[] = [
  { section: 'machine.kubelet', component: 'kubelet', controlPlaneOnly: false, document: 'KubeletConfig' },
  {
    section: 'cluster.apiServer',
    component: 'kube-apiserver',
    controlPlaneOnly: true,
    document: 'KubeAPIServerConfig',
  },
  {
    section: 'cluster.controllerManager',
    component: 'kube-controller-manager',
    controlPlaneOnly: true,
    document: 'KubeControllerManagerConfig',
  },
  {
    section: 'cluster.scheduler',
    component: 'kube-scheduler',
    controlPlaneOnly: true,
    document: 'KubeSchedulerConfig',
  },
];

function sectionAt(ctx: RuleContext, dotted: string) {
  const [top, key] = dotted.split('.') as [string, string];
  return mapAt(mapAt(ctx.config, top), key);
}

function checkReference(scope: DocumentScope, path: string, image: string): ReturnType<typeof parseImageReference> {
  const ref = parseImageReference(image);
  if ('error' in ref) scope.error(path, `${show(image)} is not a valid image reference: it ${ref.error}`);
  return ref;
}

function checkKubernetesImage(
  ctx: RuleContext,
  scope: DocumentScope,
  path: string,
  image: string,
  component: string,
): void {
  const ref = checkReference(scope, path, image);
  if ('error' in ref) return;
  const version = ref.tag === undefined ? undefined : kubernetesVersionOfTag(ref.tag);
  if (!version) {
    scope.error(
      path,
      `the ${component} image tag must be v<Kubernetes version> (e.g. :v1.34.1), Talos reads the version from it`,
    );
    return;
  }
  const range = kubernetesRange(ctx.contract);
  if (!range) return;
  const shown = `${version.major}.${version.minor}`;
  if (version.major !== 1 || version.minor < range.min || version.minor > range.max) {
    scope.error(
      path,
      `Kubernetes ${shown} (${component}) is outside the range Talos ${formatContract(ctx.contract)} accepts: 1.${range.min} to 1.${range.max}`,
    );
  }
}

export function checkImages(ctx: RuleContext): void {
  for (const [section, key] of IMAGE_FIELDS) {
    const image = strAt(sectionAt(ctx, section), key);
    if (image) checkReference(ctx.v1, `${section}.${key}`, image);
  }
  for (const [i, extension] of mapItems(mapAt(ctx.machine, 'install'), 'extensions')) {
    const image = strAt(extension, 'image');
    if (image) checkReference(ctx.v1, `${joinIndex('machine.install.extensions', i)}.image`, image);
  }
  for (const { section, component, controlPlaneOnly, document } of KUBERNETES_IMAGES) {
    // an empty image means the Talos release's default Kubernetes version, which is in range
    const image = strAt(sectionAt(ctx, section), 'image');
    const applies = !controlPlaneOnly || ctx.isControlPlane;
    if (image) {
      if (applies) checkKubernetesImage(ctx, ctx.v1, `${section}.image`, image, component);
      else checkReference(ctx.v1, `${section}.image`, image);
    }
    // 1.14+ documents: their fields are not modelled here; an `image` there is checked alike
    for (const doc of ctx.documentsOf(document)) {
      const docImage = strAt(doc.value, 'image');
      if (docImage && applies) checkKubernetesImage(ctx, doc.scope, 'image', docImage, component);
    }
  }
}
