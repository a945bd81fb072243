// The answers to SelfSubjectAccessReview and SelfSubjectRulesReview, as kube-apiserver's REST
// handlers give them: the spec is checked, the user is the one who sent the review (never a field
// of it), and the server's own policy answers into status. No HTTP here (handlers/selfreviews.ts).
import { badRequest, invalid } from '../../src/machinery/errors.js';
import type { KindDefinition, KubeObject } from '../../src/machinery/kind.js';
import type { UserInfo } from '../../src/machinery/registry/context.js';
import { kindSchema, resourceRef } from '../../src/machinery/registry/prepare.js';
import { selfSubjectAccessReviewKind, selfSubjectRulesReviewKind } from '../../src/api/index.js';
import type { AccessReview, ResourceAttributes } from './authorize.js';
import { decide, rulesFor, type GroupRules } from './policy.js';

export type SelfReviewAnswer = (review: KubeObject, user: UserInfo) => KubeObject;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * A decoded review checked as kube-apiserver checks one: a field of the wrong type cannot be
 * decoded (400), a spec that asks nothing or two things is invalid (422). What the client put in
 * status is dropped first: status is the server's answer.
 */
export function checkReview(kind: KindDefinition, review: KubeObject): void {
  delete review.status;
  const typeErrors = kindSchema(kind).validate(review);
  if (typeErrors.length > 0) {
    throw badRequest(
      `${kind.kind} in version "${kind.version}" cannot be handled as a ${kind.kind}: ${typeErrors.map((e) => e.message).join(', ')}`,
    );
  }
  const errors = kind.strategy.validate?.(review) ?? [];
  if (errors.length > 0) throw invalid(resourceRef(kind), '', errors);
}

function accessReviewOf(spec: Record<string, unknown>, user: UserInfo): AccessReview {
  const res = record(spec.resourceAttributes);
  if (res) {
    const attrs: ResourceAttributes = {
      namespace: str(res.namespace),
      verb: str(res.verb),
      group: str(res.group),
      version: str(res.version),
      resource: str(res.resource),
      subresource: str(res.subresource),
      name: str(res.name),
    };
    return { user, resourceAttributes: attrs };
  }
  const nonRes = record(spec.nonResourceAttributes) ?? {};
  return { user, nonResourceAttributes: { path: str(nonRes.path), verb: str(nonRes.verb) } };
}

/** the answers of standalone mode, from its policy */
export function selfReviewAnswers(policy: readonly GroupRules[]): Map<KindDefinition, SelfReviewAnswer> {
  return new Map<KindDefinition, SelfReviewAnswer>([
    [
      selfSubjectAccessReviewKind,
      (review, user) => {
        const decision = decide(policy, accessReviewOf(record(review.spec) ?? {}, user));
        const status = { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) };
        return { ...review, metadata: {}, spec: review.spec ?? {}, status };
      },
    ],
    [
      selfSubjectRulesReviewKind,
      (review, user) => {
        const rules = rulesFor(policy, user);
        const status = {
          resourceRules: rules
            .filter((r) => r.resources)
            .map((r) => ({
              verbs: r.verbs,
              apiGroups: r.apiGroups ?? [],
              resources: r.resources,
              ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
            })),
          nonResourceRules: rules
            .filter((r) => r.nonResourceURLs)
            .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
          incomplete: false,
        };
        return { ...review, metadata: {}, spec: review.spec ?? {}, status };
      },
    ],
  ]);
}
