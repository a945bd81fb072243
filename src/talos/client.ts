// TalosClient: the typed Talos machine API as this project uses it. Each method makes one call to
// one node and returns the plain result (the single `messages[0]` of a direct call), throwing a
// TalosError (a failure reason such as Unreachable or Timeout, and a message) on any failure.
import {
  MAX_MESSAGE_BYTES,
  TalosConnection,
  type CallOptions,
  type ConnectionOptions,
  type DialOptions,
  type MaintenanceConnectionOptions,
} from './connection.js';
import { invalidResponse, TalosError, toTalosError, type CallContext } from './errors.js';
import { resourceFrom, type TalosResource } from './resources.js';
import { fileFromTarGz } from './tar.js';
import { selectContext, TalosconfigError, type Talosconfig } from './talosconfig.js';
import type { Metadata__Output } from './gen/common/Metadata.js';
import type { _machine_ApplyConfigurationRequest_Mode__Output as ApplyMode } from './gen/machine/ApplyConfigurationRequest.js';
import type { _machine_RebootRequest_Mode__Output as RebootMode } from './gen/machine/RebootRequest.js';
import type { _machine_UpgradeRequest_RebootMode__Output as UpgradeRebootMode } from './gen/machine/UpgradeRequest.js';
import type { VersionInfo__Output } from './gen/machine/VersionInfo.js';
import type { PlatformInfo__Output } from './gen/machine/PlatformInfo.js';
import type { FeaturesInfo__Output } from './gen/machine/FeaturesInfo.js';
import type { ServiceInfo__Output } from './gen/machine/ServiceInfo.js';
import type { EtcdMember__Output } from './gen/machine/EtcdMember.js';
import type { EtcdMemberStatus__Output } from './gen/machine/EtcdMemberStatus.js';
import type { VersionResponse__Output } from './gen/machine/VersionResponse.js';
import type { HostnameResponse__Output } from './gen/machine/HostnameResponse.js';
import type { ServiceListResponse__Output } from './gen/machine/ServiceListResponse.js';
import type { ApplyConfigurationResponse__Output } from './gen/machine/ApplyConfigurationResponse.js';
import type { BootstrapResponse__Output } from './gen/machine/BootstrapResponse.js';
import type { RebootResponse__Output } from './gen/machine/RebootResponse.js';
import type { UpgradeResponse__Output } from './gen/machine/UpgradeResponse.js';
import type { EtcdMemberListResponse__Output } from './gen/machine/EtcdMemberListResponse.js';
import type { EtcdStatusResponse__Output } from './gen/machine/EtcdStatusResponse.js';
import type { EtcdLeaveClusterResponse__Output } from './gen/machine/EtcdLeaveClusterResponse.js';
import type { EtcdRemoveMemberByIDResponse__Output } from './gen/machine/EtcdRemoveMemberByIDResponse.js';
import type { ResetResponse__Output } from './gen/machine/ResetResponse.js';
import type { DisksResponse__Output } from './gen/storage/DisksResponse.js';
import type { Disk__Output } from './gen/storage/Disk.js';
import type { GetResponse__Output } from './gen/cosi/resource/GetResponse.js';
import type { ListResponse__Output } from './gen/cosi/resource/ListResponse.js';

export type { ApplyMode, RebootMode, UpgradeRebootMode, CallOptions };
export type {
  ServiceInfo__Output as ServiceInfo,
  EtcdMember__Output as EtcdMember,
  EtcdMemberStatus__Output as EtcdMemberStatus,
  Disk__Output as Disk,
};

export interface TalosClientOptions extends ConnectionOptions {
  /** target node behind the endpoint (apid `node` metadata: IP or hostname, no port) */
  node?: string;
}

export interface TalosVersion {
  version: VersionInfo__Output;
  platform: PlatformInfo__Output;
  features: FeaturesInfo__Output;
}

export interface ApplyConfigurationInput {
  /** the whole machine config, YAML (may be multi-document) */
  data: string | Buffer;
  /** always explicit: the wire's zero value is the deprecated REBOOT */
  mode: ApplyMode;
  dryRun?: boolean;
  /** TRY mode: revert after this long unless confirmed (node default 1 min) */
  tryModeTimeoutMs?: number;
}

export interface ApplyConfigurationResult {
  warnings: string[];
  /** the mode the node actually used */
  mode: ApplyMode;
  modeDetails: string;
}

export interface UpgradeInput {
  /** installer image, e.g. ghcr.io/siderolabs/installer:v1.13.10 */
  image: string;
  stage?: boolean;
  force?: boolean;
  /** no effect since Talos 1.8; sent for older nodes */
  preserve?: boolean;
  rebootMode?: UpgradeRebootMode;
}

