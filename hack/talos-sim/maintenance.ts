// A node without a configuration (booted from ISO or PXE) serves a small API to anyone, over TLS
// with a throw-away certificate: Version, ApplyConfiguration and disk reads. An applied config is
// installed: the node reboots into configured mode with the role, hostname and cluster the config
// gives it, at the version of its installer image's tag (without one, the version it booted).
// Modes as the node's version treats them: up to 1.12 the maintenance API takes AUTO, REBOOT and
// TRY; from 1.13 REBOOT means NO_REBOOT; STAGED has nothing to stage onto either way.
import { status } from '@grpc/grpc-js';
import type { ApplyConfigurationRequest__Output } from '../../src/talos/gen/machine/ApplyConfigurationRequest.js';
import type { ApplyConfiguration } from '../../src/talos/gen/machine/ApplyConfiguration.js';
import { invalid, lineDiff, validateConfig } from './apply.js';
import { imageTag, readConfigFacts, stableHostname } from './config-facts.js';
import type { SimFleet } from './fleet.js';
import type { Lifecycle } from './lifecycle.js';
import { versionAtLeast, type SimNode } from './node.js';
import { RpcError } from './rpc-error.js';

export const MAINTENANCE_METHODS: ReadonlySet<string> = new Set([
  '/machine.MachineService/Version',
  '/machine.MachineService/ApplyConfiguration',
  '/storage.StorageService/Disks',
]);

type Mode = ApplyConfigurationRequest__Output['mode'];

/** The mode a maintenance-mode node of this version uses for the requested one. */
function maintenanceMode(version: string, requested: Mode): Mode {
  const modern = versionAtLeast(version, 1, 13);
  const accepted: Mode[] = modern ? ['AUTO', 'NO_REBOOT', 'REBOOT', 'TRY'] : ['AUTO', 'REBOOT', 'TRY'];
  if (!accepted.includes(requested))
    throw invalid(`apply mode ${requested} is not supported in maintenance mode (use ${accepted.join(', ')})`);
  return modern && requested === 'REBOOT' ? 'NO_REBOOT' : requested;
}

/** What installing `data` puts on the node's disk: the identity its config gives, the config, the version. */
export async function installationOf(
  node: SimNode,
  fleet: SimFleet,
  data: Buffer,
  mode: string,
): Promise<NonNullable<SimNode['pendingInstall']>> {
  const facts = readConfigFacts(data);
  const cluster = await fleet.clusterFor(facts);
  return {
    identity: { cluster, role: facts.role, hostname: facts.hostname ?? stableHostname(node.machineId) },
    config: { data: Buffer.from(data), mode, appliedAt: new Date() },
    version: (facts.installImage && imageTag(facts.installImage)) ?? node.version,
  };
}

export async function maintenanceApply(
  req: ApplyConfigurationRequest__Output,
  node: SimNode,
  fleet: SimFleet,
  lifecycle: Lifecycle,
): Promise<ApplyConfiguration> {
  if (node.faults.refuseConfig !== undefined) throw invalid(node.faults.refuseConfig);
  const mode = maintenanceMode(node.version, req.mode);
  const warnings = validateConfig(req.data, undefined);
  // a config missing what a node needs is refused before anything happens, dry run or not
  readConfigFacts(req.data);
  if (req.dryRun) {
    const diff = lineDiff('', req.data.toString('utf8'));
    return { warnings, mode, modeDetails: `Dry run summary:\nConfig diff:\n${diff}` };
  }
  if (lifecycle.busy(node) || node.pendingInstall)
    throw new RpcError(status.FAILED_PRECONDITION, 'a configuration is already being installed');
  node.pendingInstall = await installationOf(node, fleet, req.data, mode);
  lifecycle.install(node);
  return {
    warnings,
    mode,
    modeDetails: 'Applied configuration in maintenance mode: installing Talos and rebooting',
  };
}
