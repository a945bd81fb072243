// The boot listener: plain HTTP for machines that boot (PXE firmware and iPXE cannot present
// client certificates), separate from the API. Every request passes the network allow-list and
// the per-client rate limit; every answer is logged with the client's address and the server's
// UUID, never with a body.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { IpxeSettings } from '../../src/boot/decision.js';
import { normalAddress } from '../../src/boot/names.js';
import { ClientNetworks } from '../../src/boot/networks.js';
import type { BootObjects } from '../../src/boot/objects.js';
import { ClientRateLimiter } from '../../src/boot/ratelimit.js';
import {
  badRequest,
  forbidden,
  internalError,
  methodNotAllowedWithMessage,
  notFoundWithMessage,
  StatusError,
  tooLarge,
  tooManyRequests,
  unsupportedMediaType,
} from '../../src/machinery/errors.js';
import type { SecretReader } from '../../src/secrets/reader.js';
import type { BootOptions } from './options.js';
import { bootRoutes, requestedHost } from './routes.js';

export interface BootListenerDeps {
  options: BootOptions;
  objects: BootObjects;
  secrets: SecretReader;
  dataDir: string;
  log: Logger;
  /** as the API's: a slow client's headers and body are cut */
  readHeaderTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface BootListener {
  url: string;
  port: number;
  close(): Promise<void>;
}

const KNOWN_PATHS =
  /^\/(boot\.ipxe|ipxe|configdata|env\/[^/]+\/[^/]+|agent\/(register|addresses|heartbeat|wipe-done))$/;

export async function startBootListener(d: BootListenerDeps): Promise<BootListener> {
  const o = d.options;
  const networks = ClientNetworks.parse(o.allowedNetworks);
  const limiter = new ClientRateLimiter({ limit: o.rateLimit, windowMs: o.rateLimitWindowMs });
  const client = (req: Request) => normalAddress(req.socket.remoteAddress ?? '');
  let port = 0;
  const ipxe: IpxeSettings = { dataDir: d.dataDir, bootFromDiskDefault: o.bootFromDiskMethod };
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((req, res, next) => {
    const started = Date.now();
    // 'close' comes also for an answer cut short, which 'finish' never sees
    res.once('close', () => {
      const uuid = res.locals.uuid as string | undefined;
      d.log.info(
        {
          client: client(req),
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ...(uuid ? { uuid } : {}),
          ...(res.locals.boots ? { boots: res.locals.boots as string } : {}),
          ...(res.locals.machine ? { machine: res.locals.machine as string } : {}),
          ms: Date.now() - started,
          ...(res.writableFinished ? {} : { cut: true }),
        },
        'boot request',
      );
    });
    next();
  });
  app.use((req, _res, next) => {
    const address = client(req);
    if (!networks.allows(address)) return next(forbidden(`${address} is not in the boot listener's allowed networks`));
    const retryAfter = limiter.take(address);
    if (retryAfter !== undefined)
      return next(
        tooManyRequests(`too many requests from ${address}; try again in ${retryAfter}s`, {
          retryAfterSeconds: retryAfter,
        }),
      );
    next();
  });
  app.use(
    bootRoutes({
      objects: d.objects,
      secrets: d.secrets,
      ipxe,
      autoAccept: o.autoAcceptServers,
      registration: o.registration,
      endpoint: (req) => o.advertiseAddress ?? requestedHost(req) ?? hostPort(o.bindAddress, port),
      client,
    }),
  );
  app.use((req, _res, next) => {
    next(
      KNOWN_PATHS.test(req.path)
        ? methodNotAllowedWithMessage(`${req.method} is not supported on ${req.path}`)
        : notFoundWithMessage(`${req.path} is not served by the boot listener`),
    );
  });
  // express knows an error handler by its four parameters
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = statusOf(err);
    if (status.code >= 500) d.log.error({ err, path: req.path, client: client(req) }, 'boot request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const retry = status.details?.retryAfterSeconds;
    if (retry) res.set('Retry-After', String(retry));
    res.status(status.code).type('application/json').send(JSON.stringify(status.toStatus()));
  });

  const server: HttpServer = createServer(
    // node refuses a header deadline longer than the whole request's
    { headersTimeout: Math.min(d.readHeaderTimeoutMs, d.requestTimeoutMs), requestTimeout: d.requestTimeoutMs },
    app,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://${hostPort(o.bindAddress, port)}`;
  d.log.info({ address: url }, 'boot listener serving');
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function hostPort(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** a StatusError for anything a route or express threw: body-parser's refusals keep their meaning */
function statusOf(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  const type = (err as { type?: string } | null)?.type;
  if (type === 'entity.parse.failed') return badRequest(`the body is not valid JSON: ${(err as Error).message}`);
  if (type === 'entity.too.large') return tooLarge('the request body is larger than 256 KiB');
  if (type === 'unsupported.media' || type === 'charset.unsupported' || type === 'encoding.unsupported')
    return unsupportedMediaType('the body must be JSON (Content-Type: application/json, UTF-8)');
  if (type === 'request.aborted') return badRequest('the request was aborted');
  return internalError('the boot listener failed to answer; see the server log');
}