export interface ResetInput {
  /** leave etcd first (a control plane) and stop workloads cleanly; false when the whole cluster goes */
  graceful: boolean;
  /** true: the node reboots into maintenance mode with no configuration; false: it powers off */
  reboot: boolean;
}

export interface HealthCheckInput {
  /** the node's own deadline for the whole check (zero fails at once) */
  waitTimeoutMs: number;
  controlPlaneNodes?: string[];
  workerNodes?: string[];
  forceEndpoint?: string;
}

/** Extra client deadline on top of a health check's own wait, so the node's verdict arrives first. */
const HEALTH_DEADLINE_MARGIN_MS = 5_000;

function duration(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export class TalosClient {
  private readonly conn: TalosConnection;

  constructor(opts: TalosClientOptions | MaintenanceConnectionOptions) {
    // maintenance mode has no proxying: the node dialed is the node that answers
    this.conn = new TalosConnection(opts, 'insecure' in opts ? undefined : opts.node);
  }

  /**
   * A client for a node in maintenance mode (booted without a configuration), as `talosctl
   * --insecure`: the node's certificate is not verified and no client certificate is shown, so what
   * is sent (the first machine config, CA keys included) travels unauthenticated. Such a node answers
   * Version, ApplyConfiguration and disk reads; a configured node refuses the connection with a
   * TLSError saying it is not in maintenance mode.
   */
  static maintenance(opts: DialOptions): TalosClient {
    return new TalosClient({ ...opts, insecure: true });
  }

  /** Whether this client talks to a maintenance-mode node without verification. */
  get insecure(): boolean {
    return this.conn.insecure;
  }

  /** A client for one endpoint of a talosconfig context (default: its first endpoint). */
  static fromTalosconfig(
    config: Talosconfig,
    opts: Omit<TalosClientOptions, 'endpoint' | 'ca' | 'crt' | 'key'> & { context?: string; endpoint?: string } = {},
  ): TalosClient {
    const { context, endpoint, ...rest } = opts;
    const ctx = selectContext(config, context);
    const chosen = endpoint ?? ctx.endpoints[0];
    if (!chosen)
      throw new TalosconfigError(`contexts.${context ?? config.context}.endpoints`, 'is empty; give an endpoint');
    return new TalosClient({ ...rest, endpoint: chosen, ca: ctx.ca, crt: ctx.crt, key: ctx.key });
  }

  /** `host:port` this client dials */
  get endpoint(): string {
    return this.conn.endpoint;
  }

  private first<T extends { metadata: Metadata__Output | null }>(method: string, messages: T[]): T {
    const ctx: CallContext = { endpoint: this.conn.endpoint, method };
    const m = messages[0];
    if (!m) throw invalidResponse(ctx, 'no messages in the reply');
    // apid reports a proxied node's failure inside the message instead of as a gRPC error
    const md = m.metadata;
    if (md && (md.error || (md.status && md.status.code !== 0))) {
      throw toTalosError({ code: md.status?.code ?? 2, details: md.error || md.status?.message || '' }, ctx);
    }
    return m;
  }

  async version(call?: CallOptions): Promise<TalosVersion> {
    const r = await this.conn.unary<VersionResponse__Output>('Version', call, (p, done) =>
      p.stubs.machine.Version({}, p.metadata, p.options, done),
    );
    const v = this.first('Version', r.messages);
    if (!v.version) throw invalidResponse({ endpoint: this.endpoint, method: 'Version' }, 'no version info');
    return {
      version: v.version,
      platform: v.platform ?? { name: '', mode: '' },
      features: v.features ?? { rbac: false },
    };
  }

  async hostname(call?: CallOptions): Promise<string> {
    const r = await this.conn.unary<HostnameResponse__Output>('Hostname', call, (p, done) =>
      p.stubs.machine.Hostname({}, p.metadata, p.options, done),
    );
    return this.first('Hostname', r.messages).hostname;
  }

  async serviceList(call?: CallOptions): Promise<ServiceInfo__Output[]> {
    const r = await this.conn.unary<ServiceListResponse__Output>('ServiceList', call, (p, done) =>
      p.stubs.machine.ServiceList({}, p.metadata, p.options, done),
    );
    return this.first('ServiceList', r.messages).services;
  }

  /** The admin kubeconfig (control-plane nodes only): the `kubeconfig` file of the streamed tar.gz. */
  async kubeconfig(call?: CallOptions): Promise<Buffer> {
    const ctx: CallContext = { endpoint: this.endpoint, method: 'Kubeconfig' };
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const data of this.conn.stream('Kubeconfig', call, (p) =>
      p.stubs.machine.Kubeconfig({}, p.metadata, p.options),
    )) {
      this.first('Kubeconfig', [data]);
      total += data.bytes.length;
      if (total > MAX_MESSAGE_BYTES) throw invalidResponse(ctx, `more than ${MAX_MESSAGE_BYTES} bytes`);
      chunks.push(data.bytes);
    }
    try {
      return await fileFromTarGz(Buffer.concat(chunks), 'kubeconfig');
    } catch (e) {
      throw invalidResponse(ctx, e instanceof Error ? e.message : String(e));
    }
  }

  async applyConfiguration(input: ApplyConfigurationInput, call?: CallOptions): Promise<ApplyConfigurationResult> {
    const req = {
      data: typeof input.data === 'string' ? Buffer.from(input.data, 'utf8') : input.data,
      mode: input.mode,
      dryRun: input.dryRun ?? false,
      ...(input.tryModeTimeoutMs !== undefined ? { tryModeTimeout: duration(input.tryModeTimeoutMs) } : {}),
    };
    const r = await this.conn.unary<ApplyConfigurationResponse__Output>('ApplyConfiguration', call, (p, done) =>
      p.stubs.machine.ApplyConfiguration(req, p.metadata, p.options, done),
    );
    const m = this.first('ApplyConfiguration', r.messages);
    return { warnings: m.warnings, mode: m.mode, modeDetails: m.modeDetails };
  }

  async bootstrap(
    opts: { recoverEtcd?: boolean; recoverSkipHashCheck?: boolean } = {},
    call?: CallOptions,
  ): Promise<void> {
    const req = { recoverEtcd: opts.recoverEtcd ?? false, recoverSkipHashCheck: opts.recoverSkipHashCheck ?? false };
    const r = await this.conn.unary<BootstrapResponse__Output>('Bootstrap', call, (p, done) =>
      p.stubs.machine.Bootstrap(req, p.metadata, p.options, done),
    );
    this.first('Bootstrap', r.messages);
  }

  async reboot(mode: RebootMode = 'DEFAULT', call?: CallOptions): Promise<{ actorId: string }> {
    const r = await this.conn.unary<RebootResponse__Output>('Reboot', call, (p, done) =>
      p.stubs.machine.Reboot({ mode }, p.metadata, p.options, done),
    );
    return { actorId: this.first('Reboot', r.messages).actorId };
  }

  /** Starts the (legacy) upgrade; the node acknowledges at once and reboots in the background. */
  async upgrade(input: UpgradeInput, call?: CallOptions): Promise<{ ack: string; actorId: string }> {
    const req = {
      image: input.image,
      stage: input.stage ?? false,
      force: input.force ?? false,
      preserve: input.preserve ?? false,
      rebootMode: input.rebootMode ?? 'DEFAULT',
    };
    const r = await this.conn.unary<UpgradeResponse__Output>('Upgrade', call, (p, done) =>
      p.stubs.machine.Upgrade(req, p.metadata, p.options, done),
    );
    const m = this.first('Upgrade', r.messages);
    return { ack: m.ack, actorId: m.actorId };
  }

  async etcdMemberList(opts: { queryLocal?: boolean } = {}, call?: CallOptions): Promise<EtcdMember__Output[]> {
    const req = { queryLocal: opts.queryLocal ?? false };
    const r = await this.conn.unary<EtcdMemberListResponse__Output>('EtcdMemberList', call, (p, done) =>
      p.stubs.machine.EtcdMemberList(req, p.metadata, p.options, done),
    );
    return this.first('EtcdMemberList', r.messages).members;
  }

  async etcdStatus(call?: CallOptions): Promise<EtcdMemberStatus__Output> {
    const r = await this.conn.unary<EtcdStatusResponse__Output>('EtcdStatus', call, (p, done) =>
      p.stubs.machine.EtcdStatus({}, p.metadata, p.options, done),
    );
    const m = this.first('EtcdStatus', r.messages);
    if (!m.memberStatus) throw invalidResponse({ endpoint: this.endpoint, method: 'EtcdStatus' }, 'no member status');
    return m.memberStatus;
  }

  /**
   * Resets the node: acknowledged at once, then the node (a control plane leaving etcd first when
   * graceful) wipes its system disk and reboots into maintenance mode, or powers off.
   */
  async reset(input: ResetInput, call?: CallOptions): Promise<{ actorId: string }> {
    const req = { graceful: input.graceful, reboot: input.reboot, systemPartitionsToWipe: [], userDisksToWipe: [] };
    const r = await this.conn.unary<ResetResponse__Output>('Reset', call, (p, done) =>
      p.stubs.machine.Reset(req, p.metadata, p.options, done),
    );
    return { actorId: this.first('Reset', r.messages).actorId };
  }

  /**
   * The node leaves etcd itself (control planes only). etcd refuses when the node is its last
   * member, or when the members left would lose quorum; Talos reports both as a plain failure
   * (reason NodeError) whose message says `re-configuration failed due to not enough started
   * members` or `unhealthy cluster`.
   */
  async etcdLeaveCluster(call?: CallOptions): Promise<void> {
    const r = await this.conn.unary<EtcdLeaveClusterResponse__Output>('EtcdLeaveCluster', call, (p, done) =>
      p.stubs.machine.EtcdLeaveCluster({}, p.metadata, p.options, done),
    );
    this.first('EtcdLeaveCluster', r.messages);
  }

  /**
   * Removes the etcd member `memberId` (decimal, as EtcdMemberList reports ids) through this
   * control plane, e.g. the member of a node that is gone. An unknown id fails with NotFound.
   */
  async etcdRemoveMemberByID(memberId: string, call?: CallOptions): Promise<void> {
    const ctx: CallContext = { endpoint: this.endpoint, method: 'EtcdRemoveMemberByID' };
    if (!/^\d{1,20}$/.test(memberId) || BigInt(memberId) >= 2n ** 64n)
      throw new TalosError(
        'InvalidArgument',
        `${ctx.endpoint}: etcd member id ${JSON.stringify(memberId)} is not a uint64`,
      );
    const r = await this.conn.unary<EtcdRemoveMemberByIDResponse__Output>('EtcdRemoveMemberByID', call, (p, done) =>
      p.stubs.machine.EtcdRemoveMemberByID({ memberId }, p.metadata, p.options, done),
    );
    this.first('EtcdRemoveMemberByID', r.messages);
  }

  /** The block devices the node sees (answered in maintenance mode too). */
  async disks(call?: CallOptions): Promise<Disk__Output[]> {
    const r = await this.conn.unary<DisksResponse__Output>('Disks', call, (p, done) =>
      p.stubs.storage.Disks({}, p.metadata, p.options, done),
    );
    return this.first('Disks', r.messages).disks;
  }

  /**
   * One COSI resource (`talosctl get <type> <id> --namespace <ns>`), its spec parsed from YAML. A
   * missing resource is NotFound; a type the node's Talos does not know is NotFound or
   * Unimplemented, depending on the release.
   */
  async getResource(namespace: string, type: string, id: string, call?: CallOptions): Promise<TalosResource> {
    const req = { namespace, type, id, options: {} };
    const r = await this.conn.unary<GetResponse__Output>('Get', call, (p, done) =>
      p.stubs.cosi.Get(req, p.metadata, p.options, done),
    );
    return resourceFrom(r.resource, { endpoint: this.endpoint, method: 'Get' });
  }

  /** Every COSI resource of a type in a namespace (`talosctl get <type> --namespace <ns>`), in the node's order. */
  async listResources(namespace: string, type: string, call?: CallOptions): Promise<TalosResource[]> {
    const ctx: CallContext = { endpoint: this.endpoint, method: 'List' };
    const req = { namespace, type, options: { labelQuery: [] } };
    const out: TalosResource[] = [];
    for await (const m of this.conn.stream<ListResponse__Output>('List', call, (p) =>
      p.stubs.cosi.List(req, p.metadata, p.options),
    ))
      out.push(resourceFrom(m.resource, ctx));
    return out;
  }

  /**
   * The node's server-side cluster health check: yields each progress line; ends when every check
   * passed, throws a TalosError when one failed. The default deadline covers waitTimeoutMs.
   */
  async *healthCheck(input: HealthCheckInput, call?: CallOptions): AsyncGenerator<string> {
    const req = {
      waitTimeout: duration(input.waitTimeoutMs),
      clusterInfo: {
        controlPlaneNodes: input.controlPlaneNodes ?? [],
        workerNodes: input.workerNodes ?? [],
        forceEndpoint: input.forceEndpoint ?? '',
      },
    };
    const timeout = Math.max(this.conn.timeoutMs, input.waitTimeoutMs + HEALTH_DEADLINE_MARGIN_MS);
    for await (const progress of this.conn.stream(
      'HealthCheck',
      call,
      (p) => p.stubs.cluster.HealthCheck(req, p.metadata, p.options),
      timeout,
    )) {
      this.first('HealthCheck', [progress]);
      yield progress.message;
    }
  }

  close(): void {
    this.conn.close();
  }
}
