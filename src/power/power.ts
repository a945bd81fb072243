// Power control of a bare-metal Server: one interface, several implementations (IPMI through
// ipmitool, Redfish over HTTP, Sidero's plain HTTP management API), picked from the Server's spec.
// Controllers depend on this interface only; failures are PowerError values with a reason the
// Server's conditions and Events can show.

export type PowerState = 'on' | 'off' | 'unknown';

export type PowerFailure = 'Unreachable' | 'Unauthorized' | 'Refused' | 'Timeout' | 'NotConfigured';

export class PowerError extends Error {
  override readonly name = 'PowerError';

  constructor(
    readonly failure: PowerFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface PowerControl {
  /** what the BMC says now */
  state(): Promise<PowerState>;
  powerOn(): Promise<void>;
  powerOff(): Promise<void>;
  /** off then on (or a reset), as the BMC does it */
  powerCycle(): Promise<void>;
  /** the next boot (only) goes to the network (PXE); later boots from disk */
  pxeBootOnce(): Promise<void>;
}
