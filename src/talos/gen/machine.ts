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
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from './google/protobuf/Duration.js';
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from './google/protobuf/Empty.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp.js';
import type { Status as _google_rpc_Status, Status__Output as _google_rpc_Status__Output } from './google/rpc/Status.js';
import type { ApplyConfiguration as _machine_ApplyConfiguration, ApplyConfiguration__Output as _machine_ApplyConfiguration__Output } from './machine/ApplyConfiguration.js';
import type { ApplyConfigurationRequest as _machine_ApplyConfigurationRequest, ApplyConfigurationRequest__Output as _machine_ApplyConfigurationRequest__Output } from './machine/ApplyConfigurationRequest.js';
import type { ApplyConfigurationResponse as _machine_ApplyConfigurationResponse, ApplyConfigurationResponse__Output as _machine_ApplyConfigurationResponse__Output } from './machine/ApplyConfigurationResponse.js';
import type { Bootstrap as _machine_Bootstrap, Bootstrap__Output as _machine_Bootstrap__Output } from './machine/Bootstrap.js';
import type { BootstrapRequest as _machine_BootstrapRequest, BootstrapRequest__Output as _machine_BootstrapRequest__Output } from './machine/BootstrapRequest.js';
import type { BootstrapResponse as _machine_BootstrapResponse, BootstrapResponse__Output as _machine_BootstrapResponse__Output } from './machine/BootstrapResponse.js';
import type { EtcdLeaveCluster as _machine_EtcdLeaveCluster, EtcdLeaveCluster__Output as _machine_EtcdLeaveCluster__Output } from './machine/EtcdLeaveCluster.js';
import type { EtcdLeaveClusterRequest as _machine_EtcdLeaveClusterRequest, EtcdLeaveClusterRequest__Output as _machine_EtcdLeaveClusterRequest__Output } from './machine/EtcdLeaveClusterRequest.js';
import type { EtcdLeaveClusterResponse as _machine_EtcdLeaveClusterResponse, EtcdLeaveClusterResponse__Output as _machine_EtcdLeaveClusterResponse__Output } from './machine/EtcdLeaveClusterResponse.js';
import type { EtcdMember as _machine_EtcdMember, EtcdMember__Output as _machine_EtcdMember__Output } from './machine/EtcdMember.js';
import type { EtcdMemberListRequest as _machine_EtcdMemberListRequest, EtcdMemberListRequest__Output as _machine_EtcdMemberListRequest__Output } from './machine/EtcdMemberListRequest.js';
import type { EtcdMemberListResponse as _machine_EtcdMemberListResponse, EtcdMemberListResponse__Output as _machine_EtcdMemberListResponse__Output } from './machine/EtcdMemberListResponse.js';
import type { EtcdMemberStatus as _machine_EtcdMemberStatus, EtcdMemberStatus__Output as _machine_EtcdMemberStatus__Output } from './machine/EtcdMemberStatus.js';
import type { EtcdMembers as _machine_EtcdMembers, EtcdMembers__Output as _machine_EtcdMembers__Output } from './machine/EtcdMembers.js';
import type { EtcdRemoveMemberByID as _machine_EtcdRemoveMemberByID, EtcdRemoveMemberByID__Output as _machine_EtcdRemoveMemberByID__Output } from './machine/EtcdRemoveMemberByID.js';
import type { EtcdRemoveMemberByIDRequest as _machine_EtcdRemoveMemberByIDRequest, EtcdRemoveMemberByIDRequest__Output as _machine_EtcdRemoveMemberByIDRequest__Output } from './machine/EtcdRemoveMemberByIDRequest.js';
import type { EtcdRemoveMemberByIDResponse as _machine_EtcdRemoveMemberByIDResponse, EtcdRemoveMemberByIDResponse__Output as _machine_EtcdRemoveMemberByIDResponse__Output } from './machine/EtcdRemoveMemberByIDResponse.js';
import type { EtcdStatus as _machine_EtcdStatus, EtcdStatus__Output as _machine_EtcdStatus__Output } from './machine/EtcdStatus.js';
import type { EtcdStatusResponse as _machine_EtcdStatusResponse, EtcdStatusResponse__Output as _machine_EtcdStatusResponse__Output } from './machine/EtcdStatusResponse.js';
import type { FeaturesInfo as _machine_FeaturesInfo, FeaturesInfo__Output as _machine_FeaturesInfo__Output } from './machine/FeaturesInfo.js';
import type { Hostname as _machine_Hostname, Hostname__Output as _machine_Hostname__Output } from './machine/Hostname.js';
import type { HostnameResponse as _machine_HostnameResponse, HostnameResponse__Output as _machine_HostnameResponse__Output } from './machine/HostnameResponse.js';
import type { MachineServiceClient as _machine_MachineServiceClient, MachineServiceDefinition as _machine_MachineServiceDefinition } from './machine/MachineService.js';
import type { PlatformInfo as _machine_PlatformInfo, PlatformInfo__Output as _machine_PlatformInfo__Output } from './machine/PlatformInfo.js';
import type { Reboot as _machine_Reboot, Reboot__Output as _machine_Reboot__Output } from './machine/Reboot.js';
import type { RebootRequest as _machine_RebootRequest, RebootRequest__Output as _machine_RebootRequest__Output } from './machine/RebootRequest.js';
import type { RebootResponse as _machine_RebootResponse, RebootResponse__Output as _machine_RebootResponse__Output } from './machine/RebootResponse.js';
import type { Reset as _machine_Reset, Reset__Output as _machine_Reset__Output } from './machine/Reset.js';
import type { ResetPartitionSpec as _machine_ResetPartitionSpec, ResetPartitionSpec__Output as _machine_ResetPartitionSpec__Output } from './machine/ResetPartitionSpec.js';
import type { ResetRequest as _machine_ResetRequest, ResetRequest__Output as _machine_ResetRequest__Output } from './machine/ResetRequest.js';
import type { ResetResponse as _machine_ResetResponse, ResetResponse__Output as _machine_ResetResponse__Output } from './machine/ResetResponse.js';
import type { ServiceEvent as _machine_ServiceEvent, ServiceEvent__Output as _machine_ServiceEvent__Output } from './machine/ServiceEvent.js';
import type { ServiceEvents as _machine_ServiceEvents, ServiceEvents__Output as _machine_ServiceEvents__Output } from './machine/ServiceEvents.js';
import type { ServiceHealth as _machine_ServiceHealth, ServiceHealth__Output as _machine_ServiceHealth__Output } from './machine/ServiceHealth.js';
import type { ServiceInfo as _machine_ServiceInfo, ServiceInfo__Output as _machine_ServiceInfo__Output } from './machine/ServiceInfo.js';
import type { ServiceList as _machine_ServiceList, ServiceList__Output as _machine_ServiceList__Output } from './machine/ServiceList.js';
import type { ServiceListResponse as _machine_ServiceListResponse, ServiceListResponse__Output as _machine_ServiceListResponse__Output } from './machine/ServiceListResponse.js';
import type { Upgrade as _machine_Upgrade, Upgrade__Output as _machine_Upgrade__Output } from './machine/Upgrade.js';
import type { UpgradeRequest as _machine_UpgradeRequest, UpgradeRequest__Output as _machine_UpgradeRequest__Output } from './machine/UpgradeRequest.js';
import type { UpgradeResponse as _machine_UpgradeResponse, UpgradeResponse__Output as _machine_UpgradeResponse__Output } from './machine/UpgradeResponse.js';
import type { Version as _machine_Version, Version__Output as _machine_Version__Output } from './machine/Version.js';
import type { VersionInfo as _machine_VersionInfo, VersionInfo__Output as _machine_VersionInfo__Output } from './machine/VersionInfo.js';
import type { VersionResponse as _machine_VersionResponse, VersionResponse__Output as _machine_VersionResponse__Output } from './machine/VersionResponse.js';

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
      Duration: MessageTypeDefinition<_google_protobuf_Duration, _google_protobuf_Duration__Output>
      Empty: MessageTypeDefinition<_google_protobuf_Empty, _google_protobuf_Empty__Output>
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
    }
    rpc: {
      Status: MessageTypeDefinition<_google_rpc_Status, _google_rpc_Status__Output>
    }
  }
  machine: {
    ApplyConfiguration: MessageTypeDefinition<_machine_ApplyConfiguration, _machine_ApplyConfiguration__Output>
    ApplyConfigurationRequest: MessageTypeDefinition<_machine_ApplyConfigurationRequest, _machine_ApplyConfigurationRequest__Output>
    ApplyConfigurationResponse: MessageTypeDefinition<_machine_ApplyConfigurationResponse, _machine_ApplyConfigurationResponse__Output>
    Bootstrap: MessageTypeDefinition<_machine_Bootstrap, _machine_Bootstrap__Output>
    BootstrapRequest: MessageTypeDefinition<_machine_BootstrapRequest, _machine_BootstrapRequest__Output>
    BootstrapResponse: MessageTypeDefinition<_machine_BootstrapResponse, _machine_BootstrapResponse__Output>
    EtcdLeaveCluster: MessageTypeDefinition<_machine_EtcdLeaveCluster, _machine_EtcdLeaveCluster__Output>
    EtcdLeaveClusterRequest: MessageTypeDefinition<_machine_EtcdLeaveClusterRequest, _machine_EtcdLeaveClusterRequest__Output>
    EtcdLeaveClusterResponse: MessageTypeDefinition<_machine_EtcdLeaveClusterResponse, _machine_EtcdLeaveClusterResponse__Output>
    EtcdMember: MessageTypeDefinition<_machine_EtcdMember, _machine_EtcdMember__Output>
    EtcdMemberListRequest: MessageTypeDefinition<_machine_EtcdMemberListRequest, _machine_EtcdMemberListRequest__Output>
    EtcdMemberListResponse: MessageTypeDefinition<_machine_EtcdMemberListResponse, _machine_EtcdMemberListResponse__Output>
    EtcdMemberStatus: MessageTypeDefinition<_machine_EtcdMemberStatus, _machine_EtcdMemberStatus__Output>
    EtcdMembers: MessageTypeDefinition<_machine_EtcdMembers, _machine_EtcdMembers__Output>
    EtcdRemoveMemberByID: MessageTypeDefinition<_machine_EtcdRemoveMemberByID, _machine_EtcdRemoveMemberByID__Output>
    EtcdRemoveMemberByIDRequest: MessageTypeDefinition<_machine_EtcdRemoveMemberByIDRequest, _machine_EtcdRemoveMemberByIDRequest__Output>
    EtcdRemoveMemberByIDResponse: MessageTypeDefinition<_machine_EtcdRemoveMemberByIDResponse, _machine_EtcdRemoveMemberByIDResponse__Output>
    EtcdStatus: MessageTypeDefinition<_machine_EtcdStatus, _machine_EtcdStatus__Output>
    EtcdStatusResponse: MessageTypeDefinition<_machine_EtcdStatusResponse, _machine_EtcdStatusResponse__Output>
    FeaturesInfo: MessageTypeDefinition<_machine_FeaturesInfo, _machine_FeaturesInfo__Output>
    Hostname: MessageTypeDefinition<_machine_Hostname, _machine_Hostname__Output>
    HostnameResponse: MessageTypeDefinition<_machine_HostnameResponse, _machine_HostnameResponse__Output>
    MachineService: SubtypeConstructor<typeof grpc.Client, _machine_MachineServiceClient> & { service: _machine_MachineServiceDefinition }
    PlatformInfo: MessageTypeDefinition<_machine_PlatformInfo, _machine_PlatformInfo__Output>
    Reboot: MessageTypeDefinition<_machine_Reboot, _machine_Reboot__Output>
    RebootRequest: MessageTypeDefinition<_machine_RebootRequest, _machine_RebootRequest__Output>
    RebootResponse: MessageTypeDefinition<_machine_RebootResponse, _machine_RebootResponse__Output>
    Reset: MessageTypeDefinition<_machine_Reset, _machine_Reset__Output>
    ResetPartitionSpec: MessageTypeDefinition<_machine_ResetPartitionSpec, _machine_ResetPartitionSpec__Output>
    ResetRequest: MessageTypeDefinition<_machine_ResetRequest, _machine_ResetRequest__Output>
    ResetResponse: MessageTypeDefinition<_machine_ResetResponse, _machine_ResetResponse__Output>
    ServiceEvent: MessageTypeDefinition<_machine_ServiceEvent, _machine_ServiceEvent__Output>
    ServiceEvents: MessageTypeDefinition<_machine_ServiceEvents, _machine_ServiceEvents__Output>
    ServiceHealth: MessageTypeDefinition<_machine_ServiceHealth, _machine_ServiceHealth__Output>
    ServiceInfo: MessageTypeDefinition<_machine_ServiceInfo, _machine_ServiceInfo__Output>
    ServiceList: MessageTypeDefinition<_machine_ServiceList, _machine_ServiceList__Output>
    ServiceListResponse: MessageTypeDefinition<_machine_ServiceListResponse, _machine_ServiceListResponse__Output>
    Upgrade: MessageTypeDefinition<_machine_Upgrade, _machine_Upgrade__Output>
    UpgradeRequest: MessageTypeDefinition<_machine_UpgradeRequest, _machine_UpgradeRequest__Output>
    UpgradeResponse: MessageTypeDefinition<_machine_UpgradeResponse, _machine_UpgradeResponse__Output>
    Version: MessageTypeDefinition<_machine_Version, _machine_Version__Output>
    VersionInfo: MessageTypeDefinition<_machine_VersionInfo, _machine_VersionInfo__Output>
    VersionResponse: MessageTypeDefinition<_machine_VersionResponse, _machine_VersionResponse__Output>
  }
}

