// Discovery documents (legacy /apis, /apis/G, /apis/G/V, /api, /api/v1 and aggregated v2/v2beta1),
// built purely from kind definitions. The handlers add HTTP (ETag, Vary, 304) around them.
import { createHash } from 'node:crypto';
import { notAcceptable } from './errors.js';
import { groupVersion, type JSONSchema, type KindDefinition } from './kind.js';

/** A subresource beyond /status, e.g. adoptedservers/health. */
export interface CustomSubresource {
  /** plural of the parent resource */
  resource: string;
  /** subresource name (`health`) */
  name: string;
  /** response kind; non-empty, clients drop entries without one */
  kind: string;
  /** only when the response kind lives in another group/version */
  group?: string;
  version?: string;
  /** RBAC verbs from the HTTP methods served: GET->get, POST->create, PUT->update, PATCH->patch, DELETE->delete */
  verbs: string[];
  /** the answer is secret material (keys, credentials): the generated RBAC grants it to admins only */
  secretMaterial?: boolean;
  /** OpenAPI schema of the response kind, published under the response kind's name */
  schema?: JSONSchema;
  /** operation description for OpenAPI */
  description?: string;
}

export const RESOURCE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
export const STATUS_VERBS = ['get', 'patch', 'update'];

export const JSON_CONTENT_TYPE = 'application/json';
export const DISCOVERY_V2_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
export const DISCOVERY_V2BETA1_CONTENT_TYPE =
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

export type DiscoveryFormat = 'v2' | 'v2beta1' | 'legacy';

export function discoveryContentType(format: DiscoveryFormat): string {
  if (format === 'v2') return DISCOVERY_V2_CONTENT_TYPE;
  if (format === 'v2beta1') return DISCOVERY_V2BETA1_CONTENT_TYPE;
  return JSON_CONTENT_TYPE;
}

// ---------------------------------------------------------------------------------------------
// Accept negotiation

interface MediaRange {
  type: string;
  subtype: string;
  params: Map<string, string>;
  q: number;
  order: number;
}

/** Splits on `sep` outside quoted strings. */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted && c === '\\' && i + 1 < s.length) {
      cur += c + s[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function parseAccept(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  splitOutsideQuotes(accept, ',').forEach((part, order) => {
    const [mediaType, ...rawParams] = splitOutsideQuotes(part, ';').map((s) => s.trim());
    if (!mediaType) return;
    const [type, subtype] = mediaType.toLowerCase().split('/');
    if (!type || !subtype) return;
    const params = new Map<string, string>();
    let q = 1;
    for (const raw of rawParams) {
      const eq = raw.indexOf('=');
      if (eq <= 0) continue;
      const key = raw.slice(0, eq).trim().toLowerCase();
      let value = raw.slice(eq + 1).trim();
      if (value.startsWith('"') && value.endsWith('"') && value.length >= 2)
        value = value.slice(1, -1).replace(/\\(.)/g, '$1');
      if (key === 'q') q = Number.isFinite(Number(value)) ? Number(value) : 0;
      else params.set(key, value);
    }
    ranges.push({ type, subtype, params, q, order });
  });
  // Higher q first; among equals the client's order decides.
  return ranges.filter((r) => r.q > 0).sort((a, b) => b.q - a.q || a.order - b.order);
}

function formatOf(r: MediaRange): DiscoveryFormat | undefined {
  const g = r.params.get('g');
  if (g !== undefined) {
    // an aggregated-discovery request: only the JSON encoding of APIGroupDiscoveryList is served
    if (r.type !== 'application' || r.subtype !== 'json') return undefined;
    if (g !== 'apidiscovery.k8s.io' || r.params.get('as') !== 'APIGroupDiscoveryList') return undefined;
    const v = r.params.get('v');
    return v === 'v2' || v === 'v2beta1' ? v : undefined;
  }
  if (r.params.has('as') || r.params.has('v')) return undefined;
  if (r.type === '*' && r.subtype === '*') return 'legacy';
  if (r.type === 'application' && (r.subtype === 'json' || r.subtype === '*')) return 'legacy';
  return undefined;
}

/**
 * Chooses the discovery document for an Accept header: the first acceptable alternative wins
 * (q-values respected). No header -> legacy. Nothing acceptable -> 406.
 */
export function pickDiscoveryFormat(accept: string | undefined): DiscoveryFormat {
  if (accept === undefined || accept.trim() === '') return 'legacy';
  for (const r of parseAccept(accept)) {
    const f = formatOf(r);
    if (f) return f;
  }
  throw notAcceptable(
    `only the following media types are accepted: ${[DISCOVERY_V2_CONTENT_TYPE, DISCOVERY_V2BETA1_CONTENT_TYPE, JSON_CONTENT_TYPE].join(', ')}`,
  );
}

/** Quoted strong ETag of a response body. */
export function etagOf(body: string | Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('hex')}"`;
}

/**
 * Whether an If-None-Match header names `etag` (a quoted strong ETag): `*`, or any entry of its
 * comma-separated list, compared weakly (a `W/` prefix does not matter), as RFC 9110 and Go's
 * http.ServeContent do.
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => tag.replace(/^W\//, '') === etag);
}

// ---------------------------------------------------------------------------------------------
// Versions

/** kube's version priority: GA > beta > alpha > anything else; higher numbers first. */
export function compareKubeVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number, string] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0, v];
    const level = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [level, Number(m[1]), m[3] === undefined ? 0 : Number(m[3]), v];
  };
  const [la, ma, na, sa] = rank(a);
  const [lb, mb, nb, sb] = rank(b);
  if (la !== lb) return lb - la;
  if (la === 0) return sa < sb ? -1 : sa > sb ? 1 : 0;
  return mb - ma || nb - na;
}

