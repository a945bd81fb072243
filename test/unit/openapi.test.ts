import { describe, it, expect } from 'vitest';
import {
  openapiHash,
  openapiV2,
  openapiV3ForGroupVersion,
  openapiV3Key,
  openapiV3Root,
  schemaName,
  PATCH_CONTENT_TYPES,
} from '../../src/machinery/openapi.js';
import type { CustomSubresource } from '../../src/machinery/discovery.js';
import type { KindDefinition } from '../../src/machinery/kind.js';

type Any = Record<string, any>;

function kind(over: Partial<KindDefinition>): KindDefinition {
  return {
    group: 'metal.sidero.dev',
    version: 'v1alpha2',
    kind: 'AdoptedServer',
    listKind: 'AdoptedServerList',
    plural: 'adoptedservers',
    singular: 'adoptedserver',
    namespaced: false,
    shortNames: [],
    categories: [],
    description: 'AdoptedServer is an already-running Talos machine.',
    columns: [],
    selectableFields: [],
    statusSubresource: true,
    trackGeneration: true,
    strategy: {},
    schema: {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          description: 'Desired state of the server.',
          required: ['talos'],
          properties: {
            talos: {
              type: 'object',
              description: 'How to reach the Talos API.',
              properties: {
                endpoint: { type: 'string', description: 'host:port of apid.' },
                nodeType: { type: 'string', description: 'Role.', enum: ['controlplane', 'worker'], default: 'worker' },
              },
            },
            disks: {
              type: 'array',
              description: 'Disks.',
              'x-kubernetes-list-type': 'map',
              'x-kubernetes-list-map-keys': ['name'],
              items: {
                type: 'object',
                description: 'A disk.',
                properties: { name: { type: 'string', description: 'Name.' } },
              },
            },
            note: { type: 'string', description: 'Free text.', nullable: true },
          },
        },
        status: {
          type: 'object',
          description: 'Observed state.',
          properties: { ready: { type: 'boolean', description: 'Ready.' } },
        },
      },
    },
    ...over,
  };
}

const adopted = kind({});
const cluster = kind({
  group: 'vitistack.io',
  version: 'v1alpha1',
  kind: 'KubernetesCluster',
  listKind: 'KubernetesClusterList',
  plural: 'kubernetesclusters',
  singular: 'kubernetescluster',
  namespaced: true,
  description: 'A cluster.',
});
const secret = kind({
  group: '',
  version: 'v1',
  kind: 'Secret',
  listKind: 'SecretList',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  statusSubresource: false,
  description: 'Secret holds secret data.',
  schema: {
    type: 'object',
    properties: {
      data: { type: 'object', description: 'Data.', additionalProperties: { type: 'string', format: 'byte' } },
    },
  },
});
const subs: CustomSubresource[] = [
  {
    resource: 'adoptedservers',
    name: 'health',
    kind: 'AdoptedServerHealth',
    verbs: ['get'],
    schema: {
      type: 'object',
      description: 'Live health.',
      properties: { healthy: { type: 'boolean', description: 'Healthy.' } },
    },
  },
  { resource: 'adoptedservers', name: 'upgrade', kind: 'UpgradeRequest', verbs: ['create'] },
];

const GVK = { group: 'metal.sidero.dev', version: 'v1alpha2', kind: 'AdoptedServer' };
const doc = openapiV3ForGroupVersion('metal.sidero.dev/v1alpha2', [adopted, cluster, secret], subs, {
  title: 't',
  version: '1',
}) as Any;
const schemas = doc.components.schemas as Any;

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refs(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') out.push(v as string);
      else refs(v, out);
    }
  }
  return out;
}

function operations(paths: Any): [string, string, Any][] {
  const out: [string, string, Any][] = [];
  for (const [p, item] of Object.entries(paths)) {
    for (const m of ['get', 'post', 'put', 'patch', 'delete']) if (item[m]) out.push([p, m, item[m]]);
  }
  return out;
}

/** What kubectl explain does: find the GVK on an operation, its schema, then walk the fields. */
function explain(d: Any, gvk: typeof GVK, fieldPath: string[]): Any {
  const ops = operations(d.paths).filter(
    ([, , op]) => JSON.stringify(op['x-kubernetes-group-version-kind']) === JSON.stringify(gvk),
  );
  expect(ops.length).toBeGreaterThan(0);
  const [name, schema] = Object.entries(d.components.schemas as Any).find(([, s]) =>
    (s['x-kubernetes-group-version-kind'] ?? []).some(
      (g: Any) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind,
    ),
  )!;
  expect(name).toBe(schemaName(gvk.group, gvk.version, gvk.kind));
  let node: Any = schema;
  for (const f of fieldPath) {
    node = node.properties[f];
    expect(node.description, f).toBeTruthy();
    if (node.allOf) node = d.components.schemas[node.allOf[0].$ref.split('/').pop()];
  }
  return node;
}

