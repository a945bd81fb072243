import { describe, expect, it } from 'vitest';
import { machineKind } from '../../../src/api/machine.js';
import { check, createErrors, yamlDoc } from './helpers.js';

// A Machine as talos-operator generates it for a control plane.
const generated = `
apiVersion: vitistack.io/v1alpha1
kind: Machine
metadata:
  name: simple-cluster-id-ctp0
  namespace: default
  labels:
    vitistack.io/clusterid: simple-cluster-id
    vitistack.io/node-role: control-plane
spec:
  name: simple-cluster-id-ctp0
  machineClass: large
  provider: kubevirt
  disks:
    - name: disk-0
      sizeGB: 50
      type: fast
      boot: true
  os:
    family: linux
    distribution: talos
    architecture: amd64
    imageID: https://factory.talos.dev/image/nocloud-amd64.iso
  network:
    networkNamespaceName: nn
  tags:
    cluster: simple-cluster-id
    role: control-plane
`;

describe('Machine', () => {
  it('accepts a generated machine', () => {
    expect(createErrors(machineKind, yamlDoc(generated))).toEqual({ schema: [], strategy: [] });
  });

  it('requires only spec.provider', () => {
    expect(check(machineKind, {}).errors).toEqual([' required spec']);
    expect(check(machineKind, { spec: {} }).errors).toEqual(['/spec required provider']);
    expect(check(machineKind, { spec: { provider: 'proxmox' } }).errors).toEqual([]);
  });

  it("enforces the ranges of talos-operator's Machine CRD", () => {
    const errs = check(machineKind, {
      spec: {
        provider: 'kubevirt',
        name: '',
        cpu: { cores: 0, threadsPerCore: 9, sockets: 17 },
        memory: -1,
        disks: [{ sizeGB: 0, iops: 99, throughput: 4001 }],
        os: { architecture: 'i386' },
      },
    }).errors.sort();
    expect(errs).toEqual([
      '/spec/cpu/cores minimum',
      '/spec/cpu/sockets maximum',
      '/spec/cpu/threadsPerCore maximum',
      '/spec/disks/0/iops minimum',
      '/spec/disks/0/sizeGB minimum',
      '/spec/disks/0/throughput maximum',
      '/spec/memory minimum',
      '/spec/name minLength',
      '/spec/os/architecture enum',
    ]);
  });

  it('defaults the cloud-init type and reference keys only where they are present', () => {
    const { obj } = check(machineKind, {
      spec: {
        provider: 'kubevirt',
        cloudInit: { userDataSecretRef: { name: 's' }, networkDataConfigMapRef: { name: 'c' } },
      },
    });
    expect(obj.spec).toEqual({
      provider: 'kubevirt',
      cloudInit: {
        type: 'noCloud',
        userDataSecretRef: { name: 's', key: 'userdata' },
        networkDataConfigMapRef: { name: 'c', key: 'networkdata' },
      },
    });
    expect(check(machineKind, { spec: { provider: 'kubevirt' } }).obj.spec).toEqual({ provider: 'kubevirt' });
  });

  it('accepts a provider-written status', () => {
    const status = {
      phase: 'Running',
      state: 'Running',
      provider: 'kubevirt',
      publicIPAddresses: ['10.0.0.10'],
      ipAddresses: ['10.0.0.10'],
      cpus: 4,
      memory: 8589934592,
      lastUpdated: '2025-06-01T10:00:00Z',
      disks: [
        {
          name: 'disk-0',
          device: '/dev/vda',
          pvcName: 'pvc-1',
          size: 53687091200,
          usagePercent: 12.5,
          accessModes: ['ReadWriteOnce'],
        },
      ],
      networkInterfaces: [{ name: 'eth0', macAddress: 'aa:bb:cc:dd:ee:ff', ipAddresses: ['10.0.0.10'], mtu: 1500 }],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-06-01T10:00:00Z' }],
      failureReason: 'none',
    };
    expect(check(machineKind, { spec: { provider: 'kubevirt' }, status }).errors).toEqual([]);
  });

  it('is filterable by provider, class and phase', () => {
    expect(machineKind.selectableFields).toEqual(['spec.provider', 'spec.machineClass', 'status.phase']);
  });
});
