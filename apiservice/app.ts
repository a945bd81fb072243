// The request path: authenticate -> request info -> authorize -> handler. Everything that fails
// leaves through sendError as a Status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { forbidden, StatusError } from '../src/machinery/errors.js';
import { qualifiedResource } from '../src/machinery/errors.js';
import type { UserInfo } from '../src/machinery/registry/context.js';
import type { Authenticator } from './authn.js';
import { sendError } from './http.js';
import { serveDiscovery, type DiscoveryDeps } from './handlers/discovery.js';
import { serveHealth, type HealthCheck } from './handlers/health.js';
import { serveResource, type ResourceHandlerDeps } from './handlers/resources.js';
import { requestInfo, type RequestInfo } from './requestinfo.js';

export interface AppDeps extends ResourceHandlerDeps, DiscoveryDeps {
  log: Logger;
  authenticate: Authenticator;
  authorize(user: UserInfo, info: RequestInfo): boolean;
  healthChecks: HealthCheck[];
  /** false once shutdown started, so /readyz fails first */
  isReady(): boolean;
}

const ALWAYS_ALLOWED = new Set(['/healthz', '/livez', '/readyz']);

function forbiddenFor(user: UserInfo, info: RequestInfo): StatusError {
  if (!info.isResourceRequest) {
    return forbidden(`forbidden: User "${user.name}" cannot ${info.verb} path "${info.path}"`);
  }
  const r = { group: info.apiGroup, resource: info.resource };
  const what = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const where = info.namespace ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
  const prefix = info.name ? `${qualifiedResource(r)} "${info.name}" is forbidden` : `${qualifiedResource(r)} is forbidden`;
  return forbidden(`${prefix}: User "${user.name}" cannot ${info.verb} resource "${what}" in API group "${info.apiGroup}" ${where}`, {
    name: info.name || undefined,
    group: info.apiGroup,
    kind: info.resource,
  });
}

export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res) => {
    void handle(deps, req, res);
  });
  return app;
}

async function handle(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const url = new URL(req.url ?? '/', 'https://apiserver.local');
  const path = url.pathname;
  const requestId = randomUUID();
  let info: RequestInfo | undefined;
  let user: UserInfo | undefined;
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    deps.log.debug(
      { requestId, user: user?.name, verb: info?.verb, resource: info?.resource, namespace: info?.namespace, path, status: res.statusCode, latencyMs: Math.round(ms * 10) / 10 },
      'request',
    );
  });
  try {
    if (req.method === 'OPTIONS' || req.method === 'TRACE') throw new StatusError(405, 'MethodNotAllowed', `method ${req.method} is not allowed`);
    const health = path.replace(/\/+$/, '').split('/').slice(0, 2).join('/');
    if (ALWAYS_ALLOWED.has(health)) return serveHealth(deps, path, url.searchParams, res);
    user = deps.authenticate(req);
    if (!user) throw new StatusError(401, 'Unauthorized', 'Unauthorized');
    info = requestInfo(req.method ?? 'GET', path, url.searchParams);
    if (!deps.authorize(user, info)) throw forbiddenFor(user, info);
    if (info.isResourceRequest) return await serveResource(deps, info, user, req, res, url.searchParams);
    return await serveDiscovery(deps, req, res, path);
  } catch (e) {
    sendError(res, e, (err) => deps.log.error({ err, requestId, path }, 'unhandled error'));
  }
}
