// Power over IPMI through `ipmitool` (lanplus by default): `chassis power status|on|off|cycle` and
// `chassis bootdev pxe` for a one-time PXE boot. The password reaches ipmitool in its environment
// (`-E`, IPMI_PASSWORD), never on the command line, where every process listing would show it.
import { execFile } from 'node:child_process';
import type { OutboundAllowList } from '../talos/outbound.js';
import { allowedAddress } from './dial.js';
import { PowerError, type PowerControl, type PowerState } from './power.js';

export const IPMI_INTERFACES = ['lanplus', 'lan'] as const;
export type IPMIInterface = (typeof IPMI_INTERFACES)[number];

export interface IPMITarget {
  host: string;
  port: number;
  interface: IPMIInterface;
  user: string;
  pass: string;
  /** PXE in UEFI firmware (`options=efiboot`) or legacy BIOS */
  pxeMode: 'uefi' | 'bios';
  allowList: OutboundAllowList;
  /** deadline of one ipmitool run; ipmitool's own retries are fitted inside it */
  timeoutMs: number;
  /** the ipmitool binary (default: `ipmitool` on PATH) */
  ipmitool?: string;
  /** lanplus cipher suite (`-C`); unset: ipmitool asks the BMC for the best one */
  cipherSuite?: number;
}

// ipmitool's messages (with -v) for credentials the BMC does not take, and for a BMC that does not answer
const UNAUTHORIZED =
  /RAKP \d+ HMAC is invalid|RAKP \d+ message indicates an error|unauthorized name|Invalid user name|Activate Session command failed|insufficient privilege|password (is )?invalid/i;
const UNREACHABLE =
  /Get Auth Capabilities|No response from remote controller|Unable to establish .*session|Connection refused|Address family not supported|Network is unreachable/i;

export class IPMIPower implements PowerControl {
  constructor(private readonly target: IPMITarget) {}

  async state(): Promise<PowerState> {
    const out = await this.run(['chassis', 'power', 'status']);
    const m = /Chassis Power is (on|off)/i.exec(out);
    return m ? (m[1]!.toLowerCase() as PowerState) : 'unknown';
  }

  async powerOn(): Promise<void> {
    await this.run(['chassis', 'power', 'on']);
  }

  async powerOff(): Promise<void> {
    await this.run(['chassis', 'power', 'off']);
  }

  async powerCycle(): Promise<void> {
    // a BMC refuses to cycle a chassis that is off; off then on is just on
    if ((await this.state()) === 'off') await this.powerOn();
    else await this.run(['chassis', 'power', 'cycle']);
  }

  async pxeBootOnce(): Promise<void> {
    // without options=persistent the boot flags hold for the next boot only
    await this.run(['chassis', 'bootdev', 'pxe', ...(this.target.pxeMode === 'uefi' ? ['options=efiboot'] : [])]);
  }

  private async run(command: string[]): Promise<string> {
    const t = this.target;
    const address = await allowedAddress(t.host, t.allowList, 'BMC');
    // ipmitool waits -N seconds per try and tries -R times; the run as a whole is bounded by timeoutMs
    const perTry = Math.max(1, Math.floor(t.timeoutMs / 2000));
    const args = [
      '-I',
      t.interface,
      '-H',
      address,
      '-p',
      String(t.port),
      '-U',
      t.user,
      '-E',
      '-N',
      String(perTry),
      '-R',
      '1',
      '-v',
      ...(t.cipherSuite !== undefined && t.interface === 'lanplus' ? ['-C', String(t.cipherSuite)] : []),
      ...command,
    ];
    const what = `ipmitool ${command.join(' ')} (BMC ${address}:${t.port})`;
    return new Promise<string>((resolve, reject) => {
      execFile(
        t.ipmitool ?? 'ipmitool',
        args,
        {
          timeout: t.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 1024 * 1024,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', IPMI_PASSWORD: t.pass },
        },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const e = error as NodeJS.ErrnoException & { killed?: boolean };
          if (e.code === 'ENOENT')
            return reject(
              new PowerError('NotConfigured', `${t.ipmitool ?? 'ipmitool'} is not installed (not on PATH)`),
            );
          if (e.killed) return reject(new PowerError('Timeout', `${what}: no answer within ${t.timeoutMs} ms`));
          const said = lastLines(`${stderr}\n${stdout}`);
          if (UNAUTHORIZED.test(stderr)) return reject(new PowerError('Unauthorized', `${what}: ${said}`));
          if (UNREACHABLE.test(stderr)) return reject(new PowerError('Unreachable', `${what}: ${said}`));
          reject(new PowerError('Refused', `${what}: ${said}`));
        },
      );
    });
  }
}

/** what ipmitool said last, without its -v chatter */
function lastLines(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Loading IANA PEN Registry/.test(l));
  return lines.slice(-3).join('; ') || 'ipmitool failed without a message';
}
