// Valid example objects of every kind, drawn from the kinds' own schemas (src/api): required fields
// always, optional ones at random, enums, formats and patterns with values that pass them. The few
// fields whose validity is semantic (a KubernetesCluster's topology, an Event's namespace, a node
// endpoint) are set here, the cluster's from the repository's example manifest. The mutators start from
// these, so most mutated bodies get past decoding and reach validation, admission and storage.
import { allKinds, coreKinds } from '../../src/api/index.js';
import type { JSONSchema, KindDefinition, KubeObject } from '../../src/machinery/kind.js';
import type { Rng } from './rng.js';

export function kindDefinition(group: string, kind: string): KindDefinition | undefined {
  return [...allKinds, ...coreKinds].find((k) => k.group === group && k.kind === kind);
}

/** values that pass each format the kinds use */
const FORMAT_VALUES: Record<string, string[]> = {
  'date-time': ['2024-01-02T03:04:05Z', '2030-12-31T23:59:59+01:00'],
  date: ['2024-01-02'],
  byte: ['aGVsbG8=', ''],
  uuid: ['a30fbc8d-596f-48d0-8541-dbc23bca28a1'],
  hostname: ['node-1.example.com'],
  ipv4: ['127.0.0.1'],
  ipv6: ['::1'],
  cidr: ['10.0.0.0/8'],
};

/** a value matching each pattern, keyed by the pattern's opening characters */
function patternValue(pattern: string, rng: Rng): string {
  if (pattern.startsWith('^((25[0-5]')) return rng.pick(['127.0.0.1:50000', '127.0.0.2:50001', 'localhost:50000']); // host:port
  if (pattern.startsWith('^v?[0-9]+')) return rng.pick(['v1.13.10', 'v1.12.4']);
  if (pattern.startsWith('^[a-z0-9]([-a-z0-9]*')) return rng.pick(['pool-a', 'pool-b', 'w1']);
  return 'x';
}

function word(rng: Rng): string {
  return (
    rng.pick(['alpha', 'beta', 'gamma', 'delta', 'talos', 'node', 'x', 'fuzz']) +
    (rng.chance(0.5) ? `-${rng.int(100)}` : '')
  );
}

export function sampleSchema(schema: JSONSchema, rng: Rng, depth = 0): unknown {
  if (schema.enum && schema.enum.length > 0) return rng.pick(schema.enum.filter((v) => v !== null));
  if (schema['x-kubernetes-int-or-string']) return rng.chance(0.5) ? rng.int(10) : word(rng);
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set(schema.required ?? []);
      for (const [k, sub] of Object.entries(schema.properties ?? {})) {
        if (required.has(k) || (depth < 6 && rng.chance(0.35))) out[k] = sampleSchema(sub, rng, depth + 1);
      }
      if (typeof schema.additionalProperties === 'object' && rng.chance(0.5)) {
        for (let i = rng.int(3); i > 0; i--)
          out[`${word(rng)}${i}`] = sampleSchema(schema.additionalProperties, rng, depth + 1);
      }
      if (schema['x-kubernetes-preserve-unknown-fields'] && !schema.properties && rng.chance(0.5))
        out[word(rng)] = { nested: [1, 'two', { three: true }] };
      return out;
    }
    case 'array': {
      const n = Math.max(schema.minItems ?? 0, rng.int(3));
      const keys = schema['x-kubernetes-list-map-keys'] ?? [];
      const items = Array.from({ length: n }, () =>
        schema.items ? sampleSchema(schema.items, rng, depth + 1) : word(rng),
      );
      // list-type map: the keys of its items must differ; set: the items must
      items.forEach((it, i) => {
        for (const key of keys)
          if (it && typeof it === 'object' && typeof (it as Record<string, unknown>)[key] === 'string')
            (it as Record<string, unknown>)[key] += `-${i}`;
      });
      return schema['x-kubernetes-list-type'] === 'set'
        ? [...new Set(items.map((x) => JSON.stringify(x)))].map((x) => JSON.parse(x) as unknown)
        : items;
    }
    case 'string': {
      if (schema.format && FORMAT_VALUES[schema.format]) return rng.pick(FORMAT_VALUES[schema.format]!);
      if (schema.pattern) return patternValue(schema.pattern, rng);
      let s = word(rng);
      if (schema.maxLength !== undefined) s = s.slice(0, schema.maxLength);
      while (s.length < (schema.minLength ?? 0)) s += 'x';
      return s;
    }
    case 'integer':
    case 'number': {
      const lo = schema.minimum ?? 0;
      const hi = Math.min(schema.maximum ?? lo + 5, lo + 5);
      return rng.range(lo, hi);
    }
    case 'boolean':
      return rng.chance(0.5);
    default:
      // no type: any value (preserve-unknown-fields)
      return rng.pick<unknown>(['free', 1, true, { any: ['thing'] }]);
  }
}

