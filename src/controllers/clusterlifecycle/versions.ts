// The versions a machine config asks for (pure): the Talos version is the tag of the installer
// image (machine.install.image; a config has no version field), the Kubernetes version the tag
// of the kubelet image. A change of either is an upgrade, which this controller leaves to the
// upgrade controller: it never rolls one out by applying a config.
import { versionOfImage } from '../../api/live.js';
import {
  isV1Alpha1Document,
  parseConfigStream,
  stringifyConfigStream,
  type ConfigDocument,
} from '../../machineconfig/configstream.js';

export interface ConfigVersions {
  talos?: string;
  kubernetes?: string;
  /** machine.kubelet.image: the kubelet the config runs */
  kubeletImage?: string;
  /** machine.install.image: what an upgrade to `talos` installs */
  installImage?: string;
}

const at = (doc: ConfigDocument, ...path: string[]): unknown => {
  let v: unknown = doc;
  for (const k of path) v = v instanceof Map ? v.get(k) : undefined;
  return v;
};

export function configVersions(configText: string): ConfigVersions {
  const doc = parseConfigStream(configText).find(isV1Alpha1Document);
  if (!doc) return {};
  const tagOf = (image: unknown) => (typeof image === 'string' ? versionOfImage(image) : undefined);
  const image = at(doc, 'machine', 'install', 'image');
  const talos = tagOf(image);
  const kubelet = at(doc, 'machine', 'kubelet', 'image');
  // Kubernetes versions are written without the v the image tag carries
  const kubernetes = tagOf(kubelet)?.replace(/^v/, '');
  return {
    ...(talos ? { talos } : {}),
    ...(kubernetes ? { kubernetes } : {}),
    ...(typeof kubelet === 'string' ? { kubeletImage: kubelet } : {}),
    ...(typeof image === 'string' ? { installImage: image } : {}),
  };
}

/** a Kubernetes version without the v an image tag (or an older record) carries */
export const bare = (version: string) => version.replace(/^v/, '');

/** why applying `desired` to a node that runs `running` would change a version; undefined: it would not */
export function versionChange(running: ConfigVersions, desired: ConfigVersions): string | undefined {
  const changes: string[] = [];
  if (running.talos && desired.talos && running.talos !== desired.talos)
    changes.push(`Talos ${running.talos} -> ${desired.talos}`);
  if (running.kubernetes && desired.kubernetes && bare(running.kubernetes) !== bare(desired.kubernetes))
    changes.push(`Kubernetes ${running.kubernetes} -> ${desired.kubernetes}`);
  return changes.length ? changes.join(', ') : undefined;
}

/**
 * The config with another kubelet image, everything else as it is: a Kubernetes rollout gives a
 * control plane its new control-plane components first while its kubelet stays where it runs.
 */
export function withKubeletImage(configText: string, image: string): string {
  const docs = parseConfigStream(configText);
  const doc = docs.find(isV1Alpha1Document);
  const machine = doc?.get('machine');
  if (!(machine instanceof Map)) return configText;
  const kubelet = machine.get('kubelet');
  if (kubelet instanceof Map) kubelet.set('image', image);
  else machine.set('kubelet', new Map([['image', image]]));
  return stringifyConfigStream(docs);
}
