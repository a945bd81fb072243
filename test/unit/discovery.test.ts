import { describe, it, expect } from 'vitest';
import {
  aggregatedCoreDiscovery,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  compareKubeVersions,
  discoveryContentType,
  etagOf,
  groupsOf,
  pickDiscoveryFormat,
  storageVersionHash,
  DISCOVERY_V2_CONTENT_TYPE,
  DISCOVERY_V2BETA1_CONTENT_TYPE,
  type CustomSubresource,
} from '../../src/machinery/discovery.js';
import { StatusError } from '../../src/machinery/errors.js';
import type { KindDefinition } from '../../src/machinery/kind.js';

function kind(over: Partial<KindDefinition>): KindDefinition {
  return {
    group: 'test.example.io',
    version: 'v1alpha1',
    kind: 'Widget',
    listKind: 'WidgetList',
    plural: 'widgets',
    singular: 'widget',
    namespaced: false,
    shortNames: [],
    categories: [],
    description: 'd',
    schema: { type: 'object', properties: {} },
    columns: [],
    selectableFields: [],
    statusSubresource: false,
    trackGeneration: true,
    strategy: {},
    ...over,
  };
}

const widget = kind({ shortNames: ['wd'], categories: ['all'], statusSubresource: true });
const gadget = kind({
  kind: 'Gadget',
  listKind: 'GadgetList',
  plural: 'gadgets',
  singular: 'gadget',
  namespaced: true,
});
const widgetV1 = kind({ version: 'v1' });
const other = kind({
  group: 'other.example.io',
  kind: 'Thing',
  listKind: 'ThingList',
  plural: 'things',
  singular: 'thing',
});
const secret = kind({
  group: '',
  version: 'v1',
  kind: 'Secret',
  listKind: 'SecretList',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
});
const health: CustomSubresource = { resource: 'widgets', name: 'health', kind: 'WidgetHealth', verbs: ['get'] };
const scale: CustomSubresource = {
  resource: 'gadgets',
  name: 'scale',
  kind: 'Scale',
  group: 'autoscaling',
  version: 'v1',
  verbs: ['get', 'patch', 'update'],
};
const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

