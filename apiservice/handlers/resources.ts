// Resource requests: decode the query and body, call the generic store, encode the answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  badRequest,
  fieldErr,
  invalidOptions,
  methodNotAllowed,
  notFound,
  notFoundResource,
  unsupportedMediaType,
} from '../../src/machinery/errors.js';
import { groupVersion, type KubeObject } from '../../src/machinery/kind.js';
import { validateNamespaceName } from '../../src/machinery/metavalidation.js';
import {
  negotiateOutput,
  parseIncludeObject,
  partialObjectMetadata,
  partialObjectMetadataList,
  toTable,
} from '../../src/machinery/output.js';
import type { APIRegistry } from '../../src/machinery/registry/apis.js';
import type { FieldValidation, RequestContext, UserInfo } from '../../src/machinery/registry/context.js';
import {
  deleteCollection,
  listObjects,
  parseResourceVersion,
  waitForRevision,
  type ListOptions,
} from '../../src/machinery/registry/list.js';
import { parseSelection } from '../../src/machinery/registry/selection.js';
import type { DeleteOptions, PatchType, ResourceStore } from '../../src/machinery/registry/store.js';
import type { SubresourceHandler } from '../../src/machinery/registry/subresource.js';
import { decodeObjectBody, decodeText, readBody, sendJSON, sendJSONList, setWarnings } from '../http.js';
import type { RequestInfo } from '../requestinfo.js';
import { findSubresource, serveSubresource } from './subresources.js';
import { serveWatch } from './watch.js';

export interface ResourceHandlerDeps {
  registry: APIRegistry;
  maxRequestBytes: number;
  watchBookmarkIntervalMs: number;
  /** the open watches (a graceful shutdown ends them) */
  activeWatches?: Set<() => void>;
  /** subresources answered by code (AdoptedServer health, kubeconfig, upgrade) */
  subresourceHandlers?: SubresourceHandler[];
}

const SUPPORTED_PATCH_TYPES =
  'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml';

export function requestContext(
  user: UserInfo,
  q: URLSearchParams,
  write: boolean,
  req: IncomingMessage,
): RequestContext {
  const dryRunValues = q.getAll('dryRun');
  for (const v of dryRunValues) {
    if (v !== 'All')
      throw invalidOptions(write ? 'CreateOptions' : 'DeleteOptions', [fieldErr.notSupported('dryRun', v, ['All'])]);
  }
  const fv = q.get('fieldValidation') ?? 'Warn';
  const allowed: FieldValidation[] = ['Strict', 'Warn', 'Ignore'];
  if (!allowed.includes(fv as FieldValidation)) {
    throw invalidOptions('CreateOptions', [fieldErr.notSupported('fieldValidation', fv, allowed)]);
  }
  const fm = q.get('fieldManager') ?? undefined;
  if (fm !== undefined && (fm.length > 128 || !/^[\x20-\x7e]*$/.test(fm))) {
    throw invalidOptions('CreateOptions', [
      fieldErr.invalid('fieldManager', fm, 'must be less than 128 printable characters'),
    ]);
  }
  const ua = req.headers['user-agent'];
  return {
    user,
    dryRun: dryRunValues.length > 0,
    fieldManager: fm ?? (ua ? ua.split('/')[0].slice(0, 128) : undefined),
    fieldValidation: fv as FieldValidation,
    warnings: [],
  };
}

function listOptions(store: ResourceStore, q: URLSearchParams): ListOptions {
  const limitRaw = q.get('limit');
  let limit: number | undefined;
  if (limitRaw !== null && limitRaw !== '') {
    limit = Number(limitRaw);
    if (!/^\d+$/.test(limitRaw) || !Number.isSafeInteger(limit))
      throw badRequest(`invalid value for limit: "${limitRaw}"`);
  }
  return {
    selection: parseSelection(store.kind, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined),
    limit,
    continue: q.get('continue') || undefined,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: q.get('resourceVersionMatch') || undefined,
  };
}

function patchType(contentType: string | undefined): PatchType | 'apply' {
  const mt = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (mt === 'application/json-patch+json') return 'json';
  if (mt === 'application/merge-patch+json') return 'merge';
  if (mt === 'application/apply-patch+yaml') return 'apply';
  throw unsupportedMediaType(SUPPORTED_PATCH_TYPES);
}

/** PatchOptions of an apply: fieldManager is required (kubectl sends "kubectl"), force is a Go bool */
function applyForce(q: URLSearchParams): boolean {
  if (!q.get('fieldManager')) {
    throw invalidOptions('PatchOptions', [fieldErr.required('fieldManager', 'is required for apply patch')]);
  }
  const raw = q.get('force');
  if (raw === null || raw === '') return false;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(raw)) return false;
  throw badRequest(`invalid value for force: "${raw}"`);
}

