// Fields of the storage documents (volumes, swap, zswap, LVM, RAID, filesystem trim and scrub),
// per Talos release: the kind's own release is in kinds.ts, keys added later carry theirs here.
import { bool, int, list, obj, oneOf, since, str, valueSince, type Shape } from './schema.js';

const encryptionKey = (lockToStateSince: number) =>
  obj({
    kms: obj({ endpoint: str }),
    lockToState: lockToStateSince > 0 ? since(1, lockToStateSince, bool) : bool,
    nodeID: obj({}),
    slot: int,
    static: obj({ passphrase: str }),
    tpm: obj({ checkSecurebootStatusOnEnroll: bool, options: since(1, 12, obj({ pcrs: list(int) })) }),
  });

// `options` is a list of strings; up to 1.12 the schema described it as one value of an enum
const encryption = (lockToStateSince: number) =>
  obj({
    allowDiscards: since(1, 14, bool),
    blockSize: int,
    cipher: oneOf('aes-xts-plain64', 'xchacha12,aes-adiantum-plain64', 'xchacha20,aes-adiantum-plain64'),
    keySize: int,
    keys: list(encryptionKey(lockToStateSince)),
    options: list(str),
    provider: oneOf('luks2'),
  });

/** lockToState came with 1.11, the release that added encryption to the kinds other than UserVolumeConfig. */
const volumeEncryption = encryption(0);

const provisioning = obj({ diskSelector: obj({ match: str }), grow: bool, maxSize: str, minSize: str });

/** per-volume trim or scrub: on/off and an interval */
const schedule = obj({ enabled: bool, interval: str });

const selectorOnly = obj({ volumeSelector: obj({ match: str }) });

export const volumeConfig: Shape = obj({
  encryption: since(1, 11, volumeEncryption),
  filesystem: since(1, 14, obj({ xfs: obj({ minAllocationGroupSize: str }) })),
  mount: since(1, 13, obj({ disableAccessTime: since(1, 14, bool), secure: bool })),
  name: str,
  provisioning,
  scrub: since(1, 14, schedule),
  trim: since(1, 14, schedule),
});

export const userVolumeConfig: Shape = obj({
  encryption: encryption(11),
  filesystem: obj({
    projectQuotaSupport: since(1, 11, bool),
    type: oneOf('ext4', 'xfs', valueSince(1, 14, 'btrfs')),
    xfs: since(1, 14, obj({ minAllocationGroupSize: str })),
  }),
  mount: since(1, 13, obj({ disableAccessTime: bool, secure: bool })),
  name: str,
  provisioning,
  scrub: since(1, 14, schedule),
  trim: since(1, 14, schedule),
  volumeType: since(1, 12, oneOf('directory', 'disk', 'partition')),
});

export const existingVolumeConfig: Shape = obj({
  discovery: selectorOnly,
  mount: obj({ disableAccessTime: since(1, 13, bool), readOnly: bool, secure: since(1, 13, bool) }),
  name: str,
  scrub: since(1, 14, schedule),
  trim: since(1, 14, schedule),
});

/** RawVolumeConfig and SwapVolumeConfig have the same fields. */
export const rawVolumeConfig: Shape = obj({ encryption: volumeEncryption, name: str, provisioning });

export const zswapConfig: Shape = obj({ maxPoolPercent: int, shrinkerEnabled: bool });

export const externalVolumeConfig: Shape = obj({
  filesystemType: oneOf('virtiofs'),
  mount: obj({ disableAccessTime: bool, readOnly: bool, secure: bool, virtiofs: obj({ tag: str }) }),
  name: str,
});

/** FilesystemTrimConfig and FilesystemScrubConfig: the node-wide interval. */
export const filesystemScheduleConfig: Shape = obj({ interval: str });

export const lvmLogicalVolumeConfig: Shape = obj({
  mirrors: int,
  name: str,
  provisioning: obj({ maxSize: str, minSize: str, volumeGroup: str }),
  stripes: int,
  type: str,
});

export const lvmVolumeGroupConfig: Shape = obj({ name: str, provisioning: selectorOnly });

export const raidArrayConfig: Shape = obj({
  level: oneOf('raid1'),
  metadata: oneOf('1.0', '1.2'),
  name: str,
  provisioning: selectorOnly,
});