describe('pickDiscoveryFormat', () => {
  const v2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
  const v2beta1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

  it('serves legacy without an aggregated alternative', () => {
    expect(pickDiscoveryFormat(undefined)).toBe('legacy');
    expect(pickDiscoveryFormat('')).toBe('legacy');
    expect(pickDiscoveryFormat('application/json')).toBe('legacy');
    expect(pickDiscoveryFormat('*/*')).toBe('legacy');
    expect(pickDiscoveryFormat('application/json, */*')).toBe('legacy');
  });

  it('picks v2, v2beta1, and the first of both in either order', () => {
    expect(pickDiscoveryFormat(v2)).toBe('v2');
    expect(pickDiscoveryFormat(v2beta1)).toBe('v2beta1');
    expect(pickDiscoveryFormat(`${v2},${v2beta1},application/json`)).toBe('v2');
    expect(pickDiscoveryFormat(`${v2beta1}, ${v2}, application/json`)).toBe('v2beta1');
    expect(pickDiscoveryFormat(`${v2beta1},application/json`)).toBe('v2beta1');
  });

  it('parses parameters in any order, with spaces and quotes', () => {
    expect(pickDiscoveryFormat('application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io')).toBe('v2');
    expect(pickDiscoveryFormat('application/json;v="v2beta1";as=APIGroupDiscoveryList;g=apidiscovery.k8s.io')).toBe(
      'v2beta1',
    );
    expect(
      pickDiscoveryFormat(`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,${v2}`),
    ).toBe('v2');
  });

  it('skips alternatives it cannot serve and honours q-values', () => {
    expect(
      pickDiscoveryFormat(
        `application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,${v2beta1}`,
      ),
    ).toBe('v2beta1');
    expect(
      pickDiscoveryFormat(`application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json`),
    ).toBe('legacy');
    expect(pickDiscoveryFormat('application/json;as=Table;v=v1;g=meta.k8s.io, application/json')).toBe('legacy');
    expect(pickDiscoveryFormat(`application/json;q=0.5,${v2}`)).toBe('v2');
    expect(pickDiscoveryFormat(`${v2};q=0,application/json`)).toBe('legacy');
  });

  it('throws 406 when nothing is acceptable', () => {
    let err: unknown;
    try {
      pickDiscoveryFormat('text/html, application/yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(406);
    expect((err as StatusError).reason).toBe('NotAcceptable');
  });

  it('maps formats to content types', () => {
    expect(discoveryContentType('v2')).toBe(DISCOVERY_V2_CONTENT_TYPE);
    expect(discoveryContentType('v2beta1')).toBe(DISCOVERY_V2BETA1_CONTENT_TYPE);
    expect(discoveryContentType('legacy')).toBe('application/json');
  });
});

describe('etag and hashes', () => {
  it('etagOf is a quoted, stable, content-dependent value', () => {
    expect(etagOf('abc')).toMatch(/^"[0-9a-f]{64}"$/);
    expect(etagOf('abc')).toBe(etagOf('abc'));
    expect(etagOf('abc')).not.toBe(etagOf('abd'));
  });

  it('storageVersionHash is stable and differs per kind', () => {
    expect(storageVersionHash(widget)).toBe(storageVersionHash({ ...widget }));
    expect(storageVersionHash(widget)).not.toBe(storageVersionHash(gadget));
    expect(storageVersionHash(widget)).toMatch(/^[A-Za-z0-9+/]{11}=$/);
  });
});

describe('legacy documents', () => {
  it('orders versions by kube priority', () => {
    const sorted = ['v1alpha1', 'v2', 'v1beta1', 'v1', 'v1alpha2', 'foo', 'v2beta3'].sort(compareKubeVersions);
    expect(sorted).toEqual(['v2', 'v1', 'v2beta3', 'v1beta1', 'v1alpha2', 'v1alpha1', 'foo']);
  });

  it('builds APIGroupList and APIGroup with the preferred version', () => {
    const groups = groupsOf([widget, widgetV1, other, secret]);
    expect(groups).toEqual([
      { name: 'test.example.io', versions: ['v1', 'v1alpha1'] },
      { name: 'other.example.io', versions: ['v1alpha1'] },
    ]);
    expect(apiGroupList(groups)).toEqual({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [
        {
          name: 'test.example.io',
          versions: [
            { groupVersion: 'test.example.io/v1', version: 'v1' },
            { groupVersion: 'test.example.io/v1alpha1', version: 'v1alpha1' },
          ],
          preferredVersion: { groupVersion: 'test.example.io/v1', version: 'v1' },
        },
        {
          name: 'other.example.io',
          versions: [{ groupVersion: 'other.example.io/v1alpha1', version: 'v1alpha1' }],
          preferredVersion: { groupVersion: 'other.example.io/v1alpha1', version: 'v1alpha1' },
        },
      ],
    });
    expect(apiGroup('test.example.io', ['v1alpha1'])).toEqual({
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: 'test.example.io',
      versions: [{ groupVersion: 'test.example.io/v1alpha1', version: 'v1alpha1' }],
      preferredVersion: { groupVersion: 'test.example.io/v1alpha1', version: 'v1alpha1' },
    });
  });

  it('builds the APIResourceList with status and custom subresources', () => {
    const list = apiResourceList('test.example.io/v1alpha1', [widget, gadget, widgetV1, other], [health, scale]);
    expect(list).toEqual({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'test.example.io/v1alpha1',
      resources: [
        {
          name: 'widgets',
          singularName: 'widget',
          namespaced: false,
          kind: 'Widget',
          verbs: ALL_VERBS,
          shortNames: ['wd'],
          categories: ['all'],
          storageVersionHash: storageVersionHash(widget),
        },
        {
          name: 'widgets/status',
          singularName: '',
          namespaced: false,
          kind: 'Widget',
          verbs: ['get', 'patch', 'update'],
        },
        { name: 'widgets/health', singularName: '', namespaced: false, kind: 'WidgetHealth', verbs: ['get'] },
        {
          name: 'gadgets',
          singularName: 'gadget',
          namespaced: true,
          kind: 'Gadget',
          verbs: ALL_VERBS,
          storageVersionHash: storageVersionHash(gadget),
        },
        {
          name: 'gadgets/scale',
          singularName: '',
          namespaced: true,
          group: 'autoscaling',
          version: 'v1',
          kind: 'Scale',
          verbs: ['get', 'patch', 'update'],
        },
      ],
    });
    for (const r of list.resources) expect(r.kind).toBeTruthy();
  });

  it('serves the core group as /api and /api/v1', () => {
    expect(apiVersions('10.0.0.1:6443')).toEqual({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '10.0.0.1:6443' }],
    });
    const core = apiResourceList('v1', [widget, secret]);
    expect(core.groupVersion).toBe('v1');
    expect(core.resources.map((r) => r.name)).toEqual(['secrets']);
  });
});

