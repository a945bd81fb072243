// Machine section rules other than networking and CA keys: host DNS, disks, kubelet, disk
// encryption, logging, extensions, Talos API access from Kubernetes, runtime spec overrides and
// registries, plus certSANs and kubelet clusterDNS entries.
import type { RuleContext } from './context.js';
import { joinIndex, joinKey, show } from './problem.js';
import { ipFamily, isSAN, isSubnetFilter, parseURL, showURL } from './syntax.js';
import { boolAt, isPlainMap, isSet, listAt, mapAt, mapItems, strAt, stringItems } from './values.js';

export function checkCertSANs(ctx: RuleContext): void {
  for (const [i, san] of stringItems(ctx.machine, 'certSANs')) {
    if (!isSAN(san))
      ctx.v1.error(joinIndex('machine.certSANs', i), `${show(san)} is neither an IP address nor a DNS name`);
  }
}

/** From 1.13: forwarding Kubernetes DNS to the host resolver needs the host resolver. */
export function checkHostDNS(ctx: RuleContext): void {
  if (!ctx.atLeast(1, 13)) return;
  const hostDNS = mapAt(mapAt(ctx.machine, 'features'), 'hostDNS');
  if (boolAt(hostDNS, 'forwardKubeDNSToHost') === true && boolAt(hostDNS, 'enabled') !== true) {
    ctx.v1.error('machine.features.hostDNS.forwardKubeDNSToHost', 'requires machine.features.hostDNS.enabled: true');
  }
}

function isZeroSize(size: unknown): boolean {
  return size === undefined || size === null || size === 0 || size === '0' || size === '';
}

/** No null disks; a partition of size 0 takes the rest of the disk, so it must come last. */
export function checkDisks(ctx: RuleContext): void {
  const disks = listAt(ctx.machine, 'disks') ?? [];
  disks.forEach((disk, i) => {
    const path = joinIndex('machine.disks', i);
    if (disk === null) {
      ctx.v1.error(path, 'must not be null');
      return;
    }
    if (!isPlainMap(disk)) return;
    const partitions = listAt(disk, 'partitions') ?? [];
    partitions.forEach((partition, j) => {
      if (j < partitions.length - 1 && isPlainMap(partition) && isZeroSize(partition.size)) {
        ctx.v1.error(
          `${joinIndex(`${path}.partitions`, j)}.size`,
          'a partition of size 0 fills the rest of the disk and must be the last one',
        );
      }
    });
  });
}

/** kubelet settings Talos sets itself and will not let extraConfig change. */
const PROTECTED_KUBELET_CONFIG = [
  'apiVersion',
  'kind',
  'authentication',
  'authorization',
  'cgroupRoot',
  'kubeletCgroups',
  'systemCgroups',
  'port',
  'protectKernelDefaults',
  'resolvConf',
  'rotateCertificates',
  'staticPodPath',
  'seccompDefault',
];

/**
 * kubelet: nodeIP.validSubnets parse, extraConfig leaves the protected keys alone, clusterDNS holds
 * IPs.
 */
export function checkKubelet(ctx: RuleContext): void {
  const kubelet = mapAt(ctx.machine, 'kubelet');
  if (!kubelet) return;
  for (const [i, subnet] of stringItems(mapAt(kubelet, 'nodeIP'), 'validSubnets')) {
    if (!isSubnetFilter(subnet))
      ctx.v1.error(
        joinIndex('machine.kubelet.nodeIP.validSubnets', i),
        `${show(subnet)} is not a CIDR (a leading ! excludes it)`,
      );
  }
  const extraConfig = mapAt(kubelet, 'extraConfig');
  for (const key of PROTECTED_KUBELET_CONFIG) {
    if (extraConfig && key in extraConfig)
      ctx.v1.error(
        joinKey('machine.kubelet.extraConfig', key),
        `${show(key)} is managed by Talos and cannot be overridden`,
      );
  }
  for (const [i, address] of stringItems(kubelet, 'clusterDNS')) {
    if (!ipFamily(address))
      ctx.v1.error(joinIndex('machine.kubelet.clusterDNS', i), `${show(address)} is not an IP address`);
  }
}

const KEY_METHODS = ['nodeID', 'static', 'kms', 'tpm'];

/**
 * For each encrypted volume (STATE, EPHEMERAL): at least one key, unique slots, exactly one method
 * per key.
 */
