// May this user do this? Standalone mode: the server's own policy (policy.ts: system:masters may do
// everything, everyone authenticated may read discovery and review itself). Cluster mode: kube-apiserver decides
// through a SubjectAccessReview with the request's full attributes; system:masters and the
// always-allowed paths skip it, as they do in kube-apiserver; verdicts are cached briefly.
import type { UserInfo } from '../../src/machinery/registry/context.js';
import type { RequestInfo } from '../requestinfo.js';
import { decide, STANDALONE_POLICY, type GroupRules } from './policy.js';

export interface Decision {
  allowed: boolean;
  /** why not, from the reviewer (shown in the 403 message) */
  reason?: string;
}

export type Authorizer = (user: UserInfo, info: RequestInfo, query: URLSearchParams) => Promise<Decision> | Decision;

export interface ResourceAttributes {
  namespace: string;
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  name: string;
}

export interface AccessReview {
  user: UserInfo;
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: { path: string; verb: string };
}

export type AccessReviewer = (review: AccessReview) => Promise<Decision>;

/** every request judged by a fixed policy, with the attributes a review of it would carry */
export function policyAuthorizer(policy: readonly GroupRules[]): Authorizer {
  return (user, info, query) => decide(policy, reviewFor(user, info, query));
}

export const standaloneAuthorizer: Authorizer = policyAuthorizer(STANDALONE_POLICY);

/** `/healthz`, or `/debug/*` (a trailing `*` matches the prefix), as kube's --authorization-always-allow-paths */
export function pathAllowed(patterns: readonly string[], path: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : path === p));
}

/**
 * the attributes kube-apiserver itself would review for this request: verb, group, version,
 * resource, subresource, namespace and name, or the path of a non-resource request
 */
export function reviewFor(user: UserInfo, info: RequestInfo, query: URLSearchParams): AccessReview {
  if (!info.isResourceRequest) return { user, nonResourceAttributes: { path: info.path, verb: info.verb } };
  let name = info.name;
  if (!name && (info.verb === 'list' || info.verb === 'watch')) {
    // a list or watch of one object by field selector is reviewed as that object, as kube does
    const one = /^metadata\.name==?([^,]+)$/.exec(query.get('fieldSelector') ?? '');
    if (one) name = one[1]!;
  }
  return {
    user,
    resourceAttributes: {
      namespace: info.namespace,
      verb: info.verb,
      group: info.apiGroup,
      version: info.apiVersion,
      resource: info.resource,
      subresource: info.subresource,
      name,
    },
  };
}

export function delegatingAuthorizer(
  review: AccessReviewer,
  alwaysAllowPaths: readonly string[],
  ttlMs = 10_000,
  maxEntries = 10_000,
): Authorizer {
  const cache = new Map<string, { at: number; decision: Decision }>();
  return async (user, info, query) => {
    if (!info.isResourceRequest && pathAllowed(alwaysAllowPaths, info.path)) return { allowed: true };
    if (user.groups.includes('system:masters')) return { allowed: true };
    const r = reviewFor(user, info, query);
    const key = JSON.stringify(r);
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < ttlMs) return hit.decision;
    const decision = await review(r);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(key, { at: Date.now(), decision });
    return decision;
  };
}
