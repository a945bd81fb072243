// A small Redfish service for tests and the simulator: one ComputerSystem with a power state and a
// boot override, basic auth, the ComputerSystem.Reset action, and a record of every call. Each boot
// (a power-on or restart) consumes a one-time override, so "PXE once, then disk" can be observed in
// `boots`. Listens on 127.0.0.1, port 0.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTLSServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { recordedBody } from './requestbody.js';

export type RedfishPowerState = 'On' | 'Off';

export interface RedfishCall {
  method: string;
  path: string;
  body: unknown;
  /** the request carried the right basic-auth credentials */
  authorized: boolean;
}

export interface RedfishBoot {
  BootSourceOverrideTarget: string;
  BootSourceOverrideEnabled: 'Disabled' | 'Once' | 'Continuous';
  BootSourceOverrideMode: 'UEFI' | 'Legacy';
}

const SYSTEM = '/redfish/v1/Systems/node-1';
const RESET = `${SYSTEM}/Actions/ComputerSystem.Reset`;
const RESET_TYPES = ['On', 'ForceOff', 'ForceRestart', 'GracefulShutdown', 'GracefulRestart', 'PowerCycle'];
const TARGETS = ['None', 'Pxe', 'Hdd', 'Cd', 'Usb', 'BiosSetup'];

export class FakeRedfish {
  readonly calls: RedfishCall[] = [];
  power: RedfishPowerState = 'Off';
  boot: RedfishBoot = {
    BootSourceOverrideTarget: 'None',
    BootSourceOverrideEnabled: 'Disabled',
    BootSourceOverrideMode: 'UEFI',
  };
  /** where each boot went: the override's target, or Hdd */
  readonly boots: string[] = [];
  /** told of every power change, e.g. by a simulator that boots the machine */
  onPower?: (power: RedfishPowerState, bootTarget?: string) => void;
  url = '';
  private server?: Server;

  constructor(
    readonly user = 'admin',
    readonly pass = 'redfish-secret',
  ) {}

  /** serves HTTPS with `tls` (as BMCs do, mostly with self-signed certificates), else plain HTTP */
  async start(tls?: { certPem: string; keyPem: string }): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = tls ? createTLSServer({ cert: tls.certPem, key: tls.keyPem }, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  callsTo(method: string, path: string): RedfishCall[] {
    return this.calls.filter((c) => c.method === method && c.path === path && c.authorized);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    void recordedBody(req).then((body) => {
      const expected = `Basic ${Buffer.from(`${this.user}:${this.pass}`).toString('base64')}`;
      const authorized = req.headers.authorization === expected;
      const path = (req.url ?? '').split('?')[0]!.replace(/\/$/, '');
      this.calls.push({ method: req.method ?? '', path, body, authorized });
      const send = (code: number, value: unknown) => {
        res.writeHead(code, {
          'Content-Type': 'application/json',
          ...(code === 401 ? { 'WWW-Authenticate': 'Basic realm="fake"' } : {}),
        });
        res.end(value === undefined ? undefined : JSON.stringify(value));
      };
      if (path !== '/redfish/v1' && !authorized)
        return send(401, redfishError('Base.1.0.AccessDenied', 'bad credentials'));
      this.route(req.method ?? '', path, body, send);
    });
  }

  private route(method: string, path: string, body: unknown, send: (code: number, value: unknown) => void): void {
    if (method === 'GET' && path === '/redfish/v1')
      return send(200, { '@odata.id': '/redfish/v1', Systems: { '@odata.id': '/redfish/v1/Systems' } });
    if (method === 'GET' && path === '/redfish/v1/Systems')
      return send(200, {
        '@odata.id': '/redfish/v1/Systems',
        'Members@odata.count': 1,
        Members: [{ '@odata.id': SYSTEM }],
      });
    if (method === 'GET' && path === SYSTEM) return send(200, this.system());
    if (method === 'PATCH' && path === SYSTEM) {
      const boot = (body as { Boot?: Partial<RedfishBoot> } | undefined)?.Boot;
      if (!boot || typeof boot !== 'object')
        return send(400, redfishError('Base.1.0.PropertyMissing', 'Boot is missing'));
      if (boot.BootSourceOverrideTarget !== undefined && !TARGETS.includes(boot.BootSourceOverrideTarget))
        return send(400, redfishError('Base.1.0.PropertyValueNotInList', 'BootSourceOverrideTarget'));
      if (
        boot.BootSourceOverrideEnabled !== undefined &&
        !['Disabled', 'Once', 'Continuous'].includes(boot.BootSourceOverrideEnabled)
      )
        return send(400, redfishError('Base.1.0.PropertyValueNotInList', 'BootSourceOverrideEnabled'));
      if (boot.BootSourceOverrideMode !== undefined && !['UEFI', 'Legacy'].includes(boot.BootSourceOverrideMode))
        return send(400, redfishError('Base.1.0.PropertyValueNotInList', 'BootSourceOverrideMode'));
      this.boot = { ...this.boot, ...boot };
      return send(204, undefined);
    }
    if (method === 'POST' && path === RESET) {
      const type = (body as { ResetType?: string } | undefined)?.ResetType;
      if (!type || !RESET_TYPES.includes(type))
        return send(400, redfishError('Base.1.0.ActionParameterNotSupported', `ResetType ${String(type)}`));
      if (type === 'On' || type === 'PowerCycle' || type === 'ForceRestart' || type === 'GracefulRestart') {
        if (type === 'On' && this.power === 'On')
          return send(409, redfishError('Base.1.0.PropertyValueConflict', 'already on'));
        this.setPower('Off');
        this.setPower('On');
      } else this.setPower('Off');
      return send(204, undefined);
    }
    send(404, redfishError('Base.1.0.ResourceMissingAtURI', path));
  }

  /** a boot takes the one-time override (and clears it) or goes to disk */
  private setPower(power: RedfishPowerState): void {
    if (power === this.power) return;
    this.power = power;
    const target = power === 'On' ? this.takeBootTarget() : undefined;
    this.onPower?.(power, target);
  }

  /**
   * Where a boot goes: the override's target (a one-time one is used up), else Hdd. Power-ons call
   * it; so does a machine that reboots by itself (a warm reboot honours the override too).
   */
  takeBootTarget(): string {
    const override =
      this.boot.BootSourceOverrideEnabled !== 'Disabled' && this.boot.BootSourceOverrideTarget !== 'None';
    const target = override ? this.boot.BootSourceOverrideTarget : 'Hdd';
    if (this.boot.BootSourceOverrideEnabled === 'Once')
      this.boot = { ...this.boot, BootSourceOverrideEnabled: 'Disabled' };
    this.boots.push(target);
    return target;
  }

  private system(): unknown {
    return {
      '@odata.id': SYSTEM,
      Id: 'node-1',
      PowerState: this.power,
      Boot: { ...this.boot, 'BootSourceOverrideTarget@Redfish.AllowableValues': TARGETS },
      Actions: { '#ComputerSystem.Reset': { target: RESET, 'ResetType@Redfish.AllowableValues': RESET_TYPES } },
    };
  }
}

function redfishError(code: string, message: string): unknown {
  return { error: { code, message, '@Message.ExtendedInfo': [{ MessageId: code, Message: message }] } };
}
