// One suite, three implementations of PowerControl (the Hono/tRPC way: one interface, one suite):
// IPMI through ipmitool against OpenIPMI's ipmi_sim, Redfish against a fake Redfish service, and
// Sidero's HTTP power API against a fake of it. Each is reached through powerFor() from a Server
// object, its credentials from Secrets, as the controllers will reach it.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/api/server.js';
import { PowerError, type PowerControl, type PowerFailure } from '../../src/power/power.js';
import { powerFor, type PowerOptions } from '../../src/power/select.js';
import { OutboundAllowList } from '../../src/talos/outbound.js';
import { FakePowerAPI } from '../../hack/bmc-sim/power-api.js';
import { FakeRedfish } from '../../hack/bmc-sim/redfish.js';
import { IPMISim, ipmiToolsMissing } from '../../hack/bmc-sim/ipmi-sim.js';
import { createCA, issueCertificate } from '../../src/pki/devca.js';

const LOOPBACK = OutboundAllowList.parse('127.0.0.0/8,::1/128');
/** a working call's deadline: roomy on a busy machine; the dead-endpoint cases set their own small one */
const TIMEOUT_MS = 10_000;
const options = (o: Partial<PowerOptions> = {}): PowerOptions => ({
  allowList: LOOPBACK,
  timeoutMs: TIMEOUT_MS,
  tlsVerify: true,
  // ipmi_sim does not answer Get Channel Cipher Suites: ipmitool would wait out a try for it on every call
  ipmiCipherSuite: 3,
  ...o,
});

/** Secrets as the SecretStore hands them out (decoded), keyed `namespace/name` */
const secretData = new Map<string, Record<string, string>>();
const secrets = { get: (ns: string, name: string) => Promise.resolve(secretData.get(`${ns}/${name}`)) };
const ref = (name: string, key: string) => ({ secretKeyRef: { namespace: 'default', name, key } });

async function failure(p: Promise<unknown>): Promise<PowerError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PowerError);
    return e as PowerError;
  }
  throw new Error('the call succeeded');
}

/** bounded wait on a condition the fake or simulator reports */
async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Rig {
  name: string;
  /** why it cannot run here (tools missing), or undefined */
  missing?: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** a Server whose power goes to the rig; `endpoint` overrides where, `secret` which credentials */
  server(o?: { endpoint?: string; secret?: string }): Server;
  /** whether state() can tell (Sidero's HTTP API cannot) */
  reportsState: boolean;
  power(): 'on' | 'off';
  setPower(p: 'on' | 'off'): void;
  /** the machine was power-cycled (off, then on again) */
  cycled(): boolean;
  /** the next boot (only) is set to go to the network */
  pxeOnce(): boolean;
  /** how many requests reached the rig so far */
  traffic(): number;
  /** makes the rig refuse the credentials the server presents; returns the server to call with */
  wrongCredentials(): Server;
  restoreCredentials(): void;
}

function serverObject(name: string, spec: Server['spec']): Server {
  return { apiVersion: 'metal.sidero.dev/v1alpha2', kind: 'Server', metadata: { name }, spec } as Server;
}

function redfishRig(): Rig {
  const fake = new FakeRedfish('admin', 'redfish-pass');
  secretData.set('default/redfish-bmc', { user: 'admin', pass: 'redfish-pass' });
  secretData.set('default/redfish-wrong', { user: 'admin', pass: 'not-the-pass' });
  let restarts = 0;
  return {
    name: 'Redfish',
    start: async () => {
      await fake.start();
      fake.onPower = (p) => {
        if (p === 'On') restarts++;
      };
    },
    stop: () => fake.stop(),
    server: (o = {}) =>
      serverObject('redfish-node', {
        accepted: true,
        pxeMode: 'uefi',
        bmc: {
          protocol: 'redfish',
          endpoint: o.endpoint ?? fake.url,
          userFrom: ref(o.secret ?? 'redfish-bmc', 'user'),
          passFrom: ref(o.secret ?? 'redfish-bmc', 'pass'),
        },
      }),
    reportsState: true,
    power: () => (fake.power === 'On' ? 'on' : 'off'),
    setPower: (p) => (fake.power = p === 'on' ? 'On' : 'Off'),
    cycled: () =>
      fake
        .callsTo('POST', '/redfish/v1/Systems/node-1/Actions/ComputerSystem.Reset')
        .some((c) => (c.body as { ResetType: string }).ResetType === 'ForceRestart') &&
      restarts > 0 &&
      fake.power === 'On',
    pxeOnce: () =>
      fake.boot.BootSourceOverrideTarget === 'Pxe' &&
      fake.boot.BootSourceOverrideEnabled === 'Once' &&
      fake.boot.BootSourceOverrideMode === 'UEFI',
    traffic: () => fake.calls.length,
    wrongCredentials() {
      return this.server({ secret: 'redfish-wrong' });
    },
    restoreCredentials: () => undefined,
  };
}

