// Assembles and starts the standalone server: store, kinds, controllers, TLS listener.
// main.ts calls it; tests may call it in-process too.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { allKinds, coreKinds } from '../src/api/index.js';
import { ensureInitialNamespaces, NamespaceController, namespaceAdmission, namespaceChecker } from '../src/controllers/namespace.js';
import { GarbageCollector } from '../src/controllers/garbagecollector.js';
import { APIRegistry } from '../src/machinery/registry/apis.js';
import { CachedStorage } from '../src/storage/cache/storage.js';
import { ensureDefaultEncryptionConfig, loadEncryptionConfig } from '../src/storage/encryption/config.js';
import { resourceOfKey, withEncryption } from '../src/storage/encryption/storage.js';
import { openEmbeddedStore } from '../src/storage/embedded/store.js';
import { resourceKeyPrefix } from '../src/machinery/registry/codec.js';
import type { Storage } from '../src/storage/storage.js';
import { buildApp } from './app.js';
import { clientCertAuthenticator, standaloneAuthorize } from './authn.js';
import type { ServerOptions } from './options.js';
import { ensureStandalonePKI, serverURL, writeAdminKubeconfig } from './standalone.js';

export interface RunningServer {
  url: string;
  port: number;
  kubeconfigPath: string;
  registry: APIRegistry;
  close(): Promise<void>;
}

export const SERVER_VERSION = '0.1.0';

export async function startServer(opts: ServerOptions, log: Logger = pino({ level: opts.logLevel })): Promise<RunningServer> {
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const pki = await ensureStandalonePKI(opts.dataDir, opts.bindAddress);
  const raw: Storage = await openEmbeddedStore(join(opts.dataDir, 'store'));
  // secret material is encrypted at rest; without a configuration file, standalone mode makes one
  // with a random key in the data directory (secrets are never stored in plaintext by default)
  let backend: Storage;
  try {
    const configPath = opts.encryptionProviderConfig ?? (await ensureDefaultEncryptionConfig(opts.dataDir));
    backend = withEncryption(raw, await loadEncryptionConfig(configPath), resourceOfKey('/registry'));
  } catch (e) {
    await raw.close();
    throw e;
  }
  const kinds = [...coreKinds, ...allKinds];
  // one watch cache per resource: lists, gets and watches are served from memory
  const storage = new CachedStorage(backend, kinds.map((k) => resourceKeyPrefix('/registry', k)));
  let ready = false;
  let registry: APIRegistry;
  try {
    await storage.start();
    registry = new APIRegistry(kinds, storage, {
      checkNamespace: (ns) => namespaceChecker(registry, ns),
      admission: namespaceAdmission,
    });
    await ensureInitialNamespaces(registry);
  } catch (e) {
    await storage.close();
    throw e;
  }
  const namespaces = new NamespaceController(registry, log.child({ controller: 'namespace' }));
  await namespaces.start();
  const gc = new GarbageCollector(registry, log.child({ controller: 'garbage-collector' }));
  await gc.start();

  const app = buildApp({
    log,
    registry,
    maxRequestBytes: opts.maxRequestBytes,
    watchBookmarkIntervalMs: opts.watchBookmarkIntervalMs,
    authenticate: clientCertAuthenticator(),
    authorize: (user) => standaloneAuthorize(user),
    healthChecks: [
      {
        name: 'storage',
        endpoints: ['healthz', 'livez', 'readyz'],
        check: async () => {
          await storage.currentRevision();
          return undefined;
        },
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
        namespaces.stop();
        gc.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await storage.close();
      })();
      return closing;
    },
  };
}
