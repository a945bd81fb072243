// What requests are made of: the pools of names and namespaces, and the small bodies (DeleteOptions,
// UpgradeRequest, a talosconfig, a deepening patch) the generator picks from.
import { adoptedServerKind, kubernetesClusterKind } from '../../src/api/index.js';
import { groupVersion } from '../../src/machinery/kind.js';
import type { ServedResource } from './discovery.js';
import { toJsonText } from './bodies.js';
import { hostileString } from './hostile.js';
import { CURRENT_RV } from './params.js';
import type { Rng } from './rng.js';
import type { FuzzRequest } from './transport.js';

type Obj = Record<string, any>;

/** namespaces objects live in; the fuzzer never deletes these */
export const OBJECT_NAMESPACES = ['default', 'fuzz-a', 'fuzz-b'];
/** namespaces the fuzzer creates and deletes (deleted ones stay Terminating: no namespace controller) */
export const DOOMED_NAMESPACES = ['fuzz-ns-0', 'fuzz-ns-1', 'fuzz-ns-2', 'fuzz-ns-3'];
export const CLUSTER_NAMES = ['kc-0', 'kc-1', 'kc-2'];
/** a Secret the AdoptedServers may name for their talosconfig */
export const CREDENTIALS_SECRET = 'talos-creds';

export interface Target {
  resource: string;
  namespace: string;
  name: string;
}

/** what the generator hands over: the request, and the object it aims at (for resourceVersions) */
export type GeneratedRequest = Omit<FuzzRequest, 'seq'> & { target?: Target };

export function namePool(r: ServedResource): string[] {
  switch (r.resource) {
    case 'namespaces':
      return DOOMED_NAMESPACES;
    case kubernetesClusterKind.plural:
      return CLUSTER_NAMES;
    case 'secrets':
      return ['s-0', 's-1', 's-2', CREDENTIALS_SECRET, 'kc-0-talos-secrets', 'kc-1-talosconfig', 'kc-0-talosconfig'];
    default:
      return [0, 1, 2, 3].map((i) => `${r.resource.slice(0, 3)}-${i}`);
  }
}

/** whether the server takes this for a watch (requestinfo.ts: the /watch/ prefix, or a truthy watch parameter) */
export function isWatch(method: string, path: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const [p, query] = path.split('?', 2) as [string, string | undefined];
  if (/^\/+apis?\/(?:[^/]+\/)?[^/]+\/watch(\/|$)/i.test(p) || /\/v1\/watch(\/|$)/.test(p)) return true;
  let watch: string | null = null;
  try {
    watch = new URLSearchParams(query ?? '').get('watch');
  } catch {
    return true; // undecodable: assume the worst and read it as a stream
  }
  return watch !== null && watch !== 'false' && watch !== '0';
}

/**
 * JSON patches that deepen a free-form status field step by step: each body is shallow, but
 * applied one after another they would nest the stored object deeper than any body may.
 */
export function deepeningPatch(step: number): unknown {
  const chain = (n: number): unknown => (n === 0 ? 'leaf' : { d: chain(n - 1) });
  if (step === 0) return [{ op: 'add', path: '/status', value: { state: { cluster: chain(60) } } }];
  return [{ op: 'add', path: `/status/state/cluster${'/d'.repeat(60 * step - 1)}/d`, value: chain(60) }];
}

/** a talosconfig (or secrets.yaml) that is plausible, garbage, or nested too deep */
export function talosconfigText(rng: Rng): string {
  return rng.pick([
    'context: fuzz\ncontexts:\n  fuzz:\n    endpoints: [127.0.0.1]\n    ca: bm90IGEgY2VydA==\n    crt: bm90IGEgY2VydA==\n    key: bm90IGEga2V5\n',
    'cluster:\n  id: x\nsecrets:\n  bootstraptoken: abc.def\n',
    '['.repeat(rng.pick([50, 101, 20_000])),
    'a:\n' + Array.from({ length: rng.pick([50, 150]) }, (_, i) => `${' '.repeat(i + 1)}a:`).join('\n'),
    hostileString(rng),
    '*alias\n',
  ]);
}

/** an UpgradeRequest body for adoptedservers/NAME/upgrade, valid or not */
export function upgradeRequestBody(rng: Rng): Obj {
  const spec: Obj = rng.pick<Obj>([
    { version: 'v1.13.10' },
    { image: 'ghcr.io/siderolabs/installer:v1.13.10' },
    { version: 'latest' },
    {},
    { version: 'v1.13.10', image: 'x' },
  ]);
  if (rng.chance(0.3)) spec.rebootMode = rng.pick(['default', 'powercycle', 'bogus']);
  if (rng.chance(0.3)) spec.stage = rng.chance(0.5);
  return { apiVersion: groupVersion(adoptedServerKind), kind: rng.pick(['UpgradeRequest', 'Other']), spec };
}

/** a DeleteOptions body, valid or not */
export function deleteOptionsBody(rng: Rng): Buffer {
  const opts: Obj = rng.pick<Obj>([
    {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: rng.pick(['Orphan', 'Background', 'Foreground', 'bogus']),
    },
    { preconditions: { resourceVersion: rng.pick(['1', CURRENT_RV, 'x']) } },
    { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } },
    { gracePeriodSeconds: rng.pick<unknown>([0, -1, 'x', 1e300, null]) },
    { dryRun: ['All'] },
    { kind: 'Pod' },
    { propagationPolicy: 'Background', orphanDependents: true },
    { preconditions: 'x' },
    { propagationPolicy: 5 },
  ]);
  return Buffer.from(rng.chance(0.9) ? toJsonText(opts, rng) : hostileString(rng));
}