function powerAPIRig(): Rig {
  const fake = new FakePowerAPI();
  return {
    name: "Sidero's HTTP power API",
    start: async () => {
      await fake.start();
    },
    stop: () => fake.stop(),
    server: (o = {}) =>
      serverObject('api-node', { accepted: true, managementApi: { endpoint: o.endpoint ?? fake.endpoint } }),
    reportsState: false,
    power: () => fake.power,
    setPower: (p) => (fake.power = p),
    cycled: () => fake.calls.includes('POST /reboot') && fake.power === 'on',
    pxeOnce: () => fake.calls.includes('POST /pxeboot') && fake.pxeNext,
    traffic: () => fake.calls.length,
    // the API has no credentials of its own: an auth proxy in front of it answers 401
    wrongCredentials() {
      fake.failWith = 401;
      return this.server();
    },
    restoreCredentials: () => {
      fake.failWith = undefined;
    },
  };
}

function ipmiRig(): Rig {
  const missing = ipmiToolsMissing();
  let sim: IPMISim | undefined;
  secretData.set('default/ipmi-bmc', { user: 'admin', pass: 'ipmi-pass' });
  secretData.set('default/ipmi-wrong', { user: 'admin', pass: 'not-the-pass' });
  return {
    name: 'IPMI (ipmitool, ipmi_sim)',
    ...(missing ? { missing } : {}),
    start: async () => {
      sim = await new IPMISim('admin', 'ipmi-pass').start();
    },
    stop: async () => {
      await sim?.dispose();
    },
    server: (o = {}) =>
      serverObject('ipmi-node', {
        accepted: true,
        pxeMode: 'uefi',
        bmc: {
          endpoint: o.endpoint ?? '127.0.0.1',
          ...(o.endpoint ? {} : { port: sim!.port }),
          userFrom: ref(o.secret ?? 'ipmi-bmc', 'user'),
          passFrom: ref(o.secret ?? 'ipmi-bmc', 'pass'),
        },
      }),
    reportsState: true,
    power: () => sim!.power(),
    setPower: (p) => sim!.setPower(p),
    // ipmi_sim powers off at once and on again a second later
    cycled: () => {
      const log = sim!.log();
      const off = log.indexOf('power 0');
      return off >= 0 && log.indexOf('power 1', off) > off && sim!.power() === 'on';
    },
    pxeOnce: () => sim!.log().includes('boot pxe'),
    traffic: () => sim!.log().length,
    wrongCredentials() {
      return this.server({ secret: 'ipmi-wrong' });
    },
    restoreCredentials: () => undefined,
  };
}

