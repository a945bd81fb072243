// RFC 6902 JSON patches on a machine config. Talos applies them to the config
// converted to JSON, which only works for a single-document config: it refuses them on any
// multi-document config, and so on every config generated for contract 1.12 or newer (those
// always carry a HostnameConfig document). The operations themselves run through the project's
// checked RFC 6902 implementation.
import type { Operation } from 'fast-json-patch';
import { StatusError } from '../../machinery/errors.js';
import { applyJsonPatch } from '../../machinery/patch.js';
import { describeDocument, isV1Alpha1Document, type ConfigDocument } from '../configstream.js';
import { PatchError } from './patcherror.js';

/** Map-based YAML values as plain JSON values (Object.fromEntries keeps a key named __proto__ an own key). */
function toJson(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJson(v)]));
  if (Array.isArray(value)) return value.map(toJson);
  return value;
}

function fromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (typeof value === 'object' && value !== null)
    return new Map(Object.entries(value).map(([k, v]) => [k, fromJson(v)]));
  return value;
}

/**
 * The operation a checked-patch error is about. Every message of machinery/patch.ts names the
 * operation as `[index]`; the first such index in the message is the failing one.
 */
function failingOperation(message: string, operations: readonly Operation[]): Operation | undefined {
  const m = /\[(\d+)\]/.exec(message);
  return m ? operations[Number(m[1])] : undefined;
}

/** Applies one JSON patch to the config's only document; returns the new document list. */
export function applyJsonPatchToConfig(
  config: readonly ConfigDocument[],
  operations: readonly Operation[],
  patchName: string,
): ConfigDocument[] {
  if (config.length !== 1) {
    throw new PatchError(
      patchName,
      '',
      `JSON patches (RFC 6902) apply only to single-document machine configs, and this one has ${config.length} documents ` +
        `(${config.map(describeDocument).join(', ')}); configs for Talos 1.12 and newer always do: use a strategic merge patch`,
    );
  }
  const [doc] = config as [ConfigDocument];
  if (!isV1Alpha1Document(doc)) {
    throw new PatchError(
      patchName,
      '',
      `JSON patches apply to the v1alpha1 document only; the config's only document is a ${describeDocument(doc)}`,
    );
  }
  let patched: unknown;
  try {
    patched = applyJsonPatch(toJson(doc), operations);
  } catch (e) {
    if (!(e instanceof StatusError)) throw e;
    const op = failingOperation(e.message, operations);
    throw new PatchError(patchName, typeof op?.path === 'string' ? op.path : '', e.message);
  }
  if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
    throw new PatchError(patchName, '', 'the patched config must still be a mapping');
  }
  return [fromJson(patched) as ConfigDocument];
}
