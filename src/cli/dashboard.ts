// kubectl talos dashboard: a fleet page served on 127.0.0.1 by the plugin process. The page (plain
// HTML, CSS and two ES modules, src/cli/dashboard/) talks only to this process, which forwards
// the allow-listed API requests (dashboardroutes.ts) with the user's kubeconfig credentials, so
// RBAC applies as for kubectl and the API server gains nothing new. The page's watches come
// merged in one stream (dashboardwatch.ts). dashboardguard.ts keeps other web pages out.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { judgeRequest, newToken, type Guard } from './dashboardguard.js';
import { PROXY_PREFIX, routeFor } from './dashboardroutes.js';
import { mergedWatch, watchRequest, WATCH_PATH } from './dashboardwatch.js';
import { CLIError, type KubeClient } from './kubeclient.js';

export interface DashboardOptions {
  port: number;
  /** open the URL in the desktop's browser (xdg-open, or open on macOS) */
  open: boolean;
  /** show only this namespace (the user gave -n); otherwise every namespace */
  namespace?: string;
}

/** the largest AdoptedServer the page's form may send */
const MAX_BODY_BYTES = 256 * 1024;

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/feeds.js': { file: 'feeds.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * The page's files, read from the package's source tree: src/cli/dashboard sits beside this
 * file in a checkout and is found from the package root when running from dist/.
 */
export function loadAssets(): Map<string, { body: Buffer; type: string }> {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new CLIError('the dashboard page is missing: no package root above the plugin');
    dir = parent;
  }
  const pageDir = join(dir, 'src', 'cli', 'dashboard');
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const [path, a] of Object.entries(ASSETS)) {
    const file = join(pageDir, a.file);
    if (!existsSync(file)) throw new CLIError(`the dashboard page is missing: ${file}`);
    assets.set(path, { body: readFileSync(file), type: a.type });
  }
  return assets;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
  res.writeHead(code, { ...SECURITY_HEADERS, 'Content-Type': 'application/json' }).end(body);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function proxy(kc: KubeClient, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const route = routeFor(req.method ?? '', req.url ?? '');
  if ('refusal' in route) return status(res, 403, 'Forbidden', route.refusal);
  let body: string | undefined;
  if (req.method === 'POST') {
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
      return status(res, 415, 'UnsupportedMediaType', 'the dashboard sends AdoptedServers as application/json');
    body = await readBody(req);
    if (body === undefined)
      return status(res, 413, 'RequestEntityTooLarge', `a request body may hold at most ${MAX_BODY_BYTES} bytes`);
  }
  let upstream: IncomingMessage;
  try {
    upstream = await kc.stream(req.method!, route.path, body, body === undefined ? undefined : 'application/json');
  } catch (e) {
    return status(res, 502, 'ServiceUnavailable', (e as Error).message);
  }
  // the page goes away mid-answer: so does the request to the API server
  res.on('close', () => upstream.destroy());
  res.writeHead(upstream.statusCode ?? 502, {
    ...SECURITY_HEADERS,
    'Content-Type': String(upstream.headers['content-type'] ?? 'application/json'),
  });
  res.flushHeaders();
  upstream.on('error', () => res.destroy());
  upstream.pipe(res);
}

/** the listener's request handler */
function handler(
  kc: KubeClient,
  guard: Guard,
  assets: Map<string, { body: Buffer; type: string }>,
  pageConfig: unknown,
) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const verdict = judgeRequest(guard, {
      method: req.method ?? '',
      url: req.url ?? '/',
      host: req.headers.host,
      origin: req.headers.origin,
      cookie: req.headers.cookie,
    });
    if (verdict.kind === 'refuse') return status(res, 403, 'Forbidden', verdict.message);
    if (verdict.kind === 'login') {
      res.writeHead(303, { ...SECURITY_HEADERS, Location: verdict.location, 'Set-Cookie': verdict.setCookie }).end();
      return;
    }
    const path = new URL(req.url ?? '/', 'http://dashboard.invalid').pathname;
    if (path.startsWith(`${PROXY_PREFIX}/`)) {
      proxy(kc, req, res).catch((e: unknown) => status(res, 502, 'ServiceUnavailable', (e as Error).message));
      return;
    }
    if (path === WATCH_PATH && req.method === 'GET') {
      const w = watchRequest(req.url ?? '');
      if ('paths' in w) return mergedWatch(kc, w.paths, res, SECURITY_HEADERS);
      return status(res, w.code, w.reason, w.message);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return status(res, 405, 'MethodNotAllowed', `${req.method} ${path} is not served`);
    if (path === '/config.json') {
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json' }).end(JSON.stringify(pageConfig));
      return;
    }
    const asset = assets.get(path);
    if (!asset) return status(res, 404, 'NotFound', `${path} is not part of the dashboard`);
    res
      .writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': asset.type })
      .end(req.method === 'HEAD' ? '' : asset.body);
  };
}

function openBrowser(url: string, err: NodeJS.WritableStream): void {
  const cmd = process.platform === 'darwin' ? 'open' : 'xdg-open';
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', (e) => err.write(`could not start ${cmd} (${e.message}): open the URL yourself\n`));
  child.unref();
}

/** serves until SIGINT or SIGTERM (or `stop` fires); resolves 0 then */
export async function dashboard(
  kc: KubeClient,
  o: DashboardOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  stop?: AbortSignal,
): Promise<number> {
  const assets = loadAssets();
  const token = newToken();
  const guard: Guard = { port: 0, token };
  const config = { namespace: o.namespace ?? null, defaultNamespace: kc.namespace, server: kc.server };
  const server: Server = createServer(handler(kc, guard, assets, config));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new CLIError(
          `cannot listen on 127.0.0.1:${o.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (--port 0 picks a free one)' : e.message}`,
        ),
      ),
    );
    server.listen(o.port, '127.0.0.1', resolve);
  });
  guard.port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${guard.port}/?token=${token}`;
  out.write(`Dashboard of ${kc.server} at ${url}\n(Ctrl-C stops it)\n`);
  if (o.open) openBrowser(url, err);
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    stop?.addEventListener('abort', done, { once: true });
  });
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return 0;
}
