// Mode-specific rules: metal (install disk and kernel arguments, for a node that is not installed
// yet, which is what a generated config is for) and container (host DNS). Other modes (cloud) have
// none.
import type { RuleContext } from './context.js';
import { isNonEmpty, isPlainMap, mapAt, strAt } from './values.js';
import type { Plain } from './yamltree.js';
import { show } from './problem.js';

// A size criterion: an optional comparison, a number and an optional decimal/binary unit. Matched
// on the trimmed text: leading and trailing `\s*` next to the optional comparison and unit let a
// backtracking engine split a run of spaces every way, quadratic in its length.
const SIZE_SELECTOR = /^(<=|>=|<|>|==)?\s*\d+(\.\d+)?\s*([kmgtpe]i?b?|b)?$/i;

export function isSizeCriterion(text: string): boolean {
  return SIZE_SELECTOR.test(text.trim());
}

function checkDiskSelector(ctx: RuleContext, selector: Plain): void {
  const path = 'machine.install.diskSelector';
  if (!isPlainMap(selector)) return;
  if (Object.keys(selector).length === 0) {
    ctx.v1.error(path, 'must not be empty: name at least one criterion of the install disk');
    return;
  }
  // `size` is the one criterion with a syntax of its own; the others are matched as written on the node
  const size = selector.size;
  if (typeof size === 'string' && !isSizeCriterion(size)) {
    ctx.v1.error(`${path}.size`, `${show(size)} is not a size criterion such as "4GB" or ">= 1TB"`);
  }
}

/**
 * metal: machine.install with a disk or a valid disk selector, and (1.12+) no extraKernelArgs with
 * grubUseUKICmdline. From 1.14 the install settings belong in an UnattendedInstall document.
 */
export function checkMetalInstall(ctx: RuleContext): void {
  if (ctx.mode !== 'metal' || !ctx.machine) return;
  const install = mapAt(ctx.machine, 'install');
  // 1.14 configures the install in an UnattendedInstall document; it still decodes machine.install
  if (ctx.atLeast(1, 14) && !install) {
    checkUnattendedInstall(ctx);
    return;
  }
  if (!install) {
    ctx.v1.error('machine.install', 'required in metal mode: the node must know which disk to install to');
    return;
  }
  const hasDisk = Boolean(strAt(install, 'disk'));
  const selector = install.diskSelector;
  if (!hasDisk && (selector === undefined || selector === null)) {
    ctx.v1.error('machine.install.disk', 'required in metal mode: set install.disk or install.diskSelector');
  }
  if (selector !== undefined && selector !== null) checkDiskSelector(ctx, selector);
  if (ctx.atLeast(1, 12) && install.grubUseUKICmdline === true && isNonEmpty(install, 'extraKernelArgs')) {
    ctx.v1.error(
      'machine.install.extraKernelArgs',
      'cannot be used with grubUseUKICmdline: true (the kernel command line comes from the UKI)',
    );
  }
}

/** 1.14 metal: an UnattendedInstall document that selects the install disk. */
function checkUnattendedInstall(ctx: RuleContext): void {
  const [install] = ctx.documentsOf('UnattendedInstall');
  if (!install) {
    ctx.v1.error(
      'machine.install',
      'required in metal mode: from Talos 1.14 an UnattendedInstall document says which disk to install to',
    );
    return;
  }
  const match = strAt(mapAt(mapAt(install.value, 'provisioning'), 'diskSelector'), 'match');
  if (!match?.trim())
    install.scope.error(
      'provisioning.diskSelector.match',
      'required in metal mode: a disk selector for the install disk',
    );
}

/**
 * container: containers have no resolver of their own, so host DNS and forwarding must be on: in
 * machine.features.hostDNS, or from 1.14 in a ResolverConfig document's hostDNS (which 1.14 reads
 * when the deprecated v1alpha1 section is absent).
 */
export function checkContainerDNS(ctx: RuleContext): void {
  if (ctx.mode !== 'container' || !ctx.machine) return;
  const legacy = mapAt(mapAt(ctx.machine, 'features'), 'hostDNS');
  if (ctx.atLeast(1, 14) && !legacy) {
    const [resolver] = ctx.documentsOf('ResolverConfig');
    if (!resolver) {
      ctx.v1.error('machine.features.hostDNS', 'container mode needs a ResolverConfig document with hostDNS on');
      return;
    }
    const hostDNS = mapAt(resolver.value, 'hostDNS');
    for (const key of ['enabled', 'forwardKubeDNSToHost']) {
      if (hostDNS?.[key] !== true) resolver.scope.error(`hostDNS.${key}`, 'must be true in container mode');
    }
    return;
  }
  const path = 'machine.features.hostDNS';
  for (const key of ['enabled', 'forwardKubeDNSToHost']) {
    if (legacy?.[key] !== true) ctx.v1.error(`${path}.${key}`, 'must be true in container mode');
  }
}
