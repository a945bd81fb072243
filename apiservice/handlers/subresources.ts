// Subresources answered by code (src/machinery/registry/subresource.ts): method and namespace
// checks, the parent object, the body of a POST, and the reply as JSON or text.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { methodNotAllowed, notFoundResource } from '../../src/machinery/errors.js';
import type { KindDefinition } from '../../src/machinery/kind.js';
import type { UserInfo } from '../../src/machinery/registry/context.js';
import type { ResourceStore } from '../../src/machinery/registry/store.js';
import { SUBRESOURCE_METHODS, type SubresourceHandler } from '../../src/machinery/registry/subresource.js';
import { decodeObjectBody, readBody, sendJSON } from '../http.js';
import type { RequestInfo } from '../requestinfo.js';
import type { ResourceHandlerDeps } from './resources.js';

export function findSubresource(
  handlers: SubresourceHandler[] | undefined,
  kind: KindDefinition,
  name: string,
): SubresourceHandler | undefined {
  return handlers?.find(
    (h) => h.group === kind.group && h.declaration.resource === kind.plural && h.declaration.name === name,
  );
}

export async function serveSubresource(
  deps: ResourceHandlerDeps,
  handler: SubresourceHandler,
  store: ResourceStore,
  ns: string | undefined,
  info: RequestInfo,
  user: UserInfo,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
): Promise<void> {
  if (info.rest.length > 0 || !info.name || (store.kind.namespaced && !ns)) throw notFoundResource();
  const allowed = handler.declaration.verbs.map((v) => SUBRESOURCE_METHODS[v]);
  if (!allowed.includes(req.method ?? '')) {
    res.setHeader('Allow', allowed.join(', '));
    throw methodNotAllowed(info.verb, {
      group: store.kind.group,
      resource: `${store.kind.plural}/${handler.declaration.name}`,
    });
  }
  const body =
    req.method === 'POST'
      ? decodeObjectBody(await readBody(req, deps.maxRequestBytes), req.headers['content-type'])
      : undefined;
  const parent = await store.get(ns, info.name);
  // a client that hangs up stops the work meant for it (a frozen node is not waited for)
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  const reply = await handler.serve({ parent, user, query: q, body, signal: abort.signal });
  if (reply.type === 'object') return sendJSON(res, reply.code, reply.object);
  res.statusCode = reply.code;
  res.setHeader('Content-Type', reply.contentType);
  res.setHeader('Content-Length', Buffer.byteLength(reply.text));
  res.end(reply.text);
}