/** a TCP port on 127.0.0.1 that accepts connections and never answers */
async function silentListener(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: NetServer = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** a loopback TCP port nothing listens on */
async function closedPort(): Promise<number> {
  const s = await silentListener();
  await s.close();
  return s.port;
}

const rigs = [ipmiRig(), redfishRig(), powerAPIRig()];

describe.each(rigs)('PowerControl: $name', (rig) => {
  if (rig.missing) {
    // as the etcd tests: a tool the suite needs and cannot find fails, here and in CI (which installs it)
    it('has its tools installed (apt-get install -y ipmitool openipmi)', () => {
      throw new Error(`${rig.name}: ${rig.missing}`);
    });
    return;
  }
  let power: PowerControl;
  beforeAll(async () => {
    await rig.start();
    power = await powerFor(rig.server(), secrets, options());
  });
  afterAll(() => rig.stop());

  it('reports the power state the machine is in', async () => {
    rig.setPower('off');
    expect(await power.state()).toBe(rig.reportsState ? 'off' : 'unknown');
    rig.setPower('on');
    expect(await power.state()).toBe(rig.reportsState ? 'on' : 'unknown');
  });

  it('powers the machine on and off', async () => {
    rig.setPower('off');
    await power.powerOn();
    expect(rig.power()).toBe('on');
    if (rig.reportsState) expect(await power.state()).toBe('on');
    await power.powerOff();
    expect(rig.power()).toBe('off');
    if (rig.reportsState) expect(await power.state()).toBe('off');
  });

  it('power-cycles a machine that is on', async () => {
    rig.setPower('on');
    await power.powerCycle();
    await until('the cycle to be seen', () => rig.cycled());
  });

  it('sets the next boot (only) to PXE', async () => {
    await power.pxeBootOnce();
    expect(rig.pxeOnce()).toBe(true);
  });

  it('says Unauthorized for credentials the BMC refuses', async () => {
    try {
      const wrong = await powerFor(rig.wrongCredentials(), secrets, options());
      expect((await failure(wrong.powerOn())).failure).toBe('Unauthorized');
    } finally {
      rig.restoreCredentials();
    }
  });

  it('says Unreachable or Timeout for a dead endpoint, within its timeout option', async () => {
    const port = await closedPort();
    const endpoint = rig.name.startsWith('IPMI') ? undefined : `127.0.0.1:${port}`;
    const server = endpoint
      ? rig.server({ endpoint: rig.name === 'Redfish' ? `http://${endpoint}` : endpoint })
      : { ...rig.server(), spec: { ...rig.server().spec!, bmc: { ...rig.server().spec!.bmc!, port } } };
    const dead = await powerFor(server as Server, secrets, options({ timeoutMs: 500 }));
    expect(['Unreachable', 'Timeout'] as PowerFailure[]).toContain((await failure(dead.powerOn())).failure);
  });

  it('refuses an address outside the outbound allow-list without sending anything', async () => {
    const before = rig.traffic();
    const elsewhere = await powerFor(
      rig.server(),
      secrets,
      options({ allowList: OutboundAllowList.parse('10.0.0.0/8') }),
    );
    const e = await failure(elsewhere.powerOn());
    expect(e.failure).toBe('Refused');
    expect(e.message).toContain('--allowed-outbound-networks');
    expect(rig.traffic()).toBe(before);
  });
});

describe('HTTP power calls time out at their deadline', () => {
  it.each(['redfish', 'api'] as const)('%s: an endpoint that accepts and never answers is a Timeout', async (kind) => {
    const silent = await silentListener();
    try {
      const server =
        kind === 'redfish'
          ? serverObject('silent', {
              accepted: true,
              bmc: {
                protocol: 'redfish',
                endpoint: `http://127.0.0.1:${silent.port}`,
                userFrom: ref('redfish-bmc', 'user'),
                passFrom: ref('redfish-bmc', 'pass'),
              },
            })
          : serverObject('silent', { accepted: true, managementApi: { endpoint: `127.0.0.1:${silent.port}` } });
      const p = await powerFor(server, secrets, options({ timeoutMs: 200 }));
      const e = await failure(p.powerOff());
      expect(e.failure).toBe('Timeout');
      expect(e.message).toContain('200 ms');
    } finally {
      await silent.close();
    }
  });
});

describe("ipmitool's command line (a recording stand-in for ipmitool)", () => {
  let dir: string;
  let tool: string;
  const server = (pxeMode: 'uefi' | 'bios' = 'uefi') =>
    serverObject('ipmi-args', {
      accepted: true,
      pxeMode,
      bmc: { endpoint: '127.0.0.1', userFrom: ref('ipmi-bmc', 'user'), passFrom: ref('ipmi-bmc', 'pass') },
    });
  const recorded = (name: string) => readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fake-ipmitool-'));
    tool = join(dir, 'ipmitool');
    // records its arguments one a line, its environment and the password it was given
    writeFileSync(
      tool,
      [
        '#!/bin/sh',
        `for a in "$@"; do printf '%s\\n' "$a"; done > ${dir}/args`,
        // shell builtins only: the PATH it gets may hold no coreutils
        `export -p > ${dir}/exports`,
        `printf '%s\\n' "$IPMI_PASSWORD" > ${dir}/password`,
        'echo "Chassis Power is on"',
        '',
      ].join('\n'),
    );
    chmodSync(tool, 0o700);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the password in the environment only, never as an argument', async () => {
    const p = await powerFor(server(), secrets, options({ ipmitool: tool }));
    expect(await p.state()).toBe('on');
    const args = recorded('args');
    expect(args.join(' ')).toMatch(/^-I lanplus -H 127\.0\.0\.1 -p 623 -U admin -E .*chassis power status$/);
    expect(args.join(' ')).toContain(' -C 3 ');
    expect(args).not.toContain('ipmi-pass');
    expect(args.some((a) => a.includes('ipmi-pass'))).toBe(false);
    expect(recorded('password')).toEqual(['ipmi-pass']);
    const names = recorded('exports').map((l) => /^export ([A-Za-z_][A-Za-z0-9_]*)/.exec(l)?.[1]);
    // the child's environment is PATH and the password, nothing of the server's own (the shell adds PWD)
    expect(names.filter((n) => n !== 'PWD').sort()).toEqual(['IPMI_PASSWORD', 'PATH']);
  });

  it('asks for an EFI PXE boot in uefi mode and a legacy one in bios mode, once (not persistent)', async () => {
    await (await powerFor(server('uefi'), secrets, options({ ipmitool: tool }))).pxeBootOnce();
    expect(recorded('args').slice(-4)).toEqual(['chassis', 'bootdev', 'pxe', 'options=efiboot']);
    await (await powerFor(server('bios'), secrets, options({ ipmitool: tool }))).pxeBootOnce();
    expect(recorded('args').slice(-3)).toEqual(['chassis', 'bootdev', 'pxe']);
    expect(recorded('args').join(' ')).not.toContain('persistent');
  });

  it('says NotConfigured when ipmitool is not installed', async () => {
    const p = await powerFor(server(), secrets, options({ ipmitool: join(dir, 'no-such-ipmitool') }));
    const e = await failure(p.powerOn());
    expect(e.failure).toBe('NotConfigured');
    expect(e.message).toContain('not installed');
  });

  it('runs no process when the BMC address is outside the allow-list', async () => {
    rmSync(join(dir, 'args'), { force: true });
    const refused = await powerFor(
      server(),
      secrets,
      options({ ipmitool: tool, allowList: OutboundAllowList.parse('192.0.2.0/24') }),
    );
    expect((await failure(refused.state())).failure).toBe('Refused');
    expect(existsSync(join(dir, 'args'))).toBe(false);
  });
});

