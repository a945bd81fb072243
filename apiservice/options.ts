// Server flags, named as kube-apiserver names them. `npm start -- --flag value` reaches here.
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import type { AuthenticationFlags } from './auth/authconfig.js';
import { addBootOptions, bootOptionsOf, type BootOptions } from './boot/options.js';
import { parseDuration as parseGoDuration } from '../src/machinery/duration.js';
import { OutboundAllowList } from '../src/talos/outbound.js';

export interface ServerOptions {
  dataDir: string;
  securePort: number;
  bindAddress: string;
  storageBackend: 'embedded' | 'etcd3';
  etcd: {
    servers: string[];
    /** key root in etcd (kube-apiserver's --etcd-prefix) */
    prefix: string;
    caFile?: string;
    certFile?: string;
    keyFile?: string;
    /** 0 disables periodic compaction (of the embedded store too) */
    compactionIntervalMs: number;
  };
  embedded: {
    /** open a damaged write-ahead log by keeping what can be read, instead of refusing to start */
    repairLog: boolean;
    /** compact the oldest history once it takes more than this */
    maxHistoryBytes: number;
  };
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
  encryptionProviderConfig?: string;
  /** max request body size in bytes (kube: 3 MiB) */
  maxRequestBytes: number;
  /** bookmark interval for watches (ms) */
  watchBookmarkIntervalMs: number;
  logLevel: string;
  /** CIDRs every outbound dial (Talos nodes, Management API) must fall in; undefined: any */
  allowedOutboundNetworks?: string;
  /** how often the AdoptedServer controller looks at every object again; the controllers' informer resync */
  resyncPeriodMs: number;
  /** deadline of one Talos API call */
  talosCallTimeoutMs: number;
  /** the port of a cluster Machine's Talos API when only its address is known */
  talosApiPort: number;
  /** how often a cluster (or Machine) on its way to Ready is looked at again */
  clusterPollMs: number;
  /** the wait a control plane's cluster health check may take (its wait_timeout) */
  clusterHealthTimeoutMs: number;
  /** how long an unreachable node holds up a node leaving or a cluster deletion before it is skipped */
  nodeUnreachableTimeoutMs: number;
  upgradeNodeTimeoutMs: number;
  /** bare metal: how long a Server's wipe may take before its power sequence is sent again */
  serverRebootTimeoutMs: number;
  /** bare metal: how often an accepted Server's power is looked at */
  serverPowerPollMs: number;
  /** bare metal: one Environment asset download's deadline */
  environmentDownloadTimeoutMs: number;
  /** write each generated Machine as YAML to <dir>/<cluster>/<machine>.yaml; undefined: off */
  machineManifestsDir?: string;
  /** kube-controller-manager's --controllers: names, `*` for all, `-name` to leave one out */
  controllers: string[];
  /** the controller runtime's retry backoff and informer re-list backoff (--controller-*) */
  controllerRuntime: ControllerRuntimeOptions;
  /** cluster mode: behind kube-apiserver's aggregator (--kubeconfig or --in-cluster) */
  cluster?: ClusterModeOptions;
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  /** lists of more than 500 objects served at once; 0 puts them with the other reads */
  maxLargeListRequestsInflight: number;
  /** how long a large list waits for its turn before it gets 429 */
  largeListQueueWaitMs: number;
  /** how long /readyz fails before the listener stops, so endpoints drop the pod first */
  shutdownDelayMs: number;
  /** the TLS handshake, and then a connection's first request headers, each within this (Go's ReadHeaderTimeout; kube-apiserver 32s) */
  readHeaderTimeoutMs: number;
  /** an HTTP/1.1 keep-alive connection or HTTP/2 session with no request in flight is closed after this (kube-apiserver 90s) */
  idleConnectionTimeoutMs: number;
  /** a request's body must have arrived within this of its headers (kube-apiserver's --request-timeout) */
  requestTimeoutMs: number;
  /** open connections per client address that no request has authenticated yet; 0: no limit */
  maxUnauthenticatedConnectionsPerAddress: number;
  /** the boot listener for machines that boot (--boot-port); undefined: off */
  boot?: BootOptions;
  /** bare-metal power: deadline of one BMC or power API call (one ipmitool run, one HTTP exchange) */
  powerCallTimeoutMs: number;
  /** check Redfish services' TLS certificates (off with --bmc-insecure-skip-tls-verify) */
  bmcTlsVerify: boolean;
  /** IPMI lanplus cipher suite (ipmitool -C); undefined: ipmitool asks the BMC */
  ipmiCipherSuite?: number;
}

