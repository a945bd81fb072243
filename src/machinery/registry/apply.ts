// The store's side of field management: managedFields on every write, and what an apply request's
// body must be before it is merged (kube-apiserver's patch handler checks for application/apply-patch+yaml).
import { badRequest, fieldErr, invalidOptions } from '../errors.js';
import type { KindDefinition, KubeObject, ManagedFieldsEntry } from '../kind.js';
import { fieldManagerFor, keepTimestampsIfUnchanged, type WriteInfo } from '../managedfields/fieldmanager.js';
import type { RequestContext } from './context.js';
import { decodeBody, type DecodedBody } from './prepare.js';

/** managedFields an apply computed, to be stored as they are */
export interface AppliedFields {
  entries: ManagedFieldsEntry[] | undefined;
}

export function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function writeInfo(ctx: RequestContext, subresource?: 'status'): WriteInfo {
  const info: WriteInfo = { manager: ctx.fieldManager ?? '', now: nowSeconds() };
  if (subresource) info.subresource = subresource;
  return info;
}

/**
 * Sets obj.metadata.managedFields for a write turning `old` (undefined on create) into `obj`,
 * after admission and defaulting: the apply's own result, or the Update bookkeeping for
 * ctx.fieldManager. A write that changes nothing else keeps the stored timestamps (stays a no-op).
 */
export function trackManagedFields(
  kind: KindDefinition,
  old: KubeObject | undefined,
  obj: KubeObject,
  ctx: RequestContext,
  subresource?: 'status',
  applied?: AppliedFields,
): void {
  const entries = applied ? applied.entries : fieldManagerFor(kind).update(old, obj, writeInfo(ctx, subresource));
  // always just before resourceVersion (which decoding appends), so unchanged objects encode identically
  const m = obj.metadata;
  const rv = m.resourceVersion;
  delete m.managedFields;
  delete m.resourceVersion;
  if (entries) m.managedFields = entries;
  if (rv !== undefined) m.resourceVersion = rv;
  if (old) keepTimestampsIfUnchanged(old, obj);
}

/** an apply request's configuration: an object of this kind without managedFields, pruned per fieldValidation */
export function decodeApplyConfig(kind: KindDefinition, body: DecodedBody, ctx: RequestContext): KubeObject {
  if (!ctx.fieldManager) {
    throw invalidOptions('PatchOptions', [fieldErr.required('fieldManager', 'is required for apply patch')]);
  }
  const v = body.value;
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const meta = (v as { metadata?: unknown }).metadata;
    if (typeof meta === 'object' && meta !== null && 'managedFields' in meta) {
      const mf = (meta as { managedFields?: unknown }).managedFields;
      if (mf !== undefined && mf !== null) throw badRequest('metadata.managedFields must be nil');
    }
  }
  return decodeBody(kind, body, ctx);
}