// ipmi_sim hands its chassis script the boot device but not the once/persistent flag: the once
// semantics are observed where the fakes model boots (the IPMI flag is checked on ipmitool's command line above)
describe('PXE once, then disk', () => {
  it('Redfish: the first boot after pxeBootOnce goes to PXE, the next to disk', async () => {
    const fake = await new FakeRedfish('admin', 'redfish-pass').start();
    try {
      const server = serverObject('redfish-boots', {
        accepted: true,
        bmc: {
          protocol: 'redfish',
          endpoint: fake.url,
          userFrom: ref('redfish-bmc', 'user'),
          passFrom: ref('redfish-bmc', 'pass'),
        },
      });
      const p = await powerFor(server, secrets, options());
      await p.pxeBootOnce();
      await p.powerOn();
      await p.powerCycle();
      expect(fake.boots).toEqual(['Pxe', 'Hdd']);
    } finally {
      await fake.stop();
    }
  });

  it("Sidero's HTTP API: the first boot after pxeBootOnce goes to PXE, the next to disk", async () => {
    const fake = await new FakePowerAPI().start();
    try {
      const p = await powerFor(
        serverObject('api-boots', { accepted: true, managementApi: { endpoint: fake.endpoint } }),
        secrets,
        options(),
      );
      await p.pxeBootOnce();
      await p.powerOn();
      await p.powerCycle();
      expect(fake.boots).toEqual(['pxe', 'disk']);
      expect(fake.calls).toEqual(['POST /pxeboot', 'POST /poweron', 'POST /reboot']);
    } finally {
      await fake.stop();
    }
  });
});

describe('Redfish over HTTPS', () => {
  it("checks the BMC's certificate unless told not to (--bmc-insecure-skip-tls-verify)", async () => {
    const ca = await createCA('self-signed BMC');
    const leaf = await issueCertificate(ca, { subject: 'CN=bmc', usage: 'server', ipAddresses: ['127.0.0.1'] });
    const fake = await new FakeRedfish('admin', 'redfish-pass').start(leaf);
    try {
      expect(fake.url).toMatch(/^https:/);
      const server = serverObject('redfish-tls', {
        accepted: true,
        bmc: {
          protocol: 'redfish',
          endpoint: fake.url,
          userFrom: ref('redfish-bmc', 'user'),
          passFrom: ref('redfish-bmc', 'pass'),
        },
      });
      const checked = await powerFor(server, secrets, options());
      const e = await failure(checked.state());
      expect(e.failure).toBe('Unreachable');
      expect(e.message).toMatch(/certificate/i);
      expect(fake.calls).toEqual([]);
      fake.power = 'On';
      const unchecked = await powerFor(server, secrets, options({ tlsVerify: false }));
      expect(await unchecked.state()).toBe('on');
    } finally {
      await fake.stop();
    }
  });
});