async function deleteOptions(
  req: IncomingMessage,
  q: URLSearchParams,
  maxBytes: number,
): Promise<DeleteOptions & { dryRun?: string[] }> {
  const raw = await readBody(req, maxBytes);
  let body: Record<string, unknown> = {};
  if (raw.length > 0 && raw.toString('utf8').trim() !== '') {
    const decoded = decodeText(
      raw.toString('utf8'),
      (req.headers['content-type'] ?? '').includes('yaml') ? 'yaml' : 'json',
    ).value;
    if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded))
      throw badRequest('DeleteOptions must be an object');
    body = decoded as Record<string, unknown>;
    if (body.kind !== undefined && body.kind !== 'DeleteOptions')
      throw badRequest(`expected kind DeleteOptions, got ${String(body.kind)}`);
  }
  const opts: DeleteOptions & { dryRun?: string[] } = {};
  const policy = body.propagationPolicy ?? q.get('propagationPolicy') ?? undefined;
  if (policy !== undefined && policy !== null) opts.propagationPolicy = policy as DeleteOptions['propagationPolicy'];
  const orphan =
    body.orphanDependents ?? (q.has('orphanDependents') ? q.get('orphanDependents') === 'true' : undefined);
  if (orphan !== undefined && orphan !== null) opts.orphanDependents = orphan === true;
  if (body.preconditions !== undefined && body.preconditions !== null) {
    if (typeof body.preconditions !== 'object') throw badRequest('preconditions must be an object');
    opts.preconditions = body.preconditions as DeleteOptions['preconditions'];
  }
  const gp = body.gracePeriodSeconds ?? q.get('gracePeriodSeconds') ?? undefined;
  if (gp !== undefined && gp !== null) {
    const n = Number(gp);
    if (!Number.isInteger(n)) throw badRequest(`invalid gracePeriodSeconds: ${String(gp)}`);
    opts.gracePeriodSeconds = n;
  }
  if (Array.isArray(body.dryRun)) opts.dryRun = body.dryRun as string[];
  return opts;
}

function listMeta(r: {
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}): Record<string, unknown> {
  const m: Record<string, unknown> = { resourceVersion: r.resourceVersion };
  if (r.continue) m.continue = r.continue;
  if (r.remainingItemCount !== undefined) m.remainingItemCount = r.remainingItemCount;
  return m;
}

