// Applying a sequence of config patches to a machine config, as Talos does. Each patch sees the
// config as the previous one left it: a JSON patch is refused when the config has more than one
// document at that moment. The result is written the way the generator writes configs, with the
// v1alpha1 document in Talos's struct order, as Talos itself re-encodes a patched config.
import type { Operation } from 'fast-json-patch';
import {
  ConfigStreamError,
  isV1Alpha1Document,
  parseConfigStream,
  stringifyConfigStream,
  type ConfigDocument,
} from '../configstream.js';
import { applyJsonPatchToConfig } from './jsonpatch.js';
import { inV1Alpha1KeyOrder } from './keyorder.js';
import { PatchError } from './patcherror.js';
import { applyStrategicPatch } from './strategic.js';

/** An RFC 6902 patch: operations on the v1alpha1 document converted to JSON. */
export interface JsonConfigPatch {
  name: string;
  jsonPatch: Operation[];
  strategic?: undefined;
}

/** A strategic merge patch: partial machine config YAML, possibly several documents. */
export interface StrategicConfigPatch {
  name: string;
  strategic: string;
  jsonPatch?: undefined;
}

export type Patch = JsonConfigPatch | StrategicConfigPatch;

/** Far above any real patch; bounds the work done on a hostile one. */
export const MAX_STRATEGIC_PATCH_BYTES = 1024 * 1024;

function parseStrategic(patch: StrategicConfigPatch): ConfigDocument[] {
  if (Buffer.byteLength(patch.strategic, 'utf8') > MAX_STRATEGIC_PATCH_BYTES) {
    throw new PatchError(patch.name, '', `a strategic patch must be at most ${MAX_STRATEGIC_PATCH_BYTES} bytes`);
  }
  try {
    return parseConfigStream(patch.strategic);
  } catch (e) {
    if (e instanceof ConfigStreamError) throw new PatchError(patch.name, `documents[${e.index}]`, e.reason);
    throw e;
  }
}

function applyOne(config: ConfigDocument[], patch: Patch): ConfigDocument[] {
  // patches may come from untyped input (a stored object, a request body): check the shape here
  const name = typeof patch.name === 'string' ? patch.name : '<unnamed>';
  const hasJson = patch.jsonPatch !== undefined;
  const hasStrategic = patch.strategic !== undefined;
  if (hasJson === hasStrategic) throw new PatchError(name, '', 'a patch needs exactly one of jsonPatch and strategic');
  if (hasJson) {
    if (!Array.isArray(patch.jsonPatch)) throw new PatchError(name, '', 'jsonPatch must be a list of operations');
    return applyJsonPatchToConfig(config, patch.jsonPatch, name);
  }
  if (typeof patch.strategic !== 'string') throw new PatchError(name, '', 'strategic must be YAML text');
  return applyStrategicPatch(config, parseStrategic(patch as StrategicConfigPatch), name);
}

/**
 * Applies the patches in the order given (see orderedPatches for the cluster → role → machine
 * order) and returns the patched config YAML. Throws PatchError naming the failing patch and path.
 */
export function applyPatches(configYaml: string, patches: readonly Patch[]): string {
  let config: ConfigDocument[];
  try {
    config = parseConfigStream(configYaml);
  } catch (e) {
    if (e instanceof ConfigStreamError) throw new Error(`the machine config to patch is not valid: ${e.message}`);
    throw e;
  }
  for (const patch of patches) config = applyOne(config, patch);
  return stringifyConfigStream(config.map((d) => (isV1Alpha1Document(d) ? inV1Alpha1KeyOrder(d) : d)));
}
