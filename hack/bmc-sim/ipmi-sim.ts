// OpenIPMI's `ipmi_sim` (Debian's openipmi package) as a BMC on 127.0.0.1 for tests: a LAN channel on
// a free UDP port, one admin user, and a chassis-control script of ours that keeps the machine's power
// and boot device in files of a temp dir, so tests see what `ipmitool` made the BMC do. Started as a
// child process and stopped by its PID.
//
// Where ipmitool or ipmi_sim is missing: under CI=true the tests fail (.ci/run installs both);
// elsewhere they are skipped with a test whose name says so, and a warning on the console.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** the path of `name` on PATH, or undefined */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** why the IPMI tests cannot run here, or undefined when they can */
export function ipmiToolsMissing(): string | undefined {
  const missing = ['ipmitool', 'ipmi_sim'].filter((n) => !onPath(n));
  return missing.length
    ? `${missing.join(' and ')} not on PATH (Debian: apt-get install ipmitool openipmi)`
    : undefined;
}

// ipmi_sim runs `<script> <dir> get power` (answer `power:<0|1>`) and `<script> <dir> set power "<0|1>"`,
// `set boot "pxe"` ...; each set is appended to <dir>/log, the last value of each name kept in <dir>/<name>
const CHASSIS_SCRIPT = `#!/bin/sh
dir="$1"
op="$2"
shift 2
case "$op" in
get)
  for name in "$@"; do
    case "$name" in
      power) echo "power:$(cat "$dir/power" 2>/dev/null || echo 0)" ;;
      boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo none)" ;;
      *) exit 1 ;;
    esac
  done
  ;;
set)
  while [ "$#" -ge 2 ]; do
    case "$1" in power|boot|reset|shutdown) ;; *) exit 1 ;; esac
    printf '%s %s\\n' "$1" "$2" >> "$dir/log"
    printf '%s\\n' "$2" > "$dir/$1"
    shift 2
  done
  ;;
*) exit 1 ;;
esac
`;

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** whether a UDP socket is bound to 127.0.0.1:port (from /proc/net/udp) */
function udpBound(port: number): boolean {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .some((line) => line.trim().split(/\s+/)[1] === hex);
}

export class IPMISim {
  port = 0;
  readonly dir: string;
  private child?: ChildProcess;
  private output = '';

  constructor(
    readonly user = 'admin',
    readonly pass = 'ipmi-secret',
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'ipmi-sim-'));
  }

  async start(): Promise<this> {
    const script = join(this.dir, 'chassis.sh');
    writeFileSync(script, CHASSIS_SCRIPT);
    chmodSync(script, 0o700);
    writeFileSync(join(this.dir, 'power'), '0\n');
    writeFileSync(
      join(this.dir, 'cmd.conf'),
      ['mc_setbmc 0x20', 'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02', 'mc_enable 0x20', ''].join('\n'),
    );
    // the port is found free and then taken by ipmi_sim: another process may win it in between, so try again
    for (let attempt = 1; ; attempt++) {
      this.port = await freeUdpPort();
      this.writeLanConf(script);
      if (await this.launch()) return this;
      if (attempt === 3) throw new Error(`ipmi_sim did not start on 127.0.0.1:${this.port}: ${this.output}`);
    }
  }

  private writeLanConf(script: string): void {
    const auths = 'none md2 md5 straight';
    writeFileSync(
      join(this.dir, 'lan.conf'),
      [
        'name "fleet-test-bmc"',
        'set_working_mc 0x20',
        'startlan 1',
        `  addr 127.0.0.1 ${this.port}`,
        '  priv_limit admin',
        `  allowed_auths_callback ${auths}`,
        `  allowed_auths_user ${auths}`,
        `  allowed_auths_operator ${auths}`,
        `  allowed_auths_admin ${auths}`,
        '  guid a1b2c3d4e5f60718293a4b5c6d7e8f90',
        'endlan',
        `chassis_control "${script} ${this.dir}"`,
        `user 2 true "${this.user}" "${this.pass}" admin 10 ${auths}`,
        '',
      ].join('\n'),
    );
  }

  /** starts ipmi_sim and waits (bounded) until its port is bound; false when it exited first */
  private async launch(): Promise<boolean> {
    const state = join(this.dir, 'state');
    // ipmi_sim keeps users and LAN settings here between runs: each run starts from lan.conf
    rmSync(state, { recursive: true, force: true });
    mkdirSync(state);
    this.output = '';
    const child = spawn(
      'ipmi_sim',
      ['-c', join(this.dir, 'lan.conf'), '-f', join(this.dir, 'cmd.conf'), '-s', state, '-n'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (this.output += c.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    for (let i = 0; i < 200 && !exited; i++) {
      if (udpBound(this.port)) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!exited) await this.stop();
    return false;
  }

  /** the chassis power as the BMC last set it */
  power(): 'on' | 'off' {
    return readFileSync(join(this.dir, 'power'), 'utf8').trim() === '1' ? 'on' : 'off';
  }

  setPower(power: 'on' | 'off'): void {
    writeFileSync(join(this.dir, 'power'), power === 'on' ? '1\n' : '0\n');
  }

  /** every chassis setting the BMC made, in order: `power 1`, `power 0`, `boot pxe` */
  log(): string[] {
    const file = join(this.dir, 'log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  }

  clearLog(): void {
    rmSync(join(this.dir, 'log'), { force: true });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGTERM');
    await gone;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
