// The iPXE scripts the boot listener serves: the chain script firmware fetches first, an
// Environment's kernel and initramfs with its arguments, and the boot-from-disk answers. Only
// values checked before they get here (a MAC, an endpoint, Environment arguments an administrator
// wrote) are put into a script.

import { TALOS_DEFAULT_KERNEL_ARGS } from '../api/environment.js';

export type BootFromDiskMethod = 'ipxe-exit' | 'http-404' | 'ipxe-sanboot';
export const BOOT_FROM_DISK_METHODS: readonly BootFromDiskMethod[] = ['ipxe-exit', 'http-404', 'ipxe-sanboot'];

/**
 * Every NIC in turn: wait for link, DHCP, then chain /ipxe with what the firmware knows; the
 * whole round is tried 10 times, then the box reboots (Sidero's embedded script does the same).
 */
export function chainScript(endpoint: string): string {
  const query =
    'uuid=${uuid}&mac=${net${idx}/mac:hexhyp}&domain=${domain}&hostname=${hostname}&serial=${serial}&arch=${buildarch}';
  return [
    '#!ipxe',
    'prompt --key 0x02 --timeout 2000 Press Ctrl-B for the iPXE command line... && shell ||',
    'set attempt:int32 0',
    ':retry',
    'set idx:int32 0',
    ':nic',
    'isset ${net${idx}/mac} || goto exhausted',
    'ifconf --timeout 5000 net${idx} || goto next',
    `chain --autofree http://${endpoint}/ipxe?${query} || goto next`,
    ':next',
    'inc idx',
    'goto nic',
    ':exhausted',
    'inc attempt',
    'iseq ${attempt} 10 || goto retry',
    'echo Boot failed on every interface; rebooting in 5 seconds',
    'sleep 5',
    'reboot',
    '',
  ].join('\n');
}

/** the key of a kernel argument (`console` of `console=ttyS0`, the whole word when it has no `=`) */
const argKey = (arg: string) => arg.split('=', 1)[0]!;

/** `base` with each of `extra` appended unless an argument of the same key is there already */
export function withArgs(base: readonly string[], extra: readonly string[]): string[] {
  const keys = new Set(base.map(argKey));
  return [...base, ...extra.filter((a) => !keys.has(argKey(a)))];
}

/** the script that boots an Environment from this listener's /env/<name>/ files */
export function environmentScript(environment: string, args: readonly string[]): string {
  const env = encodeURIComponent(environment);
  return [
    '#!ipxe',
    `kernel /env/${env}/vmlinuz ${args.join(' ')}`.trimEnd(),
    `initrd /env/${env}/initramfs.xz`,
    'boot',
    '',
  ].join('\n');
}

/** the agent environment's arguments: Talos's defaults, the Environment's own, then Sidero's agent settings */
export function agentArgs(environmentArgs: readonly string[], mac: string, endpoint: string): string[] {
  const own = withArgs(environmentArgs, TALOS_DEFAULT_KERNEL_ARGS);
  // the agent's own settings always win over an Environment's
  const agent = ['console=tty0', 'console=ttyS0', 'initrd=initramfs.xz', 'panic=30'];
  const settings = [...(mac ? [`sidero.mac=${mac}`] : []), `sidero.endpoint=${endpoint}`];
  const keys = new Set(settings.map(argKey));
  return [
    ...withArgs(
      own.filter((a) => !keys.has(argKey(a))),
      agent,
    ),
    ...settings,
  ];
}

/**
 * A Talos environment's arguments: the Environment's own plus where Talos fetches its config. The
 * uuid value is left empty on purpose: Talos's metal platform fills in the node's SMBIOS UUID.
 */
export function talosArgs(environmentArgs: readonly string[], endpoint: string): string[] {
  return withArgs(environmentArgs, [`talos.config=http://${endpoint}/configdata?uuid=`]);
}

/** the body of a boot-from-disk answer; undefined for http-404, whose answer is an empty 404 */
export function bootFromDiskScript(method: BootFromDiskMethod): string | undefined {
  if (method === 'ipxe-exit') return '#!ipxe\nexit\n';
  if (method === 'ipxe-sanboot') return '#!ipxe\nsanboot --no-describe --drive 0x80\n';
  return undefined;
}

const MAC = /^[0-9a-f]{2}([-:])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/** a MAC address as iPXE's `hexhyp` prints it (lower case, hyphens), or undefined when it is not one */
export function normalMac(mac: unknown): string | undefined {
  if (typeof mac !== 'string' || !MAC.test(mac)) return undefined;
  return mac.toLowerCase().replaceAll(':', '-');
}
