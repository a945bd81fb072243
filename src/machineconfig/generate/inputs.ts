// What a machine config is generated from (the inputs of `talosctl gen config`), and its resolution
// into the exact values the generator writes: versions from the Talos version map (versions.ts),
// `gen config`'s defaults, every field checked.
import { parseContract, type TalosContract } from '../contract.js';
import {
  checkCidr,
  checkDnsDomain,
  checkEndpoint,
  checkHardwareAddr,
  checkHostname,
  checkInterfaceAddress,
  checkLabelKey,
  checkLabelValue,
  checkManifestUrl,
  checkTaintValue,
  checkToken,
} from './inputcheck.js';
import {
  DEFAULT_TALOS_VERSION,
  newestKnownKubernetesPatch,
  parseSemver,
  talosLine,
  targetableTalosLines,
  type TalosLine,
} from './versions.js';

/**
 * One of the node's own network links, found by its hardware address: the static addresses it
 * keeps and whether it also asks DHCP (for routes and DNS, which a static address alone lacks).
 */
export interface NodeInterfaceInput {
  hardwareAddr: string;
  /** with prefix length, e.g. 10.0.0.5/24 */
  addresses?: string[];
  dhcp?: boolean;
}

/** `cluster.network.cni`: flannel is Talos's default and is not written; the others are. */
export type CniInput = { name: 'flannel' } | { name: 'none' } | { name: 'custom'; urls: string[] };

/** A CNI as asked for: any name, of which only Talos's own (TALOS_CNI_NAMES) resolve. */
export interface CniRequest {
  name: string;
  urls?: string[];
}

/** The CNI names Talos's `cluster.network.cni.name` accepts. */
export const TALOS_CNI_NAMES = ['flannel', 'custom', 'none'] as const;

/**
 * Why a CNI name Talos does not know is refused, in kube's NotSupported words (`"cilium":
 * supported values: ...`), and how to run that CNI all the same. `urlsField` names where the
 * manifest URLs of a custom CNI go, when the caller has a field for them.
 */
export function unsupportedCniReason(name: string, urlsField?: string): string {
  const shown = name.length > 100 ? `${name.slice(0, 100)}…` : name;
  const supported = TALOS_CNI_NAMES.map((n) => JSON.stringify(n)).join(', ');
  const where = urlsField ? ` in ${urlsField}` : '';
  return (
    `${JSON.stringify(shown)}: supported values: ${supported}: Talos deploys flannel itself and no other CNI by ` +
    `name; to run ${shown}, use "none" and install it yourself once the cluster is up, or "custom" with the ` +
    `URLs of its manifests${where}, which Talos applies at bootstrap`
  );
}

export interface ConfigInputs {
  clusterName: string;
  /** the control-plane endpoint, `https://host[:port]` */
  endpoint: string;
  /** `1.33` (a minor, see versions.ts), `1.33.6` or `v1.33.6`; default: the target line's default */
  kubernetesVersion?: string;
  /** target Talos, `v1.13.9` or `1.13` (a minor resolves to its newest tag); default v1.13.9 */
  talosVersion?: string;
  /** default /dev/sda */
  installDisk?: string;
  /** default: the target line's installer image for the Talos tag (versions.ts) */
  installImage?: string;
  /** additional SANs for the Talos API and the Kubernetes apiserver certificates */
  certSANs?: string[];
  network?: { podSubnets?: string[]; serviceSubnets?: string[]; cni?: CniRequest };
  /** default cluster.local */
  dnsDomain?: string;
  nodeLabels?: Record<string, string>;
  /** taint key -> `value:Effect`, the shape of Talos's machine.nodeTaints */
  nodeTaints?: Record<string, string>;
  allowSchedulingOnControlPlanes?: boolean;
  /** the node's static hostname; default: none, Talos makes a stable one (a per-node fact) */
  hostname?: string;
  /** the node's links, in order (a per-node fact); see docs/per-node-configs.md */
  interfaces?: NodeInterfaceInput[];
}

/** The inputs with every default applied and every version resolved. */
export interface ResolvedConfigInputs {
  contract: TalosContract;
  /** the target Talos tag, with its leading v */
  talosVersion: string;
  talosLine: TalosLine;
  /** without a leading v, e.g. 1.36.3 */
  kubernetesVersion: string;
  clusterName: string;
  endpoint: string;
  endpointHost: string;
  installDisk: string;
  installImage: string;
  certSANs: string[];
  podSubnets: string[];
  serviceSubnets: string[];
  cni: CniInput;
  dnsDomain: string;
  /** sorted by key, as Go writes a map */
  nodeLabels: [string, string][];
  /** sorted by key, as Go writes a map */
  nodeTaints: [string, string][];
  allowSchedulingOnControlPlanes: boolean;
  /** undefined: Talos's automatic stable hostname */
  hostname?: string;
  /** hardware addresses lower-cased, addresses checked; empty for a config that is not per node */
  interfaces: Required<NodeInterfaceInput>[];
}

