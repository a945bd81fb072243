// Server, ServerClass and Environment: Sidero's cluster-scoped kinds.
import { describe, expect, it } from 'vitest';
import { serverKind } from '../../../src/api/server.js';
import { serverClassKind } from '../../../src/api/serverclass.js';
import { environmentKind } from '../../../src/api/environment.js';
import { check, createErrors } from './helpers.js';

describe('Server', () => {
  it('defaults spec, and spec.accepted to false, on a bare object', () => {
    const { valid, obj } = check(serverKind, { metadata: { name: '4c4c4544-0035-3010-8030-c4c04f4a4633' } });
    expect(valid).toBe(true);
    expect(obj.spec).toEqual({ accepted: false, cordoned: false, pxeBootAlways: false });
  });

  it('accepts a server as the agent registers it, with BMC, hardware, patches and status', () => {
    const server = {
      spec: {
        accepted: true,
        hostname: 'node-1',
        environmentRef: { name: 'default', kind: 'Environment' },
        hardware: {
          system: { uuid: 'u', manufacturer: 'Dell', productName: 'R640' },
          compute: { totalCoreCount: 16, processors: [{ productName: 'Xeon', coreCount: 8, speed: 2400 }] },
          memory: { totalSize: '32 GB', modules: [{ size: 16384, type: 'DDR4' }] },
          storage: { devices: [{ name: 'sda', size: 480103981056, type: 'SSD' }] },
          network: { interfaces: [{ name: 'eth0', mac: 'aa:bb:cc:dd:ee:ff', addresses: ['10.0.0.5/24'] }] },
        },
        bmc: {
          endpoint: '10.0.1.5',
          port: 623,
          userFrom: { secretKeyRef: { namespace: 'default', name: 'x-bmc', key: 'user' } },
        },
        managementApi: { endpoint: '10.0.0.1:8080' },
        configPatches: [{ op: 'replace', path: '/machine/install/disk', value: '/dev/nvme0n1' }],
        strategicPatches: ['machine:\n  install:\n    disk: /dev/sda\n'],
        bootFromDiskMethod: 'ipxe-exit',
        pxeMode: 'bios',
      },
      status: {
        ready: true,
        inUse: false,
        isClean: true,
        power: 'off',
        addresses: [{ type: 'InternalIP', address: '10.0.0.5' }],
        conditions: [{ type: 'PowerCycle', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z' }],
      },
    };
    expect(createErrors(serverKind, server)).toEqual({ schema: [], strategy: [] });
  });

  it('validates the webhook enums and patch ops; "" is a valid bootFromDiskMethod', () => {
    expect(check(serverKind, { spec: { bootFromDiskMethod: '' } }).errors).toEqual([]);
    expect(check(serverKind, { spec: { bootFromDiskMethod: 'pxe' } }).errors).toEqual([
      '/spec/bootFromDiskMethod enum',
    ]);
    expect(check(serverKind, { spec: { pxeMode: 'efi' } }).errors).toEqual(['/spec/pxeMode enum']);
    expect(check(serverKind, { spec: { configPatches: [{ op: 'delete', path: '/a' }] } }).errors).toEqual([
      '/spec/configPatches/0/op enum',
    ]);
    expect(check(serverKind, { spec: { bmc: {} } }).errors).toEqual(['/spec/bmc required endpoint']);
    expect(check(serverKind, { spec: { bmc: { endpoint: '10.0.0.5', protocol: 'redfish' } } }).errors).toEqual([]);
    expect(check(serverKind, { spec: { bmc: { endpoint: '10.0.0.5', protocol: 'snmp' } } }).errors).toEqual([
      '/spec/bmc/protocol enum',
    ]);
  });

  it('keeps any JSON value in a config patch', () => {
    for (const value of [1, 'x', null, [1, { a: 2 }], { deep: { list: [] } }]) {
      expect(check(serverKind, { spec: { configPatches: [{ op: 'add', path: '/a', value }] } }).errors).toEqual([]);
    }
  });
});

describe('ServerClass', () => {
  it('defaults spec, qualifiers and selector to empty objects', () => {
    const { valid, obj } = check(serverClassKind, { metadata: { name: 'any' } });
    expect(valid).toBe(true);
    expect(obj.spec).toEqual({ qualifiers: {}, selector: {} });
  });

  it('accepts qualifiers, a selector and patches', () => {
    const sc = {
      spec: {
        environmentRef: { name: 'default' },
        qualifiers: {
          hardware: [{ system: { manufacturer: 'Dell' } }, { compute: { processors: [{ manufacturer: 'Intel' }] } }],
          labelSelectors: [{ rack: 'a' }, { rack: 'b' }],
        },
        selector: {
          matchLabels: { zone: 'z1' },
          matchExpressions: [{ key: 'arch', operator: 'In', values: ['amd64'] }],
        },
        configPatches: [{ op: 'add', path: '/machine/network/hostname', value: 'x' }],
        strategicPatches: ['machine: {}'],
        bootFromDiskMethod: 'http-404',
      },
      status: { serversAvailable: ['a'], serversInUse: [] },
    };
    expect(createErrors(serverClassKind, sc)).toEqual({ schema: [], strategy: [] });
  });

  it('checks selector requirements as kube does', () => {
    const sel = (expr: object) => createErrors(serverClassKind, { spec: { selector: { matchExpressions: [expr] } } });
    expect(sel({ key: 'a', operator: 'Equals' }).schema).toEqual(['/spec/selector/matchExpressions/0/operator enum']);
    expect(sel({ key: 'a', operator: 'In' }).strategy.map((e) => e.message)).toEqual([
      "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    ]);
    expect(sel({ key: 'a', operator: 'Exists', values: ['x'] }).strategy.map((e) => e.message)).toEqual([
      "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    ]);
    expect(sel({ key: 'a', operator: 'DoesNotExist' }).strategy).toEqual([]);
  });

  it('requires both server lists in a status', () => {
    expect(check(serverClassKind, { status: { serversAvailable: [] } }).errors).toEqual([
      '/status required serversInUse',
    ]);
  });
});

describe('Environment', () => {
  it('accepts the default environment and one Ready condition per asset', () => {
    const env = {
      metadata: { name: 'default' },
      spec: {
        kernel: {
          url: 'https://github.com/siderolabs/talos/releases/download/v1.8.3/vmlinuz-amd64',
          args: ['console=tty0', 'talos.platform=metal'],
        },
        initrd: { url: 'https://github.com/siderolabs/talos/releases/download/v1.8.3/initramfs-amd64.xz' },
      },
      status: {
        conditions: [
          { type: 'Ready', status: 'True', url: 'https://example/vmlinuz-amd64' },
          { type: 'Ready', status: 'True', url: 'https://example/initramfs-amd64.xz' },
        ],
      },
    };
    expect(createErrors(environmentKind, env)).toEqual({ schema: [], strategy: [] });
    // both conditions have type Ready, so the list cannot be a map keyed by type
    expect(environmentKind.schema.properties.status!.properties!.conditions!['x-kubernetes-list-type']).toBe('atomic');
  });

  it('requires type and status on asset conditions', () => {
    expect(check(environmentKind, { status: { conditions: [{ url: 'u' }] } }).errors.sort()).toEqual([
      '/status/conditions/0 required status',
      '/status/conditions/0 required type',
    ]);
  });
});
