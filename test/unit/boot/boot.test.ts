// The boot listener's pure parts: iPXE scripts and kernel arguments, MACs, the client
// allow-list, the per-client rate limit, Environment readiness, the agent's wire format, and the
// --boot-* flags.
import { describe, expect, it } from 'vitest';
import { parseServerOptions } from '../../../apiservice/options.js';
import { statusReady, isObjectName } from '../../../src/boot/environments.js';
import {
  agentArgs,
  bootFromDiskScript,
  environmentScript,
  normalMac,
  talosArgs,
  withArgs,
} from '../../../src/boot/ipxe.js';
import { boundMachine, normalAddress, serverNameOf } from '../../../src/boot/names.js';
import { ClientNetworks } from '../../../src/boot/networks.js';
import { ClientRateLimiter } from '../../../src/boot/ratelimit.js';
import { bearerToken, newToken, tokenHash, tokenMatches } from '../../../src/boot/token.js';
import { decodeRequest, REGISTER, SERVER_ONLY } from '../../../src/boot/wire.js';
import type { Environment } from '../../../src/api/environment.js';
import { StatusError } from '../../../src/machinery/errors.js';

describe('kernel arguments', () => {
  it('appends only arguments whose key is not there yet', () => {
    expect(withArgs(['console=ttyS0', 'quiet'], ['console=tty0', 'quiet', 'panic=30'])).toEqual([
      'console=ttyS0',
      'quiet',
      'panic=30',
    ]);
  });

  it("the agent gets Talos's defaults, the Environment's own winning, and Sidero's settings last", () => {
    const args = agentArgs(['panic=5', 'sidero.endpoint=evil:1'], '52-54-00-aa-bb-cc', '10.0.0.1:8081');
    expect(args).toContain('panic=5');
    expect(args).not.toContain('panic=30');
    expect(args).toContain('init_on_alloc=1');
    expect(args).toContain('console=ttyS0');
    expect(args.slice(-2)).toEqual(['sidero.mac=52-54-00-aa-bb-cc', 'sidero.endpoint=10.0.0.1:8081']);
    expect(args.filter((a) => a.startsWith('sidero.endpoint='))).toHaveLength(1);
    expect(agentArgs([], '', 'h:1').some((a) => a.startsWith('sidero.mac'))).toBe(false);
  });

  it('a Talos environment fetches its config here unless the Environment says otherwise', () => {
    expect(talosArgs(['talos.platform=metal'], 'h:8081')).toEqual([
      'talos.platform=metal',
      'talos.config=http://h:8081/configdata?uuid=',
    ]);
    expect(talosArgs(['talos.config=http://elsewhere/x'], 'h:8081')).toEqual(['talos.config=http://elsewhere/x']);
  });

  it('scripts', () => {
    expect(environmentScript('e', ['a=1'])).toBe(
      '#!ipxe\nkernel /env/e/vmlinuz a=1\ninitrd /env/e/initramfs.xz\nboot\n',
    );
    expect(bootFromDiskScript('ipxe-exit')).toBe('#!ipxe\nexit\n');
    expect(bootFromDiskScript('ipxe-sanboot')).toBe('#!ipxe\nsanboot --no-describe --drive 0x80\n');
    expect(bootFromDiskScript('http-404')).toBeUndefined();
  });
});

