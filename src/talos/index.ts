// The Talos machine API client and talosconfig handling, as one import for the rest of src/.
export { TalosClient } from './client.js';
export type {
  TalosClientOptions,
  TalosVersion,
  ApplyConfigurationInput,
  ApplyConfigurationResult,
  UpgradeInput,
  HealthCheckInput,
  ResetInput,
  ApplyMode,
  RebootMode,
  UpgradeRebootMode,
  CallOptions,
  ServiceInfo,
  EtcdMember,
  EtcdMemberStatus,
  Disk,
} from './client.js';
export {
  DEFAULT_TIMEOUT_MS,
  MAX_MESSAGE_BYTES,
  systemLookup,
  type HostLookup,
  type DialOptions,
  type MaintenanceConnectionOptions,
} from './connection.js';
export type { TalosResource, TalosResourceMetadata } from './resources.js';
export { TalosError, isTalosError, toTalosError, redact, type TalosFailure } from './errors.js';
export { parseEndpoint, formatEndpoint, DEFAULT_TALOS_PORT, EndpointError, type Endpoint } from './endpoint.js';
export { OutboundAllowList, AllowListError } from './outbound.js';
export {
  parseTalosconfig,
  serializeTalosconfig,
  selectContext,
  nodeTlsKey,
  TalosconfigError,
  type Talosconfig,
  type TalosconfigContext,
} from './talosconfig.js';
export { readTar, fileFromTarGz, TarFormatError, type TarEntry } from './tar.js';
