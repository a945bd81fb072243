// Original file: protos/machine/machine.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ApplyConfigurationRequest as _machine_ApplyConfigurationRequest, ApplyConfigurationRequest__Output as _machine_ApplyConfigurationRequest__Output } from '../machine/ApplyConfigurationRequest.js';
import type { ApplyConfigurationResponse as _machine_ApplyConfigurationResponse, ApplyConfigurationResponse__Output as _machine_ApplyConfigurationResponse__Output } from '../machine/ApplyConfigurationResponse.js';
import type { BootstrapRequest as _machine_BootstrapRequest, BootstrapRequest__Output as _machine_BootstrapRequest__Output } from '../machine/BootstrapRequest.js';
import type { BootstrapResponse as _machine_BootstrapResponse, BootstrapResponse__Output as _machine_BootstrapResponse__Output } from '../machine/BootstrapResponse.js';
import type { Data as _common_Data, Data__Output as _common_Data__Output } from '../common/Data.js';
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from '../google/protobuf/Empty.js';
import type { EtcdLeaveClusterRequest as _machine_EtcdLeaveClusterRequest, EtcdLeaveClusterRequest__Output as _machine_EtcdLeaveClusterRequest__Output } from '../machine/EtcdLeaveClusterRequest.js';
import type { EtcdLeaveClusterResponse as _machine_EtcdLeaveClusterResponse, EtcdLeaveClusterResponse__Output as _machine_EtcdLeaveClusterResponse__Output } from '../machine/EtcdLeaveClusterResponse.js';
import type { EtcdMemberListRequest as _machine_EtcdMemberListRequest, EtcdMemberListRequest__Output as _machine_EtcdMemberListRequest__Output } from '../machine/EtcdMemberListRequest.js';
import type { EtcdMemberListResponse as _machine_EtcdMemberListResponse, EtcdMemberListResponse__Output as _machine_EtcdMemberListResponse__Output } from '../machine/EtcdMemberListResponse.js';
import type { EtcdRemoveMemberByIDRequest as _machine_EtcdRemoveMemberByIDRequest, EtcdRemoveMemberByIDRequest__Output as _machine_EtcdRemoveMemberByIDRequest__Output } from '../machine/EtcdRemoveMemberByIDRequest.js';
import type { EtcdRemoveMemberByIDResponse as _machine_EtcdRemoveMemberByIDResponse, EtcdRemoveMemberByIDResponse__Output as _machine_EtcdRemoveMemberByIDResponse__Output } from '../machine/EtcdRemoveMemberByIDResponse.js';
import type { EtcdStatusResponse as _machine_EtcdStatusResponse, EtcdStatusResponse__Output as _machine_EtcdStatusResponse__Output } from '../machine/EtcdStatusResponse.js';
import type { HostnameResponse as _machine_HostnameResponse, HostnameResponse__Output as _machine_HostnameResponse__Output } from '../machine/HostnameResponse.js';
import type { RebootRequest as _machine_RebootRequest, RebootRequest__Output as _machine_RebootRequest__Output } from '../machine/RebootRequest.js';
import type { RebootResponse as _machine_RebootResponse, RebootResponse__Output as _machine_RebootResponse__Output } from '../machine/RebootResponse.js';
import type { ResetRequest as _machine_ResetRequest, ResetRequest__Output as _machine_ResetRequest__Output } from '../machine/ResetRequest.js';
import type { ResetResponse as _machine_ResetResponse, ResetResponse__Output as _machine_ResetResponse__Output } from '../machine/ResetResponse.js';
import type { ServiceListResponse as _machine_ServiceListResponse, ServiceListResponse__Output as _machine_ServiceListResponse__Output } from '../machine/ServiceListResponse.js';
import type { UpgradeRequest as _machine_UpgradeRequest, UpgradeRequest__Output as _machine_UpgradeRequest__Output } from '../machine/UpgradeRequest.js';
import type { UpgradeResponse as _machine_UpgradeResponse, UpgradeResponse__Output as _machine_UpgradeResponse__Output } from '../machine/UpgradeResponse.js';
import type { VersionResponse as _machine_VersionResponse, VersionResponse__Output as _machine_VersionResponse__Output } from '../machine/VersionResponse.js';