export async function serveResource(
  deps: ResourceHandlerDeps,
  info: RequestInfo,
  user: UserInfo,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
): Promise<void> {
  const store = deps.registry.store(info.apiGroup, info.apiVersion, info.resource);
  if (!store) {
    throw notFoundResource();
  }
  const kind = store.kind;
  const ns = kind.namespaced ? info.namespace || undefined : undefined;
  if (!kind.namespaced && info.namespace && info.resource !== 'namespaces') {
    throw notFoundResource();
  }
  if (ns !== undefined && validateNamespaceName(ns).length > 0)
    throw notFound({ group: '', resource: 'namespaces' }, ns);
  const custom = info.subresource ? findSubresource(deps.subresourceHandlers, kind, info.subresource) : undefined;
  if (custom) return serveSubresource(deps, custom, store, ns, info, user, req, res, q);
  if (info.subresource && !(info.subresource === 'status' && kind.statusSubresource)) {
    throw notFoundResource();
  }
  if (info.rest.length > 0) throw notFoundResource();
  const sub = info.subresource === 'status' ? 'status' : undefined;
  const gv = groupVersion(kind);
  const needsNamespace = kind.namespaced && !ns && info.verb !== 'list' && info.verb !== 'watch';
  if (needsNamespace) throw notFoundResource();

  switch (info.verb) {
    case 'get': {
      const out = negotiateOutput(req.headers.accept, 'object');
      // unset reads the latest; "0" any version, and N one at least that new (both from the watch
      // cache); N must exist (504 after a bounded wait); "abc" is 400
      const rv = parseResourceVersion(q.get('resourceVersion') ?? undefined);
      if (rv !== undefined && rv > 0) await waitForRevision(store.storage, rv);
      const obj = rv === undefined ? await store.get(ns, info.name) : await store.getNotOlderThan(ns, info.name, rv);
      return sendRead(res, kind, [obj], out, q, { resourceVersion: obj.metadata.resourceVersion }, false);
    }
    case 'list': {
      if (sub) throw methodNotAllowed('list', store.ref);
      if (q.has('sendInitialEvents')) {
        throw invalidOptions('ListOptions', [
          fieldErr.forbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list'),
        ]);
      }
      const out = negotiateOutput(req.headers.accept, 'list');
      const result = await listObjects(store, ns, {
        ...listOptions(store, q),
        jsonOnly: out.as === 'object' && !out.yaml,
      });
      if (result.json) return await sendJSONList(res, gv, kind.listKind, listMeta(result), result.json);
      return sendRead(res, kind, result.items, out, q, listMeta(result), true);
    }
    case 'watch': {
      if (sub) throw methodNotAllowed('watch', store.ref);
      return serveWatch(store, ns, req, res, q, deps.watchBookmarkIntervalMs, deps.activeWatches);
    }
    case 'create': {
      // POST to an object's own path is not a create (kube-apiserver: 405)
      if (sub || info.name) throw methodNotAllowed('create', store.ref);
      const ctx = requestContext(user, q, true, req);
      const body = decodeObjectBody(await readBody(req, deps.maxRequestBytes), req.headers['content-type'], kind);
      const created = await store.create(ns, body, ctx);
      setWarnings(res, ctx.warnings);
      return sendJSON(res, 201, created);
    }
    case 'update': {
      const ctx = requestContext(user, q, true, req);
      const body = decodeObjectBody(await readBody(req, deps.maxRequestBytes), req.headers['content-type'], kind);
      const updated = await store.update(ns, info.name, body, ctx, sub);
      setWarnings(res, ctx.warnings);
      return sendJSON(res, 200, updated);
    }
    case 'patch': {
      const ctx = requestContext(user, q, true, req);
      const type = patchType(req.headers['content-type']);
      if (type === 'apply') {
        const force = applyForce(q);
        const text = (await readBody(req, deps.maxRequestBytes)).toString('utf8');
        if (text.trim() === '') throw badRequest('the request body is empty: an apply configuration is required');
        // kubectl sends JSON; YAML is the documented format (JSON is parsed strictly for duplicates)
        const body = decodeText(text, text.trimStart().startsWith('{') ? 'json' : 'yaml');
        const { object, created } = await store.apply(ns, info.name, body, ctx, force, sub);
        setWarnings(res, ctx.warnings);
        return sendJSON(res, created ? 201 : 200, object);
      }
      if (q.has('force')) {
        throw invalidOptions('PatchOptions', [fieldErr.forbidden('force', 'may not be specified for non-apply patch')]);
      }
      const raw = await readBody(req, deps.maxRequestBytes);
      const text = raw.toString('utf8');
      if (text.trim() === '') throw badRequest('the request body is empty: a patch is required');
      const patch = decodeText(text, 'json').value;
      const patched = await store.patch(ns, info.name, type, patch, ctx, sub);
      setWarnings(res, ctx.warnings);
      return sendJSON(res, 200, patched);
    }
    case 'delete': {
      if (sub) throw methodNotAllowed('delete', store.ref);
      const opts = await deleteOptions(req, q, deps.maxRequestBytes);
      const ctx = requestContext(user, mergeDryRun(q, opts.dryRun), false, req);
      const { object, deleted } = await store.delete(ns, info.name, opts, ctx);
      if (!deleted) return sendJSON(res, 200, object);
      return sendJSON(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name: info.name, group: kind.group, kind: kind.plural, uid: object.metadata.uid },
      });
    }
    case 'deletecollection': {
      if (sub) throw methodNotAllowed('deletecollection', store.ref);
      const opts = await deleteOptions(req, q, deps.maxRequestBytes);
      const ctx = requestContext(user, mergeDryRun(q, opts.dryRun), false, req);
      const result = await deleteCollection(store, ns, listOptions(store, q), opts, ctx);
      return sendJSON(res, 200, {
        apiVersion: gv,
        kind: kind.listKind,
        metadata: listMeta(result),
        items: result.items,
      });
    }
    default:
      throw methodNotAllowed(info.verb, store.ref);
  }
}

function mergeDryRun(q: URLSearchParams, fromBody?: string[]): URLSearchParams {
  if (!fromBody || fromBody.length === 0) return q;
  const merged = new URLSearchParams(q);
  for (const v of fromBody) if (!merged.getAll('dryRun').includes(v)) merged.append('dryRun', v);
  return merged;
}

function sendRead(
  res: ServerResponse,
  kind: ResourceStore['kind'],
  items: KubeObject[],
  out: ReturnType<typeof negotiateOutput>,
  q: URLSearchParams,
  meta: Record<string, unknown>,
  isList: boolean,
): void {
  const gv = groupVersion(kind);
  switch (out.as) {
    case 'Table':
      return sendJSON(
        res,
        200,
        toTable(kind, items, meta, { includeObject: parseIncludeObject(q.get('includeObject')), withColumns: true }),
      );
    case 'PartialObjectMetadata':
      return sendJSON(res, 200, partialObjectMetadata(items[0]));
    case 'PartialObjectMetadataList':
      return sendJSON(res, 200, partialObjectMetadataList(items, meta));
    case 'object':
      if (!isList) return sendJSON(res, 200, items[0], out.yaml);
      return sendJSON(res, 200, { apiVersion: gv, kind: kind.listKind, metadata: meta, items }, out.yaml);
  }
}
