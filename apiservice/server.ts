// Assembles and starts the server: mode (standalone, or cluster behind kube-apiserver), storage
// stack, kinds, controllers, TLS listener, graceful shutdown. main.ts calls it; tests may too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import { allKinds, coreKinds, selfReviewKinds } from '../src/api/index.js';
import { admissionFor } from '../src/admission/index.js';
import { namespaceChecker } from '../src/admission/namespacelifecycle.js';
import { ensureInitialNamespaces, namespaceController } from '../src/controllers/namespace.js';
import { garbageCollector } from '../src/controllers/garbagecollector/controller.js';
import { adoptedServerController } from '../src/controllers/adoptedserver/controller.js';
import { BUNDLE_SELECTOR, kubernetesClusterController } from '../src/controllers/kubernetescluster/controller.js';
import { machineController } from '../src/controllers/machine/controller.js';
import { clusterLifecycleController } from '../src/controllers/clusterlifecycle/controller.js';
import { environmentController } from '../src/controllers/metal/environment.js';
import { serverController } from '../src/controllers/metal/server.js';
import { powerFor } from '../src/power/select.js';
import type { Server } from '../src/api/server.js';
import { serverClassController } from '../src/controllers/metal/serverclass.js';
import { serverAllocatorController } from '../src/controllers/metal/allocator.js';
import { AggregatingEventRecorder, registryEventSink } from '../src/events/recorder.js';
import { Controller, type ControllerSpec } from '../src/controllers/runtime/controller.js';
import { controllerManager } from '../src/controllers/runtime/manager.js';
import { registryListWatch } from '../src/controllers/runtime/registrylistwatch.js';
import { kubeListWatch } from '../src/controllers/runtime/kubelistwatch.js';
import { groupVersion } from '../src/machinery/kind.js';
import { APIRegistry } from '../src/machinery/registry/apis.js';
import { kubeSecretStore, registrySecretStore } from '../src/secrets/secretstore.js';
import { configHandlers } from '../src/subresources/configs.js';
import { resourceKeyPrefix } from '../src/machinery/registry/codec.js';
import { nodeAccess } from '../src/nodeaccess/connect.js';
import { machineNodes } from '../src/nodeaccess/machinenode.js';
import { registrySecretReader } from '../src/secrets/reader.js';
import { adoptedServerHandlers } from '../src/subresources/adoptedserver.js';
import { kubernetesClusterHandlers } from '../src/subresources/kubernetescluster.js';
import { clusterUpgradeHandler } from '../src/subresources/clusterupgrade.js';
import { OutboundAllowList } from '../src/talos/outbound.js';
import { requestHandler, type AppDeps } from './app.js';
import { fileServingCert, staticServingCert } from './servingcert.js';
import { ConnectionTracker } from './connections.js';
import { authenticationChain, x509Authenticator } from './auth/authenticate.js';
import { standaloneAuthorizer } from './auth/authorize.js';
import { STANDALONE_POLICY } from './auth/policy.js';
import { selfReviewAnswers } from './auth/selfreview.js';
import { parseCABundle } from './auth/x509.js';
import { connectCluster } from './cluster.js';
import { InflightLimiter, type ListSizeEstimate } from './inflight.js';
import { ServerMetrics } from './metrics.js';
import { controllerEnabled, type ServerOptions } from './options.js';
import { ensureStandalonePKI, serverURL, writeAdminKubeconfig } from './standalone.js';
import { openStorageStack } from './storage.js';
import { BootObjects } from '../src/boot/objects.js';
import { startBootListener, type BootListener } from './boot/listener.js';

export interface RunningServer {
  url: string;
  port: number;
  /** standalone mode's admin kubeconfig; undefined in cluster mode */
  kubeconfigPath?: string;
  /** the boot listener's URL (http://host:port) when --boot-port is given */
  bootURL?: string;
  registry: APIRegistry;
  close(): Promise<void>;
}

export const SERVER_VERSION = '0.1.0';
/** how long in-flight requests may take to finish once the listener closed */
const DRAIN_TIMEOUT_MS = 60_000;

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

