// Standalone mode's own authorization: a fixed policy of RBAC-style rules per group, matched as
// RBAC matches them. It is kube-apiserver's bootstrap policy for what this server serves:
// system:masters may do everything (cluster-admin); every authenticated user may read discovery
// (system:discovery, system:public-info-viewer) and ask what it may do itself (system:basic-user:
// SelfSubjectAccessReview and SelfSubjectRulesReview). One policy answers both each request and
// those reviews, so `kubectl auth can-i` says what the server will really do.
import type { UserInfo } from '../../src/machinery/registry/context.js';
import type { AccessReview, Decision } from './authorize.js';

/** rbac.authorization.k8s.io/v1 PolicyRule: resource rules or non-resource rules */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** the rules every member of `group` has */
export interface GroupRules {
  group: string;
  rules: PolicyRule[];
}

const ALL = '*';

export const STANDALONE_POLICY: readonly GroupRules[] = [
  {
    group: 'system:masters',
    rules: [
      { verbs: [ALL], apiGroups: [ALL], resources: [ALL] },
      { verbs: [ALL], nonResourceURLs: [ALL] },
    ],
  },
  {
    group: 'system:authenticated',
    rules: [
      {
        verbs: ['create'],
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
      },
      {
        verbs: ['get'],
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
      },
    ],
  },
];

const has = (list: readonly string[] | undefined, v: string) => !!list && (list.includes(ALL) || list.includes(v));

function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const rs = rule.resources ?? [];
  if (rs.includes(ALL)) return true;
  if (!subresource) return rs.includes(resource);
  return rs.includes(`${resource}/${subresource}`) || rs.includes(`*/${subresource}`);
}

function urlMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((u) =>
    u === ALL || u === path ? true : u.endsWith('*') && path.startsWith(u.slice(0, -1)),
  );
}

/** whether `rule` allows the request `review` describes, as RBAC's rule matching decides */
export function ruleAllows(rule: PolicyRule, review: AccessReview): boolean {
  const r = review.resourceAttributes;
  if (r) {
    if (!rule.resources || !has(rule.verbs, r.verb) || !has(rule.apiGroups, r.group)) return false;
    if (!resourceMatches(rule, r.resource, r.subresource)) return false;
    const names = rule.resourceNames ?? [];
    return names.length === 0 || names.includes(r.name);
  }
  const n = review.nonResourceAttributes;
  return !!n && !!rule.nonResourceURLs && has(rule.verbs, n.verb) && urlMatches(rule, n.path);
}

/** every rule of the groups the user is in */
export function rulesFor(policy: readonly GroupRules[], user: UserInfo): PolicyRule[] {
  return policy.filter((g) => user.groups.includes(g.group)).flatMap((g) => g.rules);
}

/** allowed when one of the user's rules allows; otherwise no opinion (RBAC never denies outright) */
export function decide(policy: readonly GroupRules[], review: AccessReview): Decision {
  return { allowed: rulesFor(policy, review.user).some((rule) => ruleAllows(rule, review)) };
}