export interface ControllerRuntimeOptions {
  /** a failed reconcile's first retry; each further failure of the same object doubles it */
  baseBackoffMs: number;
  /** the longest wait between two retries of one object */
  maxBackoffMs: number;
  /** retries a second across all objects of a controller (client-go's 10 qps, 100 burst) */
  qps: number;
  burst: number;
  /** a controller's broken list or watch is tried again after this, doubling up to relistMaxMs */
  relistBaseMs: number;
  relistMaxMs: number;
  /** how often an AdoptedServer in the middle of an upgrade is looked at */
  upgradePollMs: number;
  /** how soon a terminating namespace whose contents are still going is looked at again */
  namespaceRecheckMs: number;
}

export interface ClusterModeOptions {
  kubeconfig?: string;
  inCluster: boolean;
  authenticationKubeconfig?: string;
  authorizationKubeconfig?: string;
  alwaysAllowPaths: string[];
  anonymousAuth: boolean;
  /** the --requestheader-* flags; what is unset comes from extension-apiserver-authentication */
  requestHeader: Omit<AuthenticationFlags, 'clientCAFile'>;
}

const list = (v: unknown): string[] | undefined =>
  v === undefined
    ? undefined
    : String(v)
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);

function bool(v: string): boolean {
  if (['true', '1', 't', 'True', 'TRUE'].includes(v)) return true;
  if (['false', '0', 'f', 'False', 'FALSE'].includes(v)) return false;
  throw new InvalidArgumentError('must be true or false');
}

export const CONTROLLERS = [
  'namespace',
  'garbage-collector',
  'adoptedserver',
  'kubernetescluster',
  'machine',
  'clusterlifecycle',
  'server',
  'serverclass',
  'environment',
  'serverallocator',
] as const;

