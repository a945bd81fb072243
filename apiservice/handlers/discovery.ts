// Non-resource reads: /version, discovery (/api, /apis, legacy and aggregated) and OpenAPI.
// Documents are built once from the kinds (they never change while the process runs) with ETags.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  aggregatedCoreDiscovery,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  discoveryContentType,
  etagOf,
  groupsOf,
  ifNoneMatchHits,
  pickDiscoveryFormat,
  type CustomSubresource,
} from '../../src/machinery/discovery.js';
import { methodNotAllowedWithMessage, notAcceptable, notFoundResource } from '../../src/machinery/errors.js';
import { groupVersion, type KindDefinition } from '../../src/machinery/kind.js';
import {
  openapiHash,
  openapiV2,
  openapiV3ForGroupVersion,
  openapiV3Key,
  openapiV3Root,
} from '../../src/machinery/openapi.js';
import {
  OPENAPI_V2_PROTOBUF,
  openapiV2Protobuf,
  pickOpenAPIV2Format,
} from '../../src/machinery/openapi-v2-protobuf.js';
import type { APIRegistry } from '../../src/machinery/registry/apis.js';
import { sendJSON } from '../http.js';

export interface DiscoveryDeps {
  registry: APIRegistry;
  serverAddress(): string;
  version: string;
  subresources?: CustomSubresource[];
  /** kinds answered by code, not stored (standalone mode's reviews): discovery lists them too */
  servedByCode?: KindDefinition[];
}

interface Doc {
  body: string | Buffer;
  etag: string;
  contentType: string;
}

function doc(value: unknown, contentType = 'application/json'): Doc {
  const body = JSON.stringify(value);
  return { body, etag: etagOf(body), contentType };
}

/** The two forms of /openapi/v2; each has its own ETag, so no cache can answer one with the other. */
function openapiV2Docs(value: unknown): { json: Doc; protobuf: Doc } {
  const body = openapiV2Protobuf(value);
  return { json: doc(value), protobuf: { body, etag: etagOf(body), contentType: OPENAPI_V2_PROTOBUF } };
}

/** client-go asks this path (kube-apiserver removed it in 1.14) when /openapi/v2 refused protobuf */
const LEGACY_OPENAPI_V2_PROTOBUF = '/swagger-2.0.0.pb-v1';

interface Documents {
  paths: Map<string, Doc>;
  openapiV2: { json: Doc; protobuf: Doc };
  apis: { v2: Doc; v2beta1: Doc; legacy: Doc };
  api: { v2: Doc; v2beta1: Doc };
  openapiV3: Map<string, { doc: Doc; hash: string }>;
}

const cache = new WeakMap<APIRegistry, Documents>();

function build(deps: DiscoveryDeps): Documents {
  const kinds: KindDefinition[] = deps.registry.stores.map((s) => s.kind);
  const subs = deps.subresources ?? [];
  const listed = [...kinds, ...(deps.servedByCode ?? [])];
  const core = listed.filter((k) => k.group === '');
  const grouped = listed.filter((k) => k.group !== '');
  const paths = new Map<string, Doc>();
  const groups = groupsOf(grouped);
  for (const g of groups) {
    paths.set(`/apis/${g.name}`, doc(apiGroup(g.name, g.versions)));
    for (const v of g.versions) {
      const gv = `${g.name}/${v}`;
      paths.set(
        `/apis/${gv}`,
        doc(
          apiResourceList(
            gv,
            grouped.filter((k) => groupVersion(k) === gv),
            subs,
          ),
        ),
      );
    }
  }
  if (core.length > 0) paths.set('/api/v1', doc(apiResourceList('v1', core, subs)));
  const openapiV3 = new Map<string, { doc: Doc; hash: string }>();
  const gvs = [...new Set(kinds.map(groupVersion))];
  const roots: { groupVersion: string; document: unknown }[] = [];
  for (const gv of gvs) {
    const document = openapiV3ForGroupVersion(gv, kinds, subs, {
      title: 'talos-fleet-apiserver',
      version: deps.version,
    });
    roots.push({ groupVersion: gv, document });
    openapiV3.set(`/openapi/v3/${openapiV3Key(gv)}`, { doc: doc(document), hash: openapiHash(document) });
  }
  paths.set('/openapi/v3', doc(openapiV3Root(roots)));
  return {
    paths,
    openapiV2: openapiV2Docs(openapiV2(kinds, subs, { title: 'talos-fleet-apiserver', version: deps.version })),
    apis: {
      v2: doc(aggregatedDiscovery(grouped, 'v2', subs), discoveryContentType('v2')),
      v2beta1: doc(aggregatedDiscovery(grouped, 'v2beta1', subs), discoveryContentType('v2beta1')),
      legacy: doc(apiGroupList(groups)),
    },
    api: {
      v2: doc(aggregatedCoreDiscovery(core, 'v2', subs), discoveryContentType('v2')),
      v2beta1: doc(aggregatedCoreDiscovery(core, 'v2beta1', subs), discoveryContentType('v2beta1')),
    },
    openapiV3,
  };
}

