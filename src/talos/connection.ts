// One mTLS gRPC channel to one Talos endpoint, and the call plumbing every method shares:
// resolve + allow-list check before any socket exists, a deadline on every call, optional `node`
// metadata for apid proxying, abort signals, and mapping every failure to a TalosError.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { checkServerIdentity, createSecureContext, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import {
  clientClosed,
  dnsNotAllowed,
  notInMaintenance,
  outboundNotAllowed,
  toTalosError,
  TalosError,
  type CallContext,
} from './errors.js';
import { formatEndpoint, parseEndpoint, type Endpoint } from './endpoint.js';
import { OutboundAllowList, refusedResolvers } from './outbound.js';
import { talosProtos } from './protos.js';
import { nodeTlsKey } from './talosconfig.js';
import { probeTls, type ProbeTarget } from './tls-probe.js';
import type { MachineServiceClient } from './gen/machine/MachineService.js';
import type { ClusterServiceClient } from './gen/cluster/ClusterService.js';
import type { StorageServiceClient } from './gen/storage/StorageService.js';
import type { StateClient } from './gen/cosi/resource/State.js';

/** apid accepts 32 MiB messages and talosctl raises its receive limit to match (grpc-js default: 4 MiB). */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 10_000;
/** At most this long is spent finding out why a connection closed during setup. */
const PROBE_MS = 2_000;
/**
 * The TLS server name (SNI) sent when a node is dialed by IP address. grpc-js would send the IP
 * itself, which RFC 6066 forbids (Node warns `DEP0123`); Talos's apid does not choose its
 * certificate by SNI, and the certificate is still checked against the IP (see `identity`).
 * `.invalid` is reserved (RFC 2606): this name never means a real host.
 */
const IP_SERVER_NAME = 'talos-node.invalid';
/** grpc-js' words for "TCP connected, then closed before HTTP/2 started" */
const CLOSED_DURING_SETUP = /Failed to connect|Connection dropped|Socket closed/i;

/** Resolves a host name to IP addresses, in preference order. */
export type HostLookup = (host: string) => Promise<string[]>;

export const systemLookup: HostLookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** How to reach a node, whatever the credentials. */
export interface DialOptions {
  /** `host` or `host:port` (default port 50000; IPv6 in brackets) */
  endpoint: string;
  /** default deadline per call, ms */
  timeoutMs?: number;
  /** addresses we may dial; default: any */
  allowList?: OutboundAllowList;
  /** the name to verify the node's certificate against, when the dialed address is not in its SANs */
  targetNameOverride?: string;
  /** host name resolution (default: the system resolver) */
  lookup?: HostLookup;
  /** told about every call when it ends: its method, `OK` or the failure reason, and how long it took */
  observer?: CallObserver;
}

/** A configured node: mutual TLS with the cluster's OS CA. */
export interface ConnectionOptions extends DialOptions {
  /** the Talos OS CA (PEM): the only CA the node's certificate may chain to */
  ca: string;
  /** client certificate (PEM), signed by the OS CA, roles in Subject O */
  crt: string;
  /** client private key (PEM; Talos' `ED25519 PRIVATE KEY` label is accepted) */
  key: string;
}

/**
 * A node in maintenance mode (booted without a configuration), as `talosctl --insecure` reaches it:
 * TLS without verifying the node's throw-away self-signed certificate and without a client
 * certificate. Anything sent this way (a first machine config, CA keys included) is unauthenticated.
 */
export interface MaintenanceConnectionOptions extends DialOptions {
  insecure: true;
}

export type CallObserver = (method: string, outcome: string, ms: number) => void;

export interface CallOptions {
  /** overrides the client's default deadline for this call */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** overrides the client's `node` target for this call */
  node?: string;
}

interface Stubs {
  machine: MachineServiceClient;
  cluster: ClusterServiceClient;
  storage: StorageServiceClient;
  /** COSI resources (`talosctl get`) */
  cosi: StateClient;
}

export interface PreparedCall {
  stubs: Stubs;
  metadata: grpc.Metadata;
  options: grpc.CallOptions;
  ctx: CallContext;
  signal: AbortSignal | undefined;
  /** epoch ms */
  deadline: number;
}

function credentialsError(): TalosError {
  return new TalosError(
    'InvalidArgument',
    'the Talos client certificate, key or CA cannot be loaded (not PEM, or the key does not match the certificate)',
  );
}

function abortedCheck(p: PreparedCall): void {
  if (p.signal?.aborted) throw toTalosError({ code: grpc.status.CANCELLED, details: 'aborted by the caller' }, p.ctx);
}

