// Talos releases this validator knows and the Kubernetes versions each accepts when a config is
// applied, plus container image references and their tags.
import { formatContract, type TalosContract } from '../contract.js';

interface KubernetesRange {
  /** lowest accepted Kubernetes minor (1.x) */
  min: number;
  /** highest accepted Kubernetes minor (1.x) */
  max: number;
}

/** The Kubernetes minors a node accepts when a config is applied, by Talos minor (all Talos 1.x). */
const KUBERNETES_RANGE_BY_TALOS_MINOR: Readonly<Record<number, KubernetesRange>> = {
  8: { min: 26, max: 31 },
  9: { min: 27, max: 32 },
  10: { min: 28, max: 33 },
  11: { min: 29, max: 34 },
  12: { min: 30, max: 35 },
  13: { min: 31, max: 36 },
  14: { min: 32, max: 37 },
  15: { min: 33, max: 38 },
};

/** undefined for a Talos release outside that table: its schema and ranges are not known here. */
export function kubernetesRange(contract: TalosContract): KubernetesRange | undefined {
  return contract.major === 1 ? KUBERNETES_RANGE_BY_TALOS_MINOR[contract.minor] : undefined;
}

export const SUPPORTED_TALOS = `${formatContract({ major: 1, minor: 8 })} to ${formatContract({ major: 1, minor: 15 })}`;

export interface ImageReference {
  /** registry and repository path, e.g. `ghcr.io/siderolabs/kubelet` */
  repository: string;
  tag?: string;
  digest?: string;
}

// The distribution reference grammar: lower-case path components joined by `.`, `_`, `__` or dashes;
// an optional registry host[:port] first; tag up to 128 word characters; digest algorithm:hex.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const REGISTRY =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?))*(?::\d+)?$|^\[[0-9A-Fa-f:.]+\](?::\d+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** The parts of an image reference, or why it is not one. */
export function parseImageReference(text: string): ImageReference | { error: string } {
  if (text === '') return { error: 'is empty' };
  if (text.length > 4096) return { error: 'is too long for an image reference' };
  const at = text.indexOf('@');
  const digest = at >= 0 ? text.slice(at + 1) : undefined;
  const nameAndTag = at >= 0 ? text.slice(0, at) : text;
  if (digest !== undefined && !DIGEST.test(digest)) return { error: 'has a digest that is not algorithm:hex' };
  const lastSlash = nameAndTag.lastIndexOf('/');
  const colon = nameAndTag.lastIndexOf(':');
  const tag = colon > lastSlash ? nameAndTag.slice(colon + 1) : undefined;
  const repository = colon > lastSlash ? nameAndTag.slice(0, colon) : nameAndTag;
  if (tag !== undefined && !TAG.test(tag))
    return { error: 'has a tag that is not 1-128 letters, digits, `_`, `.` or `-`' };
  const parts = repository.split('/');
  // the first part is a registry when it looks like a host: it has a dot or port, or is localhost
  const first = parts[0] ?? '';
  const hasRegistry =
    parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['));
  if (hasRegistry && !REGISTRY.test(first)) return { error: 'has a registry host that is not host[:port]' };
  const path = hasRegistry ? parts.slice(1) : parts;
  if (path.length === 0 || !path.every((p) => PATH_COMPONENT.test(p))) {
    return {
      error: 'has a repository path that is not lower-case letters, digits and separators (. _ __ -) between slashes',
    };
  }
  return { repository, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

export interface KubernetesVersion {
  major: number;
  minor: number;
  patch: number;
}

/** `v1.34.1`, `v1.37.0-rc.0`: the `v<semver>` image tag the node requires. */
export function kubernetesVersionOfTag(tag: string): KubernetesVersion | undefined {
  const m = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(tag);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}
