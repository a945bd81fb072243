// One simulated machine running Talos: its address, version, what is on its disk (the installed
// config and so its identity: role, hostname, cluster; etcd data), services with state and health,
// lifecycle phase, injected faults and counters. Without an installed config it is in maintenance
// mode. Pure state: the gRPC server (server.ts) reads it, the lifecycle (lifecycle.ts), the handlers
// and the control endpoint change it. Emits 'change' on every change.
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { TalosCluster } from './talos-cluster.js';

export type Role = 'controlplane' | 'worker';
/**
 * running: serving; shutting-down: accepted a reboot/upgrade/reset, about to stop; rebooting: not
 * listening; off: powered off
 */
export type Phase = 'running' | 'shutting-down' | 'rebooting' | 'off';

export interface Faults {
  /** not listening at all */
  down: boolean;
  /** added to every call, ms */
  latencyMs: number;
  /** accepts connections but never answers */
  frozen: boolean;
  /** services that report healthy=false */
  unhealthy: string[];
  /** presents a server cert from a CA the talosconfig does not trust */
  wrongCA: boolean;
  /** ApplyConfiguration fails with InvalidArgument and this message */
  refuseConfig: string | undefined;
  /** the next Bootstrap takes the node down before etcd starts (once) */
  stopDuringBootstrap: boolean;
  /** an accepted Upgrade reboots the node, which comes back at the version it ran (until heal) */
  failUpgrade: boolean;
  /** a Kubernetes component whose image a config changes comes back at the new image but never ready (until heal) */
  failKubernetesUpgrade: boolean;
}

export function noFaults(): Faults {
  return {
    down: false,
    latencyMs: 0,
    frozen: false,
    unhealthy: [],
    wrongCA: false,
    refuseConfig: undefined,
    stopDuringBootstrap: false,
    failUpgrade: false,
    failKubernetesUpgrade: false,
  };
}

export interface ServiceEventState {
  msg: string;
  state: string;
  ts: Date;
}

export interface ServiceState {
  id: string;
  state: string;
  /** undefined: the service has no health check (reported as health.unknown) */
  healthy: boolean | undefined;
  lastMessage: string;
  lastChange: Date;
  events: ServiceEventState[];
}

export interface AppliedConfig {
  data: Buffer;
  mode: string;
  appliedAt: Date;
}

/** A Kubernetes component the node runs (the kubelet, or a control-plane static pod), as the node reports it. */
export interface RunningComponent {
  image: string;
  ready: boolean;
  /** when the node first ran it */
  created: Date;
  /** when its image or readiness last changed */
  since: Date;
  /** counts those changes: the COSI resource version */
  version: number;
}

/** What an installed config made of the node. */
export interface NodeIdentity {
  cluster: TalosCluster;
  role: Role;
  hostname: string;
}