describe('OpenAPI v3 per group/version', () => {
  it('is a self-contained OpenAPI 3.0 document: every $ref resolves', () => {
    expect(doc.openapi).toBe('3.0.0');
    expect(doc.info).toEqual({ title: 't', version: '1' });
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(10);
    for (const r of all) {
      expect(r.startsWith('#/components/schemas/'), r).toBe(true);
      expect(schemas[r.slice('#/components/schemas/'.length)], r).toBeDefined();
    }
  });

  it('only serves its own group/version', () => {
    expect(Object.keys(doc.paths).every((p) => p.startsWith('/apis/metal.sidero.dev/v1alpha2/'))).toBe(true);
    expect(schemas['io.vitistack.v1alpha1.KubernetesCluster']).toBeUndefined();
  });

  it('names schemas by reversed group and tags them with a GVK list', () => {
    const s = schemas['dev.sidero.metal.v1alpha2.AdoptedServer'];
    expect(s['x-kubernetes-group-version-kind']).toEqual([
      { group: 'metal.sidero.dev', kind: 'AdoptedServer', version: 'v1alpha2' },
    ]);
    expect(s.description).toBe('AdoptedServer is an already-running Talos machine.');
    expect(s.properties.metadata).toMatchObject({
      allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }],
      default: {},
    });
    expect(Object.keys(s.properties)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    const list = schemas['dev.sidero.metal.v1alpha2.AdoptedServerList'];
    expect(list['x-kubernetes-group-version-kind']).toEqual([
      { group: 'metal.sidero.dev', kind: 'AdoptedServerList', version: 'v1alpha2' },
    ]);
    expect(list.properties.items.items.$ref).toBe('#/components/schemas/dev.sidero.metal.v1alpha2.AdoptedServer');
  });

  it('keeps descriptions, list extensions, enums, defaults and nullable', () => {
    const spec = schemas['dev.sidero.metal.v1alpha2.AdoptedServer'].properties.spec;
    expect(spec.properties.disks['x-kubernetes-list-type']).toBe('map');
    expect(spec.properties.disks['x-kubernetes-list-map-keys']).toEqual(['name']);
    expect(spec.properties.talos.properties.nodeType).toEqual({
      type: 'string',
      description: 'Role.',
      enum: ['controlplane', 'worker'],
      default: 'worker',
    });
    expect(spec.properties.note.nullable).toBe(true);
    expect(spec.required).toEqual(['talos']);
  });

  it('has descriptions at every level for kubectl explain adoptedservers.spec.talos', () => {
    const talos = explain(doc, GVK, ['spec', 'talos']);
    expect(talos.description).toBe('How to reach the Talos API.');
    expect(talos.properties.endpoint.description).toBe('host:port of apid.');
    const meta = explain(doc, GVK, ['metadata']);
    for (const [f, p] of Object.entries(meta.properties as Any)) expect(p.description, f).toBeTruthy();
  });

  it('serves cluster-scoped paths with the expected operations', () => {
    const base = '/apis/metal.sidero.dev/v1alpha2/adoptedservers';
    const p = doc.paths;
    expect(
      Object.keys(p[base])
        .filter((k) => k !== 'parameters')
        .sort(),
    ).toEqual(['delete', 'get', 'post']);
    expect(
      Object.keys(p[`${base}/{name}`])
        .filter((k) => k !== 'parameters')
        .sort(),
    ).toEqual(['delete', 'get', 'patch', 'put']);
    expect(
      Object.keys(p[`${base}/{name}/status`])
        .filter((k) => k !== 'parameters')
        .sort(),
    ).toEqual(['get', 'patch', 'put']);
    expect(p[base].get['x-kubernetes-action']).toBe('list');
    expect(p[base].delete['x-kubernetes-action']).toBe('deletecollection');
    expect(p[base].get.operationId).toBe('listMetalSideroDevV1alpha2AdoptedServer');
    expect(p[`${base}/{name}/status`].patch.operationId).toBe('patchMetalSideroDevV1alpha2AdoptedServerStatus');
    expect(p[base].get.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/dev.sidero.metal.v1alpha2.AdoptedServerList',
    );
    expect(p['/apis/metal.sidero.dev/v1alpha2/'].get.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList',
    );
  });

  it('gives every operation an operationId, an action and a GVK object', () => {
    const ops = operations(doc.paths);
    const ids = ops.map(([, , op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [p, m, op] of ops) {
      expect(op.operationId, `${m} ${p}`).toBeTruthy();
      if (p.endsWith('/v1alpha2/')) continue;
      expect(op['x-kubernetes-action'], `${m} ${p}`).toBeTruthy();
      expect(typeof op['x-kubernetes-group-version-kind'], `${m} ${p}`).toBe('object');
      expect(Array.isArray(op['x-kubernetes-group-version-kind'])).toBe(false);
    }
  });

  it('declares the patch content types and inline write parameters kubectl looks for', () => {
    const names = (op: Any) => (op.parameters as Any[]).map((x) => x.name);
    for (const [p, m, op] of operations(doc.paths)) {
      if (m === 'patch') {
        expect(Object.keys(op.requestBody.content).sort(), p).toEqual([...PATCH_CONTENT_TYPES].sort());
        expect(op.requestBody.content['application/strategic-merge-patch+json']).toBeUndefined();
        expect(names(op)).toEqual(expect.arrayContaining(['dryRun', 'fieldManager', 'fieldValidation', 'force']));
        for (const param of op.parameters) expect(param.$ref).toBeUndefined();
        expect(op.parameters.find((x: Any) => x.name === 'fieldValidation')).toMatchObject({
          in: 'query',
          schema: { type: 'string' },
        });
      }
      if (m === 'post' || m === 'put') {
        expect(names(op), `${m} ${p}`).toEqual(expect.arrayContaining(['dryRun', 'fieldManager', 'fieldValidation']));
      }
    }
    const list = doc.paths['/apis/metal.sidero.dev/v1alpha2/adoptedservers'].get;
    expect(names(list).sort()).toEqual([
      'allowWatchBookmarks',
      'continue',
      'fieldSelector',
      'labelSelector',
      'limit',
      'resourceVersion',
      'resourceVersionMatch',
      'sendInitialEvents',
      'timeoutSeconds',
      'watch',
    ]);
    expect(list.responses['200'].content['application/json;stream=watch']).toBeDefined();
  });

  it('publishes custom subresources with their own or a placeholder schema', () => {
    const base = '/apis/metal.sidero.dev/v1alpha2/adoptedservers/{name}';
    const h = doc.paths[`${base}/health`];
    expect(Object.keys(h).filter((k) => k !== 'parameters')).toEqual(['get']);
    expect(h.get['x-kubernetes-group-version-kind']).toEqual({
      group: 'metal.sidero.dev',
      version: 'v1alpha2',
      kind: 'AdoptedServerHealth',
    });
    expect(h.get.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/dev.sidero.metal.v1alpha2.AdoptedServerHealth',
    );
    expect(schemas['dev.sidero.metal.v1alpha2.AdoptedServerHealth'].properties.healthy.description).toBe('Healthy.');
    const u = doc.paths[`${base}/upgrade`];
    expect(u.post['x-kubernetes-action']).toBe('post');
    expect(schemas['dev.sidero.metal.v1alpha2.UpgradeRequest']).toBeDefined();
  });

  it('serves namespaced kinds under namespaces/{namespace} plus a list across namespaces', () => {
    const d = openapiV3ForGroupVersion('vitistack.io/v1alpha1', [adopted, cluster]) as Any;
    const ns = '/apis/vitistack.io/v1alpha1/namespaces/{namespace}/kubernetesclusters';
    expect(Object.keys(d.paths).sort()).toEqual([
      '/apis/vitistack.io/v1alpha1/',
      '/apis/vitistack.io/v1alpha1/kubernetesclusters',
      ns,
      `${ns}/{name}`,
      `${ns}/{name}/status`,
    ]);
    expect(d.paths[ns].parameters.map((x: Any) => x.name)).toEqual(['namespace', 'pretty']);
    expect(d.paths[ns].get.operationId).toBe('listVitistackIoV1alpha1NamespacedKubernetesCluster');
    expect(d.paths['/apis/vitistack.io/v1alpha1/kubernetesclusters'].get.operationId).toBe(
      'listVitistackIoV1alpha1KubernetesClusterForAllNamespaces',
    );
    expect(d.components.schemas['io.vitistack.v1alpha1.KubernetesCluster']).toBeDefined();
  });

  it('serves the core group under /api/v1 with io.k8s.api.core names', () => {
    const d = openapiV3ForGroupVersion('v1', [adopted, secret]) as Any;
    expect(d.paths['/api/v1/namespaces/{namespace}/secrets/{name}'].get['x-kubernetes-group-version-kind']).toEqual({
      group: '',
      version: 'v1',
      kind: 'Secret',
    });
    expect(d.components.schemas['io.k8s.api.core.v1.Secret']['x-kubernetes-group-version-kind']).toEqual([
      { group: '', kind: 'Secret', version: 'v1' },
    ]);
    expect(d.paths['/api/v1/namespaces/{namespace}/secrets/{name}/status']).toBeUndefined();
  });
});

describe('OpenAPI v3 root', () => {
  it('lists each group/version with a hash of its document', () => {
    const core = openapiV3ForGroupVersion('v1', [secret]);
    const root = openapiV3Root([
      { groupVersion: 'metal.sidero.dev/v1alpha2', document: doc },
      { groupVersion: 'v1', document: core },
    ]);
    expect(Object.keys(root.paths)).toEqual(['apis/metal.sidero.dev/v1alpha2', 'api/v1']);
    expect(root.paths['apis/metal.sidero.dev/v1alpha2']!.serverRelativeURL).toBe(
      `/openapi/v3/apis/metal.sidero.dev/v1alpha2?hash=${openapiHash(doc)}`,
    );
    expect(openapiHash(doc)).toMatch(/^[0-9A-F]{128}$/);
    expect(openapiV3Key('v1')).toBe('api/v1');
  });

  it('changes the hash when a kind changes and keeps it when nothing does', () => {
    const again = openapiV3ForGroupVersion('metal.sidero.dev/v1alpha2', [adopted, cluster, secret], subs, {
      title: 't',
      version: '1',
    });
    expect(openapiHash(again)).toBe(openapiHash(doc));
    const changed = kind({ description: 'Changed.' });
    const other = openapiV3ForGroupVersion('metal.sidero.dev/v1alpha2', [changed], subs, { title: 't', version: '1' });
    expect(openapiHash(other)).not.toBe(openapiHash(doc));
    const root1 = openapiV3Root([{ groupVersion: 'metal.sidero.dev/v1alpha2', document: doc }]);
    const root2 = openapiV3Root([{ groupVersion: 'metal.sidero.dev/v1alpha2', document: other }]);
    expect(root1.paths['apis/metal.sidero.dev/v1alpha2']).not.toEqual(root2.paths['apis/metal.sidero.dev/v1alpha2']);
  });
});

describe('OpenAPI v2', () => {
  const v2 = openapiV2([adopted, cluster, secret], subs) as Any;

  it('is Swagger 2.0 with every $ref resolving to a definition', () => {
    expect(v2.swagger).toBe('2.0');
    for (const r of refs(v2)) {
      expect(r.startsWith('#/definitions/'), r).toBe(true);
      expect(v2.definitions[r.slice('#/definitions/'.length)], r).toBeDefined();
    }
    expect(JSON.stringify(v2)).not.toContain('#/components/');
  });

  it('uses the same definition names with GVK lists, and drops nullable', () => {
    expect(v2.definitions['dev.sidero.metal.v1alpha2.AdoptedServer']['x-kubernetes-group-version-kind']).toEqual(
      [GVK].map((g) => ({ group: g.group, kind: g.kind, version: g.version })),
    );
    expect(v2.definitions['io.vitistack.v1alpha1.KubernetesCluster']).toBeDefined();
    expect(v2.definitions['io.k8s.api.core.v1.Secret']).toBeDefined();
    const note = v2.definitions['dev.sidero.metal.v1alpha2.AdoptedServer'].properties.spec.properties.note;
    expect(note).toEqual({ description: 'Free text.' });
    expect(v2.definitions['dev.sidero.metal.v1alpha2.AdoptedServer'].properties.metadata.$ref).toBe(
      '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
    );
  });

  it('declares patch consumes and an inline fieldValidation parameter on every patch', () => {
    let patches = 0;
    for (const [p, m, op] of operations(v2.paths)) {
      if (!p.endsWith('/')) expect(op['x-kubernetes-group-version-kind'], `${m} ${p}`).toBeDefined();
      if (m !== 'patch') continue;
      patches++;
      expect(op.consumes).toEqual(PATCH_CONTENT_TYPES);
      const fv = op.parameters.find((x: Any) => x.name === 'fieldValidation');
      expect(fv).toMatchObject({ in: 'query', type: 'string' });
      expect(op.parameters.find((x: Any) => x.in === 'body').schema.$ref).toBe(
        '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
      );
    }
    expect(patches).toBe(5); // adoptedservers, its status, kubernetesclusters, its status, secrets
  });

  it('covers all group/versions in one document', () => {
    expect(v2.paths['/apis/vitistack.io/v1alpha1/namespaces/{namespace}/kubernetesclusters/{name}']).toBeDefined();
    expect(v2.paths['/api/v1/namespaces/{namespace}/secrets']).toBeDefined();
    expect(
      v2.paths['/apis/metal.sidero.dev/v1alpha2/adoptedservers/{name}/health'].get.responses['200'].schema.$ref,
    ).toBe('#/definitions/dev.sidero.metal.v1alpha2.AdoptedServerHealth');
  });
});