/** the spec of the example KubernetesCluster manifest (test/fixtures/upstream-examples), which admission accepts */
function clusterSpec(): Record<string, any> {
  return {
    data: {
      clusterUid: 'a30fbc8d-596f-48d0-8541-dbc23bca28a1',
      clusterId: 'simple-cluster-id',
      provider: 'talos',
      environment: 'dev',
      datacenter: 'trd1',
      project: 'simple-project',
      region: 'west-trondelag',
      workorder: 'simple-workorder',
      zone: 'Trøndelag',
      workspace: 'simple-workspace',
    },
    topology: {
      version: '1.33',
      controlplane: { replicas: 1, version: '1.33' },
      workers: [{ name: 'worker-pool-1', replicas: 2, version: '1.33' }],
    },
  };
}

/** fields whose validity the schema cannot tell, set after sampling */
function makeSemanticallyValid(kind: KindDefinition, obj: KubeObject, rng: Rng, clusters: string[]): void {
  const spec = (obj.spec ?? {}) as Record<string, any>;
  switch (kind.kind) {
    case 'KubernetesCluster': {
      obj.spec = clusterSpec();
      const s = obj.spec as Record<string, any>;
      s.data.clusterId = `${obj.metadata.name}-id`;
      if (rng.chance(0.3))
        s.topology.workers.push({
          name: 'pool-b',
          replicas: rng.int(3),
          version: '1.33',
          providerConfig: { any: { nested: [1] } },
        });
      if (rng.chance(0.3)) s.talos = { endpoint: 'https://127.0.0.1:6443', version: rng.pick(['v1.13.9', 'v1.12.4']) };
      if (rng.chance(0.2)) s.talos = { ...s.talos, strategicPatches: ['machine:\n  install:\n    disk: /dev/sdz\n'] };
      break;
    }
    case 'Machine':
      spec.provider = rng.pick(['kubevirt', 'proxmox']);
      if (clusters.length > 0 && rng.chance(0.3)) {
        obj.metadata.labels = {
          'cluster.vitistack.io/cluster-name': rng.pick(clusters),
          'vitistack.io/node-role': rng.pick(['controlplane', 'worker']),
        };
      }
      break;
    case 'Event':
      obj.involvedObject = { kind: 'AdoptedServer', name: word(rng), namespace: obj.metadata.namespace };
      break;
    case 'Secret':
      obj.data = { key: Buffer.from(word(rng)).toString('base64') };
      if (rng.chance(0.3)) obj.stringData = { other: word(rng) };
      delete obj.type;
      break;
    case 'AdoptedServer':
      delete spec.talos?.talosconfigSecretRef;
      break;
  }
  if (obj.spec === undefined && Object.keys(spec).length > 0) obj.spec = spec;
}

/**
 * A valid object of `kind`: apiVersion, kind, metadata (name, namespace when namespaced, sometimes
 * labels), the schema's fields without status. `clusters`: KubernetesCluster names a Machine may
 * belong to.
 */
export function exampleObject(
  kind: KindDefinition,
  name: string,
  namespace: string | undefined,
  rng: Rng,
  clusters: string[] = [],
): KubeObject {
  const sampled = sampleSchema(kind.schema, rng) as Record<string, unknown>;
  delete sampled.status;
  delete sampled.metadata;
  delete sampled.apiVersion;
  delete sampled.kind;
  const obj: KubeObject = {
    apiVersion: kind.group ? `${kind.group}/${kind.version}` : kind.version,
    kind: kind.kind,
    metadata: { name, ...(kind.namespaced && namespace ? { namespace } : {}) },
    ...sampled,
  };
  if (rng.chance(0.4)) obj.metadata.labels = { app: word(rng), 'fuzz.example.com/tier': rng.pick(['a', 'b']) };
  makeSemanticallyValid(kind, obj, rng, clusters);
  return obj;
}

/** a status for the status subresource, from the schema */
export function exampleStatus(kind: KindDefinition, rng: Rng): unknown {
  const statusSchema = kind.schema.properties?.status;
  return statusSchema ? sampleSchema(statusSchema, rng) : { anything: word(rng) };
}