function serveDoc(
  req: IncomingMessage,
  res: ServerResponse,
  d: Doc,
  extraHeaders: Record<string, string> = {},
  varies = true,
): void {
  res.setHeader('ETag', d.etag);
  if (varies) res.setHeader('Vary', 'Accept');
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  if (ifNoneMatchHits(req.headers['if-none-match'], d.etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', d.contentType);
  res.setHeader('Content-Length', Buffer.byteLength(d.body));
  res.end(d.body);
}

function acceptsJSON(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((a) => {
    const t = a.split(';')[0].trim().toLowerCase();
    return t === 'application/json' || t === '*/*' || t === 'application/*';
  });
}

export async function serveDiscovery(
  deps: DiscoveryDeps,
  req: IncomingMessage,
  res: ServerResponse,
  rawPath: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw methodNotAllowedWithMessage('the server does not allow this method on the requested resource');
  }
  let docs = cache.get(deps.registry);
  if (!docs) {
    docs = build(deps);
    cache.set(deps.registry, docs);
  }
  const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
  const accept = req.headers.accept;
  if (path === '/version') {
    const [major, minor] = ['1', '33'];
    return sendJSON(res, 200, {
      major,
      minor,
      gitVersion: `v1.33.0+talos-fleet.${deps.version}`,
      gitCommit: '',
      gitTreeState: 'clean',
      buildDate: '1970-01-01T00:00:00Z',
      goVersion: `node${process.versions.node}`,
      compiler: 'tsc',
      platform: `${process.platform}/${process.arch}`,
    });
  }
  // cluster mode serves no core kinds: /api is 404, the only answer client-go tolerates there
  if (path === '/api' && !deps.registry.stores.some((s) => s.kind.group === '')) throw notFoundResource();
  if (path === '/apis' || path === '/api') {
    const format = pickDiscoveryFormat(accept);
    const set = path === '/apis' ? docs.apis : docs.api;
    if (format === 'v2') return serveDoc(req, res, set.v2, { 'Cache-Control': 'public' });
    if (format === 'v2beta1') return serveDoc(req, res, set.v2beta1, { 'Cache-Control': 'public' });
    if (!acceptsJSON(accept)) throw notAcceptable('only application/json and aggregated discovery are served');
    if (path === '/apis') return serveDoc(req, res, docs.apis.legacy);
    return sendJSON(res, 200, apiVersions(deps.serverAddress()));
  }
  if (path.startsWith('/openapi/v3/')) {
    const entry = docs.openapiV3.get(path);
    if (!entry) throw notFoundResource();
    const hash = new URL(req.url ?? '/', 'https://x').searchParams.get('hash');
    // a matching hash may be cached forever; a stale one gets current content without redirect
    const immutable: Record<string, string> =
      hash !== null && hash === entry.hash
        ? { 'Cache-Control': 'public, immutable', Expires: new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString() }
        : {};
    return serveDoc(req, res, entry.doc, immutable);
  }
  if (path === '/openapi/v2') {
    const format = pickOpenAPIV2Format(accept);
    if (!format) throw notAcceptable(`only application/json and ${OPENAPI_V2_PROTOBUF} are served for this document`);
    return serveDoc(req, res, docs.openapiV2[format]);
  }
  // a file, as it was: the protobuf whatever the Accept header says
  if (path === LEGACY_OPENAPI_V2_PROTOBUF) return serveDoc(req, res, docs.openapiV2.protobuf, {}, false);
  const d = docs.paths.get(path);
  if (d) {
    if (!acceptsJSON(accept)) throw notAcceptable('only application/json is served for this document');
    return serveDoc(req, res, d);
  }
  if (path === '/') {
    const core = deps.registry.stores.some((s) => s.kind.group === '') ? ['/api', '/api/v1'] : [];
    return sendJSON(res, 200, {
      paths: [
        ...core,
        '/apis',
        ...[...docs.paths.keys()].filter((p) => p.startsWith('/apis/')),
        '/healthz',
        '/livez',
        '/readyz',
        '/openapi/v2',
        '/openapi/v3',
        LEGACY_OPENAPI_V2_PROTOBUF,
        '/version',
      ].sort(),
    });
  }
  throw notFoundResource();
}
