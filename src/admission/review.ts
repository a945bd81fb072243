// The admission plugins as AdmissionReview v1 decisions, for clusters and pipelines that hold our
// kinds as CRDs: the same defaulting and validation the server runs in-process, without side
// effects (no Secrets are read or written, so a caller learns and changes nothing). Pure apart
// from the patch check, which generates a throwaway config.
import jsonpatch, { type Operation } from 'fast-json-patch';
import { allKinds } from '../api/index.js';
import { StatusError, type FieldError } from '../machinery/errors.js';
import type { KindDefinition, KubeObject } from '../machinery/kind.js';
import { validateObjectMeta } from '../machinery/metavalidation.js';
import { kindSchema } from '../machinery/registry/prepare.js';
import { clusterProblems } from './machineconfig.js';

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object?: KubeObject;
  oldObject?: KubeObject;
  name?: string;
  namespace?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string; details?: unknown };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export type AdmissionPhase = 'mutate' | 'validate';

/** a malformed AdmissionReview: the caller's mistake, a 400 */
export function requestOf(review: unknown): AdmissionRequest {
  const r = review as { apiVersion?: unknown; kind?: unknown; request?: Partial<AdmissionRequest> } | null;
  if (!r || typeof r !== 'object' || r.kind !== 'AdmissionReview' || r.apiVersion !== 'admission.k8s.io/v1') {
    throw new StatusError(400, 'BadRequest', 'the body must be an admission.k8s.io/v1 AdmissionReview');
  }
  const req = r.request;
  if (!req || typeof req.uid !== 'string' || !req.kind || typeof req.kind.kind !== 'string' || typeof req.operation !== 'string') {
    throw new StatusError(400, 'BadRequest', 'the AdmissionReview has no request with uid, kind and operation');
  }
  return req as AdmissionRequest;
}

function kindOf(req: AdmissionRequest): KindDefinition | undefined {
  return allKinds.find((k) => k.group === req.kind.group && k.version === req.kind.version && k.kind === req.kind.kind);
}

function denied(uid: string, name: string, kind: KindDefinition, errors: FieldError[]): AdmissionResponse {
  const message = `${kind.kind} "${name}" is invalid: ${errors.map((e) => e.message).join(', ')}`;
  return {
    uid,
    allowed: false,
    status: { code: 422, reason: 'Invalid', message, details: { name, group: kind.group, kind: kind.plural, causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })) } },
  };
}

export async function review(phase: AdmissionPhase, req: AdmissionRequest): Promise<AdmissionResponse> {
  const kind = kindOf(req);
  const obj = req.object;
  if (!kind || !obj || req.operation === 'DELETE' || req.operation === 'CONNECT') {
    return { uid: req.uid, allowed: true, ...(kind || !obj ? {} : { warnings: [`${req.kind.group}/${req.kind.version} ${req.kind.kind} is not a kind of this server: not checked`] }) };
  }
  const schema = kindSchema(kind);
  const copy = structuredClone(obj);
  if (phase === 'mutate') {
    schema.applyDefaults(copy);
    const ops: Operation[] = jsonpatch.compare(obj, copy);
    return ops.length === 0 ? { uid: req.uid, allowed: true } : { uid: req.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') };
  }
  const name = obj.metadata?.name ?? req.name ?? '';
  const errors: FieldError[] = [...validateObjectMeta(copy.metadata ?? {}, { namespaced: kind.namespaced }), ...schema.validate(copy)];
  if (errors.length === 0) {
    errors.push(...(kind.strategy.validate?.(copy) ?? []));
    if (req.operation === 'UPDATE' && req.oldObject) errors.push(...(kind.strategy.validateUpdate?.(copy, req.oldObject) ?? []));
    if (errors.length === 0 && kind.kind === 'KubernetesCluster') errors.push(...(await clusterProblems(copy)));
  }
  return errors.length > 0 ? denied(req.uid, name, kind, errors) : { uid: req.uid, allowed: true };
}
