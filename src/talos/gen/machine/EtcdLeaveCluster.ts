// Original file: protos/machine/machine.proto

import type { Metadata as _common_Metadata, Metadata__Output as _common_Metadata__Output } from '../common/Metadata.js';

export interface EtcdLeaveCluster {
  'metadata'?: (_common_Metadata | null);
}

export interface EtcdLeaveCluster__Output {
  'metadata': (_common_Metadata__Output | null);
}