describe('aggregated discovery', () => {
  it('builds the v2 APIGroupDiscoveryList for /apis', () => {
    const doc = aggregatedDiscovery([widget, gadget, widgetV1, other, secret], 'v2', [health, scale]);
    expect(doc.kind).toBe('APIGroupDiscoveryList');
    expect(doc.apiVersion).toBe('apidiscovery.k8s.io/v2');
    expect(doc.metadata).toEqual({});
    expect(doc.items.map((i) => i.metadata.name)).toEqual(['test.example.io', 'other.example.io']);
    const test = doc.items[0]!;
    expect(test.versions.map((v) => v.version)).toEqual(['v1', 'v1alpha1']);
    const v1alpha1 = test.versions[1]!;
    expect(v1alpha1.freshness).toBe('Current');
    expect(v1alpha1.resources).toEqual([
      {
        resource: 'widgets',
        responseKind: { group: 'test.example.io', version: 'v1alpha1', kind: 'Widget' },
        scope: 'Cluster',
        singularResource: 'widget',
        verbs: ALL_VERBS,
        shortNames: ['wd'],
        categories: ['all'],
        subresources: [
          {
            subresource: 'status',
            responseKind: { group: 'test.example.io', version: 'v1alpha1', kind: 'Widget' },
            verbs: ['get', 'patch', 'update'],
          },
          {
            subresource: 'health',
            responseKind: { group: 'test.example.io', version: 'v1alpha1', kind: 'WidgetHealth' },
            verbs: ['get'],
          },
        ],
      },
      {
        resource: 'gadgets',
        responseKind: { group: 'test.example.io', version: 'v1alpha1', kind: 'Gadget' },
        scope: 'Namespaced',
        singularResource: 'gadget',
        verbs: ALL_VERBS,
        subresources: [
          {
            subresource: 'scale',
            responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
            verbs: ['get', 'patch', 'update'],
          },
        ],
      },
    ]);
  });

  it('says v2beta1 when asked, and serves the core group with an empty name for /api', () => {
    expect(aggregatedDiscovery([widget], 'v2beta1').apiVersion).toBe('apidiscovery.k8s.io/v2beta1');
    const core = aggregatedCoreDiscovery([widget, secret], 'v2');
    expect(core.items).toHaveLength(1);
    expect(core.items[0]!.metadata.name).toBe('');
    expect(core.items[0]!.versions[0]!.resources[0]).toMatchObject({
      resource: 'secrets',
      scope: 'Namespaced',
      responseKind: { group: '', version: 'v1', kind: 'Secret' },
    });
  });
});
