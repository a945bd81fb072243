// The user-facing ClusterRoles of the install (manifests/base/rbac-users.yaml), derived from the
// kinds: every kind's resource, its status subresource and the subresources it declares. A
// subresource that answers with secret material is granted to admin only; one that only reads
// (GET) is in view; one that acts (POST, ...) is in edit. Pure: hack/gen-manifests.ts writes it.
import { allKinds, subresourcesOf } from '../src/api/index.js';
import type { KindDefinition } from '../src/machinery/kind.js';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

export interface ClusterRole {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'ClusterRole';
  metadata: { name: string; labels: Record<string, string> };
  rules: PolicyRule[];
}

/** one rule and why it is there, for the comment above it */
export interface ExplainedRule {
  rule: PolicyRule;
  why?: string;
}

const READ_VERBS = ['get', 'list', 'watch'];
const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const PART_OF = { 'app.kubernetes.io/part-of': 'talos-fleet' };

type Access = 'view' | 'edit' | 'admin';

/** groups in the order their first kind is declared, each with its kinds */
function byGroup(kinds: readonly KindDefinition[]): [string, KindDefinition[]][] {
  const groups = new Map<string, KindDefinition[]>();
  for (const k of kinds) groups.set(k.group, [...(groups.get(k.group) ?? []), k]);
  return [...groups];
}

/** `resource/subresource` names of each group whose verbs fall to this access level */
function subresourceRules(kinds: readonly KindDefinition[], access: Access, why?: string): ExplainedRule[] {
  const rules: ExplainedRule[] = [];
  for (const [group, members] of byGroup(kinds)) {
    const byVerbs = new Map<string, string[]>();
    const add = (verbs: string[], resource: string) => {
      if (verbs.length === 0) return;
      const key = verbs.join(',');
      byVerbs.set(key, [...(byVerbs.get(key) ?? []), resource]);
    };
    for (const k of members) {
      if (access === 'view' && k.statusSubresource) add(['get'], `${k.plural}/status`);
      for (const s of subresourcesOf(k)) {
        const name = `${k.plural}/${s.name}`;
        if (access === 'admin' && s.secretMaterial) add(s.verbs, name);
        if (access === 'view' && !s.secretMaterial)
          add(
            s.verbs.filter((v) => v === 'get'),
            name,
          );
        if (access === 'edit' && !s.secretMaterial)
          add(
            s.verbs.filter((v) => v !== 'get'),
            name,
          );
      }
    }
    for (const [verbs, resources] of byVerbs)
      rules.push({ rule: { apiGroups: [group], resources, verbs: verbs.split(',') }, why });
  }
  // a comment once, above the first rule it explains
  return rules.map((r, i) => (i === 0 ? r : { rule: r.rule }));
}

function resourceRules(kinds: readonly KindDefinition[], verbs: string[]): ExplainedRule[] {
  return byGroup(kinds).map(([group, members]) => ({
    rule: { apiGroups: [group], resources: members.map((k) => k.plural), verbs },
  }));
}

/** the rules of each role: each repeats the one below it (a label aggregates into one built-in role only) */
export function userRoleRules(kinds: readonly KindDefinition[] = allKinds): Record<Access, ExplainedRule[]> {
  const reads = subresourceRules(
    kinds,
    'view',
    'Subresources that only read: status, and live answers such as health (no secret material in them).',
  );
  const view = [...resourceRules(kinds, READ_VERBS), ...reads];
  const edit = [
    ...resourceRules(kinds, [...READ_VERBS, ...WRITE_VERBS]),
    ...reads.map((r) => ({ rule: r.rule })),
    ...subresourceRules(
      kinds,
      'edit',
      'A POST to a subresource (e.g. .../adoptedservers/NAME/upgrade) is the RBAC verb "create" on it.',
    ),
  ];
  const admin = [
    ...edit.map((r) => ({ rule: r.rule })),
    ...subresourceRules(
      kinds,
      'admin',
      "Secret material: an admin kubeconfig of the node's cluster, generated Talos machine configs\n(they embed the cluster's CA keys and join tokens) and talosconfigs (Talos API client certificates).",
    ),
  ];
  return { view, edit, admin };
}

export function clusterRole(name: string, rules: PolicyRule[], aggregateTo?: Access): ClusterRole {
  const labels: Record<string, string> = { ...PART_OF };
  if (aggregateTo) labels[`rbac.authorization.k8s.io/aggregate-to-${aggregateTo}`] = 'true';
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels }, rules };
}

/** the role for scrapers of /metrics; not derived from the kinds, but shipped in the same file */
export const metricsReaderRole = clusterRole('talos-fleet-metrics-reader', [
  { nonResourceURLs: ['/metrics'], verbs: ['get'] },
]);
