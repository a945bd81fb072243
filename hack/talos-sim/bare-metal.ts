// A simulated bare-metal machine: a node of the fleet (its loopback address, where its Talos API
// listens when Talos runs) with an SMBIOS UUID, MACs, an inventory and its own fake Redfish BMC.
// Powered off nothing listens. Every boot goes through its "firmware": a one-time PXE override (or
// no OS on the disk) boots from the network, asking the boot listener's /ipxe as iPXE would, and
// runs what it answers: the boot agent (register, wipe), a Talos Environment (with talos.config:
// fetch /configdata and come up configured; without: maintenance mode), or the disk.
import { FakeRedfish, type RedfishPowerState } from '../bmc-sim/redfish.js';
import { validateConfig } from './apply.js';
import { BootGaveUp, bootRequest, retried, type BootHttpSettings, type BootReply } from './boot-http.js';
import type { SimFleet } from './fleet.js';
import { kernelArg, readIpxeScript, talosConfigURL } from './ipxe-script.js';
import type { Lifecycle } from './lifecycle.js';
import { installationOf } from './maintenance.js';
import { machineFacts, type BareMetalSpec, type MachineFacts } from './metal-inventory.js';
import type { SimNode } from './node.js';

export interface BareMetalSettings extends BootHttpSettings {
  /** the boot listener, `http://host:port`: where the firmware asks /ipxe */
  bootURL: string;
}

export type BootedFrom = 'agent' | 'environment' | 'disk';

export class BareMetalMachine {
  readonly facts: MachineFacts;
  readonly bmc: FakeRedfish;
  /** what the machine booted last */
  booted: BootedFrom | null = null;
  /** why the last boot did not get anywhere (no OS, the listener refused, ...) */
  bootError: string | undefined;
  registrations = 0;
  wipes = 0;
  /** configs fetched from talos.config= */
  configFetches = 0;
  /** the agent's token: held in memory while the agent runs, never shown */
  private token: string | undefined;
  /** bumped by every boot and power-off: steps of an earlier boot then stop */
  private generation = 0;
  /** where the power-on the BMC just did boots */
  private pendingTarget: string | undefined;
  private readonly waits = new Map<NodeJS.Timeout, () => void>();
  /** cuts requests in flight when the simulator stops */
  private readonly inFlight = new AbortController();
  private stopped = false;

  constructor(
    readonly node: SimNode,
    private readonly fleet: SimFleet,
    private readonly lifecycle: Lifecycle,
    private readonly settings: BareMetalSettings,
    spec: BareMetalSpec,
  ) {
    this.facts = machineFacts(spec, node.ip);
    this.bmc = new FakeRedfish(this.facts.bmcUser, this.facts.bmcPass);
  }

  get uuid(): string {
    return this.facts.uuid;
  }

  /** the MAC the firmware boots from, as iPXE's hexhyp prints it */
  private get bootMac(): string {
    return this.facts.macs[0]!.replaceAll(':', '-');
  }

  /** starts the BMC; the machine itself stays off until the BMC powers it on */
  async start(): Promise<void> {
    this.node.phase = 'off';
    this.lifecycle.setFirmware(this.node, () => this.firmware());
    this.bmc.onPower = (power, target) => this.onPower(power, target);
    this.node.on('change', this.follow);
    await this.bmc.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    this.node.off('change', this.follow);
    this.inFlight.abort();
    for (const [t, resolve] of this.waits) {
      clearTimeout(t);
      resolve();
    }
    this.waits.clear();
    await this.bmc.stop();
  }

  /** the BMC reports what the machine does, also when Talos powered it off (a reset without reboot) */
  private readonly follow = () => {
    if (this.node.phase === 'off') {
      this.generation++;
      this.token = undefined;
      this.pendingTarget = undefined;
    }
    this.bmc.power = this.node.phase === 'off' ? 'Off' : 'On';
  };

  private onPower(power: RedfishPowerState, target: string | undefined): void {
    if (power === 'Off') {
      if (this.node.phase !== 'off') this.lifecycle.powerOff(this.node);
      return;
    }
    this.pendingTarget = target;
    this.lifecycle.powerOn(this.node);
  }

