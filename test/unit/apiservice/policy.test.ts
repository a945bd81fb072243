// Standalone mode's policy matched as RBAC matches rules: verbs, groups, resources and
// subresources, names, non-resource paths with a trailing '*', and only the asker's groups.
import { describe, expect, it } from 'vitest';
import { decide, ruleAllows, rulesFor, STANDALONE_POLICY, type PolicyRule } from '../../../apiservice/auth/policy.js';
import type { AccessReview } from '../../../apiservice/auth/authorize.js';

const user = (groups: string[]) => ({ name: 'u', groups });
const res = (verb: string, group: string, resource: string, subresource = '', name = ''): AccessReview => ({
  user: user([]),
  resourceAttributes: { namespace: 'default', verb, group, version: 'v1', resource, subresource, name },
});
const path = (verb: string, p: string): AccessReview => ({ user: user([]), nonResourceAttributes: { path: p, verb } });

describe('ruleAllows', () => {
  const rule: PolicyRule = {
    verbs: ['get', 'list'],
    apiGroups: ['vitistack.io'],
    resources: ['machines', 'kubernetesclusters/status', '*/scale'],
    resourceNames: ['a'],
  };

  it('needs verb, group, resource and name to match', () => {
    expect(ruleAllows(rule, res('get', 'vitistack.io', 'machines', '', 'a'))).toBe(true);
    expect(ruleAllows(rule, res('delete', 'vitistack.io', 'machines', '', 'a'))).toBe(false);
    expect(ruleAllows(rule, res('get', 'metal.sidero.dev', 'machines', '', 'a'))).toBe(false);
    expect(ruleAllows(rule, res('get', 'vitistack.io', 'machines', '', 'b'))).toBe(false);
    expect(ruleAllows(rule, res('get', 'vitistack.io', 'machines', 'status', 'a'))).toBe(false);
    expect(ruleAllows(rule, res('get', 'vitistack.io', 'kubernetesclusters', 'status', 'a'))).toBe(true);
    expect(ruleAllows(rule, res('get', 'vitistack.io', 'kubernetesclusters', '', 'a'))).toBe(false);
    expect(ruleAllows(rule, res('get', 'vitistack.io', 'anything', 'scale', 'a'))).toBe(true);
    expect(ruleAllows(rule, path('get', '/apis'))).toBe(false);
  });

  it('matches paths exactly or by a trailing *', () => {
    const urls: PolicyRule = { verbs: ['get'], nonResourceURLs: ['/version', '/apis/*'] };
    expect(ruleAllows(urls, path('get', '/version'))).toBe(true);
    expect(ruleAllows(urls, path('get', '/version/x'))).toBe(false);
    expect(ruleAllows(urls, path('get', '/apis/vitistack.io/v1alpha1'))).toBe(true);
    expect(ruleAllows(urls, path('get', '/apis'))).toBe(false);
    expect(ruleAllows(urls, path('post', '/version'))).toBe(false);
    expect(ruleAllows(urls, res('get', '', 'version'))).toBe(false);
  });
});

describe('STANDALONE_POLICY', () => {
  const as = (groups: string[], r: AccessReview) => decide(STANDALONE_POLICY, { ...r, user: user(groups) }).allowed;
  const authenticated = ['system:authenticated'];
  const masters = ['system:masters', ...authenticated];

  it('lets system:masters do everything', () => {
    expect(as(masters, res('delete', 'vitistack.io', 'kubernetesclusters'))).toBe(true);
    expect(as(masters, res('get', 'vitistack.io', 'machines', 'machineconfig', 'm'))).toBe(true);
    expect(as(masters, path('get', '/metrics'))).toBe(true);
  });

  it('lets every authenticated user read discovery and review itself, nothing more', () => {
    for (const p of ['/api', '/api/v1', '/apis', '/apis/vitistack.io/v1alpha1', '/openapi/v2', '/version'])
      expect(as(authenticated, path('get', p)), p).toBe(true);
    expect(as(authenticated, path('get', '/metrics'))).toBe(false);
    expect(as(authenticated, res('create', 'authorization.k8s.io', 'selfsubjectaccessreviews'))).toBe(true);
    expect(as(authenticated, res('create', 'authorization.k8s.io', 'subjectaccessreviews'))).toBe(false);
    expect(as(authenticated, res('list', 'vitistack.io', 'kubernetesclusters'))).toBe(false);
    expect(as([], path('get', '/apis'))).toBe(false);
    expect(rulesFor(STANDALONE_POLICY, user(authenticated))).toHaveLength(2);
  });
});