const VERSION_TAG = /^v(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/;

export function isTalosVersion(tag: string): boolean {
  return VERSION_TAG.test(tag);
}

/** Whether a version tag is at least major.minor (pre-releases count as their line). */
export function versionAtLeast(tag: string, major: number, minor: number): boolean {
  const m = VERSION_TAG.exec(tag);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

// Services a booted node runs; only those with a health check report healthy/unhealthy.
const HEALTH_CHECKED = new Set(['apid', 'containerd', 'cri', 'etcd', 'kubelet', 'machined', 'trustd']);
const COMMON_SERVICES = ['apid', 'auditd', 'containerd', 'cri', 'dashboard', 'kubelet', 'machined', 'syslogd', 'udevd'];
// etcd and trustd (which signs worker certificates) run on control-plane nodes only
const CONTROL_PLANE_SERVICES = ['etcd', 'trustd'];
// maintenance mode runs the API and little else
const MAINTENANCE_SERVICES = ['apid', 'machined', 'udevd'];

export class SimNode extends EventEmitter {
  version: string;
  /** the machine's own id (a new machine, e.g. a VM made again, gets a new one); seeds its stable hostname */
  machineId = randomUUID();
  phase: Phase = 'running';
  /** the TCP port (the simulator's one port) */
  port = 0;
  listening = false;
  bootedAt = new Date();
  /** counts boots, so each maintenance boot gets its own throw-away certificate */
  boots = 0;
  faults: Faults = noFaults();
  identity: NodeIdentity | undefined;
  config: AppliedConfig | undefined;
  /** STAGED config, applied on the next boot */
  stagedConfig: AppliedConfig | undefined;
  /** installer image staged by Upgrade{stage: true}, or being installed */
  pendingVersion: string | undefined;
  /** a config applied in maintenance mode, installed on the next boot */
  pendingInstall: { identity: NodeIdentity; config: AppliedConfig; version: string } | undefined;
  /** a Reset in progress: wipe the disk, then reboot or power off */
  pendingReset: { reboot: boolean } | undefined;
  services = new Map<string, ServiceState>();
  /** Kubernetes components by kubernetes.ts's names (kubelet, apiServer, ...), kept in step by the fleet */
  kubernetes = new Map<string, RunningComponent>();
  /** the etcd member this node's data directory belongs to, as the decimal string a uint64 travels as */
  etcdMemberId: string | undefined;
  bootstrapCalls = 0;
  bootstrapsEffective = 0;
  resets = 0;
  /** Upgrade calls the node accepted (a test proves no node is upgraded twice) */
  upgrades = 0;
  /** what the last accepted Upgrade call asked for, as it arrived */
  lastUpgrade: { image: string; stage: boolean; force: boolean; preserve: boolean; rebootMode: string } | undefined;
  /** why the last reset did not happen (a graceful reset whose etcd leave was refused) */
  resetError: string | undefined;

  constructor(
    /** stable id, the node's name until it is configured: node-0, node-1, ... */
    readonly id: string,
    readonly ip: string,
    version: string,
    /** a bare-metal machine (bare-metal.ts): powered on and booted by its BMC and firmware */
    readonly bareMetal = false,
  ) {
    super();
    this.version = version;
  }

  get configured(): boolean {
    return this.identity !== undefined;
  }

  get cluster(): TalosCluster | undefined {
    return this.identity?.cluster;
  }

  get role(): Role | undefined {
    return this.identity?.role;
  }

  /** the hostname once configured, the stable id before */
  get name(): string {
    return this.identity?.hostname ?? this.id;
  }

  get endpoint(): string {
    return `${this.ip}:${this.port}`;
  }

  get isControlPlane(): boolean {
    return this.role === 'controlplane';
  }

  /** Build metadata derived from the tag, so each version looks like its own build. */
  get sha(): string {
    return createHash('sha1').update(this.version).digest('hex').slice(0, 8);
  }

  /** Serving (powered on, booted, not stopped by a fault). */
  get up(): boolean {
    return this.phase === 'running' && !this.faults.down;
  }

  get etcdRunning(): boolean {
    return this.up && this.services.get('etcd')?.state === 'Running';
  }

  changed(): void {
    this.emit('change', this);
  }

  /** Fresh service states as after a boot: etcd runs if this node holds a member's data. */
  boot(): void {
    const now = new Date();
    this.bootedAt = now;
    this.boots++;
    this.services.clear();
    if (!this.identity) {
      for (const id of MAINTENANCE_SERVICES) this.addService(id, 'Running', now, '');
      return;
    }
    if (this.etcdMemberId !== undefined && !this.identity.cluster.member(this.etcdMemberId)) {
      // removed from etcd while away: the stale data directory is dropped and the node joins afresh
      this.etcdMemberId = undefined;
    }
    const ids = [...COMMON_SERVICES, ...(this.isControlPlane ? CONTROL_PLANE_SERVICES : [])].sort();
    for (const id of ids) {
      const waiting = id === 'etcd' && this.etcdMemberId === undefined;
      this.addService(id, waiting ? 'Preparing' : 'Running', now, waiting ? 'waiting for bootstrap' : '');
    }
  }

  private addService(id: string, state: string, now: Date, lastMessage: string): void {
    const events: ServiceEventState[] = [
      { msg: 'Starting service', state: 'Starting', ts: now },
      { msg: 'Running pre state', state: 'Preparing', ts: now },
    ];
    if (state === 'Running') events.push({ msg: 'Service started as goroutine', state: 'Running', ts: now });
    else events.push({ msg: 'Waiting for etcd bootstrap', state: 'Preparing', ts: now });
    this.services.set(id, {
      id,
      state,
      events,
      lastChange: now,
      healthy: HEALTH_CHECKED.has(id) ? state === 'Running' : undefined,
      lastMessage,
    });
  }

  /** etcd starts on this node as member `memberId` (after Bootstrap, or joining a running etcd). */
  startEtcd(memberId: string): void {
    this.etcdMemberId = memberId;
    this.setEtcd('Running', true, '', 'Health check successful');
  }

  /** etcd stops for good on this node (it left, or was removed); its data no longer counts. */
  stopEtcd(state: 'Finished' | 'Failed', message: string): void {
    this.etcdMemberId = undefined;
    this.setEtcd(state, false, message, message);
  }

  private setEtcd(state: string, healthy: boolean, lastMessage: string, event: string): void {
    const etcd = this.services.get('etcd');
    if (!etcd) return;
    const now = new Date();
    Object.assign(etcd, { state, healthy, lastMessage, lastChange: now });
    etcd.events.push({ msg: event, state, ts: now });
    this.changed();
  }

  /** The health a service reports right now, with injected faults applied. */
  health(id: string): { healthy: boolean | undefined; lastMessage: string } {
    const s = this.services.get(id);
    if (!s) return { healthy: undefined, lastMessage: '' };
    if (this.faults.unhealthy.includes(id))
      return { healthy: false, lastMessage: 'simulated failure: health check failed' };
    if (id === 'kubelet' && this.kubernetes.get('kubelet')?.ready === false)
      return { healthy: false, lastMessage: 'simulated failure: the new kubelet does not come up' };
    return { healthy: s.healthy, lastMessage: s.lastMessage };
  }

  /** All services going down for a reboot. */
  stopServices(): void {
    const now = new Date();
    for (const s of this.services.values()) {
      s.state = 'Stopping';
      s.lastChange = now;
      s.events.push({ msg: 'Stopping service', state: 'Stopping', ts: now });
    }
    this.changed();
  }

  /** The system disk wiped: no config, no identity, no etcd data; the machine boots its ISO again. */
  wipe(isoVersion: string): void {
    this.identity = undefined;
    this.config = undefined;
    this.stagedConfig = undefined;
    this.pendingInstall = undefined;
    this.pendingVersion = undefined;
    this.etcdMemberId = undefined;
    this.version = isoVersion;
  }

  /** Faults cleared; the node serves again once its lifecycle allows it. */
  heal(): void {
    this.faults = noFaults();
    this.changed();
  }

  /** What the control endpoint's GET /state shows (no config contents). */
  snapshot(): Record<string, unknown> {
    const cluster = this.identity?.cluster;
    return {
      id: this.id,
      name: this.name,
      address: this.ip,
      ip: this.ip,
      bareMetal: this.bareMetal,
      port: this.port,
      endpoint: this.endpoint,
      configured: this.configured,
      role: this.role ?? null,
      hostname: this.identity?.hostname ?? null,
      version: this.version,
      clusterId: cluster?.id ?? null,
      clusterName: cluster?.name ?? null,
      phase: this.phase,
      up: this.up && this.listening,
      poweredOff: this.phase === 'off',
      listening: this.listening,
      bootstrapCalls: this.bootstrapCalls,
      bootstrapsEffective: this.bootstrapsEffective,
      etcdMember: cluster?.isMember(this) ?? false,
      etcdMemberId: this.etcdMemberId ?? null,
      resets: this.resets,
      upgrades: this.upgrades,
      lastUpgrade: this.lastUpgrade ?? null,
      resetError: this.resetError ?? null,
      faults: this.faults,
      services: [...this.services.values()].map((s) => ({
        id: s.id,
        state: s.state,
        healthy: this.health(s.id).healthy ?? null,
      })),
      config: this.config
        ? {
            mode: this.config.mode,
            bytes: this.config.data.length,
            sha256: createHash('sha256').update(this.config.data).digest('hex'),
          }
        : null,
      stagedConfig: this.stagedConfig ? { bytes: this.stagedConfig.data.length } : null,
    };
  }
}