export function checkDiskEncryption(ctx: RuleContext): void {
  const encryption = mapAt(ctx.machine, 'systemDiskEncryption');
  for (const [volume, spec] of Object.entries(encryption ?? {})) {
    if (!isPlainMap(spec)) continue;
    const path = joinKey('machine.systemDiskEncryption', volume);
    const keys = listAt(spec, 'keys') ?? [];
    if (keys.length === 0) ctx.v1.error(`${path}.keys`, 'at least one key is required to encrypt the volume');
    const slots = new Map<string, number>();
    keys.forEach((key, i) => {
      const keyPath = joinIndex(`${path}.keys`, i);
      if (!isPlainMap(key)) return;
      const slot = String(key.slot ?? 0);
      const first = slots.get(slot);
      if (first !== undefined)
        ctx.v1.error(`${keyPath}.slot`, `slot ${slot} is already used by ${joinIndex(`${path}.keys`, first)}`);
      else slots.set(slot, i);
      const methods = KEY_METHODS.filter((m) => isSet(key, m));
      if (methods.length !== 1) {
        ctx.v1.error(
          keyPath,
          `must have exactly one key method (${KEY_METHODS.join(', ')}), has ${methods.length === 0 ? 'none' : methods.join(' and ')}`,
        );
      }
    });
  }
}

/**
 * Logging destinations: a tcp or udp endpoint with a host (the set of formats is not known here, so
 * formats are not checked).
 */
export function checkLogging(ctx: RuleContext): void {
  for (const [i, destination] of mapItems(mapAt(ctx.machine, 'logging'), 'destinations')) {
    const path = `${joinIndex('machine.logging.destinations', i)}.endpoint`;
    const endpoint = strAt(destination, 'endpoint');
    if (!endpoint) {
      ctx.v1.error(path, 'required: tcp://host:port or udp://host:port');
      continue;
    }
    const url = parseURL(endpoint);
    if ('error' in url) ctx.v1.error(path, `${show(showURL(endpoint))} ${url.error}`);
    else if (url.scheme !== 'tcp' && url.scheme !== 'udp')
      ctx.v1.error(path, `scheme must be tcp or udp, not ${url.scheme}`);
  }
}

/** System extensions from machine.install are deprecated; listing one twice is an error. */
export function checkInstallExtensions(ctx: RuleContext): void {
  const install = mapAt(ctx.machine, 'install');
  const extensions = mapItems(install, 'extensions');
  if (extensions.length === 0) return;
  ctx.v1.warning('machine.install.extensions', 'deprecated: build the extensions into the installer image instead');
  const seen = new Map<string, number>();
  for (const [i, extension] of extensions) {
    const image = strAt(extension, 'image');
    if (!image) continue;
    const first = seen.get(image);
    if (first !== undefined)
      ctx.v1.error(
        `${joinIndex('machine.install.extensions', i)}.image`,
        `duplicate extension image (also machine.install.extensions[${first}])`,
      );
    else seen.set(image, i);
  }
}

/** Roles an `os:*` client may hold; 1.13 added two. */
function knownRoles(ctx: RuleContext): string[] {
  const roles = ['os:admin', 'os:operator', 'os:reader', 'os:etcd:backup', 'os:impersonator'];
  return ctx.atLeast(1, 13) ? [...roles, 'os:image:verifier', 'os:meta:writer'] : roles;
}

/** kubernetesTalosAPIAccess: control planes only, known roles, and on 1.11 and older features.rbac. */
export function checkTalosAPIAccess(ctx: RuleContext): void {
  const features = mapAt(ctx.machine, 'features');
  const access = mapAt(features, 'kubernetesTalosAPIAccess');
  if (boolAt(access, 'enabled') !== true) return;
  const path = 'machine.features.kubernetesTalosAPIAccess';
  if (ctx.isWorker)
    ctx.v1.error(`${path}.enabled`, 'Talos API access from Kubernetes can only be enabled on control-plane nodes');
  if (!ctx.atLeast(1, 12) && boolAt(features, 'rbac') !== true) {
    ctx.v1.error(`${path}.enabled`, 'requires machine.features.rbac: true on Talos 1.11 and older');
  }
  const roles = knownRoles(ctx);
  for (const [i, role] of stringItems(access, 'allowedRoles')) {
    if (!roles.includes(role))
      ctx.v1.error(
        joinIndex(`${path}.allowedRoles`, i),
        `unknown role ${show(role)}: must be one of ${roles.join(', ')}`,
      );
  }
}

/**
 * baseRuntimeSpecOverrides is a mapping; registry entries are not null (the sort algorithm names
 * are not known here and are not checked).
 */
export function checkRuntimeAndRegistries(ctx: RuleContext): void {
  const overrides = ctx.machine?.baseRuntimeSpecOverrides;
  if (overrides !== undefined && overrides !== null && !isPlainMap(overrides)) {
    ctx.v1.error('machine.baseRuntimeSpecOverrides', 'must be a mapping: an OCI runtime spec fragment');
  }
  const registries = mapAt(ctx.machine, 'registries');
  for (const section of ['mirrors', 'config']) {
    for (const [host, entry] of Object.entries(mapAt(registries, section) ?? {})) {
      if (entry === null) ctx.v1.error(joinKey(`machine.registries.${section}`, host), 'must not be null');
    }
  }
}
