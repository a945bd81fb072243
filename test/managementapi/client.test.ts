import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagementAPIClient, ManagementAPIError, type NodeSyncStatus } from '../../src/managementapi/client.js';
import { OutboundAllowList } from '../../src/talos/outbound.js';
import { FakeManagementAPI } from '../helpers/fake-management-api.js';

const LOOPBACK = OutboundAllowList.parse('127.0.0.0/8,::1/128');
const node: NodeSyncStatus = {
  name: 'cp-1',
  namespace: 'default',
  uid: 'u1',
  endpoint: '127.0.0.1:50000',
  nodeType: 'controlplane',
  connected: true,
  ready: true,
};

describe('Management API client', () => {
  const fake = new FakeManagementAPI();
  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });

  it("calls the Adopted Server feature's endpoints and our registration endpoints with JSON bodies", async () => {
    const c = new ManagementAPIClient(fake.url, LOOPBACK);
    await c.health();
    await c.registerCluster({ name: 'prod', id: 'c6a1' });
    await c.registerNode('prod', node);
    await c.syncStatus(node);
    await c.unregister('cp-1');
    expect(fake.calls.map((x) => `${x.method} ${x.path}`)).toEqual([
      'GET /health',
      'PUT /api/v1/sidero/clusters/prod',
      'PUT /api/v1/sidero/clusters/prod/nodes/cp-1',
      'PATCH /api/v1/sidero/sync-status/cp-1',
      'DELETE /api/v1/sidero/server/cp-1',
    ]);
    expect(fake.calls[3]!.body).toEqual(node);
  });

  it('keeps a base path and escapes names', async () => {
    fake.calls.length = 0;
    await new ManagementAPIClient(`${fake.url}/mgmt/`, LOOPBACK).syncStatus({ ...node, name: 'a b' });
    expect(fake.calls[0]!.path).toBe('/mgmt/api/v1/sidero/sync-status/a%20b');
  });

  it('reports HTTP errors with their status; unregistering an unknown node is done', async () => {
    const c = new ManagementAPIClient(fake.url, LOOPBACK);
    fake.failWith = 500;
    await expect(c.syncStatus(node)).rejects.toMatchObject({ reason: 'HTTPError', status: 500 });
    fake.failWith = 404;
    await expect(c.unregister('gone')).resolves.toBeUndefined();
    fake.failWith = undefined;
  });

  it('refuses an address outside the allow-list without connecting', async () => {
    fake.calls.length = 0;
    const c = new ManagementAPIClient('http://192.168.1.50:8090', LOOPBACK);
    const err = await c.health().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManagementAPIError);
    expect(err).toMatchObject({ reason: 'OutboundNotAllowed' });
    expect((err as Error).message).toContain('192.168.1.50');
  });

  it('resolves names first and checks the address they resolve to', async () => {
    const port = new URL(fake.url).port;
    await expect(
      new ManagementAPIClient(`http://localhost:${port}`, OutboundAllowList.parse('127.0.0.0/8,::1/128')).health(),
    ).resolves.toEqual({ status: 'ok' });
    await expect(
      new ManagementAPIClient(`http://localhost:${port}`, OutboundAllowList.parse('10.0.0.0/8')).health(),
    ).rejects.toMatchObject({ reason: 'OutboundNotAllowed' });
  });

  it('refuses endpoints that are not http(s) URLs', () => {
    expect(() => new ManagementAPIClient('management-api:8090', LOOPBACK)).toThrow(ManagementAPIError);
    expect(() => new ManagementAPIClient('ftp://x/', LOOPBACK)).toThrow(/http/);
  });

  it('reports a closed port as unreachable', async () => {
    const closed = new FakeManagementAPI();
    await closed.start();
    const url = closed.url;
    await closed.stop();
    await expect(new ManagementAPIClient(url, LOOPBACK).health()).rejects.toMatchObject({ reason: 'Unreachable' });
  });
});
