// The parts of manifests/ that follow from the kinds (user roles, webhook configurations, CRDs) are
// generated: the committed files must be what `npm run gen:manifests` writes now, and what it writes
// must cover every kind the server serves, with secret material for admins only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { renderManifests } from '../../hack/gen-manifests.js';
import { userRoleRules } from '../../hack/rbac-roles.js';
import { webhookConfigurations } from '../../hack/webhook-configs.js';
import { allKinds, subresourcesOf } from '../../src/api/index.js';
import type { KindDefinition } from '../../src/machinery/kind.js';

const DIR = join(import.meta.dirname, '../../manifests');

type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[] };

/** every grant as `group|resource|verb` */
function grants(rules: Rule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules)
    for (const g of r.apiGroups ?? [])
      for (const res of r.resources ?? []) for (const v of r.verbs) out.add(`${g}|${res}|${v}`);
  return out;
}

const a = (k: KindDefinition, resource: string, verb: string) => `${k.group}|${resource}|${verb}`;

describe('generated manifests', () => {
  const rendered = renderManifests();

  it('are up to date (run `npm run gen:manifests` after changing a kind or a subresource)', () => {
    expect([...rendered.keys()]).toEqual(
      expect.arrayContaining(['base/rbac-users.yaml', 'components/webhooks/webhooks.yaml']),
    );
    for (const [name, text] of rendered) expect(readFileSync(join(DIR, name), 'utf8'), name).toBe(text);
  });

  it('parse as the YAML objects they stand for', () => {
    const roles = parseAllDocuments(rendered.get('base/rbac-users.yaml')!).map((d) => d.toJS());
    expect(roles.map((r) => r.metadata.name)).toEqual([
      'talos-fleet-view',
      'talos-fleet-edit',
      'talos-fleet-admin',
      'talos-fleet-metrics-reader',
    ]);
    const rules = userRoleRules();
    expect(roles.slice(0, 3).map((r) => r.rules)).toEqual(
      [rules.view, rules.edit, rules.admin].map((rs) => rs.map((r) => r.rule)),
    );
    const webhooks = parseAllDocuments(rendered.get('components/webhooks/webhooks.yaml')!).map((d) => d.toJS());
    expect(webhooks).toEqual(webhookConfigurations());
  });
});

describe('user roles from the kinds', () => {
  const rules = userRoleRules();
  const view = grants(rules.view.map((r) => r.rule));
  const edit = grants(rules.edit.map((r) => r.rule));
  const admin = grants(rules.admin.map((r) => r.rule));

  it('view reads every kind and its status; edit also writes; admin has everything edit has', () => {
    for (const k of allKinds) {
      for (const v of ['get', 'list', 'watch']) expect(view.has(a(k, k.plural, v)), `${k.plural} ${v}`).toBe(true);
      for (const v of ['create', 'update', 'patch', 'delete', 'deletecollection']) {
        expect(view.has(a(k, k.plural, v)), `view may not ${v} ${k.plural}`).toBe(false);
        expect(edit.has(a(k, k.plural, v)), `edit may ${v} ${k.plural}`).toBe(true);
      }
      if (k.statusSubresource) expect(view.has(a(k, `${k.plural}/status`, 'get'))).toBe(true);
      for (const v of ['update', 'patch'])
        expect(admin.has(a(k, `${k.plural}/status`, v)), 'status is written by the controllers only').toBe(false);
    }
    for (const g of view) expect(edit.has(g), g).toBe(true);
    for (const g of edit) expect(admin.has(g), g).toBe(true);
  });

  it('subresources: secret material to admin only, reads to view, actions to edit', () => {
    const declared = allKinds.flatMap((k) => subresourcesOf(k).map((s) => ({ k, s })));
    expect(
      declared
        .filter(({ s }) => s.secretMaterial)
        .map(({ k, s }) => `${k.plural}/${s.name}`)
        .sort(),
    ).toEqual([
      'adoptedservers/kubeconfig',
      'kubernetesclusters/kubeconfig',
      'kubernetesclusters/talosconfig',
      'machines/machineconfig',
    ]);
    for (const { k, s } of declared) {
      for (const v of s.verbs) {
        const g = a(k, `${k.plural}/${s.name}`, v);
        expect(admin.has(g), g).toBe(true);
        expect(edit.has(g), g).toBe(!s.secretMaterial);
        expect(view.has(g), g).toBe(!s.secretMaterial && v === 'get');
      }
    }
  });

  it('a subresource declaration names exactly one of our kinds', () => {
    expect(new Set(allKinds.map((k) => k.plural)).size).toBe(allKinds.length);
  });
});

describe('webhook configurations from the kinds', () => {
  it('both name every kind of ours, by group, version and resource', () => {
    for (const config of webhookConfigurations()) {
      const covered = config.webhooks[0]!.rules.flatMap((r) =>
        r.apiGroups.flatMap((g) => r.apiVersions.flatMap((v) => r.resources.map((res) => `${g}/${v}/${res}`))),
      );
      expect(covered.sort()).toEqual(allKinds.map((k) => `${k.group}/${k.version}/${k.plural}`).sort());
    }
  });
});
