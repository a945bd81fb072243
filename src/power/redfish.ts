// Power through a Redfish service (DMTF DSP0266): the first ComputerSystem of /redfish/v1/Systems,
// its PowerState, the ComputerSystem.Reset action (On, ForceOff, ForceRestart) and a one-time boot
// override to PXE. Basic auth on every request, so no session has to be kept or logged out.
import { failureOf, httpExchange, type HttpTarget } from './http.js';
import { PowerError, type PowerControl, type PowerState } from './power.js';

interface ComputerSystem {
  PowerState?: string;
  Actions?: Record<string, { target?: string } | undefined>;
}

export class RedfishPower implements PowerControl {
  private systemPath: string | undefined;

  constructor(
    private readonly target: HttpTarget,
    /** the boot firmware PXE runs in: sets BootSourceOverrideMode UEFI or Legacy */
    private readonly pxeMode: 'uefi' | 'bios' = 'uefi',
  ) {}

  async state(): Promise<PowerState> {
    return stateOf((await this.system()).body.PowerState);
  }

  async powerOn(): Promise<void> {
    const system = await this.system();
    // a BMC may refuse On for a system that is on (409); on is on
    if (stateOf(system.body.PowerState) === 'on') return;
    await this.reset(system, 'On');
  }

  async powerOff(): Promise<void> {
    const system = await this.system();
    if (stateOf(system.body.PowerState) === 'off') return;
    await this.reset(system, 'ForceOff');
  }

  async powerCycle(): Promise<void> {
    const system = await this.system();
    // ForceRestart of a system that is off is refused by many BMCs: off then on is just on
    await this.reset(system, stateOf(system.body.PowerState) === 'off' ? 'On' : 'ForceRestart');
  }

  async pxeBootOnce(): Promise<void> {
    const { path } = await this.system();
    const boot = {
      BootSourceOverrideTarget: 'Pxe',
      BootSourceOverrideEnabled: 'Once',
      BootSourceOverrideMode: this.pxeMode === 'bios' ? 'Legacy' : 'UEFI',
    };
    await this.call('PATCH', path, { Boot: boot });
  }

  private async reset(system: { path: string; body: ComputerSystem }, resetType: string): Promise<void> {
    const action = system.body.Actions?.['#ComputerSystem.Reset']?.target;
    const target =
      typeof action === 'string' && action.startsWith('/') ? action : `${system.path}/Actions/ComputerSystem.Reset`;
    await this.call('POST', target, { ResetType: resetType });
  }

  /** the ComputerSystem this BMC manages: the first member of the Systems collection */
  private async system(): Promise<{ path: string; body: ComputerSystem }> {
    if (!this.systemPath) {
      const systems = (await this.call('GET', '/redfish/v1/Systems')) as { Members?: { '@odata.id'?: unknown }[] };
      const first = Array.isArray(systems?.Members) ? systems.Members[0]?.['@odata.id'] : undefined;
      if (typeof first !== 'string' || !first.startsWith('/'))
        throw new PowerError('Refused', `${this.target.what}: /redfish/v1/Systems lists no ComputerSystem`);
      this.systemPath = first.replace(/\/$/, '');
    }
    const body = (await this.call('GET', this.systemPath)) as ComputerSystem;
    return { path: this.systemPath, body: body && typeof body === 'object' ? body : {} };
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const reply = await httpExchange(this.target, method, path, body);
    const failure = failureOf(reply, this.target.what, `${method} ${path}`);
    if (failure) throw failure;
    if (!reply.body) return undefined;
    try {
      return JSON.parse(reply.body) as unknown;
    } catch {
      if (method === 'GET') throw new PowerError('Refused', `${this.target.what} GET ${path}: the reply is not JSON`);
      return undefined;
    }
  }
}

/** PoweringOn counts as on and PoweringOff as off: where the system is headed */
function stateOf(powerState: string | undefined): PowerState {
  if (powerState === 'On' || powerState === 'PoweringOn') return 'on';
  if (powerState === 'Off' || powerState === 'PoweringOff') return 'off';
  return 'unknown';
}