/** kube's field error types an input error maps to (`invalid`: FieldValueInvalid, and so on) */
export type InputErrorType = 'invalid' | 'notSupported' | 'required';

const TYPE_WORDS: Record<Exclude<InputErrorType, 'invalid'>, string> = {
  notSupported: 'Unsupported value',
  required: 'Required value',
};

/** An input the generator cannot use; `field` is its path in ConfigInputs. */
export class ConfigInputError extends Error {
  override readonly name = 'ConfigInputError';

  constructor(
    readonly field: string,
    readonly reason: string,
    readonly type: InputErrorType = 'invalid',
  ) {
    super(`${field}: ${type === 'invalid' ? reason : `${TYPE_WORDS[type]}: ${reason}`}`);
  }
}

export const DEFAULT_INSTALL_DISK = '/dev/sda';
export const DEFAULT_DNS_DOMAIN = 'cluster.local';
export const DEFAULT_POD_SUBNETS: readonly string[] = ['10.244.0.0/16'];
export const DEFAULT_SERVICE_SUBNETS: readonly string[] = ['10.96.0.0/12'];

const TALOS_VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+)(?:-([0-9A-Za-z.-]+))?)?$/;

/** The target Talos tag and its line: a minor resolves to the line's newest tag. */
export function resolveTalosVersion(text: string = DEFAULT_TALOS_VERSION): { tag: string; line: TalosLine } {
  if (typeof text !== 'string') throw new ConfigInputError('talosVersion', 'must be a string');
  const m = TALOS_VERSION.exec(text.trim());
  const supported = targetableTalosLines()
    .map((l) => `1.${l.minor}`)
    .join(', ');
  if (!m) throw new ConfigInputError('talosVersion', `"${text}" is not a Talos version such as v1.13.9 or 1.13`);
  const line = m[1] === '1' ? talosLine(Number(m[2])) : undefined;
  if (!line?.newestTag)
    throw new ConfigInputError(
      'talosVersion',
      `Talos ${m[1]}.${m[2]} is not a supported target (supported: ${supported})`,
    );
  if (m[3] === undefined) return { tag: line.newestTag, line };
  return { tag: `v1.${m[2]}.${m[3]}${m[4] ? `-${m[4]}` : ''}`, line };
}

/**
 * The Kubernetes version to write, without a leading v. A bare minor becomes the newest patch the
 * version map knows for it, or `.0` when no Talos line defaults to that minor. The result must lie
 * in the target line's accepted range: a node refuses any other kubelet image when the config is
 * applied.
 */
export function resolveKubernetesVersion(text: string | undefined, line: TalosLine): string {
  let version = line.defaultKubernetes;
  if (text !== undefined) {
    if (typeof text !== 'string') throw new ConfigInputError('kubernetesVersion', 'must be a string');
    const stripped = text.trim().replace(/^v/, '');
    const minorOnly = /^1\.(\d+)$/.exec(stripped);
    if (minorOnly) version = newestKnownKubernetesPatch(Number(minorOnly[1])) ?? `${stripped}.0`;
    else version = stripped;
  }
  const semver = parseSemver(version);
  if (!semver || semver.major !== 1)
    throw new ConfigInputError('kubernetesVersion', `"${text}" is not a Kubernetes version such as 1.33 or 1.33.6`);
  const { minMinor, maxMinor } = line.kubernetes;
  if (semver.minor < minMinor || semver.minor > maxMinor) {
    throw new ConfigInputError(
      'kubernetesVersion',
      `Kubernetes ${version} is outside 1.${minMinor} – 1.${maxMinor}, the range Talos 1.${line.minor} accepts`,
    );
  }
  return version;
}

function token(field: string, value: string): string {
  // inputs may come from untyped JSON (an API object); TypeScript's types are not enough
  if (typeof value !== 'string') throw new ConfigInputError(field, 'must be a string');
  const problem = checkToken(value);
  if (problem) throw new ConfigInputError(field, problem);
  return value;
}

function listOf<T>(field: string, given: T[] | undefined): T[] {
  if (given === undefined) return [];
  if (!Array.isArray(given)) throw new ConfigInputError(field, 'must be a list');
  return given;
}

function subnets(field: string, given: string[] | undefined, defaults: readonly string[]): string[] {
  if (given === undefined) return [...defaults];
  if (!Array.isArray(given) || given.length === 0) throw new ConfigInputError(field, 'must list at least one network');
  given.forEach((cidr, i) => {
    const problem = checkCidr(cidr);
    if (problem) throw new ConfigInputError(`${field}[${i}]`, problem);
  });
  return [...given];
}

