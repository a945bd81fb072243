// The Talos version map: per Talos minor line, the newest tag, the Kubernetes
// version `gen config` defaults to, the Kubernetes range a node of that line accepts, and images.
// Generation targets the lines that have a tag; main (1.15) is listed because its default
// Kubernetes version is a "known" Kubernetes patch, but it is not a target.

export interface KubernetesMinorRange {
  /** oldest accepted Kubernetes minor, e.g. 26 for 1.26 */
  minMinor: number;
  /** newest accepted Kubernetes minor, every patch of it included */
  maxMinor: number;
}

export interface TalosLine {
  /** the Talos minor, e.g. 13 for 1.13 (every line is Talos 1.x) */
  minor: number;
  /** newest tag of the line in the snapshot; undefined for the development line */
  newestTag?: string;
  /** Kubernetes version `gen config` writes when none is asked for (no leading v) */
  defaultKubernetes: string;
  /** Kubernetes versions a node of this line accepts (the node checks it on apply) */
  kubernetes: KubernetesMinorRange;
  /** etcd image the node uses when `cluster.etcd.image` is empty */
  etcdImage: string;
  /** CoreDNS tag the node uses when no image is configured */
  coreDNSTag: string;
  /** default installer image for a Talos tag */
  installImage: (talosTag: string) => string;
  /** oldest Talos minor a node may upgrade from to this line */
  upgradeFromMinor: number;
}

const ghcrInstaller = (tag: string) => `ghcr.io/siderolabs/installer:${tag}`;
/** the factory image of the default schematic (no extensions), written by `gen config` from 1.14 on */
export const DEFAULT_FACTORY_SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const factoryInstaller = (tag: string) => `factory.talos.dev/metal-installer/${DEFAULT_FACTORY_SCHEMATIC}:${tag}`;

const range = (minMinor: number, maxMinor: number): KubernetesMinorRange => ({ minMinor, maxMinor });

/** Every known Talos line, oldest first. */
export const TALOS_LINES: readonly TalosLine[] = [
  {
    minor: 8,
    newestTag: 'v1.8.4',
    defaultKubernetes: '1.31.4',
    kubernetes: range(26, 31),
    etcdImage: 'gcr.io/etcd-development/etcd:v3.5.17',
    coreDNSTag: 'v1.11.3',
    installImage: ghcrInstaller,
    upgradeFromMinor: 5,
  },
  {
    minor: 9,
    newestTag: 'v1.9.6',
    defaultKubernetes: '1.32.4',
    kubernetes: range(27, 32),
    etcdImage: 'gcr.io/etcd-development/etcd:v3.5.21',
    coreDNSTag: 'v1.12.0',
    installImage: ghcrInstaller,
    upgradeFromMinor: 8,
  },
  {
    minor: 10,
    newestTag: 'v1.10.9',
    defaultKubernetes: '1.33.6',
    kubernetes: range(28, 33),
    etcdImage: 'gcr.io/etcd-development/etcd:v3.5.26',
    coreDNSTag: 'v1.12.1',
    installImage: ghcrInstaller,
    upgradeFromMinor: 8,
  },
  {
    minor: 11,
    newestTag: 'v1.11.6',
    defaultKubernetes: '1.34.1',
    kubernetes: range(29, 34),
    etcdImage: 'gcr.io/etcd-development/etcd:v3.6.5',
    coreDNSTag: 'v1.12.4',
    installImage: ghcrInstaller,
    upgradeFromMinor: 9,
  },
  {
    minor: 12,
    newestTag: 'v1.12.11',
    defaultKubernetes: '1.35.4',
    kubernetes: range(30, 35),
    etcdImage: 'registry.k8s.io/etcd:v3.6.11',
    coreDNSTag: 'v1.14.2',
    installImage: ghcrInstaller,
    upgradeFromMinor: 10,
  },
  {
    minor: 13,
    newestTag: 'v1.13.9',
    defaultKubernetes: '1.36.3',
    kubernetes: range(31, 36),
    etcdImage: 'registry.k8s.io/etcd:v3.6.12',
    coreDNSTag: 'v1.14.6',
    installImage: ghcrInstaller,
    upgradeFromMinor: 11,
  },
  {
    minor: 14,
    newestTag: 'v1.14.0-rc.1',
    defaultKubernetes: '1.37.0-rc.0',
    kubernetes: range(32, 37),
    etcdImage: 'registry.k8s.io/etcd:3.7.1',
    coreDNSTag: 'v1.14.6',
    installImage: factoryInstaller,
    upgradeFromMinor: 12,
  },
  {
    minor: 15,
    defaultKubernetes: '1.37.0-rc.1',
    kubernetes: range(33, 38),
    etcdImage: 'registry.k8s.io/etcd:3.7.1',
    coreDNSTag: 'v1.14.7',
    installImage: factoryInstaller,
    upgradeFromMinor: 13,
  },
];

/** `gen config`'s default target: the newest stable tag. */
export const DEFAULT_TALOS_VERSION = 'v1.13.9';

/** Image repositories that are the same for every Talos line. */
export const IMAGE_REPOSITORIES = {
  kubelet: 'ghcr.io/siderolabs/kubelet',
  apiServer: 'registry.k8s.io/kube-apiserver',
  controllerManager: 'registry.k8s.io/kube-controller-manager',
  scheduler: 'registry.k8s.io/kube-scheduler',
  proxy: 'registry.k8s.io/kube-proxy',
  coreDNS: 'registry.k8s.io/coredns/coredns',
} as const;

/** The line of Talos 1.<minor>, if TALOS_LINES knows it. */
export function talosLine(minor: number): TalosLine | undefined {
  return TALOS_LINES.find((l) => l.minor === minor);
}

/** Lines that can be generated for: those with a tag. */
export function targetableTalosLines(): TalosLine[] {
  return TALOS_LINES.filter((l) => l.newestTag !== undefined);
}

export interface Semver {
  major: number;
  minor: number;
  patch: number;
  /** pre-release suffix without the dash, e.g. `rc.0`; empty for a release */
  prerelease: string;
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/;

export function parseSemver(text: string): Semver | undefined {
  const m = SEMVER.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ?? '' };
}

/** Semver precedence, enough for TALOS_LINES: a release sorts after its pre-releases. */
export function compareSemver(a: Semver, b: Semver): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === '') return 1;
  if (b.prerelease === '') return -1;
  return a.prerelease.localeCompare(b.prerelease, 'en', { numeric: true });
}

/**
 * The newest Kubernetes 1.<minor> patch that TALOS_LINES names as some line's default (the
 * development line included: its default is a known Kubernetes version too), or undefined when none
 * does.
 */
export function newestKnownKubernetesPatch(minor: number): string | undefined {
  let best: { text: string; version: Semver } | undefined;
  for (const line of TALOS_LINES) {
    const version = parseSemver(line.defaultKubernetes);
    if (!version || version.major !== 1 || version.minor !== minor) continue;
    if (!best || compareSemver(version, best.version) > 0) best = { text: line.defaultKubernetes, version };
  }
  return best?.text;
}

/**
 * The installer image an upgrade to `version` uses when none is given, as talosctl picks it:
 * ghcr.io/siderolabs/installer up to 1.13, the factory image of the default schematic from 1.14.
 */
export function defaultInstallerImage(version: string): string {
  const tag = version.startsWith('v') ? version : `v${version}`;
  const minor = parseSemver(tag.slice(1))?.minor;
  const line = minor === undefined ? undefined : talosLine(minor);
  if (line) return line.installImage(tag);
  return minor !== undefined && minor >= 14 ? factoryInstaller(tag) : ghcrInstaller(tag);
}
