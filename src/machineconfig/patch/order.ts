// The order config patches are applied in: from the most general to the most specific, so a
// machine's own patch can override what its pool or the whole cluster set.
import type { Patch } from './apply.js';

export interface PatchLevels {
  /** patches for every machine of the cluster */
  cluster?: readonly Patch[];
  /** patches for the machine's role: the control plane, or its worker pool */
  role?: readonly Patch[];
  /** patches for this one machine */
  machine?: readonly Patch[];
}

/** cluster patches, then control-plane or pool patches, then machine patches; each level in its own order */
export function orderedPatches(levels: PatchLevels): Patch[] {
  return [...(levels.cluster ?? []), ...(levels.role ?? []), ...(levels.machine ?? [])];
}