  private alive(generation: number): boolean {
    return !this.stopped && generation === this.generation && this.node.phase !== 'off';
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waits.delete(t);
        resolve();
      }, ms);
      this.waits.set(t, resolve);
    });
  }

  /** the firmware, once the lifecycle booted the machine (the disk holds what was pending) */
  private firmware(): void {
    const generation = ++this.generation;
    const target = this.pendingTarget ?? this.bmc.takeBootTarget();
    this.pendingTarget = undefined;
    this.token = undefined;
    this.bootError = undefined;
    this.bootFrom(target, generation).catch((e: unknown) => {
      if (!this.alive(generation)) return;
      this.bootError = e instanceof Error ? e.message : String(e);
      this.node.changed();
    });
  }

  private get installed(): boolean {
    return this.node.identity !== undefined;
  }

  private async bootFrom(target: string, generation: number): Promise<void> {
    if (target !== 'Pxe' && this.installed) return this.fromDisk();
    const base = new URL(this.settings.bootURL);
    const query = new URLSearchParams({ uuid: this.uuid, mac: this.bootMac, arch: 'amd64' });
    const ipxeURL = new URL(`/ipxe?${query.toString()}`, base);
    // an empty 404 is the http-404 way of booting from disk; any other refusal iPXE tries again
    const reply = await this.retried(generation, 'GET /ipxe', 'GET', ipxeURL, (r) => r.status === 200 || isEmpty404(r));
    if (!reply) return;
    if (isEmpty404(reply)) return this.fromDisk();
    const boot = readIpxeScript(reply.text);
    if (boot.kind === 'disk') return this.fromDisk();
    for (const file of [boot.kernel, ...boot.initrds]) {
      const url = new URL(file, ipxeURL);
      if (!(await this.retried(generation, `GET ${url.pathname}`, 'GET', url, (r) => r.status === 200))) return;
    }
    const agentEndpoint = kernelArg(boot.args, 'sidero.endpoint');
    if (agentEndpoint) return this.agent(generation, new URL(`http://${agentEndpoint}`));
    return this.talos(generation, kernelArg(boot.args, 'talos.config'));
  }

  private retried(
    generation: number,
    what: string,
    method: string,
    url: URL,
    done: (r: BootReply) => boolean,
    body?: unknown,
  ): Promise<BootReply | undefined> {
    return retried(
      this.settings,
      what,
      () => bootRequest(this.node.ip, url, method, this.settings.timeoutMs, body, this.token, this.inFlight.signal),
      done,
      () => this.alive(generation),
      (ms) => this.wait(ms),
    );
  }

  private fromDisk(): void {
    this.booted = 'disk';
    if (this.installed) this.lifecycle.run(this.node);
    else {
      this.bootError = 'no operating system on the disk: nothing boots';
      this.node.changed();
    }
  }

  /** the boot agent: registers the machine and, when the Server is not clean, wipes the disk */
  private async agent(generation: number, endpoint: URL): Promise<void> {
    this.booted = 'agent';
    this.node.changed();
    const body = {
      uuid: this.uuid,
      hardware: this.facts.hardware,
      addresses: [{ type: 'InternalIP', address: this.node.ip }],
    };
    const call = (path: string, payload: unknown) =>
      this.retried(generation, `POST ${path}`, 'POST', new URL(path, endpoint), (r) => r.status === 200, payload);
    const registered = await this.retried(
      generation,
      'POST /agent/register',
      'POST',
      new URL('/agent/register', endpoint),
      (r) => r.status === 200 || r.status === 201,
      body,
    );
    if (!registered) return;
    const answer = JSON.parse(registered.text) as { token?: unknown; wipe?: unknown };
    if (typeof answer.token !== 'string') throw new BootGaveUp('/agent/register answered no token');
    this.token = answer.token;
    this.registrations++;
    this.node.changed();
    if (answer.wipe !== true) return;
    if (!(await call('/agent/heartbeat', { uuid: this.uuid }))) return;
    // the disks wiped: nothing is installed any more
    this.node.wipe(this.fleet.opts.version);
    this.wipes++;
    this.node.changed();
    await call('/agent/wipe-done', { uuid: this.uuid });
  }

  /**
   * Talos from the network. A config on the disk wins (as Talos loads it from its STATE
   * partition); else `talos.config=` is fetched and installed; else (none, or empty) maintenance mode.
   */
  private async talos(generation: number, configArg: string | undefined): Promise<void> {
    this.booted = 'environment';
    if (!this.installed && configArg) {
      const url = talosConfigURL(configArg, this.uuid, this.facts.macs[0]!);
      const reply = await this.retried(generation, `GET ${url.pathname}`, 'GET', url, (r) => r.status === 200);
      if (!reply) return;
      const data = Buffer.from(reply.text, 'utf8');
      validateConfig(data, undefined);
      const install = await installationOf(this.node, this.fleet, data, 'AUTO');
      if (!this.alive(generation)) return;
      this.node.identity = install.identity;
      this.node.config = install.config;
      this.node.version = install.version;
      this.node.etcdMemberId = undefined;
      this.configFetches++;
    }
    this.lifecycle.run(this.node);
  }

  /** what GET /state shows of the machine (never the token) */
  snapshot(): Record<string, unknown> {
    const port = this.bmc.url ? Number(new URL(this.bmc.url).port) : null;
    return {
      id: this.node.id,
      uuid: this.uuid,
      address: this.node.ip,
      macs: this.facts.macs,
      power: this.node.phase === 'off' ? 'off' : 'on',
      bmc: { url: this.bmc.url, address: '127.0.0.1', port, user: this.facts.bmcUser, pass: this.facts.bmcPass },
      bootOverride: { ...this.bmc.boot },
      booted: this.booted,
      tokenHeld: this.token !== undefined,
      registrations: this.registrations,
      wipes: this.wipes,
      configFetches: this.configFetches,
      installed: this.installed,
      talos: this.node.up && this.node.listening ? (this.installed ? 'configured' : 'maintenance') : null,
      bootError: this.bootError ?? null,
      hardware: this.facts.hardware,
    };
  }
}

function isEmpty404(r: BootReply): boolean {
  return r.status === 404 && r.bytes === 0;
}
