// The API paths the dashboard's page may reach through the plugin, and nothing else: list, watch
// and get of our kinds and of core Events, and create of AdoptedServers (the page's one write).
// No subresource passes (a kubeconfig or a machine config is secret material), nor any other
// kind, verb or query parameter: the page gets exactly the window it needs onto the user's
// credentials, and RBAC decides the rest on the API server.
import { allKinds, adoptedServerKind, eventKind } from '../api/index.js';
import { groupVersion, type KindDefinition } from '../machinery/kind.js';

/** where the page sends API requests; the rest of the path is the API server's */
export const PROXY_PREFIX = '/k8s';

const READ_PARAMS = new Set([
  'watch',
  'resourceVersion',
  'resourceVersionMatch',
  'allowWatchBookmarks',
  'sendInitialEvents',
  'labelSelector',
  'fieldSelector',
  'limit',
  'continue',
  'timeoutSeconds',
]);
const CREATE_PARAMS = new Set(['fieldValidation']);

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export type Route = { path: string } | { refusal: string };

const apiBase = (k: KindDefinition) => (k.group ? `/apis/${groupVersion(k)}` : `/api/${k.version}`);
const READABLE = [...allKinds, eventKind];

/**
 * The API path (with query) for a page request under PROXY_PREFIX, or why it is not forwarded.
 * `method` is the HTTP method, `url` the request's path and query.
 */
export function routeFor(method: string, url: string): Route {
  const u = new URL(url, 'http://dashboard.invalid');
  if (!u.pathname.startsWith(`${PROXY_PREFIX}/`)) return { refusal: `${u.pathname} is not an API path` };
  const path = u.pathname.slice(PROXY_PREFIX.length);
  const refuse = (): Route => ({
    refusal: `the dashboard does not forward ${method} ${path}: it reads our kinds and Events, and creates AdoptedServers`,
  });
  const target = READABLE.map((k) => resourceOf(path, k)).find((t) => t !== undefined);
  if (!target) return refuse();
  const { kind: k, namespace, name } = target;
  for (const segment of [namespace, name]) if (segment !== undefined && !NAME.test(segment)) return refuse();
  if (name !== undefined && k.namespaced && namespace === undefined) return refuse();

  const isCreate = method === 'POST' && k === adoptedServerKind && namespace !== undefined && name === undefined;
  if (!isCreate && method !== 'GET') return refuse();
  const allowed = isCreate ? CREATE_PARAMS : READ_PARAMS;
  for (const key of u.searchParams.keys())
    if (!allowed.has(key)) return { refusal: `the dashboard does not forward the query parameter "${key}"` };
  return { path: path + u.search };
}

/** the kind, namespace and name a path names (a collection or one object, no subresource) */
function resourceOf(
  path: string,
  k: KindDefinition,
): { kind: KindDefinition; namespace?: string; name?: string } | undefined {
  const base = apiBase(k);
  if (!path.startsWith(`${base}/`)) return undefined;
  let parts = path.slice(base.length + 1).split('/');
  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && k.namespaced && parts.length >= 3) {
    namespace = parts[1];
    parts = parts.slice(2);
  }
  if (parts[0] !== k.plural || parts.length > 2 || parts.some((s) => s === '')) return undefined;
  return { kind: k, namespace, name: parts[1] };
}
