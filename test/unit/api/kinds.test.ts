// Rules every declared kind must follow: structural schemas with descriptions and list semantics,
// names and columns as kubectl expects them.
import { describe, expect, it } from 'vitest';
import { allKinds, coreKinds } from '../../../src/api/index.js';
import type { JSONSchema } from '../../../src/machinery/kind.js';
import { check, walk } from './helpers.js';

const everyKind = [...allKinds, ...coreKinds];
const forbiddenKeywords = ['anyOf', 'oneOf', 'allOf', 'not', 'patternProperties', '$ref', 'definitions', '$defs'];

function nodes(schema: JSONSchema) {
  const out: { node: JSONSchema; path: string; isProperty: boolean }[] = [];
  walk(schema, (v) => out.push(v));
  return out;
}

describe.each(everyKind.map((k) => [k.kind, k] as const))('%s schema', (_name, kind) => {
  it('is plain JSON (no TypeBox symbols or functions)', () => {
    expect(Object.getOwnPropertySymbols(kind.schema)).toEqual([]);
    expect(JSON.parse(JSON.stringify(kind.schema))).toEqual(kind.schema);
  });

  it('compiles in ajv', () => {
    expect(() => check(kind, {})).not.toThrow();
  });

  it('gives every property a description', () => {
    const missing = nodes(kind.schema)
      .filter((n) => n.isProperty && !n.node.description)
      .map((n) => n.path);
    expect(missing).toEqual([]);
    expect(kind.description.length).toBeGreaterThan(0);
  });

  it('uses no non-structural keyword anywhere', () => {
    const text = JSON.stringify(kind.schema);
    for (const kw of forbiddenKeywords) expect(text).not.toContain(`"${kw}"`);
  });

  it('declares a type on every node except preserve-unknown-fields ones', () => {
    const untyped = nodes(kind.schema)
      .filter((n) => !n.node.type && !n.node['x-kubernetes-preserve-unknown-fields'])
      .map((n) => n.path);
    expect(untyped).toEqual([]);
  });

  it('declares list semantics on every list, with required (or defaulted) map keys', () => {
    for (const { node, path } of nodes(kind.schema)) {
      if (node.type !== 'array') continue;
      const lt = node['x-kubernetes-list-type'];
      expect(['atomic', 'set', 'map'], path).toContain(lt);
      if (lt === 'map') {
        const keys = node['x-kubernetes-list-map-keys'] ?? [];
        expect(keys.length, path).toBeGreaterThan(0);
        for (const key of keys) {
          const prop = node.items?.properties?.[key];
          expect(prop, `${path} key ${key}`).toBeDefined();
          expect(node.items?.required?.includes(key) || prop?.default !== undefined, `${path} key ${key}`).toBe(true);
        }
      }
      if (lt === 'set') expect(['string', 'integer', 'number', 'boolean'], path).toContain(node.items?.type);
    }
  });

  it('has defaults that are valid for their own node', () => {
    for (const { node, path } of nodes(kind.schema)) {
      if (node.default === undefined) continue;
      if (node.enum) expect(node.enum, path).toContain(node.default);
      if (node.type === 'object') expect(typeof node.default, path).toBe('object');
      if (node.type === 'boolean') expect(typeof node.default, path).toBe('boolean');
      if (node.type === 'string') expect(typeof node.default, path).toBe('string');
    }
  });

  it('uses patterns that ECMAScript (u flag) and RE2 both accept', () => {
    for (const { node, path } of nodes(kind.schema)) {
      if (node.pattern === undefined) continue;
      expect(() => new RegExp(node.pattern!, 'u'), path).not.toThrow();
      expect(() => new RegExp(node.pattern!), path).not.toThrow();
      expect(node.pattern, path).not.toMatch(/\(\?[=!<]|\\[1-9]/);
    }
  });
});

describe.each(everyKind.map((k) => [k.kind, k] as const))('%s definition', (_name, kind) => {
  it('has consistent names', () => {
    expect(kind.listKind).toBe(`${kind.kind}List`);
    expect(kind.singular).toBe(kind.kind.toLowerCase());
    expect(kind.plural).toMatch(/^[a-z]+$/);
  });

  it('does not declare a Name column and ends columns sensibly', () => {
    expect(kind.columns.map((c) => c.name)).not.toContain('Name');
    for (const c of kind.columns) {
      expect(c.jsonPath.startsWith('.')).toBe(true);
      expect(c.description.length).toBeGreaterThan(0);
    }
  });

  it('declares selectable fields that are paths in the schema or come from fieldValues', () => {
    const fromStrategy = kind.strategy.fieldValues
      ? Object.keys(kind.strategy.fieldValues({ apiVersion: 'v1', kind: kind.kind, metadata: {} }))
      : [];
    for (const field of kind.selectableFields) {
      if (fromStrategy.includes(field)) continue;
      let node: JSONSchema | undefined = kind.schema;
      for (const step of field.split('.')) node = node?.properties?.[step];
      expect(node, field).toBeDefined();
      expect(['string', 'boolean', 'integer'], field).toContain(node?.type);
    }
  });
});

describe('our kinds', () => {
  it('are the six kinds of the two groups, with their scope, names and category', () => {
    const summary = allKinds.map((k) => [k.group, k.version, k.kind, k.plural, k.namespaced, k.shortNames]);
    expect(summary).toEqual([
      ['metal.sidero.dev', 'v1alpha2', 'AdoptedServer', 'adoptedservers', true, ['as']],
      ['metal.sidero.dev', 'v1alpha2', 'Server', 'servers', false, []],
      ['metal.sidero.dev', 'v1alpha2', 'ServerClass', 'serverclasses', false, []],
      ['metal.sidero.dev', 'v1alpha2', 'Environment', 'environments', false, []],
      ['vitistack.io', 'v1alpha1', 'KubernetesCluster', 'kubernetesclusters', true, ['kc']],
      ['vitistack.io', 'v1alpha1', 'Machine', 'machines', true, ['m']],
    ]);
    for (const k of allKinds) {
      expect(k.categories).toEqual(['talos']);
      expect(k.statusSubresource).toBe(true);
      expect(k.trackGeneration).toBe(true);
      expect(k.selectableFields.length).toBeLessThanOrEqual(8);
      expect(k.columns.at(-1)).toMatchObject({
        name: 'Age',
        type: 'date',
        jsonPath: '.metadata.creationTimestamp',
        priority: 0,
      });
      expect(Object.keys(k.schema.properties).sort()).toEqual(['spec', 'status']);
    }
  });

  it("AdoptedServer's HOSTNAME is the declared one, else the one the node reported", () => {
    const hostname = allKinds.find((k) => k.kind === 'AdoptedServer')!.columns.find((c) => c.name === 'Hostname')!;
    const obj = (spec: object, status?: object) =>
      ({ apiVersion: 'v', kind: 'AdoptedServer', metadata: { name: 'x' }, spec: { talos: spec }, status }) as never;
    expect(hostname.value!(obj({ hostname: 'declared' }, { nodeInfo: { hostname: 'reported' } }))).toBe('declared');
    expect(hostname.value!(obj({}, { nodeInfo: { hostname: 'reported' } }))).toBe('reported');
    expect(hostname.value!(obj({}))).toBeUndefined();
  });

  it('have the printer columns of the upstream CRDs (AdoptedServer: modelled on Server) with their priorities', () => {
    const cols = (kind: string) =>
      allKinds.find((k) => k.kind === kind)!.columns.map((c) => `${c.name}:${c.jsonPath}:${c.type}:${c.priority}`);
    expect(cols('AdoptedServer')).toEqual([
      'Hostname:.spec.talos.hostname:string:0',
      'Endpoint:.spec.talos.endpoint:string:1',
      'Type:.spec.talos.nodeType:string:0',
      'Accepted:.spec.accepted:boolean:0',
      'Connected:.status.connected:boolean:0',
      'Ready:.status.ready:boolean:0',
      'Health:.status.health.status:string:0',
      'Talos:.status.nodeInfo.talosVersion:string:1',
      'Reason:.status.conditions[?(@.type=="Ready")].reason:string:1',
      'Age:.metadata.creationTimestamp:date:0',
    ]);
    expect(cols('Server')).toEqual([
      'Hostname:.spec.hostname:string:0',
      'BMC IP:.spec.bmc.endpoint:string:1',
      'Accepted:.spec.accepted:boolean:0',
      'Cordoned:.spec.cordoned:boolean:0',
      'Allocated:.status.inUse:boolean:0',
      'Clean:.status.isClean:boolean:0',
      'Power:.status.power:string:0',
      'Age:.metadata.creationTimestamp:date:0',
    ]);
    expect(cols('ServerClass')).toEqual([
      'Available:.status.serversAvailable:string:0',
      'In Use:.status.serversInUse:string:0',
      'Age:.metadata.creationTimestamp:date:0',
    ]);
    expect(cols('Environment')).toEqual([
      'Kernel:.spec.kernel.url:string:0',
      'Initrd:.spec.initrd.url:string:0',
      'Ready:.status.conditions[?(@.type=="Ready")].status:string:0',
      'Age:.metadata.creationTimestamp:date:0',
    ]);
    expect(cols('KubernetesCluster')).toEqual([
      'Phase:.status.phase:string:0',
      'Provider:.spec.data.provider:string:0',
      'Region:.spec.data.region:string:0',
      'CPs:.spec.topology.controlplane.replicas:integer:0',
      'Workers:.status.workers:integer:0',
      // ours, in -o wide only: the default table stays talos-operator's
      'Ready:.status.conditions[?(@.type=="Ready")].status:string:1',
      'Healthy:.status.conditions[?(@.type=="Healthy")].status:string:1',
      'Talos:.status.nodes[0].talosVersion:string:1',
      'Target:.spec.talos.version:string:1',
      'Kubernetes:.status.nodes[0].kubernetesVersion:string:1',
      'K8s-Target:.spec.topology.version:string:1',
      'Message:.status.message:string:1',
      'Age:.metadata.creationTimestamp:date:0',
    ]);
    expect(cols('Machine')).toEqual([
      'Phase:.status.phase:string:0',
      'State:.status.state:string:0',
      'Public IPs:.status.publicIPAddresses:string:0',
      'Provider:.spec.provider:string:0',
      'Machine Class:.spec.machineClass:string:0',
      'Age:.metadata.creationTimestamp:date:0',
    ]);
  });
});

describe('core kinds', () => {
  it('are Namespace, Secret and Event of core v1, outside the talos category', () => {
    expect(coreKinds.map((k) => [k.group, k.version, k.kind, k.plural, k.namespaced, k.shortNames])).toEqual([
      ['', 'v1', 'Namespace', 'namespaces', false, ['ns']],
      ['', 'v1', 'Secret', 'secrets', true, []],
      ['', 'v1', 'Event', 'events', true, ['ev']],
    ]);
    for (const k of coreKinds) {
      expect(k.categories).toEqual([]);
      expect(k.trackGeneration).toBe(false);
      expect(k.statusSubresource).toBe(false);
    }
  });
});
