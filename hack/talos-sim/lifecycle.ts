// Reboots, installs, upgrades, resets and power over time. An accepted request replies first, then
// the node stops its services, leaves the network for the reboot time, and boots again: with a
// config applied in maintenance mode installed (its identity and version), at a pending version,
// with a staged config, or wiped back to maintenance mode. The node server follows `phase` to stop
// and start listening.
import { randomUUID } from 'node:crypto';
import type { SimFleet } from './fleet.js';
import { noFaults, type SimNode } from './node.js';

export class Lifecycle {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly tryReverts = new Map<string, NodeJS.Timeout>();
  /** bumped when a node is powered off or replaced: what was scheduled for it before is void */
  private readonly epochs = new Map<string, number>();
  private readonly firmware = new Map<string, (node: SimNode) => void>();

  constructor(private readonly fleet: SimFleet) {}

  private epoch(node: SimNode): number {
    return this.epochs.get(node.id) ?? 0;
  }

  /** Runs `fn` for `node` after `ms`, unless the node was powered off or replaced meanwhile. */
  private later(node: SimNode, ms: number, fn: () => void): void {
    const epoch = this.epoch(node);
    this.after(ms, () => {
      if (this.epoch(node) === epoch) fn();
    });
  }

  private invalidate(node: SimNode): void {
    this.epochs.set(node.id, this.epoch(node) + 1);
    this.cancelTry(node);
  }

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

  /** Shut down (after `delayMs`), then boot again after the reboot time. */
  reboot(node: SimNode, delayMs = 0): void {
    this.shutDown(node, delayMs, () => this.later(node, this.fleet.opts.rebootMs, () => this.boot(node)));
  }

  private shutDown(node: SimNode, delayMs: number, then: () => void): void {
    node.phase = 'shutting-down';
    node.changed();
    this.later(node, delayMs + this.fleet.opts.shutdownMs, () => {
      node.stopServices();
      node.phase = 'rebooting';
      node.changed();
      then();
    });
  }

  /** Install `version` (now, or at the next boot when staged), then reboot. */
  upgrade(node: SimNode, version: string): void {
    node.upgrades++;
    // a failed install: the node reboots into what it ran before, as Talos falls back to its old image
    node.pendingVersion = node.faults.failUpgrade ? undefined : version;
    this.reboot(node, this.fleet.opts.installMs);
  }

  /** A config applied in maintenance mode: the node installs it and reboots into configured mode. */
  install(node: SimNode): void {
    this.reboot(node, this.fleet.opts.installMs);
  }

  /**
   * The wipe of a Reset (its etcd leave, if graceful, already done): the node goes down, forgets
   * its config, and boots its ISO into maintenance mode, or stays powered off.
   */
  reset(node: SimNode, reboot: boolean): void {
    node.pendingReset = { reboot };
    this.shutDown(node, 0, () => {
      node.wipe(this.fleet.opts.version);
      node.pendingReset = undefined;
      node.resets++;
      if (reboot) this.later(node, this.fleet.opts.rebootMs, () => this.boot(node));
      else this.off(node);
    });
  }

  /** Pulls the plug: the node is off until powered on (its disk, config included, stays). */
  powerOff(node: SimNode): void {
    this.invalidate(node);
    node.pendingReset = undefined;
    node.stopServices();
    this.off(node);
  }

  private off(node: SimNode): void {
    node.phase = 'off';
    node.changed();
  }

  /** Powers a node on: it boots what is on its disk (a config, or its ISO into maintenance mode). */
  powerOn(node: SimNode): void {
    if (node.phase !== 'off') return;
    node.phase = 'rebooting';
    node.changed();
    this.later(node, this.fleet.opts.rebootMs, () => this.boot(node));
  }

  /**
   * A new machine in place of this one, as a VM provider destroys a VM and makes another: blank
   * disk, booting its ISO into maintenance mode at the same address.
   */
  reprovision(node: SimNode): void {
    this.invalidate(node);
    node.pendingReset = undefined;
    node.wipe(this.fleet.opts.version);
    node.machineId = randomUUID();
    node.faults = noFaults();
    node.phase = 'off';
    this.powerOn(node);
  }

  /**
   * A machine whose every boot goes through its firmware (bare metal): once the disk holds what was
   * pending, `firmware` decides what the node runs (and calls run() when Talos comes up).
   */
  setFirmware(node: SimNode, firmware: (node: SimNode) => void): void {
    this.firmware.set(node.id, firmware);
  }

  private boot(node: SimNode): void {
    const install = node.pendingInstall;
    if (install) {
      node.identity = install.identity;
      node.config = install.config;
      node.version = install.version;
      node.etcdMemberId = undefined;
    }
    node.pendingInstall = undefined;
    if (node.pendingVersion) node.version = node.pendingVersion;
    node.pendingVersion = undefined;
    if (node.stagedConfig) node.config = node.stagedConfig;
    node.stagedConfig = undefined;
    const firmware = this.firmware.get(node.id);
    if (firmware) firmware(node);
    else this.run(node);
  }

  /** Talos comes up on the node with what its disk holds (maintenance mode without a config). */
  run(node: SimNode): void {
    node.boot();
    node.phase = 'running';
    node.changed();
  }

  /** TRY mode: put the previous config back unless another apply confirms before `ms`. */
  scheduleRevert(node: SimNode, previous: SimNode['config'], ms: number): void {
    this.confirm(node);
    this.tryReverts.set(
      node.id,
      this.after(ms, () => {
        this.tryReverts.delete(node.id);
        node.config = previous;
        node.changed();
      }),
    );
  }

  /** A later apply ends a pending TRY. */
  confirm(node: SimNode): void {
    this.cancelTry(node);
  }

  private cancelTry(node: SimNode): void {
    const t = this.tryReverts.get(node.id);
    if (t) {
      clearTimeout(t);
      this.timers.delete(t);
      this.tryReverts.delete(node.id);
    }
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.tryReverts.clear();
  }
}