/** a list returns at most its resource's objects (as the watch cache counts them), or its limit */
function listSizeEstimate(
  registry: APIRegistry,
  storage: { stats(): { prefix: string; objects: number }[] },
): ListSizeEstimate {
  return (info, limit) => {
    const store = registry.store(info.apiGroup, info.apiVersion, info.resource);
    if (!store) return 0;
    const objects = storage.stats().find((s) => s.prefix === store.prefix)?.objects ?? 0;
    return limit === undefined ? objects : Math.min(limit, objects);
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export async function startServer(
  opts: ServerOptions,
  log: Logger = pino({ level: opts.logLevel }),
): Promise<RunningServer> {
  // keys, the store and the kubeconfig live here: its owner's only, also when an older version made it
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  await chmod(opts.dataDir, 0o700);
  const pki = await ensureStandalonePKI(opts.dataDir, opts.bindAddress);
  const cluster = opts.cluster ? await connectCluster(opts, opts.cluster, log) : undefined;
  // in cluster mode the core kinds are kube-apiserver's
  const kinds = cluster ? allKinds : [...coreKinds, ...allKinds];
  const stack = await openStorageStack(opts, kinds, log);
  const storage = stack.storage;
  let ready = false;
  let registry: APIRegistry;
  // the cluster's Talos secret material: kube-apiserver's Secrets, or our own (encrypted at rest)
  const secretStore = cluster ? kubeSecretStore(cluster.api) : registrySecretStore(() => registry);
  try {
    registry = new APIRegistry(kinds, storage, {
      root: stack.root,
      checkNamespace: cluster ? cluster.checkNamespace : (ns) => namespaceChecker(registry, ns),
      admission: admissionFor({
        registry: () => registry,
        secrets: secretStore,
        log: log.child({ component: 'admission' }),
        ownNamespaces: !cluster,
      }),
    });
    if (!cluster) await ensureInitialNamespaces(registry);
  } catch (e) {
    cluster?.stop();
    await stack.close();
    throw e;
  }
  const prefixes = new Map(
    kinds.map((k) => [resourceKeyPrefix(stack.root, k), k.group ? `${k.plural}.${k.group}` : k.plural]),
  );
  const metrics = new ServerMetrics(() =>
    storage.stats().map((s) => ({ resource: prefixes.get(s.prefix) ?? s.prefix, objects: s.objects })),
  );
  const allowList = OutboundAllowList.parse(opts.allowedOutboundNetworks);
  const secrets = cluster ? cluster.secrets : registrySecretReader(registry);
  const access = nodeAccess({
    secrets,
    allowList,
    callTimeoutMs: opts.talosCallTimeoutMs,
    observer: metrics.observeTalosCall,
  });
  const nodes = machineNodes({
    allowList,
    callTimeoutMs: opts.talosCallTimeoutMs,
    talosApiPort: opts.talosApiPort,
    observer: metrics.observeTalosCall,
  });
  const events = new AggregatingEventRecorder(
    cluster ? cluster.events : registryEventSink(registry),
    'talos-fleet-apiserver',
    log.child({ component: 'events' }),
  );
  const subresourceHandlers = [
    ...adoptedServerHandlers({ access, registry, events }),
    ...configHandlers(secretStore),
    ...kubernetesClusterHandlers({
      registry,
      secrets: secretStore,
      nodes,
      healthTimeoutMs: opts.clusterHealthTimeoutMs,
    }),
    clusterUpgradeHandler(registry),
  ];
  // controllers run in the replica that holds the leadership (always, with the embedded store);
  // in cluster mode kube-controller-manager does namespace deletion and garbage collection
  const runtime = {
    settings: { ...opts.controllerRuntime, resyncMs: opts.resyncPeriodMs },
    metrics: metrics.workqueues,
    log,
  };
  const rt = opts.controllerRuntime;
  const bundles = cluster
    ? kubeListWatch(cluster.api, '/api/v1/secrets', { resource: 'secrets', labelSelector: BUNDLE_SELECTOR })
    : registryListWatch(registry.store('', 'v1', 'secrets')!, { labelSelector: BUNDLE_SELECTOR });
  stack.leadership.run(
    controllerManager(
      () => {
        const specs: ControllerSpec[] = [];
        const on = (name: string) => controllerEnabled(opts.controllers, name);
        if (!cluster && on('namespace'))
          specs.push(namespaceController({ registry, contentRecheckMs: rt.namespaceRecheckMs }));
        if (!cluster && on('garbage-collector')) specs.push(garbageCollector(registry));
        if (on('adoptedserver')) {
          specs.push(
            adoptedServerController({
              registry,
              access,
              allowList,
              events,
              resyncMs: opts.resyncPeriodMs,
              upgradePollMs: rt.upgradePollMs,
            }),
          );
        }
        if (on('kubernetescluster')) {
          specs.push(
            kubernetesClusterController({
              registry,
              secrets: secretStore,
              bundles,
              events,
              lifecycle: on('clusterlifecycle'),
              ...(opts.machineManifestsDir ? { manifestsDir: opts.machineManifestsDir } : {}),
            }),
          );
        }
        if (on('clusterlifecycle')) {
          specs.push(
            clusterLifecycleController({
              registry,
              secrets: secretStore,
              nodes,
              events,
              pollMs: opts.clusterPollMs,
              resyncMs: opts.resyncPeriodMs,
              healthTimeoutMs: opts.clusterHealthTimeoutMs,
              unreachableTimeoutMs: opts.nodeUnreachableTimeoutMs,
              upgradeNodeTimeoutMs: opts.upgradeNodeTimeoutMs,
            }),
          );
        }
        if (on('machine')) {
          specs.push(
            machineController({
              registry,
              secrets: secretStore,
              nodes,
              pollMs: opts.clusterPollMs,
              resyncMs: opts.resyncPeriodMs,
            }),
          );
        }
        if (on('server')) {
          specs.push(
            serverController({
              registry,
              events,
              // a server with neither a BMC nor a management API has no power control (it reports `on`)
              power: (server) =>
                server.spec?.bmc?.endpoint || server.spec?.managementApi?.endpoint
                  ? powerFor(server as Server, secretStore, {
                      allowList,
                      timeoutMs: opts.powerCallTimeoutMs,
                      tlsVerify: opts.bmcTlsVerify,
                      ...(opts.ipmiCipherSuite !== undefined ? { ipmiCipherSuite: opts.ipmiCipherSuite } : {}),
                    })
                  : undefined,
              rebootTimeoutMs: opts.serverRebootTimeoutMs,
              powerPollMs: opts.serverPowerPollMs,
            }),
          );
        }
        if (on('serverclass')) specs.push(serverClassController({ registry }));
        if (on('serverallocator')) specs.push(serverAllocatorController({ registry, events }));
        if (on('environment')) {
          specs.push(
            environmentController({
              registry,
              events,
              allowList,
              dataDir: opts.dataDir,
              downloadTimeoutMs: opts.environmentDownloadTimeoutMs,
            }),
          );
        }
        return specs.map((spec) => new Controller(spec, runtime));
      },
      log.child({ component: 'controllers' }),
    ),
  );

  const standaloneCA = opts.clientCaFile ? await readFile(opts.clientCaFile, 'utf8') : pki.ca.certPem;
  const standaloneRoots = cluster ? [] : parseCABundle(standaloneCA, '--client-ca-file');
  const activeWatches = new Set<() => void>();
  const deps: AppDeps = {
    log,
    registry,
    maxRequestBytes: opts.maxRequestBytes,
    subresourceHandlers,
    subresources: subresourceHandlers.map((h) => h.declaration),
    activeWatches,
    watchBookmarkIntervalMs: opts.watchBookmarkIntervalMs,
    authenticate: cluster
      ? cluster.authenticate
      : authenticationChain([x509Authenticator(() => standaloneRoots)], false),
    authorize: cluster ? cluster.authorize : standaloneAuthorizer,
    // kube-apiserver answers these in cluster mode; standalone mode answers them from its own policy
    selfReviews: cluster ? undefined : selfReviewAnswers(STANDALONE_POLICY),
    servedByCode: cluster ? undefined : selfReviewKinds,
    connectionAuthenticated: (req) => connections.authenticated(req),
    metrics,
    inflight: new InflightLimiter(
      {
        maxReadOnly: opts.maxRequestsInflight,
        maxMutating: opts.maxMutatingRequestsInflight,
        maxLargeLists: opts.maxLargeListRequestsInflight,
        queueWaitMs: opts.largeListQueueWaitMs,
      },
      listSizeEstimate(registry, storage),
      metrics,
    ),
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
  };
  const handler = requestHandler(deps);
  const serving =
    opts.tlsCertFile && opts.tlsPrivateKeyFile
      ? await fileServingCert(opts.tlsCertFile, opts.tlsPrivateKeyFile, log.child({ component: 'serving-cert' }))
      : staticServingCert({ cert: pki.serving.certPem, key: pki.serving.keyPem });
  // ask for a client certificate from every CA we trust (a Go client sends one only when its CA is
  // listed), accept any handshake, and let each authenticator verify against its own CAs
  const clientCAs = () => (cluster ? cluster.auth.tlsCAs() : standaloneCA) || undefined;
  const tls = () => ({ ...serving.current(), ca: clientCAs(), minVersion: 'TLSv1.2' as const });
  // HTTP/2 with 1000 concurrent streams: kube-apiserver multiplexes every proxied request, watches
  // included, over one connection to an aggregated API server; HTTP/1.1 clients keep working
  const server: Http2SecureServer = createSecureServer(
    {
      ...tls(),
      requestCert: true,
      rejectUnauthorized: false,
      allowHTTP1: true,
      settings: { maxConcurrentStreams: 1000 },
      // Go bounds the TLS handshake by the read-header timeout too
      handshakeTimeout: opts.readHeaderTimeoutMs,
    },
    // the request path uses only what HTTP/1.1 and HTTP/2 compatibility objects share
    (req, res) => handler(req as unknown as IncomingMessage, res as unknown as ServerResponse),
  );
  const connections = new ConnectionTracker(server, {
    readHeaderTimeoutMs: opts.readHeaderTimeoutMs,
    idleTimeoutMs: opts.idleConnectionTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs,
    maxUnauthenticatedPerAddress: opts.maxUnauthenticatedConnectionsPerAddress,
  });
  metrics.connections(() => connections.stats());
  // new client CAs or a renewed serving certificate: new connections get them, open ones keep theirs
  cluster?.auth.onChange(() => server.setSecureContext(tls()));
  serving.onChange(() => server.setSecureContext(tls()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.securePort, opts.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = serverURL(opts.bindAddress, port);
  let boot: BootListener | undefined;
  if (opts.boot) {
    try {
      boot = await startBootListener({
        options: opts.boot,
        objects: new BootObjects(registry),
        secrets,
        dataDir: opts.dataDir,
        log: log.child({ component: 'boot' }),
        readHeaderTimeoutMs: opts.readHeaderTimeoutMs,
        requestTimeoutMs: opts.requestTimeoutMs,
      });
    } catch (e) {
      server.close();
      connections.destroyAll();
      serving.stop();
      cluster?.stop();
      await stack.close();
      throw e;
    }
  }
  // the admin identity is the dev CA's: only standalone mode trusts it
  const kubeconfigPath = cluster ? undefined : await writeAdminKubeconfig(opts.dataDir, pki, url);
  ready = true;
  log.info(
    {
      address: url,
      mode: cluster ? 'cluster' : 'standalone',
      groupVersions: [...new Set(allKinds.map(groupVersion))],
      ...(kubeconfigPath ? { kubeconfig: kubeconfigPath } : {}),
    },
    'serving',
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    kubeconfigPath,
    ...(boot ? { bootURL: boot.url } : {}),
    registry,
    close() {
      // /readyz fails first, so load balancers stop sending; then no new connections; watches end
      // cleanly (clients re-watch elsewhere); requests in flight finish, within a bound
      closing ??= (async () => {
        ready = false;
        if (opts.shutdownDelayMs > 0) await sleep(opts.shutdownDelayMs);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const bootClosed = boot?.close();
        for (const end of [...activeWatches]) end();
        connections.drain();
        const drained = await Promise.race([closed.then(() => true), sleep(DRAIN_TIMEOUT_MS).then(() => false)]);
        if (!drained) log.warn('requests still running after the drain timeout; closing their connections');
        connections.destroyAll();
        await closed;
        await bootClosed;
        serving.stop();
        cluster?.stop();
        await stack.close();
      })();
      return closing;
    },
  };
}
