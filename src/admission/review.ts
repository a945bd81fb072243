// The admission plugins as AdmissionReview v1 decisions, for clusters and pipelines that hold our
// kinds as CRDs: the defaulting and validation the registry does for every kind, then the hooks of
// reviewedPlugins, the same functions the in-process chain calls. Run as a dry run with no side
// effects (no Secrets are read or written), so a caller learns and changes nothing.
import jsonpatch, { type Operation } from 'fast-json-patch';
import { allKinds, kubernetesClusterKind } from '../api/index.js';
import { badRequest, invalid, StatusError, type FieldError } from '../machinery/errors.js';
import type { KindDefinition, KubeObject } from '../machinery/kind.js';
import { validateObjectMeta } from '../machinery/metavalidation.js';
import type { RequestContext, UserInfo } from '../machinery/registry/context.js';
import { kindSchema } from '../machinery/registry/prepare.js';
import { reviewedPlugins } from './index.js';

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object?: KubeObject;
  oldObject?: KubeObject;
  name?: string;
  namespace?: string;
  userInfo?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
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
    throw badRequest('the body must be an admission.k8s.io/v1 AdmissionReview');
  }
  const req = r.request;
  if (
    !req ||
    typeof req.uid !== 'string' ||
    !req.kind ||
    typeof req.kind.kind !== 'string' ||
    typeof req.operation !== 'string'
  ) {
    throw badRequest('the AdmissionReview has no request with uid, kind and operation');
  }
  return req as AdmissionRequest;
}

function kindOf(req: AdmissionRequest): KindDefinition | undefined {
  return allKinds.find((k) => k.group === req.kind.group && k.version === req.kind.version && k.kind === req.kind.kind);
}

/** the requesting user as kube-apiserver reports it (authentication.k8s.io UserInfo) */
function userOf(req: AdmissionRequest): UserInfo {
  const u = req.userInfo;
  return {
    name: u?.username ?? '',
    groups: u?.groups ?? [],
    ...(u?.uid ? { uid: u.uid } : {}),
    ...(u?.extra ? { extra: u.extra } : {}),
  };
}

/** a plugin's refusal as the AdmissionReview answer kube-apiserver passes on to its client */
function refused(uid: string, e: StatusError, warnings: string[]): AdmissionResponse {
  const { code, reason, message, details } = e.toStatus();
  return {
    uid,
    allowed: false,
    status: { code, reason: reason ?? 'Invalid', message: message ?? '', ...(details ? { details } : {}) },
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

export async function review(phase: AdmissionPhase, req: AdmissionRequest): Promise<AdmissionResponse> {
  const kind = kindOf(req);
  const obj = req.object;
  if (!kind || !obj || req.operation === 'DELETE' || req.operation === 'CONNECT') {
    return {
      uid: req.uid,
      allowed: true,
      ...(kind || !obj
        ? {}
        : {
            warnings: [
              `${req.kind.group}/${req.kind.version} ${req.kind.kind} is not a kind of this server: not checked`,
            ],
          }),
    };
  }
  const op = req.operation;
  const schema = kindSchema(kind);
  const copy = structuredClone(obj);
  const ctx: RequestContext = { user: userOf(req), dryRun: true, fieldValidation: 'Ignore', warnings: [] };
  const plugins = async (hook: 'mutate' | 'validate'): Promise<AdmissionResponse | undefined> => {
    try {
      for (const p of reviewedPlugins) await p[hook]?.(op, copy, req.oldObject, ctx);
    } catch (e) {
      if (e instanceof StatusError) return refused(req.uid, e, ctx.warnings);
      throw e;
    }
    return undefined;
  };
  const allowed = (extra: Partial<AdmissionResponse> = {}): AdmissionResponse => ({
    uid: req.uid,
    allowed: true,
    ...extra,
    ...(ctx.warnings.length > 0 ? { warnings: ctx.warnings } : {}),
  });
  if (phase === 'mutate') {
    schema.applyDefaults(copy);
    const refusal = await plugins('mutate');
    if (refusal) return refusal;
    const ops: Operation[] = jsonpatch.compare(obj, copy);
    return ops.length === 0
      ? allowed()
      : allowed({ patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') });
  }
  const name = obj.metadata?.name ?? req.name ?? '';
  const errors: FieldError[] = [
    ...validateObjectMeta(copy.metadata ?? {}, { namespaced: kind.namespaced }),
    ...schema.validate(copy),
  ];
  if (errors.length === 0) {
    errors.push(...(kind.strategy.validate?.(copy) ?? []));
    if (op === 'UPDATE' && req.oldObject) errors.push(...(kind.strategy.validateUpdate?.(copy, req.oldObject) ?? []));
  }
  // the Status the in-process chain answers with, so kubectl names the object alike either way
  if (errors.length > 0) return refused(req.uid, invalid(kind, name, errors), ctx.warnings);
  return (await plugins('validate')) ?? allowed();
}