function resolveCni(cni: CniRequest | undefined): CniInput {
  if (cni === undefined) return { name: 'flannel' };
  if (cni.name === 'flannel' || cni.name === 'none') return { name: cni.name };
  if (cni.name !== 'custom')
    throw new ConfigInputError('network.cni.name', unsupportedCniReason(String(cni.name)), 'notSupported');
  // Talos only warns about a custom CNI without URLs, but such a cluster never gets a CNI: "none" says that
  if (!Array.isArray(cni.urls) || cni.urls.length === 0)
    throw new ConfigInputError(
      'network.cni.urls',
      'a custom CNI is deployed from the URLs of its manifests; to install a CNI yourself, use "none"',
      'required',
    );
  cni.urls.forEach((url, i) => {
    const problem = checkManifestUrl(url);
    if (problem) throw new ConfigInputError(`network.cni.urls[${i}]`, problem);
  });
  return { name: 'custom', urls: [...cni.urls] };
}

function sortedEntries(
  field: string,
  map: Record<string, string> | undefined,
  checkValue: (v: string) => string | undefined,
): [string, string][] {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, value] of entries) {
    const problem = checkLabelKey(key) ?? checkValue(value);
    if (problem) throw new ConfigInputError(`${field}[${key}]`, problem);
  }
  return entries;
}

function resolveInterfaces(given: NodeInterfaceInput[] | undefined): Required<NodeInterfaceInput>[] {
  const seen = new Set<string>();
  return listOf('interfaces', given).map((link, i) => {
    const at = `interfaces[${i}]`;
    if (typeof link !== 'object' || link === null) throw new ConfigInputError(at, 'must be an object');
    const mac = typeof link.hardwareAddr === 'string' ? checkHardwareAddr(link.hardwareAddr) : undefined;
    if (!mac || 'problem' in mac)
      throw new ConfigInputError(`${at}.hardwareAddr`, mac?.problem ?? 'must be a hardware address');
    if (seen.has(mac.value)) throw new ConfigInputError(`${at}.hardwareAddr`, `${mac.value} is listed twice`);
    seen.add(mac.value);
    const addresses = listOf(`${at}.addresses`, link.addresses).map((text, j) => {
      const checked = typeof text === 'string' ? checkInterfaceAddress(text) : { problem: 'must be a string' };
      if ('problem' in checked) throw new ConfigInputError(`${at}.addresses[${j}]`, checked.problem);
      return checked.value;
    });
    return { hardwareAddr: mac.value, addresses, dhcp: link.dhcp === true };
  });
}

function resolveHostname(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const problem = typeof name === 'string' ? checkHostname(name) : 'must be a string';
  if (problem) throw new ConfigInputError('hostname', problem);
  return name;
}

/** Applies the defaults and checks every input; throws ConfigInputError naming the first bad field. */
export function resolveConfigInputs(inputs: ConfigInputs): ResolvedConfigInputs {
  const { tag, line } = resolveTalosVersion(inputs.talosVersion);
  const clusterName = token('clusterName', inputs.clusterName);
  const endpoint =
    typeof inputs.endpoint === 'string' ? checkEndpoint(inputs.endpoint) : { problem: 'must be a string' };
  if ('problem' in endpoint) throw new ConfigInputError('endpoint', endpoint.problem);
  const dnsDomain = inputs.dnsDomain ?? DEFAULT_DNS_DOMAIN;
  const dnsProblem = checkDnsDomain(dnsDomain);
  if (dnsProblem) throw new ConfigInputError('dnsDomain', dnsProblem);
  return {
    contract: parseContract(tag),
    talosVersion: tag,
    talosLine: line,
    kubernetesVersion: resolveKubernetesVersion(inputs.kubernetesVersion, line),
    clusterName,
    endpoint: inputs.endpoint,
    endpointHost: endpoint.host,
    installDisk: token('installDisk', inputs.installDisk ?? DEFAULT_INSTALL_DISK),
    installImage: token('installImage', inputs.installImage ?? line.installImage(tag)),
    certSANs: listOf('certSANs', inputs.certSANs).map((san, i) => token(`certSANs[${i}]`, san)),
    podSubnets: subnets('network.podSubnets', inputs.network?.podSubnets, DEFAULT_POD_SUBNETS),
    serviceSubnets: subnets('network.serviceSubnets', inputs.network?.serviceSubnets, DEFAULT_SERVICE_SUBNETS),
    cni: resolveCni(inputs.network?.cni),
    dnsDomain,
    nodeLabels: sortedEntries('nodeLabels', inputs.nodeLabels, checkLabelValue),
    nodeTaints: sortedEntries('nodeTaints', inputs.nodeTaints, checkTaintValue),
    allowSchedulingOnControlPlanes: inputs.allowSchedulingOnControlPlanes === true,
    hostname: resolveHostname(inputs.hostname),
    interfaces: resolveInterfaces(inputs.interfaces),
  };
}