/** whether the --controllers list enables `name` (kube-controller-manager's rules) */
export function controllerEnabled(list: readonly string[], name: string): boolean {
  if (list.includes(`-${name}`)) return false;
  return list.includes(name) || list.includes('*');
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

/** a Go-style duration as kube-apiserver flags take them: 5m, 300s, 1h30m, 0 */
export function parseDuration(v: string): number {
  try {
    return parseGoDuration(v);
  } catch {
    throw new InvalidArgumentError('must be a duration such as 5m, 300s or 1h30m');
  }
}

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be 0 or a positive integer');
  return n;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function parseServerOptions(argv: string[]): ServerOptions {
  const cmd = new Command('talos-fleet-apiserver')
    .description('Kubernetes aggregated API server for Talos Linux fleets (metal.sidero.dev, vitistack.io)')
    .option('--data-dir <dir>', 'data directory (embedded store, dev certificates, admin.kubeconfig)', './.data')
    .option('--secure-port <port>', 'HTTPS port (0 picks a free one)', port, 8443)
    .option('--bind-address <ip>', 'address to listen on', '127.0.0.1')
    .option('--storage-backend <name>', 'storage backend: embedded or etcd3', 'embedded')
    .option('--etcd-servers <urls>', 'comma-separated etcd endpoints (https://host:port) for --storage-backend=etcd3')
    .option('--etcd-prefix <prefix>', 'key prefix in etcd', '/registry')
    .option('--etcd-cafile <file>', "CA bundle that signed the etcd servers' certificates")
    .option('--etcd-certfile <file>', 'client certificate for etcd')
    .option('--etcd-keyfile <file>', 'client key for etcd')
    .option(
      '--etcd-compaction-interval <duration>',
      'interval of compactions, of etcd or the embedded store (0 disables)',
      parseDuration,
      5 * 60_000,
    )
    .option(
      '--embedded-repair-log [bool]',
      'embedded store: open a damaged write-ahead log by keeping every record that can be read (the damaged file is kept aside)',
      bool,
      false,
    )
    .option(
      '--embedded-max-history-bytes <n>',
      'embedded store: compact the oldest history once superseded values take more than this',
      positiveInt,
      64 * 1024 * 1024,
    )
    .option('--tls-cert-file <file>', 'serving certificate (default: a dev certificate in --data-dir)')
    .option('--tls-private-key-file <file>', 'serving key')
    .option('--client-ca-file <file>', 'CA that signs client certificates (default: the dev CA in --data-dir)')
    .option(
      '--encryption-provider-config <file>',
      'EncryptionConfiguration for data at rest (default: a generated aesgcm key for secrets in --data-dir)',
    )
    .option('--max-request-bytes <n>', 'largest accepted request body', positiveInt, 3 * 1024 * 1024)
    .option('--watch-bookmark-interval-ms <n>', 'interval between watch bookmarks', positiveInt, 60_000)
    .option('--log-level <level>', 'pino log level', 'info')
    .option(
      '--allowed-outbound-networks <cidrs>',
      'comma-separated CIDRs the server may dial (Talos nodes, Management API); default: any',
    )
    .option(
      '--resync-period <duration>',
      "how often each AdoptedServer is looked at again, and every controller's informers report their objects again",
      parseDuration,
      30_000,
    )
    .option('--talos-call-timeout <duration>', 'deadline of one Talos API call', parseDuration, 10_000)
    .option(
      '--talos-api-port <port>',
      "the Talos API port of a cluster Machine's node (its address comes from the Machine's status)",
      port,
      50000,
    )
    .option(
      '--cluster-poll-interval <duration>',
      'how often a KubernetesCluster or Machine on its way to Ready is looked at again',
      parseDuration,
      5_000,
    )
    .option(
      '--cluster-health-timeout <duration>',
      "how long a control plane's cluster health check may wait for the cluster to pass",
      parseDuration,
      30_000,
    )
    .option(
      '--node-unreachable-timeout <duration>',
      'how long an unreachable node holds up its leaving, or its cluster deletion, before it is skipped',
      parseDuration,
      10 * 60_000,
    )
    .option(
      '--upgrade-node-timeout <duration>',
      "how long a node of a cluster's rolling upgrade may take to come back at the target version and healthy before the rollout stops on it",
      parseDuration,
      30 * 60_000,
    )
    .option(
      '--server-reboot-timeout <duration>',
      "how long a Server's disk wipe may take before its power sequence is sent again",
      parseDuration,
      20 * 60_000,
    )
    .option(
      '--server-power-poll-interval <duration>',
      "how often an accepted Server's power state is looked at (allocated, or clean and waiting)",
      parseDuration,
      5 * 60_000,
    )
    .option(
      '--environment-download-timeout <duration>',
      "deadline of one download of an Environment's kernel or initramfs",
      parseDuration,
      5 * 60_000,
    )
    .option(
      '--machine-manifests-dir <dir>',
      'write each generated Machine as YAML to DIR/<cluster>/<machine>.yaml (off unless given)',
    )
    .option('--kubeconfig <file>', 'cluster mode: kubeconfig of the kube-apiserver this server extends')
    .option('--in-cluster', "cluster mode: reach kube-apiserver with the pod's service account", false)
    .option('--authentication-kubeconfig <file>', 'kubeconfig for TokenReview (default: --kubeconfig)')
    .option('--authorization-kubeconfig <file>', 'kubeconfig for SubjectAccessReview (default: --kubeconfig)')
    .option(
      '--authorization-always-allow-paths <paths>',
      'paths allowed without a SubjectAccessReview',
      '/healthz,/readyz,/livez',
    )
    .option('--anonymous-auth <bool>', 'serve requests without a verified identity as system:anonymous', bool, false)
    .option(
      '--requestheader-client-ca-file <file>',
      "CA of the front proxy's client certificate (default: from extension-apiserver-authentication)",
    )
    .option('--requestheader-allowed-names <names>', "CNs the front proxy's certificate may have (empty: any)")
    .option('--requestheader-username-headers <headers>', 'headers carrying the user name')
    .option('--requestheader-uid-headers <headers>', 'headers carrying the user UID')
    .option('--requestheader-group-headers <headers>', 'headers carrying the groups')
    .option('--requestheader-extra-headers-prefix <prefixes>', 'header prefixes carrying extra user information')
    .option(
      '--max-requests-inflight <n>',
      'non-mutating requests served at once (watches excluded); more get 429',
      positiveInt,
      400,
    )
    .option('--max-mutating-requests-inflight <n>', 'mutating requests served at once; more get 429', positiveInt, 200)
    .option(
      '--max-large-list-requests-inflight <n>',
      'lists of more than 500 objects served at once; more wait their turn (0: no separate limit; default: the CPU count, at least 2)',
      nonNegativeInt,
      Math.max(2, availableParallelism()),
    )
    .option(
      '--large-list-queue-wait <duration>',
      'how long a large list waits for its turn before it gets 429',
      parseDuration,
      5_000,
    )
    .option(
      '--shutdown-delay-duration <duration>',
      'on SIGTERM, how long /readyz fails before the listener closes',
      parseDuration,
      0,
    )
    .option(
      '--request-timeout <duration>',
      "how long a request's body may take to arrive after its headers; slower bodies get 408",
      parseDuration,
      60_000,
    )
    .option(
      '--read-header-timeout <duration>',
      "bound of the TLS handshake, and then of a connection's first request headers",
      parseDuration,
      32_000,
    )
    .option(
      '--idle-connection-timeout <duration>',
      'HTTP/1.1 keep-alive connections and HTTP/2 sessions with no request in flight are closed after this',
      parseDuration,
      90_000,
    )
    .option(
      '--max-unauthenticated-connections-per-address <n>',
      'open connections one client address may have before a request on them authenticates (0: no limit)',
      nonNegativeInt,
      32,
    )
    .option(
      '--controllers <names>',
      `controllers to run: * for all, -name to leave one out (${CONTROLLERS.join(', ')})`,
      '*',
    )
    .option(
      '--controller-base-backoff <duration>',
      'a controller retries a failed object after this, doubling with each further failure',
      parseDuration,
      5,
    )
    .option(
      '--controller-max-backoff <duration>',
      'the longest wait between two retries of one object',
      parseDuration,
      1_000_000,
    )
    .option(
      '--controller-relist-backoff <duration>',
      'a controller lists and watches a resource again this long after its watch broke, doubling with each further failure',
      parseDuration,
      800,
    )
    .option(
      '--controller-relist-max-backoff <duration>',
      'the longest wait before a controller lists a resource again',
      parseDuration,
      30_000,
    )
    .option(
      '--power-call-timeout <duration>',
      "deadline of one power call to a Server's BMC (ipmitool run, Redfish request) or management API",
      parseDuration,
      20_000,
    )
    .option(
      '--bmc-insecure-skip-tls-verify [bool]',
      'do not check the TLS certificates of Redfish BMCs (most ship self-signed ones)',
      bool,
      false,
    )
    .option(
      '--ipmi-cipher-suite <n>',
      'IPMI lanplus cipher suite ipmitool uses (-C); default: asked of each BMC, which some cannot answer',
      (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 255) throw new InvalidArgumentError('must be a cipher suite id 0-255');
        return n;
      },
    )
    .allowExcessArguments(false)
    .exitOverride();
  addBootOptions(cmd);
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  if (o.storageBackend !== 'embedded' && o.storageBackend !== 'etcd3') {
    throw new InvalidArgumentError(
      `--storage-backend: unsupported backend "${String(o.storageBackend)}" (supported: embedded, etcd3)`,
    );
  }
  const servers = String(o.etcdServers ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (o.storageBackend === 'etcd3' && servers.length === 0) {
    throw new InvalidArgumentError('--etcd-servers is required with --storage-backend=etcd3');
  }
  if (!String(o.etcdPrefix).startsWith('/') || String(o.etcdPrefix).endsWith('/')) {
    throw new InvalidArgumentError('--etcd-prefix must start with "/" and must not end with "/"');
  }
  try {
    OutboundAllowList.parse(o.allowedOutboundNetworks);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  if (o.kubeconfig && o.inCluster) throw new InvalidArgumentError('--kubeconfig and --in-cluster exclude each other');
  const cluster: ClusterModeOptions | undefined =
    o.kubeconfig || o.inCluster
      ? {
          kubeconfig: o.kubeconfig,
          inCluster: !!o.inCluster,
          authenticationKubeconfig: o.authenticationKubeconfig,
          authorizationKubeconfig: o.authorizationKubeconfig,
          alwaysAllowPaths: list(o.authorizationAlwaysAllowPaths) ?? [],
          anonymousAuth: !!o.anonymousAuth,
          requestHeader: {
            requestheaderClientCAFile: o.requestheaderClientCaFile,
            requestheaderAllowedNames: list(o.requestheaderAllowedNames),
            requestheaderUsernameHeaders: list(o.requestheaderUsernameHeaders),
            requestheaderUidHeaders: list(o.requestheaderUidHeaders),
            requestheaderGroupHeaders: list(o.requestheaderGroupHeaders),
            requestheaderExtraHeadersPrefix: list(o.requestheaderExtraHeadersPrefix),
          },
        }
      : undefined;
  const controllers = String(o.controllers)
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of controllers) {
    if (c !== '*' && !(CONTROLLERS as readonly string[]).includes(c.replace(/^-/, ''))) {
      throw new InvalidArgumentError(`--controllers: unknown controller "${c}" (known: ${CONTROLLERS.join(', ')})`);
    }
  }
  if (o.resyncPeriod <= 0) throw new InvalidArgumentError('--resync-period must be more than 0');
  for (const [flag, ms] of [
    ['--controller-base-backoff', o.controllerBaseBackoff],
    ['--controller-relist-backoff', o.controllerRelistBackoff],
  ] as const) {
    if (ms <= 0) throw new InvalidArgumentError(`${flag} must be more than 0`);
  }
  if (o.controllerMaxBackoff < o.controllerBaseBackoff)
    throw new InvalidArgumentError('--controller-max-backoff must not be less than --controller-base-backoff');
  if (o.controllerRelistMaxBackoff < o.controllerRelistBackoff)
    throw new InvalidArgumentError('--controller-relist-max-backoff must not be less than --controller-relist-backoff');
  if (o.talosCallTimeout <= 0) throw new InvalidArgumentError('--talos-call-timeout must be more than 0');
  if (o.powerCallTimeout <= 0) throw new InvalidArgumentError('--power-call-timeout must be more than 0');
  if (o.talosApiPort === 0) throw new InvalidArgumentError('--talos-api-port must be a port number 1-65535');
  for (const [flag, ms] of [
    ['--cluster-poll-interval', o.clusterPollInterval],
    ['--cluster-health-timeout', o.clusterHealthTimeout],
    ['--server-reboot-timeout', o.serverRebootTimeout],
    ['--server-power-poll-interval', o.serverPowerPollInterval],
    ['--environment-download-timeout', o.environmentDownloadTimeout],
  ] as const) {
    if (ms <= 0) throw new InvalidArgumentError(`${flag} must be more than 0`);
  }
  for (const [flag, ms] of [
    ['--request-timeout', o.requestTimeout],
    ['--read-header-timeout', o.readHeaderTimeout],
    ['--idle-connection-timeout', o.idleConnectionTimeout],
  ] as const) {
    if (ms <= 0) throw new InvalidArgumentError(`${flag} must be more than 0`);
  }
  if (!!o.tlsCertFile !== !!o.tlsPrivateKeyFile) {
    throw new InvalidArgumentError('--tls-cert-file and --tls-private-key-file must be given together');
  }
  const boot = bootOptionsOf(o);
  return {
    dataDir: o.dataDir,
    securePort: o.securePort,
    bindAddress: o.bindAddress,
    storageBackend: o.storageBackend,
    etcd: {
      servers,
      prefix: o.etcdPrefix,
      caFile: o.etcdCafile,
      certFile: o.etcdCertfile,
      keyFile: o.etcdKeyfile,
      compactionIntervalMs: o.etcdCompactionInterval,
    },
    embedded: {
      repairLog: !!o.embeddedRepairLog,
      maxHistoryBytes: o.embeddedMaxHistoryBytes,
    },
    tlsCertFile: o.tlsCertFile,
    tlsPrivateKeyFile: o.tlsPrivateKeyFile,
    clientCaFile: o.clientCaFile,
    encryptionProviderConfig: o.encryptionProviderConfig,
    maxRequestBytes: o.maxRequestBytes,
    watchBookmarkIntervalMs: o.watchBookmarkIntervalMs,
    logLevel: o.logLevel,
    allowedOutboundNetworks: o.allowedOutboundNetworks,
    resyncPeriodMs: o.resyncPeriod,
    talosCallTimeoutMs: o.talosCallTimeout,
    talosApiPort: o.talosApiPort,
    clusterPollMs: o.clusterPollInterval,
    clusterHealthTimeoutMs: o.clusterHealthTimeout,
    nodeUnreachableTimeoutMs: o.nodeUnreachableTimeout,
    upgradeNodeTimeoutMs: o.upgradeNodeTimeout,
    serverRebootTimeoutMs: o.serverRebootTimeout,
    serverPowerPollMs: o.serverPowerPollInterval,
    environmentDownloadTimeoutMs: o.environmentDownloadTimeout,
    ...(o.machineManifestsDir ? { machineManifestsDir: String(o.machineManifestsDir) } : {}),
    controllers,
    controllerRuntime: {
      baseBackoffMs: o.controllerBaseBackoff,
      maxBackoffMs: o.controllerMaxBackoff,
      qps: 10,
      burst: 100,
      relistBaseMs: o.controllerRelistBackoff,
      relistMaxMs: o.controllerRelistMaxBackoff,
      upgradePollMs: 1_000,
      namespaceRecheckMs: 1_000,
    },
    ...(cluster ? { cluster } : {}),
    maxRequestsInflight: o.maxRequestsInflight,
    maxMutatingRequestsInflight: o.maxMutatingRequestsInflight,
    maxLargeListRequestsInflight: o.maxLargeListRequestsInflight,
    largeListQueueWaitMs: o.largeListQueueWait,
    shutdownDelayMs: o.shutdownDelayDuration,
    readHeaderTimeoutMs: o.readHeaderTimeout,
    idleConnectionTimeoutMs: o.idleConnectionTimeout,
    requestTimeoutMs: o.requestTimeout,
    maxUnauthenticatedConnectionsPerAddress: o.maxUnauthenticatedConnectionsPerAddress,
    ...(boot ? { boot } : {}),
    powerCallTimeoutMs: o.powerCallTimeout,
    bmcTlsVerify: !o.bmcInsecureSkipTlsVerify,
    ...(o.ipmiCipherSuite !== undefined ? { ipmiCipherSuite: o.ipmiCipherSuite as number } : {}),
  };
}