export interface MachineServiceClient extends grpc.Client {
  ApplyConfiguration(argument: _machine_ApplyConfigurationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ApplyConfigurationResponse__Output>): grpc.ClientUnaryCall;
  ApplyConfiguration(argument: _machine_ApplyConfigurationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_ApplyConfigurationResponse__Output>): grpc.ClientUnaryCall;
  ApplyConfiguration(argument: _machine_ApplyConfigurationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ApplyConfigurationResponse__Output>): grpc.ClientUnaryCall;
  ApplyConfiguration(argument: _machine_ApplyConfigurationRequest, callback: grpc.requestCallback<_machine_ApplyConfigurationResponse__Output>): grpc.ClientUnaryCall;
  applyConfiguration(argument: _machine_ApplyConfigurationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ApplyConfigurationResponse__Output>): grpc.ClientUnaryCall;
  applyConfiguration(argument: _machine_ApplyConfigurationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_ApplyConfigurationResponse__Output>): grpc.ClientUnaryCall;
  applyConfiguration(argument: _machine_ApplyConfigurationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ApplyConfigurationResponse__Output>): grpc.ClientUnaryCall;
  applyConfiguration(argument: _machine_ApplyConfigurationRequest, callback: grpc.requestCallback<_machine_ApplyConfigurationResponse__Output>): grpc.ClientUnaryCall;
  
  Bootstrap(argument: _machine_BootstrapRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_BootstrapResponse__Output>): grpc.ClientUnaryCall;
  Bootstrap(argument: _machine_BootstrapRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_BootstrapResponse__Output>): grpc.ClientUnaryCall;
  Bootstrap(argument: _machine_BootstrapRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_BootstrapResponse__Output>): grpc.ClientUnaryCall;
  Bootstrap(argument: _machine_BootstrapRequest, callback: grpc.requestCallback<_machine_BootstrapResponse__Output>): grpc.ClientUnaryCall;
  bootstrap(argument: _machine_BootstrapRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_BootstrapResponse__Output>): grpc.ClientUnaryCall;
  bootstrap(argument: _machine_BootstrapRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_BootstrapResponse__Output>): grpc.ClientUnaryCall;
  bootstrap(argument: _machine_BootstrapRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_BootstrapResponse__Output>): grpc.ClientUnaryCall;
  bootstrap(argument: _machine_BootstrapRequest, callback: grpc.requestCallback<_machine_BootstrapResponse__Output>): grpc.ClientUnaryCall;
  
  EtcdLeaveCluster(argument: _machine_EtcdLeaveClusterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdLeaveClusterResponse__Output>): grpc.ClientUnaryCall;
  EtcdLeaveCluster(argument: _machine_EtcdLeaveClusterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_EtcdLeaveClusterResponse__Output>): grpc.ClientUnaryCall;
  EtcdLeaveCluster(argument: _machine_EtcdLeaveClusterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdLeaveClusterResponse__Output>): grpc.ClientUnaryCall;
  EtcdLeaveCluster(argument: _machine_EtcdLeaveClusterRequest, callback: grpc.requestCallback<_machine_EtcdLeaveClusterResponse__Output>): grpc.ClientUnaryCall;
  etcdLeaveCluster(argument: _machine_EtcdLeaveClusterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdLeaveClusterResponse__Output>): grpc.ClientUnaryCall;
  etcdLeaveCluster(argument: _machine_EtcdLeaveClusterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_EtcdLeaveClusterResponse__Output>): grpc.ClientUnaryCall;
  etcdLeaveCluster(argument: _machine_EtcdLeaveClusterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdLeaveClusterResponse__Output>): grpc.ClientUnaryCall;
  etcdLeaveCluster(argument: _machine_EtcdLeaveClusterRequest, callback: grpc.requestCallback<_machine_EtcdLeaveClusterResponse__Output>): grpc.ClientUnaryCall;
  
