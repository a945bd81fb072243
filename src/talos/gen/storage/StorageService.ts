// Original file: protos/storage/storage.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DisksResponse as _storage_DisksResponse, DisksResponse__Output as _storage_DisksResponse__Output } from '../storage/DisksResponse.js';
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from '../google/protobuf/Empty.js';

export interface StorageServiceClient extends grpc.Client {
  Disks(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_storage_DisksResponse__Output>): grpc.ClientUnaryCall;
  Disks(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_storage_DisksResponse__Output>): grpc.ClientUnaryCall;
  Disks(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_storage_DisksResponse__Output>): grpc.ClientUnaryCall;
  Disks(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_storage_DisksResponse__Output>): grpc.ClientUnaryCall;
  disks(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_storage_DisksResponse__Output>): grpc.ClientUnaryCall;
  disks(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_storage_DisksResponse__Output>): grpc.ClientUnaryCall;
  disks(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_storage_DisksResponse__Output>): grpc.ClientUnaryCall;
  disks(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_storage_DisksResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface StorageServiceHandlers extends grpc.UntypedServiceImplementation {
  Disks: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _storage_DisksResponse>;
  
}

export interface StorageServiceDefinition extends grpc.ServiceDefinition {
  Disks: MethodDefinition<_google_protobuf_Empty, _storage_DisksResponse, _google_protobuf_Empty__Output, _storage_DisksResponse__Output>
}