export class TalosConnection {
  /** the endpoint as `host:port` */
  readonly endpoint: string;
  readonly timeoutMs: number;
  private readonly target: Endpoint;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly allowList: OutboundAllowList;
  private readonly lookup: HostLookup;
  /** the mTLS material; undefined for a maintenance-mode (insecure) connection */
  private readonly pem: { ca: Buffer; crt: Buffer; key: Buffer } | undefined;
  private probeTarget: ProbeTarget | undefined;
  /** what the node's certificate must name (a DNS or IP SAN); set when dialing */
  private identity: string | undefined;
  private connecting: Promise<Stubs> | undefined;
  private closed = false;

  constructor(
    private readonly opts: ConnectionOptions | MaintenanceConnectionOptions,
    private readonly node?: string,
  ) {
    this.target = parseEndpoint(opts.endpoint);
    this.endpoint = formatEndpoint(this.target);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.allowList = opts.allowList ?? OutboundAllowList.allowAll();
    this.lookup = opts.lookup ?? systemLookup;
    if ('insecure' in opts) {
      // as talosctl --insecure: the node's throw-away certificate cannot be verified, and we have none to show
      this.pem = undefined;
      this.credentials = grpc.credentials.createSsl(null, null, null, {
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      });
      return;
    }
    const key = Buffer.from(nodeTlsKey(opts.key));
    const ca = Buffer.from(opts.ca);
    const crt = Buffer.from(opts.crt);
    this.pem = { ca, crt, key };
    try {
      // load once now so bad material fails here with a clear message, not as a vague UNAVAILABLE later
      createSecureContext({ ca, cert: crt, key });
      // grpc-js asks this with the server name it sent; the certificate must name what we dialed instead
      this.credentials = grpc.credentials.createSsl(ca, key, crt, {
        checkServerIdentity: (_sent: string, cert: PeerCertificate) =>
          checkServerIdentity(this.identity ?? IP_SERVER_NAME, cert),
      });
    } catch {
      throw credentialsError();
    }
  }

  /** Whether this connection is to a node in maintenance mode (no verification, no client certificate). */
  get insecure(): boolean {
    return this.pem === undefined;
  }

