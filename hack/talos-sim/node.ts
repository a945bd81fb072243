// One simulated Talos node: identity, version, services with state and health, applied config,
// lifecycle phase and injected faults. Pure state: the gRPC server (server.ts) reads it, the
// lifecycle (lifecycle.ts) and the control endpoint change it. Emits 'change' on every change.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';

export type Role = 'controlplane' | 'worker';
/** running: serving; shutting-down: accepted a reboot/upgrade, about to stop; rebooting: not listening */
export type Phase = 'running' | 'shutting-down' | 'rebooting';

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

export class SimNode extends EventEmitter {
  version: string;
  phase: Phase = 'running';
  /** the TCP port, fixed after the first bind so the endpoint survives reboots */
  port = 0;
  listening = false;
  bootedAt = new Date();
  faults: Faults = { down: false, latencyMs: 0, frozen: false, unhealthy: [], wrongCA: false };
  config: AppliedConfig | undefined;
  /** STAGED config, applied on the next boot */
  stagedConfig: AppliedConfig | undefined;
  /** installer image staged by Upgrade{stage: true}, or being installed */
  pendingVersion: string | undefined;
  services = new Map<string, ServiceState>();
  /** etcd member id, as the decimal string a uint64 travels as */
  readonly etcdMemberId: string;

  constructor(
    readonly name: string,
    readonly ip: string,
    readonly role: Role,
    version: string,
    /** whether etcd already runs (false: the cluster awaits Bootstrap) */
    etcdBootstrapped: boolean,
  ) {
    super();
    this.version = version;
    this.etcdMemberId = BigInt(`0x${createHash('sha256').update(name).digest('hex').slice(0, 15)}`).toString();
    this.boot(etcdBootstrapped);
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

  changed(): void {
    this.emit('change', this);
  }

  /** Fresh service states as after a boot. */
  boot(etcdBootstrapped: boolean): void {
    const now = new Date();
    this.bootedAt = now;
    this.services.clear();
    const ids = [...COMMON_SERVICES, ...(this.isControlPlane ? CONTROL_PLANE_SERVICES : [])].sort();
    for (const id of ids) {
      const waitingForBootstrap = id === 'etcd' && !etcdBootstrapped;
      const state = waitingForBootstrap ? 'Preparing' : 'Running';
      const events: ServiceEventState[] = [
        { msg: 'Starting service', state: 'Starting', ts: now },
        { msg: 'Running pre state', state: 'Preparing', ts: now },
      ];
      if (!waitingForBootstrap) events.push({ msg: 'Service started as goroutine', state: 'Running', ts: now });
      else events.push({ msg: 'Waiting for etcd bootstrap', state: 'Preparing', ts: now });
      this.services.set(id, {
        id,
        state,
        events,
        lastChange: now,
        healthy: HEALTH_CHECKED.has(id) ? !waitingForBootstrap : undefined,
        lastMessage: waitingForBootstrap ? 'waiting for bootstrap' : '',
      });
    }
  }

  /** etcd starts on this node (after Bootstrap, or when joining a bootstrapped cluster). */
  startEtcd(): void {
    const etcd = this.services.get('etcd');
    if (!etcd || etcd.state === 'Running') return;
    const now = new Date();
    Object.assign(etcd, { state: 'Running', healthy: true, lastMessage: '', lastChange: now });
    etcd.events.push({ msg: 'Health check successful', state: 'Running', ts: now });
    this.changed();
  }

  /** The health a service reports right now, with injected faults applied. */
  health(id: string): { healthy: boolean | undefined; lastMessage: string } {
    const s = this.services.get(id);
    if (!s) return { healthy: undefined, lastMessage: '' };
    if (this.faults.unhealthy.includes(id))
      return { healthy: false, lastMessage: 'simulated failure: health check failed' };
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

  /** Faults cleared; the node serves again once its lifecycle allows it. */
  heal(): void {
    this.faults = { down: false, latencyMs: 0, frozen: false, unhealthy: [], wrongCA: false };
    this.changed();
  }

  /** What the control endpoint's GET /state shows (no config contents). */
  snapshot(): Record<string, unknown> {
    return {
      name: this.name,
      ip: this.ip,
      endpoint: this.endpoint,
      role: this.role,
      version: this.version,
      phase: this.phase,
      listening: this.listening,
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
