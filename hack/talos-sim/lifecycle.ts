// Reboots and upgrades over time. An accepted reboot replies first, then the node stops its
// services, leaves the network for the cluster's reboot time, and boots again (at the pending
// version, with any staged config). The node server follows `phase` to stop and start listening.
import type { SimCluster } from './cluster.js';
import type { SimNode } from './node.js';

/** Time between the reply and the node going away: long enough for the reply to leave. */
const SHUTDOWN_MS = 200;
/** An upgrade first "installs" the new image before it reboots. */
const INSTALL_MS = 300;

export class Lifecycle {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly tryReverts = new Map<string, NodeJS.Timeout>();

  constructor(private readonly cluster: SimCluster) {}

  private after(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  busy(node: SimNode): boolean {
    return node.phase !== 'running';
  }

  reboot(node: SimNode, delayMs = 0): void {
    node.phase = 'shutting-down';
    node.changed();
    this.after(delayMs + SHUTDOWN_MS, () => {
      node.stopServices();
      node.phase = 'rebooting';
      node.changed();
      this.after(this.cluster.opts.rebootMs, () => this.boot(node));
    });
  }

  /** Install `version` (now, or at the next boot when staged), then reboot. */
  upgrade(node: SimNode, version: string): void {
    node.pendingVersion = version;
    this.reboot(node, INSTALL_MS);
  }

  private boot(node: SimNode): void {
    if (node.pendingVersion) node.version = node.pendingVersion;
    node.pendingVersion = undefined;
    if (node.stagedConfig) node.config = node.stagedConfig;
    node.stagedConfig = undefined;
    node.boot(this.cluster.bootstrapped);
    node.phase = 'running';
    node.changed();
  }

  /** TRY mode: put the previous config back unless another apply confirms before `ms`. */
  scheduleRevert(node: SimNode, previous: SimNode['config'], ms: number): void {
    this.confirm(node);
    this.tryReverts.set(
      node.name,
      this.after(ms, () => {
        this.tryReverts.delete(node.name);
        node.config = previous;
        node.changed();
      }),
    );
  }

  /** A later apply ends a pending TRY. */
  confirm(node: SimNode): void {
    const t = this.tryReverts.get(node.name);
    if (t) {
      clearTimeout(t);
      this.timers.delete(t);
      this.tryReverts.delete(node.name);
    }
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.tryReverts.clear();
  }
}
