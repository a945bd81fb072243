// Assembles and starts the server: storage stack, kinds, controllers, TLS listener.
// main.ts calls it; tests may call it in-process too.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import { allKinds, coreKinds } from '../src/api/index.js';
import { ensureInitialNamespaces, NamespaceController, namespaceAdmission, namespaceChecker } from '../src/controllers/namespace.js';
import { GarbageCollector } from '../src/controllers/garbagecollector.js';
import { AdoptedServerController } from '../src/controllers/adoptedserver/controller.js';
import { StoreEventRecorder } from '../src/controllers/events.js';
import { nodeAccess } from '../src/nodes/connect.js';
import { registrySecrets } from '../src/nodes/credentials.js';
import { adoptedServerHandlers } from '../src/nodes/subresources.js';
import { OutboundAllowList } from '../src/talos/outbound.js';
import { APIRegistry } from '../src/machinery/registry/apis.js';
import { buildApp } from './app.js';
import { clientCertAuthenticator, standaloneAuthorize } from './authn.js';
import { controllerEnabled, type ServerOptions } from './options.js';
import { ensureStandalonePKI, serverURL, writeAdminKubeconfig } from './standalone.js';
import { openStorageStack } from './storage.js';

export interface RunningServer {
  url: string;
  port: number;
  kubeconfigPath: string;
  registry: APIRegistry;
  close(): Promise<void>;
}

export const SERVER_VERSION = '0.1.0';

/** resolves to undefined when p settles in time, or to a reason (a failed health check) */
async function withDeadline(p: Promise<unknown>, ms: number, reason: string): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(() => undefined),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(reason), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

export async function startServer(opts: ServerOptions, log: Logger = pino({ level: opts.logLevel })): Promise<RunningServer> {
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const pki = await ensureStandalonePKI(opts.dataDir, opts.bindAddress);
  const kinds = [...coreKinds, ...allKinds];
  const stack = await openStorageStack(opts, kinds, log);
  const storage = stack.storage;
  let ready = false;
  let registry: APIRegistry;
  try {
    registry = new APIRegistry(kinds, storage, {
      root: stack.root,
      checkNamespace: (ns) => namespaceChecker(registry, ns),
      admission: namespaceAdmission,
    });
    await ensureInitialNamespaces(registry);
  } catch (e) {
    await stack.close();
    throw e;
  }
  const allowList = OutboundAllowList.parse(opts.allowedOutboundNetworks);
  const access = nodeAccess({ secrets: registrySecrets(registry), allowList, callTimeoutMs: opts.talosCallTimeoutMs });
  const events = new StoreEventRecorder(registry, 'talos-fleet-apiserver', log.child({ component: 'events' }));
  const subresourceHandlers = adoptedServerHandlers({ access, registry, events });
  // controllers run in the replica that holds the leadership (always, with the embedded store)
  stack.leadership.run(async () => {
    const controllers: { start(): Promise<void>; stop(): void }[] = [];
    const on = (name: string) => controllerEnabled(opts.controllers, name);
    if (on('namespace')) controllers.push(new NamespaceController(registry, log.child({ controller: 'namespace' })));
    if (on('garbage-collector')) controllers.push(new GarbageCollector(registry, log.child({ controller: 'garbage-collector' })));
    if (on('adoptedserver')) {
      controllers.push(new AdoptedServerController({
        registry, access, allowList, events, log: log.child({ controller: 'adoptedserver' }), resyncMs: opts.resyncPeriodMs,
      }));
    }
    for (const c of controllers) await c.start();
    return () => {
      for (const c of controllers) c.stop();
    };
  });

  const app = buildApp({
    log,
    registry,
    maxRequestBytes: opts.maxRequestBytes,
    subresourceHandlers,
    subresources: subresourceHandlers.map((h) => h.declaration),
    watchBookmarkIntervalMs: opts.watchBookmarkIntervalMs,
    authenticate: clientCertAuthenticator(),
    authorize: (user) => standaloneAuthorize(user),
    healthChecks: [
      {
        name: 'storage',
        // as kube-apiserver's etcd check: not in livez, so an etcd outage does not restart us
        endpoints: ['healthz', 'readyz'],
        check: () => withDeadline(storage.currentRevision(), 2_000, 'storage did not answer within 2s'),
      },
    ],
    isReady: () => ready,
    serverAddress: () => `${opts.bindAddress}:${port}`,
    version: SERVER_VERSION,
  });
  const clientCA = opts.clientCaFile ? await readFile(opts.clientCaFile, 'utf8') : pki.ca.certPem;
  const server: Server = createServer(
    {
      cert: opts.tlsCertFile ? await readFile(opts.tlsCertFile) : pki.serving.certPem,
      key: opts.tlsPrivateKeyFile ? await readFile(opts.tlsPrivateKeyFile) : pki.serving.keyPem,
      ca: clientCA,
      requestCert: true,
      rejectUnauthorized: false, // health endpoints answer without a certificate; authn decides the rest
      minVersion: 'TLSv1.2',
    },
    app,
  );
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.securePort, opts.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = serverURL(opts.bindAddress, port);
  const kubeconfigPath = await writeAdminKubeconfig(opts.dataDir, pki, url);
  ready = true;
  log.info({ address: url, kubeconfig: kubeconfigPath }, 'serving');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    kubeconfigPath,
    registry,
    close() {
      closing ??= (async () => {
        ready = false;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await stack.close();
      })();
      return closing;
    },
  };
}
