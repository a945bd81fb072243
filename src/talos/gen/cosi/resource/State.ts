// Original file: protos/resource/resource.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetRequest as _cosi_resource_GetRequest, GetRequest__Output as _cosi_resource_GetRequest__Output } from '../../cosi/resource/GetRequest.js';
import type { GetResponse as _cosi_resource_GetResponse, GetResponse__Output as _cosi_resource_GetResponse__Output } from '../../cosi/resource/GetResponse.js';
import type { ListRequest as _cosi_resource_ListRequest, ListRequest__Output as _cosi_resource_ListRequest__Output } from '../../cosi/resource/ListRequest.js';
import type { ListResponse as _cosi_resource_ListResponse, ListResponse__Output as _cosi_resource_ListResponse__Output } from '../../cosi/resource/ListResponse.js';

export interface StateClient extends grpc.Client {
  Get(argument: _cosi_resource_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_cosi_resource_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _cosi_resource_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_cosi_resource_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _cosi_resource_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_cosi_resource_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _cosi_resource_GetRequest, callback: grpc.requestCallback<_cosi_resource_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _cosi_resource_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_cosi_resource_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _cosi_resource_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_cosi_resource_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _cosi_resource_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_cosi_resource_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _cosi_resource_GetRequest, callback: grpc.requestCallback<_cosi_resource_GetResponse__Output>): grpc.ClientUnaryCall;
  
  List(argument: _cosi_resource_ListRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_cosi_resource_ListResponse__Output>;
  List(argument: _cosi_resource_ListRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_cosi_resource_ListResponse__Output>;
  list(argument: _cosi_resource_ListRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_cosi_resource_ListResponse__Output>;
  list(argument: _cosi_resource_ListRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_cosi_resource_ListResponse__Output>;
  
}

export interface StateHandlers extends grpc.UntypedServiceImplementation {
  Get: grpc.handleUnaryCall<_cosi_resource_GetRequest__Output, _cosi_resource_GetResponse>;
  
  List: grpc.handleServerStreamingCall<_cosi_resource_ListRequest__Output, _cosi_resource_ListResponse>;
  
}

export interface StateDefinition extends grpc.ServiceDefinition {
  Get: MethodDefinition<_cosi_resource_GetRequest, _cosi_resource_GetResponse, _cosi_resource_GetRequest__Output, _cosi_resource_GetResponse__Output>
  List: MethodDefinition<_cosi_resource_ListRequest, _cosi_resource_ListResponse, _cosi_resource_ListRequest__Output, _cosi_resource_ListResponse__Output>
}