export interface GroupVersions {
  name: string;
  versions: string[];
}

/** Non-core groups of `kinds`, in order of first appearance, versions by priority. */
export function groupsOf(kinds: readonly KindDefinition[]): GroupVersions[] {
  const byGroup = new Map<string, Set<string>>();
  for (const k of kinds) {
    if (!k.group) continue;
    let set = byGroup.get(k.group);
    if (!set) byGroup.set(k.group, (set = new Set()));
    set.add(k.version);
  }
  return [...byGroup].map(([name, set]) => ({ name, versions: [...set].sort(compareKubeVersions) }));
}

// ---------------------------------------------------------------------------------------------
// Legacy documents

function groupBody(group: string, versions: readonly string[]) {
  const sorted = [...versions].sort(compareKubeVersions);
  const entries = sorted.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: entries, preferredVersion: entries[0] };
}

export function apiGroup(group: string, versions: readonly string[]) {
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupBody(group, versions) };
}

export function apiGroupList(groups: readonly GroupVersions[]) {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => groupBody(g.name, g.versions)) };
}

/** `/api`: the core group's versions. */
export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** Opaque, stable per group/version/kind: base64 of the first 8 bytes of a SHA-256. */
export function storageVersionHash(k: Pick<KindDefinition, 'group' | 'version' | 'kind'>): string {
  return createHash('sha256').update(`${k.group}/${k.version}/${k.kind}`).digest().subarray(0, 8).toString('base64');
}

function subresourcesOf(k: KindDefinition, subresources: readonly CustomSubresource[]): CustomSubresource[] {
  return subresources.filter((s) => s.resource === k.plural);
}

export function apiResourceList(
  gv: string,
  kinds: readonly KindDefinition[],
  subresources: readonly CustomSubresource[] = [],
) {
  const resources: Record<string, unknown>[] = [];
  for (const k of kinds) {
    if (groupVersion(k) !== gv) continue;
    resources.push({
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: [...(k.verbs ?? RESOURCE_VERBS)],
      ...(k.shortNames.length ? { shortNames: [...k.shortNames] } : {}),
      ...(k.categories.length ? { categories: [...k.categories] } : {}),
      ...(k.verbs ? {} : { storageVersionHash: storageVersionHash(k) }),
    });
    if (k.statusSubresource) {
      resources.push({
        name: `${k.plural}/status`,
        singularName: '',
        namespaced: k.namespaced,
        kind: k.kind,
        verbs: [...STATUS_VERBS],
      });
    }
    for (const s of subresourcesOf(k, subresources)) {
      resources.push({
        name: `${k.plural}/${s.name}`,
        singularName: '',
        namespaced: k.namespaced,
        ...(s.group !== undefined ? { group: s.group } : {}),
        ...(s.version !== undefined ? { version: s.version } : {}),
        kind: s.kind,
        verbs: [...s.verbs],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources };
}

// ---------------------------------------------------------------------------------------------
// Aggregated discovery

function discoveryResource(k: KindDefinition, subresources: readonly CustomSubresource[]) {
  const responseKind = { group: k.group, version: k.version, kind: k.kind };
  const subs: Record<string, unknown>[] = [];
  if (k.statusSubresource) subs.push({ subresource: 'status', responseKind, verbs: [...STATUS_VERBS] });
  for (const s of subresourcesOf(k, subresources)) {
    subs.push({
      subresource: s.name,
      responseKind: { group: s.group ?? k.group, version: s.version ?? k.version, kind: s.kind },
      verbs: [...s.verbs],
    });
  }
  return {
    resource: k.plural,
    responseKind,
    scope: k.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: k.singular,
    verbs: [...(k.verbs ?? RESOURCE_VERBS)],
    ...(k.shortNames.length ? { shortNames: [...k.shortNames] } : {}),
    ...(k.categories.length ? { categories: [...k.categories] } : {}),
    ...(subs.length ? { subresources: subs } : {}),
  };
}

function discoveryList(
  kinds: readonly KindDefinition[],
  version: 'v2' | 'v2beta1',
  subresources: readonly CustomSubresource[],
  core: boolean,
) {
  const byGroup = new Map<string, Map<string, KindDefinition[]>>();
  for (const k of kinds) {
    if ((k.group === '') !== core) continue;
    let versions = byGroup.get(k.group);
    if (!versions) byGroup.set(k.group, (versions = new Map()));
    let list = versions.get(k.version);
    if (!list) versions.set(k.version, (list = []));
    list.push(k);
  }
  const items = [...byGroup].map(([group, versions]) => ({
    metadata: { name: group },
    versions: [...versions.keys()].sort(compareKubeVersions).map((v) => ({
      version: v,
      resources: versions.get(v)!.map((k) => discoveryResource(k, subresources)),
      freshness: 'Current',
    })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

/** The APIGroupDiscoveryList for `/apis` (every non-core group of `kinds`). */
export function aggregatedDiscovery(
  kinds: readonly KindDefinition[],
  version: 'v2' | 'v2beta1',
  subresources: readonly CustomSubresource[] = [],
) {
  return discoveryList(kinds, version, subresources, false);
}

/** The APIGroupDiscoveryList for `/api` (the core group, metadata.name ""). */
export function aggregatedCoreDiscovery(
  kinds: readonly KindDefinition[],
  version: 'v2' | 'v2beta1',
  subresources: readonly CustomSubresource[] = [],
) {
  return discoveryList(kinds, version, subresources, true);
}
