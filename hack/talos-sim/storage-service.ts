// storage.StorageService/Disks as a simulated machine answers it (in maintenance mode too): one
// 100 GiB virtio disk, /dev/sda, the system disk once Talos is installed on it.
import type { StorageServiceHandlers } from '../../src/talos/gen/storage/StorageService.js';
import type { Disk } from '../../src/talos/gen/storage/Disk.js';
import type { SimNode } from './node.js';
import { unary, type HandlerEnv } from './rpc.js';

export const BOOT_DISK_BYTES = 100 * 1024 ** 3;

/** The machine's disks, the same every time it is asked (serial and uuid from its machine id). */
export function machineDisks(node: SimNode): Disk[] {
  const serial = node.machineId.replace(/-/g, '').slice(0, 20).toUpperCase();
  return [
    {
      size: String(BOOT_DISK_BYTES),
      model: 'QEMU HARDDISK',
      deviceName: '/dev/sda',
      name: 'sda',
      serial,
      modalias: 'scsi:t-0x00',
      uuid: node.machineId,
      wwid: `naa.${serial.toLowerCase()}`,
      type: 'SSD',
      busPath: '/pci0000:00/0000:00:05.0/virtio2/host0/target0:0:0/0:0:0:0',
      systemDisk: node.configured,
      subsystem: '/sys/class/block',
      readonly: false,
    },
  ];
}

export function storageService(env: HandlerEnv): StorageServiceHandlers {
  return {
    Disks: unary(env, '/storage.StorageService/Disks', (_req, { node }) => ({
      messages: [{ disks: machineDisks(node) }],
    })),
  };
}
