// Sidero's own plain HTTP power API (the QEMU test rigs' `managementApi.endpoint`): POST /poweron,
// /poweroff, /reboot and /pxeboot, no credentials, and no way to ask the power state.
import { failureOf, httpExchange, type HttpTarget } from './http.js';
import type { PowerControl, PowerState } from './power.js';

export class ManagementAPIPower implements PowerControl {
  constructor(private readonly target: HttpTarget) {}

  /** the API has no status call */
  state(): Promise<PowerState> {
    return Promise.resolve('unknown');
  }

  powerOn(): Promise<void> {
    return this.post('/poweron');
  }

  powerOff(): Promise<void> {
    return this.post('/poweroff');
  }

  powerCycle(): Promise<void> {
    return this.post('/reboot');
  }

  pxeBootOnce(): Promise<void> {
    return this.post('/pxeboot');
  }

  private async post(path: string): Promise<void> {
    const reply = await httpExchange(this.target, 'POST', path);
    const failure = failureOf(reply, this.target.what, `POST ${path}`);
    if (failure) throw failure;
  }
}
