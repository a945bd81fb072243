import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ContainerdInstance as _common_ContainerdInstance, ContainerdInstance__Output as _common_ContainerdInstance__Output } from './common/ContainerdInstance.js';
import type { Data as _common_Data, Data__Output as _common_Data__Output } from './common/Data.js';
import type { DataResponse as _common_DataResponse, DataResponse__Output as _common_DataResponse__Output } from './common/DataResponse.js';
import type { Empty as _common_Empty, Empty__Output as _common_Empty__Output } from './common/Empty.js';
import type { EmptyResponse as _common_EmptyResponse, EmptyResponse__Output as _common_EmptyResponse__Output } from './common/EmptyResponse.js';
import type { Error as _common_Error, Error__Output as _common_Error__Output } from './common/Error.js';
import type { Metadata as _common_Metadata, Metadata__Output as _common_Metadata__Output } from './common/Metadata.js';
import type { Any as _google_protobuf_Any, Any__Output as _google_protobuf_Any__Output } from './google/protobuf/Any.js';
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from './google/protobuf/Empty.js';
import type { Status as _google_rpc_Status, Status__Output as _google_rpc_Status__Output } from './google/rpc/Status.js';
import type { Disk as _storage_Disk, Disk__Output as _storage_Disk__Output } from './storage/Disk.js';
import type { Disks as _storage_Disks, Disks__Output as _storage_Disks__Output } from './storage/Disks.js';
import type { DisksResponse as _storage_DisksResponse, DisksResponse__Output as _storage_DisksResponse__Output } from './storage/DisksResponse.js';
import type { StorageServiceClient as _storage_StorageServiceClient, StorageServiceDefinition as _storage_StorageServiceDefinition } from './storage/StorageService.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  common: {
    Code: EnumTypeDefinition
    ContainerDriver: EnumTypeDefinition
    ContainerdInstance: MessageTypeDefinition<_common_ContainerdInstance, _common_ContainerdInstance__Output>
    ContainerdNamespace: EnumTypeDefinition
    Data: MessageTypeDefinition<_common_Data, _common_Data__Output>
    DataResponse: MessageTypeDefinition<_common_DataResponse, _common_DataResponse__Output>
    Empty: MessageTypeDefinition<_common_Empty, _common_Empty__Output>
    EmptyResponse: MessageTypeDefinition<_common_EmptyResponse, _common_EmptyResponse__Output>
    Error: MessageTypeDefinition<_common_Error, _common_Error__Output>
    Metadata: MessageTypeDefinition<_common_Metadata, _common_Metadata__Output>
  }
  google: {
    protobuf: {
      Any: MessageTypeDefinition<_google_protobuf_Any, _google_protobuf_Any__Output>
      Empty: MessageTypeDefinition<_google_protobuf_Empty, _google_protobuf_Empty__Output>
    }
    rpc: {
      Status: MessageTypeDefinition<_google_rpc_Status, _google_rpc_Status__Output>
    }
  }
  storage: {
    Disk: MessageTypeDefinition<_storage_Disk, _storage_Disk__Output>
    Disks: MessageTypeDefinition<_storage_Disks, _storage_Disks__Output>
    DisksResponse: MessageTypeDefinition<_storage_DisksResponse, _storage_DisksResponse__Output>
    StorageService: SubtypeConstructor<typeof grpc.Client, _storage_StorageServiceClient> & { service: _storage_StorageServiceDefinition }
  }
}

