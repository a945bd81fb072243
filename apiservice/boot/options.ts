// The boot listener's flags (--boot-*, --auto-accept-servers, --boot-from-disk-method): off unless
// --boot-port is given.
import { InvalidArgumentError, type Command } from 'commander';
import { BOOT_FROM_DISK_METHODS, type BootFromDiskMethod } from '../../src/boot/ipxe.js';
import { ClientNetworks } from '../../src/boot/networks.js';
import { parseDuration as parseGoDuration } from '../../src/machinery/duration.js';

export interface BootOptions {
  port: number;
  bindAddress: string;
  allowedNetworks?: string;
  /** host:port machines reach the listener at; undefined: the Host they asked for */
  advertiseAddress?: string;
  rateLimit: number;
  rateLimitWindowMs: number;
  bootFromDiskMethod: BootFromDiskMethod;
  autoAcceptServers: boolean;
  registration: boolean;
}

const duration = (v: string) => {
  try {
    return parseGoDuration(v);
  } catch {
    throw new InvalidArgumentError('must be a duration such as 10s, 500ms or 1m');
  }
};

const bool = (v: string) => {
  if (['true', '1', 't', 'True', 'TRUE'].includes(v)) return true;
  if (['false', '0', 'f', 'False', 'FALSE'].includes(v)) return false;
  throw new InvalidArgumentError('must be true or false');
};

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
};

const count = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be 0 or a positive integer');
  return n;
};

export function addBootOptions(cmd: Command): Command {
  return cmd
    .option(
      '--boot-port <port>',
      'plain-HTTP listener for booting machines (iPXE, /configdata, the boot agent); off unless given, 0 picks a free port',
      port,
    )
    .option('--boot-bind-address <ip>', 'address the boot listener listens on', '127.0.0.1')
    .option(
      '--boot-allowed-networks <cidrs>',
      'comma-separated CIDRs boot-listener clients must come from (others get 403); default: any',
    )
    .option(
      '--boot-advertise-address <host:port>',
      'address booting machines reach the boot listener at (default: the Host they asked for)',
    )
    .option(
      '--boot-rate-limit <n>',
      'requests one client address may make per --boot-rate-limit-window (0: no limit)',
      count,
      120,
    )
    .option('--boot-rate-limit-window <duration>', 'window of --boot-rate-limit', duration, 60_000)
    .option(
      '--boot-from-disk-method <method>',
      `how installed servers boot from disk: ${BOOT_FROM_DISK_METHODS.join(', ')}`,
      'ipxe-exit',
    )
    .option('--auto-accept-servers [bool]', 'servers the boot agent registers are accepted at once', bool, false)
    .option(
      '--boot-registration [bool]',
      'the boot agent may register servers (false: registration answers 403)',
      bool,
      true,
    );
}

/** the boot listener's settings from the parsed flags; undefined when it is off */
export function bootOptionsOf(o: Record<string, unknown>): BootOptions | undefined {
  const method = String(o.bootFromDiskMethod);
  if (!(BOOT_FROM_DISK_METHODS as readonly string[]).includes(method))
    throw new InvalidArgumentError(`--boot-from-disk-method: must be one of ${BOOT_FROM_DISK_METHODS.join(', ')}`);
  try {
    ClientNetworks.parse(o.bootAllowedNetworks as string | undefined);
  } catch (e) {
    throw new InvalidArgumentError(`--boot-allowed-networks: ${(e as Error).message}`);
  }
  const advertise = o.bootAdvertiseAddress as string | undefined;
  if (advertise !== undefined && !isHostPort(advertise))
    throw new InvalidArgumentError('--boot-advertise-address must be host:port, e.g. 10.0.0.1:8081');
  if ((o.bootRateLimitWindow as number) <= 0)
    throw new InvalidArgumentError('--boot-rate-limit-window must be more than 0');
  if (o.bootPort === undefined) return undefined;
  return {
    port: o.bootPort as number,
    bindAddress: String(o.bootBindAddress),
    ...(o.bootAllowedNetworks ? { allowedNetworks: String(o.bootAllowedNetworks) } : {}),
    ...(advertise ? { advertiseAddress: advertise } : {}),
    rateLimit: o.bootRateLimit as number,
    rateLimitWindowMs: o.bootRateLimitWindow as number,
    bootFromDiskMethod: method as BootFromDiskMethod,
    autoAcceptServers: !!o.autoAcceptServers,
    registration: !!o.bootRegistration,
  };
}

/** host:port as it may stand in a URL: a DNS name or IPv4, or an IPv6 in brackets */
export function isHostPort(v: string): boolean {
  const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(v);
  return !!m && Number(m[2]) <= 65535;
}
