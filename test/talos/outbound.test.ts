// The outbound allow-list: CIDR parsing and matching, and the client refusing an address outside
// it before any socket exists. No test here dials anything but loopback.
import { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AllowListError, OutboundAllowList, refusedResolvers } from '../../src/talos/outbound.js';
import { TalosClient } from '../../src/talos/client.js';
import { clientFor, controlPlane, expectFailure, simulator, type Simulator } from './helpers.js';

describe('OutboundAllowList', () => {
  it('empty or undefined allows any IP address', () => {
    for (const list of [
      OutboundAllowList.parse(undefined),
      OutboundAllowList.parse(''),
      OutboundAllowList.parse(' , '),
    ]) {
      expect(list.allowsAll).toBe(true);
      expect(list.check('192.168.1.10')).toBe(true);
      expect(list.check('fd00::1')).toBe(true);
      expect(list.check('not-an-ip')).toBe(false);
    }
  });

  it('matches IPv4 and IPv6 networks', () => {
    const list = OutboundAllowList.parse('127.0.0.0/8, ::1/128,10.1.0.0/16');
    expect(list.networks).toEqual(['127.0.0.0/8', '::1/128', '10.1.0.0/16']);
    expect(list.check('127.0.0.1')).toBe(true);
    expect(list.check('127.255.0.9')).toBe(true);
    expect(list.check('10.1.200.3')).toBe(true);
    expect(list.check('10.2.0.1')).toBe(false);
    expect(list.check('192.168.1.10')).toBe(false);
    expect(list.check('::1')).toBe(true);
    expect(list.check('[::1]')).toBe(true);
    expect(list.check('::2')).toBe(false);
    expect(list.check('host.example')).toBe(false);
  });

  it('judges an IPv4-mapped IPv6 address as the IPv4 host it reaches', () => {
    const list = OutboundAllowList.parse('127.0.0.0/8');
    expect(list.check('::ffff:127.0.0.1')).toBe(true);
    expect(list.check('::ffff:192.168.1.10')).toBe(false);
  });

  it('a bare address means one host', () => {
    const list = OutboundAllowList.parse('192.0.2.7,fd00::5');
    expect(list.check('192.0.2.7')).toBe(true);
    expect(list.check('192.0.2.8')).toBe(false);
    expect(list.check('fd00::5')).toBe(true);
  });

  it('rejects malformed entries with an error naming the flag', () => {
    for (const bad of [
      '10.0.0.0/33',
      '::/129',
      'example.com/8',
      '10.0.0.0/',
      '10.0.0.0/8/1',
      '10.0.0.0/x',
      '300.1.1.1/8',
    ]) {
      expect(() => OutboundAllowList.parse(bad), bad).toThrow(AllowListError);
    }
    try {
      OutboundAllowList.parse('10.0.0.0/33');
    } catch (e) {
      expect((e as AllowListError).message).toContain('--allowed-outbound-networks');
    }
  });
});

describe('the client and the allow-list', () => {
  let sim: Simulator;
  const loopbackOnly = OutboundAllowList.parse('127.0.0.0/8');
  beforeAll(async () => {
    sim = await simulator({ nodes: 1 });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await sim.stop();
  });

  function pem() {
    const ctx = sim.talosconfig.contexts[sim.talosconfig.context];
    if (!ctx) throw new Error('no context');
    return { ca: ctx.ca, crt: ctx.crt, key: ctx.key };
  }

  it('the client refuses such a name before any lookup or socket', async () => {
    const connect = vi.spyOn(Socket.prototype, 'connect');
    const client = new TalosClient({
      endpoint: 'unresolvable-node.invalid:50000',
      ...pem(),
      allowList: OutboundAllowList.parse('127.0.0.1/32'),
    });
    try {
      await expectFailure(client.hostname(), 'OutboundNotAllowed', 503);
      expect(connect).not.toHaveBeenCalled();
    } finally {
      client.close();
      connect.mockRestore();
    }
  });

  it('refuses 192.168.1.10 at once, without opening a socket', async () => {
    const connect = vi.spyOn(Socket.prototype, 'connect');
    const client = new TalosClient({
      endpoint: '192.168.1.10:50000',
      ...pem(),
      allowList: loopbackOnly,
      timeoutMs: 5_000,
    });
    try {
      const started = Date.now();
      const e = await expectFailure(client.version(), 'OutboundNotAllowed', 503);
      expect(Date.now() - started).toBeLessThan(500);
      expect(e.message).toContain('192.168.1.10');
      expect(e.message).toContain('--allowed-outbound-networks');
      expect(connect).not.toHaveBeenCalled();
    } finally {
      client.close();
    }
  });

  it('resolves a host name first and refuses when it points outside the list', async () => {
    const connect = vi.spyOn(Socket.prototype, 'connect');
    const lookup = vi.fn(async () => ['192.168.1.10']);
    const client = new TalosClient({ endpoint: 'node-1.example.internal', ...pem(), allowList: loopbackOnly, lookup });
    try {
      const e = await expectFailure(client.hostname(), 'OutboundNotAllowed', 503);
      expect(e.message).toContain('192.168.1.10');
      expect(lookup).toHaveBeenCalledWith('node-1.example.internal');
      expect(connect).not.toHaveBeenCalled();
    } finally {
      client.close();
    }
  });

  it('dials an allowed address (the spy does see sockets)', async () => {
    const connect = vi.spyOn(Socket.prototype, 'connect');
    const client = clientFor(sim, controlPlane(sim), { allowList: loopbackOnly });
    try {
      expect(await client.hostname()).toBe(controlPlane(sim));
      expect(connect).toHaveBeenCalled();
    } finally {
      client.close();
    }
  });

  it('dials the resolved address and verifies the certificate against the host name', async () => {
    const node = sim.node(controlPlane(sim));
    // the node cert's SANs hold its hostname, so a name that resolves to the node verifies
    const lookup = vi.fn(async () => ['192.168.1.10', node.ip]);
    const client = new TalosClient({
      endpoint: `${node.name}:${node.port}`,
      ...pem(),
      allowList: loopbackOnly,
      lookup,
    });
    try {
      expect(await client.hostname()).toBe(node.name);
    } finally {
      client.close();
    }
  });
});

describe('name resolution under an allow-list', () => {
  const loopback = OutboundAllowList.parse('127.0.0.0/8,::1/128');

  it('refuses names whose DNS servers are outside the list, but never IPs or localhost', () => {
    const servers = () => ['10.255.255.53', '127.0.0.53'];
    expect(refusedResolvers(loopback, 'management-api.example.com', servers)).toEqual(['10.255.255.53']);
    expect(refusedResolvers(loopback, '192.168.1.10', servers)).toEqual([]);
    expect(refusedResolvers(loopback, '[fd00::1]', servers)).toEqual([]);
    expect(refusedResolvers(loopback, 'localhost', servers)).toEqual([]);
    expect(refusedResolvers(loopback, 'api.localhost.', servers)).toEqual([]);
    expect(refusedResolvers(loopback, 'node-1', () => ['127.0.0.53:53', '[::1]:53'])).toEqual([]);
    expect(refusedResolvers(OutboundAllowList.allowAll(), 'node-1', servers)).toEqual([]);
  });
});