  EtcdMemberList(argument: _machine_EtcdMemberListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdMemberListResponse__Output>): grpc.ClientUnaryCall;
  EtcdMemberList(argument: _machine_EtcdMemberListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_EtcdMemberListResponse__Output>): grpc.ClientUnaryCall;
  EtcdMemberList(argument: _machine_EtcdMemberListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdMemberListResponse__Output>): grpc.ClientUnaryCall;
  EtcdMemberList(argument: _machine_EtcdMemberListRequest, callback: grpc.requestCallback<_machine_EtcdMemberListResponse__Output>): grpc.ClientUnaryCall;
  etcdMemberList(argument: _machine_EtcdMemberListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdMemberListResponse__Output>): grpc.ClientUnaryCall;
  etcdMemberList(argument: _machine_EtcdMemberListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_EtcdMemberListResponse__Output>): grpc.ClientUnaryCall;
  etcdMemberList(argument: _machine_EtcdMemberListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdMemberListResponse__Output>): grpc.ClientUnaryCall;
  etcdMemberList(argument: _machine_EtcdMemberListRequest, callback: grpc.requestCallback<_machine_EtcdMemberListResponse__Output>): grpc.ClientUnaryCall;
  
  EtcdRemoveMemberByID(argument: _machine_EtcdRemoveMemberByIDRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdRemoveMemberByIDResponse__Output>): grpc.ClientUnaryCall;
  EtcdRemoveMemberByID(argument: _machine_EtcdRemoveMemberByIDRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_EtcdRemoveMemberByIDResponse__Output>): grpc.ClientUnaryCall;
  EtcdRemoveMemberByID(argument: _machine_EtcdRemoveMemberByIDRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdRemoveMemberByIDResponse__Output>): grpc.ClientUnaryCall;
  EtcdRemoveMemberByID(argument: _machine_EtcdRemoveMemberByIDRequest, callback: grpc.requestCallback<_machine_EtcdRemoveMemberByIDResponse__Output>): grpc.ClientUnaryCall;
  etcdRemoveMemberById(argument: _machine_EtcdRemoveMemberByIDRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdRemoveMemberByIDResponse__Output>): grpc.ClientUnaryCall;
  etcdRemoveMemberById(argument: _machine_EtcdRemoveMemberByIDRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_EtcdRemoveMemberByIDResponse__Output>): grpc.ClientUnaryCall;
  etcdRemoveMemberById(argument: _machine_EtcdRemoveMemberByIDRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdRemoveMemberByIDResponse__Output>): grpc.ClientUnaryCall;
  etcdRemoveMemberById(argument: _machine_EtcdRemoveMemberByIDRequest, callback: grpc.requestCallback<_machine_EtcdRemoveMemberByIDResponse__Output>): grpc.ClientUnaryCall;
  
  EtcdStatus(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdStatusResponse__Output>): grpc.ClientUnaryCall;
  EtcdStatus(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_EtcdStatusResponse__Output>): grpc.ClientUnaryCall;
  EtcdStatus(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdStatusResponse__Output>): grpc.ClientUnaryCall;
  EtcdStatus(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_machine_EtcdStatusResponse__Output>): grpc.ClientUnaryCall;
  etcdStatus(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdStatusResponse__Output>): grpc.ClientUnaryCall;
  etcdStatus(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_EtcdStatusResponse__Output>): grpc.ClientUnaryCall;
  etcdStatus(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_EtcdStatusResponse__Output>): grpc.ClientUnaryCall;
  etcdStatus(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_machine_EtcdStatusResponse__Output>): grpc.ClientUnaryCall;
  
  Hostname(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_HostnameResponse__Output>): grpc.ClientUnaryCall;
  Hostname(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_HostnameResponse__Output>): grpc.ClientUnaryCall;
  Hostname(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_HostnameResponse__Output>): grpc.ClientUnaryCall;
  Hostname(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_machine_HostnameResponse__Output>): grpc.ClientUnaryCall;
  hostname(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_HostnameResponse__Output>): grpc.ClientUnaryCall;
  hostname(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_HostnameResponse__Output>): grpc.ClientUnaryCall;
  hostname(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_HostnameResponse__Output>): grpc.ClientUnaryCall;
  hostname(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_machine_HostnameResponse__Output>): grpc.ClientUnaryCall;
  