describe('identities', () => {
  it('MACs as iPXE hexhyp prints them; anything else is not one', () => {
    expect(normalMac('52:54:00:AA:bb:CC')).toBe('52-54-00-aa-bb-cc');
    expect(normalMac('52-54-00-aa-bb-cc')).toBe('52-54-00-aa-bb-cc');
    for (const bad of [
      '52:54:00-aa:bb:cc',
      '52:54:00:aa:bb',
      'zz:54:00:aa:bb:cc',
      '52:54:00:aa:bb:cc\nshell',
      undefined,
      5,
    ])
      expect(normalMac(bad)).toBeUndefined();
  });

  it('server names are lower-case SMBIOS UUIDs', () => {
    expect(serverNameOf('4C4C4544-0030-4D10-8052-B3C04F4E3231')).toBe('4c4c4544-0030-4d10-8052-b3c04f4e3231');
    for (const bad of ['', 'x', '4c4c4544-0030-4d10-8052-b3c04f4e323', '../4c4c4544-0030-4d10-8052-b3c04f4e3231', 7])
      expect(serverNameOf(bad)).toBeUndefined();
  });

  it('the binding annotation names namespace/machine', () => {
    expect(boundMachine({ 'metal.sidero.dev/machine': 'ns/m1' })).toEqual({ namespace: 'ns', name: 'm1' });
    expect(boundMachine({ 'metal.sidero.dev/machine': 'm1' })).toBeUndefined();
    expect(boundMachine({ 'metal.sidero.dev/machine': 'a/b/c' })).toBeUndefined();
    expect(boundMachine(undefined)).toBeUndefined();
  });

  it('IPv4-mapped client addresses compare as IPv4', () => {
    expect(normalAddress('::ffff:10.0.0.5')).toBe('10.0.0.5');
    expect(normalAddress('FD00::1')).toBe('fd00::1');
  });

  it('object names as path segments', () => {
    expect(isObjectName('talos-1.13')).toBe(true);
    for (const bad of ['..', '.', 'a/b', 'A', '-a', 'a..b', '']) expect(isObjectName(bad)).toBe(false);
  });

  it('tokens: random, compared by their hash, read from a Bearer header', () => {
    const t = newToken();
    expect(t).not.toBe(newToken());
    expect(tokenMatches(t, tokenHash(t))).toBe(true);
    expect(tokenMatches(`${t}x`, tokenHash(t))).toBe(false);
    expect(tokenMatches(t, 'not-hex')).toBe(false);
    expect(bearerToken(`Bearer ${t}`)).toBe(t);
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('client networks', () => {
  it('allows addresses in the CIDRs only, IPv4 and IPv6', () => {
    const n = ClientNetworks.parse('10.0.0.0/8, fd00::/8');
    expect(n.allows('10.1.2.3')).toBe(true);
    expect(n.allows('11.0.0.1')).toBe(false);
    expect(n.allows('fd00::1')).toBe(true);
    expect(n.allows('fe80::1')).toBe(false);
    expect(n.allows('')).toBe(false);
    expect(ClientNetworks.parse(undefined).allows('192.0.2.1')).toBe(true);
  });

  it('refuses what is not a CIDR', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', 'ten/8', '10.0.0.0/8/1', '10.0.0.0/x'])
      expect(() => ClientNetworks.parse(bad), bad).toThrow(/is not a CIDR/);
  });
});

describe('per-client rate limit', () => {
  it('counts each client in its own fixed window and forgets ended windows', () => {
    let now = 0;
    const l = new ClientRateLimiter({ limit: 2, windowMs: 1000 }, () => now);
    expect(l.take('a')).toBeUndefined();
    expect(l.take('a')).toBeUndefined();
    expect(l.take('a')).toBe(1);
    expect(l.take('b')).toBeUndefined();
    now = 999;
    expect(l.take('a')).toBe(1);
    now = 1000;
    expect(l.take('a')).toBeUndefined();
  });

  it('says how many seconds are left, at least one', () => {
    let now = 0;
    const l = new ClientRateLimiter({ limit: 1, windowMs: 5000 }, () => now);
    l.take('a');
    now = 1500;
    expect(l.take('a')).toBe(4);
  });

  it('a limit of 0 never limits', () => {
    const l = new ClientRateLimiter({ limit: 0, windowMs: 1 });
    for (let i = 0; i < 100; i++) expect(l.take('a')).toBeUndefined();
  });
});

describe('Environment readiness by status', () => {
  const env = (conditions: NonNullable<Environment['status']>['conditions']): Environment =>
    ({
      apiVersion: 'metal.sidero.dev/v1alpha2',
      kind: 'Environment',
      metadata: { name: 'e' },
      spec: { kernel: { url: 'k' }, initrd: { url: 'i' } },
      status: { conditions },
    }) as Environment;

  it("Sidero's rule: a Ready=True condition per asset url", () => {
    expect(statusReady(env(undefined))).toBe(false);
    expect(statusReady(env([{ type: 'Ready', status: 'True', url: 'k' }]))).toBe(false);
    expect(
      statusReady(
        env([
          { type: 'Ready', status: 'True', url: 'k' },
          { type: 'Ready', status: 'True', url: 'i' },
        ]),
      ),
    ).toBe(true);
    // downloaded from a url the spec no longer names: not ready
    expect(
      statusReady(
        env([
          { type: 'Ready', status: 'True', url: 'k' },
          { type: 'Ready', status: 'True', url: 'old' },
        ]),
      ),
    ).toBe(false);
  });

  it('one Ready condition without url speaks for every asset; any False one makes it not ready', () => {
    expect(statusReady(env([{ type: 'Ready', status: 'True' }]))).toBe(true);
    expect(
      statusReady(
        env([
          { type: 'Ready', status: 'True' },
          { type: 'Ready', status: 'False', url: 'i' },
        ]),
      ),
    ).toBe(false);
  });
});

describe("the agent's wire format", () => {
  const refusal = (f: () => unknown): StatusError => {
    try {
      f();
    } catch (e) {
      if (e instanceof StatusError) return e;
      throw e;
    }
    throw new Error('not refused');
  };

  it('decodes a registration and names the server by its uuid', () => {
    const { request, name } = decodeRequest(REGISTER, {
      uuid: 'AAAAAAAA-0000-4000-8000-000000000001',
      addresses: [{ type: 'InternalIP', address: 'fd00::5' }],
    });
    expect(name).toBe('aaaaaaaa-0000-4000-8000-000000000001');
    expect(request.addresses).toEqual([{ type: 'InternalIP', address: 'fd00::5' }]);
  });

  it('refuses unknown fields (400) and wrong values (422, naming the field)', () => {
    expect(refusal(() => decodeRequest(SERVER_ONLY, { uuid: 'x', extra: 1 })).code).toBe(400);
    expect(refusal(() => decodeRequest(SERVER_ONLY, { uuid: 'x', kind: 'Server' })).message).toMatch(
      /unknown field "kind"/,
    );
    const e = refusal(() =>
      decodeRequest(REGISTER, {
        uuid: 'aaaaaaaa-0000-4000-8000-000000000001',
        addresses: [{ type: 'Home', address: 'x' }],
      }),
    );
    expect(e.code).toBe(422);
    expect(e.details?.causes?.[0]?.field).toBe('addresses[0].type');
    expect(refusal(() => decodeRequest(REGISTER, {})).details?.causes?.[0]?.field).toBe('uuid');
    expect(refusal(() => decodeRequest(REGISTER, null)).code).toBe(400);
  });
});

describe('--boot-* flags', () => {
  it('off unless --boot-port is given', () => {
    expect(parseServerOptions([]).boot).toBeUndefined();
  });

  it('defaults and values', () => {
    expect(parseServerOptions(['--boot-port', '0']).boot).toEqual({
      port: 0,
      bindAddress: '127.0.0.1',
      rateLimit: 120,
      rateLimitWindowMs: 60_000,
      bootFromDiskMethod: 'ipxe-exit',
      autoAcceptServers: false,
      registration: true,
    });
    const o = parseServerOptions([
      ...['--boot-port', '8081', '--boot-bind-address', '0.0.0.0', '--boot-allowed-networks', '10.0.0.0/8'],
      ...['--boot-advertise-address', 'boot.example:8081', '--boot-rate-limit', '5', '--boot-rate-limit-window', '2s'],
      ...['--boot-from-disk-method', 'http-404', '--auto-accept-servers', '--boot-registration=false'],
    ]).boot;
    expect(o).toEqual({
      port: 8081,
      bindAddress: '0.0.0.0',
      allowedNetworks: '10.0.0.0/8',
      advertiseAddress: 'boot.example:8081',
      rateLimit: 5,
      rateLimitWindowMs: 2000,
      bootFromDiskMethod: 'http-404',
      autoAcceptServers: true,
      registration: false,
    });
  });

  it('refuses bad values with a message naming the flag', () => {
    const cases: [string[], RegExp][] = [
      [['--boot-from-disk-method', 'pxe'], /--boot-from-disk-method: must be one of ipxe-exit, http-404, ipxe-sanboot/],
      [['--boot-allowed-networks', '10.0.0.0'], /--boot-allowed-networks: "10.0.0.0" is not a CIDR/],
      [['--boot-advertise-address', 'http://x'], /--boot-advertise-address must be host:port/],
      [['--boot-rate-limit-window', '0'], /--boot-rate-limit-window must be more than 0/],
    ];
    for (const [args, message] of cases)
      expect(() => parseServerOptions(['--boot-port', '0', ...args])).toThrow(message);
  });
});
