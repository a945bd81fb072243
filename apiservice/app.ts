// The request path: authenticate -> request info -> authorize -> in-flight limit -> handler.
// Everything that fails leaves through sendError as a Status. Every request is counted and timed
// for /metrics and logged with its id, user, verb, resource, status and latency.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  badRequest,
  forbidden,
  methodNotAllowedWithMessage,
  StatusError,
  tooManyRequests,
  unauthorized,
} from '../src/machinery/errors.js';
import { qualifiedResource } from '../src/machinery/errors.js';
import type { UserInfo } from '../src/machinery/registry/context.js';
import type { Authenticator } from './auth/authenticate.js';
import type { Authorizer } from './auth/authorize.js';
import { forbiddenFor } from './auth/forbidden.js';
import { impersonatedUser } from './auth/impersonate.js';
import { isLongRunning, type InflightLimiter } from './inflight.js';
import type { ServerMetrics } from './metrics.js';
import { sendError } from './http.js';
import { serveDiscovery, type DiscoveryDeps } from './handlers/discovery.js';
import { serveHealth, type HealthCheck } from './handlers/health.js';
import { serveResource, type ResourceHandlerDeps } from './handlers/resources.js';
import { hasDotSegment } from './rawpath.js';
import { requestInfo, type RequestInfo } from './requestinfo.js';
import { WEBHOOK_PATHS } from '../webhooks/admissionreview.js';
import { serveAdmissionReview } from './handlers/webhooks.js';
import { selfReviewKind, serveSelfReview, type SelfReviewDeps } from './handlers/selfreviews.js';

export interface AppDeps extends ResourceHandlerDeps, DiscoveryDeps, SelfReviewDeps {
  log: Logger;
  authenticate: Authenticator;
  authorize: Authorizer;
  healthChecks: HealthCheck[];
  /** false once shutdown started, so /readyz fails first */
  isReady(): boolean;
  metrics?: ServerMetrics;
  inflight?: InflightLimiter;
  /** a request passed authentication with a credential: its connection stops counting as unauthenticated */
  connectionAuthenticated?(req: IncomingMessage): void;
}

const ALWAYS_ALLOWED = new Set(['/healthz', '/livez', '/readyz']);

/** the request path as a plain listener, for HTTP/1.1 and HTTP/2 requests alike */
export function requestHandler(deps: AppDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(deps, req, res);
  };
}

async function handle(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const url = new URL(req.url ?? '/', 'https://apiserver.local');
  let path = url.pathname;
  const requestId = randomUUID();
  let info: RequestInfo | undefined;
  let user: UserInfo | undefined;
  res.on('finish', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (info && deps.metrics) {
      deps.metrics.observeRequest(
        deps.metrics.labels(info, req.headers['content-type'], url.searchParams.has('dryRun')),
        res.statusCode,
        seconds,
      );
    }
    deps.log.debug(
      {
        requestId,
        user: user?.name,
        verb: info?.verb,
        resource: info?.resource,
        namespace: info?.namespace,
        path,
        status: res.statusCode,
        latencyMs: Math.round(seconds * 1e4) / 10,
      },
      'request',
    );
  });
  try {
    if (hasDotSegment(req.url ?? '/'))
      throw badRequest('the request path must not contain "." or ".." segments (percent-encoded or not)');
    path = decodePath(url.pathname);
    if (req.method === 'OPTIONS' || req.method === 'TRACE')
      throw methodNotAllowedWithMessage(`method ${req.method} is not allowed`);
    const health = path.replace(/\/+$/, '').split('/').slice(0, 2).join('/');
    if (ALWAYS_ALLOWED.has(health)) return await serveHealth(deps, path, url.searchParams, res);
    const webhook = WEBHOOK_PATHS.get(path);
    if (webhook) return await serveAdmissionReview(webhook, req, res, deps.maxRequestBytes);
    user = await deps.authenticate(req);
    if (!user) throw unauthorized();
    if (!user.groups.includes('system:unauthenticated')) deps.connectionAuthenticated?.(req);
    user = await impersonatedUser(req, user, deps.authorize);
    info = requestInfo(req.method ?? 'GET', path, url.searchParams);
    const decision = await deps.authorize(user, info, url.searchParams);
    if (!decision.allowed) throw forbiddenFor(user, info, decision.reason);
    const release = await deps.inflight?.admit(info, url.searchParams);
    if (release === false) throw inflightLimitReached();
    if (deps.metrics && isLongRunning(info)) {
      const labels = deps.metrics.labels(info, undefined, false);
      const { dry_run: _d, ...gauge } = labels;
      deps.metrics.longRunning.inc(gauge);
      res.once('close', () => deps.metrics!.longRunning.dec(gauge));
    }
    try {
      if (path === '/metrics' && deps.metrics) return await serveMetrics(deps.metrics, res);
      const review = info.isResourceRequest ? selfReviewKind(deps, info) : undefined;
      if (review) return await serveSelfReview(deps, review, info, user, req, res, url.searchParams);
      if (info.isResourceRequest) return await serveResource(deps, info, user, req, res, url.searchParams);
      return await serveDiscovery(deps, req, res, path);
    } finally {
      if (release) release();
    }
  } catch (e) {
    if (clientWentAway(e, req, res)) {
      deps.log.debug({ requestId, path, err: (e as Error).message }, 'client went away before the answer');
      res.destroy();
      return;
    }
    sendError(res, e, (err) => deps.log.error({ err, requestId, path }, 'unhandled error'));
  }
}

/** the path percent-decoded as Go's net/http hands it to kube-apiserver; a broken escape is a 400 */
function decodePath(raw: string): string {
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw badRequest(`invalid URL escape in path ${JSON.stringify(raw)}`);
  }
  // an escaped slash can make a dot segment only now; it must not name an object either
  if (path.split('/').some((seg) => seg === '.' || seg === '..')) {
    throw badRequest('the request path must not contain "." or ".." segments (percent-encoded or not)');
  }
  return path;
}

/** an abort by the client (reset, closed stream) is the client's business: no 500, no error log */
function clientWentAway(e: unknown, req: IncomingMessage, res: ServerResponse): boolean {
  if (res.destroyed || req.socket?.destroyed === true) return true;
  if (e instanceof StatusError) return false;
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNABORTED' || code === 'EPIPE')
    return true;
  return (e as Error | null)?.message === 'aborted';
}

function inflightLimitReached(): StatusError {
  return tooManyRequests('Too many requests, please try again later.', { retryAfterSeconds: 1 });
}

async function serveMetrics(metrics: ServerMetrics, res: ServerResponse): Promise<void> {
  const { contentType, body } = await metrics.text();
  res.statusCode = 200;
  res.setHeader('Content-Type', contentType);
  res.end(body);
}