  /** Resolves and checks the address, then opens the channel; no socket exists before the check passes. */
  private async dial(): Promise<Stubs> {
    const { host, port } = this.target;
    // the system resolver asks DNS servers, which must be allowed too (a custom lookup answers for itself)
    const resolvers = this.opts.lookup ? [] : refusedResolvers(this.allowList, host);
    if (resolvers.length > 0) throw dnsNotAllowed(this.endpoint, host, resolvers);
    const addresses = isIP(host) ? [host] : await this.lookup(host);
    const address = addresses.find((a) => this.allowList.check(a));
    if (address === undefined) throw outboundNotAllowed(this.endpoint, addresses);
    const options: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // an HTTP proxy from the environment would dial an address the allow-list never saw
      'grpc.enable_http_proxy': 0,
      // nodes reboot for upgrades; come back within seconds rather than grpc's 2-minute backoff ceiling
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 5_000,
    };
    // we dial the checked IP; the certificate is still verified against the name the user gave
    const verifyName = this.insecure ? undefined : (this.opts.targetNameOverride ?? (isIP(host) ? undefined : host));
    // the certificate must name the given name, or else the IP dialed (an IP SAN, as talosctl checks it);
    // the server name sent is never an IP address
    this.identity = verifyName ?? address;
    options['grpc.ssl_target_name_override'] =
      verifyName !== undefined && isIP(verifyName) === 0 ? verifyName : IP_SERVER_NAME;
    const { machine, cluster, storage, cosi } = talosProtos();
    const target = formatEndpoint({ host: address, port });
    this.probeTarget = { address, port, verifyName, ...(this.pem ? { credentials: this.pem } : {}) };
    const machineStub = new machine.MachineService(target, this.credentials, options);
    const shared = { channelOverride: machineStub.getChannel() };
    return {
      machine: machineStub,
      cluster: new cluster.ClusterService(target, this.credentials, shared),
      storage: new storage.StorageService(target, this.credentials, shared),
      cosi: new cosi.resource.State(target, this.credentials, shared),
    };
  }

  private stubs(ctx: CallContext): Promise<Stubs> {
    if (this.closed) return Promise.reject(clientClosed(ctx));
    if (!this.connecting) {
      this.connecting = this.dial();
      // a failed resolution or refusal is retried on the next call (DNS may have changed)
      this.connecting.catch(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  /** Everything a call needs; the deadline also bounds name resolution. */
  async prepare(
    method: string,
    call: CallOptions | undefined,
    defaultTimeoutMs = this.timeoutMs,
  ): Promise<PreparedCall> {
    const timeoutMs = call?.timeoutMs ?? defaultTimeoutMs;
    const ctx: CallContext = { endpoint: this.endpoint, method, timeoutMs };
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(toTalosError({ code: grpc.status.DEADLINE_EXCEEDED, details: 'resolving the endpoint' }, ctx)),
        timeoutMs,
      );
    });
    try {
      const stubs = await Promise.race([this.stubs(ctx), expired]);
      const metadata = new grpc.Metadata();
      const node = call?.node ?? this.node;
      if (node) metadata.set('node', node);
      return { stubs, metadata, options: { deadline: new Date(deadline) }, ctx, signal: call?.signal, deadline };
    } catch (e) {
      throw toTalosError(e, ctx);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Maps a call failure; a connection that closed during setup is probed once more with plain TLS,
   * so a rejected client certificate reads as a TLS error rather than as "unreachable".
   */
  private async explain(err: unknown, p: PreparedCall): Promise<TalosError> {
    // CANCELLED that we did not ask for is the node resetting the stream as it goes away
    const code = (err as { code?: unknown } | undefined)?.code;
    if (code === grpc.status.CANCELLED && !p.signal?.aborted) {
      return toTalosError(
        { code: grpc.status.UNAVAILABLE, details: 'the node reset the call (connection dropped)' },
        p.ctx,
      );
    }
    const mapped = toTalosError(err, p.ctx);
    const detail = String((err as { details?: unknown } | undefined)?.details ?? '');
    if (mapped.failure === 'TLSError' && this.insecure) return notInMaintenance(p.ctx, detail);
    const left = Math.min(p.deadline - Date.now(), PROBE_MS);
    if (mapped.failure !== 'Unreachable' || !CLOSED_DURING_SETUP.test(detail) || !this.probeTarget || left <= 0)
      return mapped;
    const tlsError = await probeTls(this.probeTarget, left);
    if (tlsError && this.insecure) return notInMaintenance(p.ctx, tlsError);
    return tlsError ? toTalosError({ code: grpc.status.UNAVAILABLE, details: `TLS: ${tlsError}` }, p.ctx) : mapped;
  }

  /** Runs a unary call and maps its failure. */
  async unary<Res>(
    method: string,
    call: CallOptions | undefined,
    start: (p: PreparedCall, done: grpc.requestCallback<Res>) => grpc.ClientUnaryCall,
  ): Promise<Res> {
    const started = Date.now();
    try {
      const value = await this.unaryCall(method, call, start);
      this.opts.observer?.(method, 'OK', Date.now() - started);
      return value;
    } catch (e) {
      this.opts.observer?.(method, (e as TalosError).failure ?? 'NodeError', Date.now() - started);
      throw e;
    }
  }

  private async unaryCall<Res>(
    method: string,
    call: CallOptions | undefined,
    start: (p: PreparedCall, done: grpc.requestCallback<Res>) => grpc.ClientUnaryCall,
  ): Promise<Res> {
    const p = await this.prepare(method, call);
    abortedCheck(p);
    return new Promise<Res>((resolve, reject) => {
      const onAbort = () => handle.cancel();
      const handle = start(p, (err, value) => {
        p.signal?.removeEventListener('abort', onAbort);
        if (err) this.explain(err, p).then(reject, reject);
        else if (value === undefined) reject(toTalosError(new Error('empty reply'), p.ctx));
        else resolve(value);
      });
      p.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs a server-streaming call as an async iterable; breaking out of the loop cancels the call. */
  async *stream<Msg>(
    method: string,
    call: CallOptions | undefined,
    start: (p: PreparedCall) => grpc.ClientReadableStream<Msg>,
    defaultTimeoutMs?: number,
  ): AsyncGenerator<Msg> {
    const started = Date.now();
    let outcome = 'OK';
    try {
      yield* this.streamCall(method, call, start, defaultTimeoutMs);
    } catch (e) {
      outcome = (e as TalosError).failure ?? 'NodeError';
      throw e;
    } finally {
      this.opts.observer?.(method, outcome, Date.now() - started);
    }
  }

  private async *streamCall<Msg>(
    method: string,
    call: CallOptions | undefined,
    start: (p: PreparedCall) => grpc.ClientReadableStream<Msg>,
    defaultTimeoutMs?: number,
  ): AsyncGenerator<Msg> {
    const p = await this.prepare(method, call, defaultTimeoutMs);
    abortedCheck(p);
    const handle = start(p);
    const onAbort = () => handle.cancel();
    p.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const msg of handle) yield msg as Msg;
    } catch (e) {
      throw await this.explain(e, p);
    } finally {
      p.signal?.removeEventListener('abort', onAbort);
      handle.cancel();
    }
  }

  close(): void {
    this.closed = true;
    const pending = this.connecting;
    this.connecting = undefined;
    pending?.then(
      (s) => s.machine.close(),
      () => undefined,
    );
  }
}
