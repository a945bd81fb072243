// The generated TS types cannot drift from protos/ (regenerated here with the package.json
// script's own arguments), and the wire identity matches Talos's protos: method paths and field
// numbers, checked on the encoded bytes.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { loaderOptions, PROTO_FILES, protosDir } from '../../src/talos/protos.js';

const ROOT = resolve(import.meta.dirname, '../..');
const GEN = join(ROOT, 'src/talos/gen');
const GENERATOR = join(ROOT, 'node_modules/@grpc/proto-loader/build/bin/proto-loader-gen-types.js');

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

describe('generated proto types', () => {
  it('src/talos/gen is exactly what `npm run gen:protos` produces', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const script = pkg.scripts['gen:protos'] ?? '';
    const [bin, ...args] = script.split(/\s+/);
    expect(bin).toBe('proto-loader-gen-types');
    const out = await mkdtemp(join(tmpdir(), 'talos-gen-'));
    try {
      const outFlag = args.indexOf('-O');
      expect(args[outFlag + 1]).toBe('src/talos/gen');
      args[outFlag + 1] = out;
      await promisify(execFile)(process.execPath, [GENERATOR, ...args], { cwd: ROOT });
      const want = await files(out);
      expect(await files(GEN)).toEqual(want);
      for (const f of want) {
        expect(await readFile(join(GEN, f), 'utf8'), `${f} differs: run npm run gen:protos`).toBe(
          await readFile(join(out, f), 'utf8'),
        );
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('the script generates from the files the runtime loads', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const script = pkg.scripts['gen:protos'] ?? '';
    for (const f of PROTO_FILES) expect(script).toContain(f);
    // runtime options and generator flags describe the same objects
    expect(script).toMatch(/--longs=String --enums=String --defaults --oneofs/);
    expect(script).not.toContain('--keepCase');
    expect(loaderOptions()).toMatchObject({
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
  });

  it('finds protos/ from the source tree and from dist/', () => {
    expect(protosDir()).toBe(join(ROOT, 'protos'));
    expect(protosDir(join(ROOT, 'dist/src/talos'))).toBe(join(ROOT, 'protos'));
    expect(() => protosDir(tmpdir())).toThrow(/cannot find protos/);
  });
});

describe('wire identity', () => {
  const def = protoLoader.loadSync([...PROTO_FILES], loaderOptions());
  const machine = def['machine.MachineService'] as protoLoader.ServiceDefinition;
  const cluster = def['cluster.ClusterService'] as protoLoader.ServiceDefinition;
  const storage = def['storage.StorageService'] as protoLoader.ServiceDefinition;
  const cosi = def['cosi.resource.State'] as protoLoader.ServiceDefinition;

  it('method paths and streaming kinds', () => {
    const paths = Object.fromEntries(Object.entries(machine).map(([k, m]) => [k, [m.path, m.responseStream]]));
    expect(paths).toEqual({
      Version: ['/machine.MachineService/Version', false],
      ServiceList: ['/machine.MachineService/ServiceList', false],
      Hostname: ['/machine.MachineService/Hostname', false],
      Kubeconfig: ['/machine.MachineService/Kubeconfig', true],
      ApplyConfiguration: ['/machine.MachineService/ApplyConfiguration', false],
      Bootstrap: ['/machine.MachineService/Bootstrap', false],
      Reboot: ['/machine.MachineService/Reboot', false],
      Upgrade: ['/machine.MachineService/Upgrade', false],
      EtcdMemberList: ['/machine.MachineService/EtcdMemberList', false],
      EtcdStatus: ['/machine.MachineService/EtcdStatus', false],
      EtcdLeaveCluster: ['/machine.MachineService/EtcdLeaveCluster', false],
      EtcdRemoveMemberByID: ['/machine.MachineService/EtcdRemoveMemberByID', false],
      Reset: ['/machine.MachineService/Reset', false],
    });
    expect(cluster['HealthCheck']?.path).toBe('/cluster.ClusterService/HealthCheck');
    expect(cluster['HealthCheck']?.responseStream).toBe(true);
    expect(storage['Disks']?.path).toBe('/storage.StorageService/Disks');
  });

  const hex = (b: Buffer) => b.toString('hex');

  it('ApplyConfigurationRequest: data=1 bytes, mode=4 enum, dry_run=5', () => {
    const bytes = machine['ApplyConfiguration']!.requestSerialize({
      data: Buffer.from('x'),
      mode: 'AUTO',
      dryRun: true,
    });
    expect(hex(bytes)).toBe('0a0178' + '2001' + '2801');
  });

  it('EtcdMember: id is field 2 (field 1 unused), inside EtcdMembers.members=3', () => {
    const bytes = machine['EtcdMemberList']!.responseSerialize({
      messages: [{ members: [{ id: '5', hostname: 'h' }] }],
    });
    // messages(1) { members(3) { id(2)=5, hostname(3)="h" } }
    expect(hex(bytes)).toBe('0a07' + '1a05' + '1005' + '1a0168');
  });

  it('UpgradeRequest: image=1, preserve=2, stage=3, force=4, reboot_mode=5', () => {
    const bytes = machine['Upgrade']!.requestSerialize({
      image: 'i',
      preserve: true,
      stage: true,
      force: true,
      rebootMode: 'POWERCYCLE',
    });
    expect(hex(bytes)).toBe('0a0169' + '1001' + '1801' + '2001' + '2801');
  });

  it('EtcdMemberStatus: member_id=10, storage_version=11', () => {
    const bytes = machine['EtcdStatus']!.responseSerialize({
      messages: [{ memberStatus: { memberId: '1', storageVersion: 'v' } }],
    });
    expect(hex(bytes)).toBe('0a07' + '1205' + '5001' + '5a0176');
  });

  it('ResetRequest: graceful=1, reboot=2, system_partitions_to_wipe=3 {label=1, wipe=2}, user_disks_to_wipe=4, mode=5', () => {
    const bytes = machine['Reset']!.requestSerialize({
      graceful: true,
      reboot: true,
      systemPartitionsToWipe: [{ label: 'S', wipe: true }],
      userDisksToWipe: ['d'],
      mode: 'SYSTEM_DISK',
    });
    expect(hex(bytes)).toBe('0801' + '1001' + '1a05' + '0a0153' + '1001' + '220164' + '2801');
    // Reset { metadata=1, actor_id=2 }
    expect(hex(machine['Reset']!.responseSerialize({ messages: [{ actorId: 'a' }] }))).toBe('0a03' + '120161');
  });

  it('EtcdRemoveMemberByIDRequest: member_id=1 uint64; EtcdLeaveClusterRequest is empty', () => {
    expect(hex(machine['EtcdRemoveMemberByID']!.requestSerialize({ memberId: '300' }))).toBe('08ac02');
    expect(hex(machine['EtcdLeaveCluster']!.requestSerialize({}))).toBe('');
  });

  it('storage.Disk: size=1, device_name=3, type=9 enum, system_disk=11', () => {
    const bytes = storage['Disks']!.responseSerialize({
      messages: [{ disks: [{ size: '1', deviceName: 'x', type: 'SSD', systemDisk: true }] }],
    });
    // messages(1) { disks(2) { size(1)=1, device_name(3)="x", type(9)=1, system_disk(11)=true } }
    expect(hex(bytes)).toBe('0a0b' + '1209' + '0801' + '1a0178' + '4801' + '5801');
  });

  it('HealthCheckRequest: wait_timeout=1 Duration, cluster_info=2 with control_plane_nodes=1', () => {
    const bytes = cluster['HealthCheck']!.requestSerialize({
      waitTimeout: { seconds: 3 },
      clusterInfo: { controlPlaneNodes: ['a'] },
    });
    expect(hex(bytes)).toBe('0a020803' + '1203' + '0a0161');
  });

  it('cosi.resource.State: Get unary, List server-streaming; GetRequest namespace=1, type=2, id=3, options=4', () => {
    expect([cosi['Get']?.path, cosi['Get']?.responseStream]).toEqual(['/cosi.resource.State/Get', false]);
    expect([cosi['List']?.path, cosi['List']?.responseStream]).toEqual(['/cosi.resource.State/List', true]);
    const get = cosi['Get']!.requestSerialize({ namespace: 'n', type: 't', id: 'i', options: {} });
    expect(hex(get)).toBe('0a016e' + '120174' + '1a0169' + '2200');
    // ListRequest { namespace=1, type=2, options=3 { label_query=1 [{}], id_query=2 { regexp=1 } } }
    const list = cosi['List']!.requestSerialize({
      namespace: 'n',
      type: 't',
      options: { labelQuery: [{}], idQuery: { regexp: 'r' } },
    });
    expect(hex(list)).toBe('0a016e' + '120174' + '1a07' + '0a00' + '1203' + '0a0172');
  });

  it('cosi.resource.Resource: metadata=1 {id=3, version=4, phase=6, labels=10 map}, spec=2 {yaml_spec=2}', () => {
    const resource = {
      metadata: { id: 'i', version: '1', phase: 'p', labels: { a: 'b' } },
      spec: { yamlSpec: 'y' },
    };
    const want = '0a18' + '0a11' + '1a0169' + '220131' + '320170' + '5206' + '0a0161' + '120162' + '1203' + '120179';
    expect(hex(cosi['Get']!.responseSerialize({ resource }))).toBe(want);
    expect(hex(cosi['List']!.responseSerialize({ resource }))).toBe(want);
  });

  it('replies start with common.Metadata at field 1 and carry google.rpc.Status at Metadata.status=3', () => {
    const bytes = machine['Hostname']!.responseSerialize({
      messages: [{ metadata: { hostname: 'n', status: { code: 14 } }, hostname: 'x' }],
    });
    // messages(1) { metadata(1) { hostname(1)="n", status(3) { code(1)=14 } }, hostname(2)="x" }
    expect(hex(bytes)).toBe('0a0c' + '0a07' + '0a016e' + '1a02080e' + '120178');
  });
});