  Kubeconfig(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_common_Data__Output>;
  Kubeconfig(argument: _google_protobuf_Empty, options?: grpc.CallOptions): grpc.ClientReadableStream<_common_Data__Output>;
  kubeconfig(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_common_Data__Output>;
  kubeconfig(argument: _google_protobuf_Empty, options?: grpc.CallOptions): grpc.ClientReadableStream<_common_Data__Output>;
  
  Reboot(argument: _machine_RebootRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_RebootResponse__Output>): grpc.ClientUnaryCall;
  Reboot(argument: _machine_RebootRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_RebootResponse__Output>): grpc.ClientUnaryCall;
  Reboot(argument: _machine_RebootRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_RebootResponse__Output>): grpc.ClientUnaryCall;
  Reboot(argument: _machine_RebootRequest, callback: grpc.requestCallback<_machine_RebootResponse__Output>): grpc.ClientUnaryCall;
  reboot(argument: _machine_RebootRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_RebootResponse__Output>): grpc.ClientUnaryCall;
  reboot(argument: _machine_RebootRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_RebootResponse__Output>): grpc.ClientUnaryCall;
  reboot(argument: _machine_RebootRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_RebootResponse__Output>): grpc.ClientUnaryCall;
  reboot(argument: _machine_RebootRequest, callback: grpc.requestCallback<_machine_RebootResponse__Output>): grpc.ClientUnaryCall;
  
  Reset(argument: _machine_ResetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ResetResponse__Output>): grpc.ClientUnaryCall;
  Reset(argument: _machine_ResetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_ResetResponse__Output>): grpc.ClientUnaryCall;
  Reset(argument: _machine_ResetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ResetResponse__Output>): grpc.ClientUnaryCall;
  Reset(argument: _machine_ResetRequest, callback: grpc.requestCallback<_machine_ResetResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _machine_ResetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ResetResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _machine_ResetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_ResetResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _machine_ResetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ResetResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _machine_ResetRequest, callback: grpc.requestCallback<_machine_ResetResponse__Output>): grpc.ClientUnaryCall;
  
  ServiceList(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ServiceListResponse__Output>): grpc.ClientUnaryCall;
  ServiceList(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_ServiceListResponse__Output>): grpc.ClientUnaryCall;
  ServiceList(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ServiceListResponse__Output>): grpc.ClientUnaryCall;
  ServiceList(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_machine_ServiceListResponse__Output>): grpc.ClientUnaryCall;
  serviceList(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ServiceListResponse__Output>): grpc.ClientUnaryCall;
  serviceList(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_ServiceListResponse__Output>): grpc.ClientUnaryCall;
  serviceList(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_ServiceListResponse__Output>): grpc.ClientUnaryCall;
  serviceList(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_machine_ServiceListResponse__Output>): grpc.ClientUnaryCall;
  
  Upgrade(argument: _machine_UpgradeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_UpgradeResponse__Output>): grpc.ClientUnaryCall;
  Upgrade(argument: _machine_UpgradeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_UpgradeResponse__Output>): grpc.ClientUnaryCall;
  Upgrade(argument: _machine_UpgradeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_UpgradeResponse__Output>): grpc.ClientUnaryCall;
  Upgrade(argument: _machine_UpgradeRequest, callback: grpc.requestCallback<_machine_UpgradeResponse__Output>): grpc.ClientUnaryCall;
  upgrade(argument: _machine_UpgradeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_UpgradeResponse__Output>): grpc.ClientUnaryCall;
  upgrade(argument: _machine_UpgradeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_UpgradeResponse__Output>): grpc.ClientUnaryCall;
  upgrade(argument: _machine_UpgradeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_UpgradeResponse__Output>): grpc.ClientUnaryCall;
  upgrade(argument: _machine_UpgradeRequest, callback: grpc.requestCallback<_machine_UpgradeResponse__Output>): grpc.ClientUnaryCall;
  
  Version(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_VersionResponse__Output>): grpc.ClientUnaryCall;
  Version(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_VersionResponse__Output>): grpc.ClientUnaryCall;
  Version(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_VersionResponse__Output>): grpc.ClientUnaryCall;
  Version(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_machine_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_machine_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_machine_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_machine_VersionResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface MachineServiceHandlers extends grpc.UntypedServiceImplementation {
  ApplyConfiguration: grpc.handleUnaryCall<_machine_ApplyConfigurationRequest__Output, _machine_ApplyConfigurationResponse>;
  
  Bootstrap: grpc.handleUnaryCall<_machine_BootstrapRequest__Output, _machine_BootstrapResponse>;
  
  EtcdLeaveCluster: grpc.handleUnaryCall<_machine_EtcdLeaveClusterRequest__Output, _machine_EtcdLeaveClusterResponse>;
  
  EtcdMemberList: grpc.handleUnaryCall<_machine_EtcdMemberListRequest__Output, _machine_EtcdMemberListResponse>;
  
  EtcdRemoveMemberByID: grpc.handleUnaryCall<_machine_EtcdRemoveMemberByIDRequest__Output, _machine_EtcdRemoveMemberByIDResponse>;
  
  EtcdStatus: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _machine_EtcdStatusResponse>;
  
  Hostname: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _machine_HostnameResponse>;
  
  Kubeconfig: grpc.handleServerStreamingCall<_google_protobuf_Empty__Output, _common_Data>;
  
  Reboot: grpc.handleUnaryCall<_machine_RebootRequest__Output, _machine_RebootResponse>;
  
  Reset: grpc.handleUnaryCall<_machine_ResetRequest__Output, _machine_ResetResponse>;
  
  ServiceList: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _machine_ServiceListResponse>;
  
  Upgrade: grpc.handleUnaryCall<_machine_UpgradeRequest__Output, _machine_UpgradeResponse>;
  
  Version: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _machine_VersionResponse>;
  
}

export interface MachineServiceDefinition extends grpc.ServiceDefinition {
  ApplyConfiguration: MethodDefinition<_machine_ApplyConfigurationRequest, _machine_ApplyConfigurationResponse, _machine_ApplyConfigurationRequest__Output, _machine_ApplyConfigurationResponse__Output>
  Bootstrap: MethodDefinition<_machine_BootstrapRequest, _machine_BootstrapResponse, _machine_BootstrapRequest__Output, _machine_BootstrapResponse__Output>
  EtcdLeaveCluster: MethodDefinition<_machine_EtcdLeaveClusterRequest, _machine_EtcdLeaveClusterResponse, _machine_EtcdLeaveClusterRequest__Output, _machine_EtcdLeaveClusterResponse__Output>
  EtcdMemberList: MethodDefinition<_machine_EtcdMemberListRequest, _machine_EtcdMemberListResponse, _machine_EtcdMemberListRequest__Output, _machine_EtcdMemberListResponse__Output>
  EtcdRemoveMemberByID: MethodDefinition<_machine_EtcdRemoveMemberByIDRequest, _machine_EtcdRemoveMemberByIDResponse, _machine_EtcdRemoveMemberByIDRequest__Output, _machine_EtcdRemoveMemberByIDResponse__Output>
  EtcdStatus: MethodDefinition<_google_protobuf_Empty, _machine_EtcdStatusResponse, _google_protobuf_Empty__Output, _machine_EtcdStatusResponse__Output>
  Hostname: MethodDefinition<_google_protobuf_Empty, _machine_HostnameResponse, _google_protobuf_Empty__Output, _machine_HostnameResponse__Output>
  Kubeconfig: MethodDefinition<_google_protobuf_Empty, _common_Data, _google_protobuf_Empty__Output, _common_Data__Output>
  Reboot: MethodDefinition<_machine_RebootRequest, _machine_RebootResponse, _machine_RebootRequest__Output, _machine_RebootResponse__Output>
  Reset: MethodDefinition<_machine_ResetRequest, _machine_ResetResponse, _machine_ResetRequest__Output, _machine_ResetResponse__Output>
  ServiceList: MethodDefinition<_google_protobuf_Empty, _machine_ServiceListResponse, _google_protobuf_Empty__Output, _machine_ServiceListResponse__Output>
  Upgrade: MethodDefinition<_machine_UpgradeRequest, _machine_UpgradeResponse, _machine_UpgradeRequest__Output, _machine_UpgradeResponse__Output>
  Version: MethodDefinition<_google_protobuf_Empty, _machine_VersionResponse, _google_protobuf_Empty__Output, _machine_VersionResponse__Output>
}
