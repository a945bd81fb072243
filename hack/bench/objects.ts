// The objects the benchmark writes: AdoptedServers of about 1 KiB as stored (labels, annotations
// and a padding annotation bring them to size), and the same object in its stored form for the
// raw etcd side, so both sides move the same bytes.
import { randomUUID } from 'node:crypto';
import { adoptedServerKind } from '../../src/api/adoptedserver.js';
import { groupVersion } from '../../src/machinery/kind.js';

export const GROUP_VERSION = groupVersion(adoptedServerKind);
export const NAMESPACE = 'default';
export const RESOURCE_PATH = `/apis/${GROUP_VERSION}/namespaces/${NAMESPACE}/${adoptedServerKind.plural}`;
/** the server's etcd keys for these objects (--etcd-prefix /registry) */
export const SERVER_KEY_PREFIX = `/registry/${adoptedServerKind.group}/${adoptedServerKind.plural}/${NAMESPACE}/`;
/** where the raw etcd side writes; nothing of the server's lives under it */
export const RAW_KEY_PREFIX = '/bench-raw/';
/** the watch delivery benchmark stamps the write's start time here */
export const SENT_ANNOTATION = 'bench.talos.dev/sent-at';

/** bytes the server adds when it stores an object (namespace, uid, creationTimestamp, generation, defaults) */
const SERVER_ADDED_BYTES = 150;

export interface BenchObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels: Record<string, string>; annotations: Record<string, string>; [k: string]: unknown };
  spec: { talos: { endpoint: string; nodeType: string; talosVersion: string; kubernetesVersion: string; hostname: string }; [k: string]: unknown };
}

export function objectName(group: string, i: number): string {
  return `${group}-${String(i).padStart(6, '0')}`;
}

/** an AdoptedServer whose stored JSON is about `storedBytes` long */
export function makeObject(name: string, storedBytes = 1024, sentAt?: number): BenchObject {
  const i = Number(/(\d+)$/.exec(name)?.[1] ?? 0);
  const obj: BenchObject = {
    apiVersion: GROUP_VERSION,
    kind: adoptedServerKind.kind,
    metadata: {
      name,
      labels: {
        'app.kubernetes.io/part-of': 'talos-fleet-bench',
        'topology.kubernetes.io/zone': `zone-${i % 3}`,
        'node.kubernetes.io/role': i % 4 === 0 ? 'controlplane' : 'worker',
        'fleet.example.com/rack': `rack-${i % 40}`,
      },
      annotations: {
        'fleet.example.com/owner': 'platform-team@example.com',
        'fleet.example.com/asset-tag': `ASSET-${String(i).padStart(8, '0')}`,
      },
    },
    spec: {
      talos: {
        endpoint: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:50000`,
        nodeType: i % 4 === 0 ? 'controlplane' : 'worker',
        talosVersion: 'v1.8.3',
        kubernetesVersion: 'v1.31.1',
        hostname: `node-${i}.fleet.example.com`,
      },
    },
  };
  if (sentAt !== undefined) obj.metadata.annotations[SENT_ANNOTATION] = sentAt.toFixed(3);
  const pad = storedBytes - SERVER_ADDED_BYTES - Buffer.byteLength(JSON.stringify(obj)) - '"fleet.example.com/notes":"",'.length;
  obj.metadata.annotations['fleet.example.com/notes'] = 'x'.repeat(Math.max(0, pad));
  return obj;
}

/** the object as the server would store it, for the raw etcd side */
export function storedForm(obj: BenchObject): Buffer {
  const { apiVersion, kind, metadata, spec } = obj;
  const stored = {
    apiVersion,
    kind,
    metadata: { ...metadata, namespace: NAMESPACE, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), generation: 1 },
    spec: { ...spec, accepted: false },
  };
  return Buffer.from(JSON.stringify(stored));
}

/** resourceVersion of an object's JSON, without parsing all of it */
export function resourceVersionOf(json: string): string {
  const m = /"resourceVersion":"(\d+)"/.exec(json);
  if (!m) throw new Error(`no resourceVersion in ${json.slice(0, 200)}`);
  return m[1]!;
}
