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
 * grubUseUKICmdline. On 1.14+ the install settings may live in an UnattendedInstallConfig document
 * instead.
 */
export function checkMetalInstall(ctx: RuleContext): void {
  if (ctx.mode !== 'metal' || !ctx.machine) return;
  const install = mapAt(ctx.machine, 'install');
  if (!install) {
    // the document's contents are not modelled here: its presence is all we check
    const unattended = ctx.atLeast(1, 14) && ctx.documentsOf('UnattendedInstallConfig').length > 0;
    if (!unattended) {
      const where = ctx.atLeast(1, 14) ? ' (or an UnattendedInstallConfig document)' : '';
      ctx.v1.error('machine.install', `required in metal mode${where}: the node must know which disk to install to`);
    }
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

/** container: containers have no resolver of their own, so host DNS and forwarding must be on. */
export function checkContainerDNS(ctx: RuleContext): void {
  if (ctx.mode !== 'container' || !ctx.machine) return;
  const hostDNS = mapAt(mapAt(ctx.machine, 'features'), 'hostDNS');
  // 1.14+ enforces this against ResolverConfig, whose fields are not modelled here; the
  // v1alpha1 settings are still checked there when a config carries them
  if (ctx.atLeast(1, 14) && !hostDNS) return;
  const path = 'machine.features.hostDNS';
  for (const key of ['enabled', 'forwardKubeDNSToHost']) {
    if (hostDNS?.[key] !== true) ctx.v1.error(`${path}.${key}`, 'must be true in container mode');
  }
}
