// apid's authorization as the simulator enforces it: the TLS layer already verified the client
// chain to the OS CA; here the leaf must carry EKU exactly [clientAuth], its roles come from
// Subject O, and each method admits only the roles apid grants it (METHOD_ROLES).
import { status, type ServerUnaryCall } from '@grpc/grpc-js';
import { RpcError } from './rpc-error.js';

/** What the checks need of a unary or streaming server call. */
export type ServerSurfaceCall = Pick<
  ServerUnaryCall<unknown, unknown>,
  'getAuthContext' | 'metadata' | 'cancelled' | 'once'
>;

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

const READERS = ['os:admin', 'os:operator', 'os:reader'];
const ETCD_READERS = [...READERS, 'os:etcd:backup'];

/** Roles allowed per full method; methods not listed are admin-only, as in apid. */
export const METHOD_ROLES: Readonly<Record<string, readonly string[]>> = {
  '/machine.MachineService/Version': READERS,
  '/machine.MachineService/ServiceList': READERS,
  '/machine.MachineService/Hostname': READERS,
  '/machine.MachineService/Kubeconfig': ['os:admin'],
  '/machine.MachineService/ApplyConfiguration': ['os:admin'],
  '/machine.MachineService/Bootstrap': ['os:admin'],
  '/machine.MachineService/Reboot': ['os:admin', 'os:operator'],
  '/machine.MachineService/Upgrade': ['os:admin'],
  '/machine.MachineService/EtcdMemberList': ETCD_READERS,
  '/machine.MachineService/EtcdStatus': ETCD_READERS,
  '/cluster.ClusterService/HealthCheck': READERS,
  '/storage.StorageService/Disks': READERS,
  '/cosi.resource.State/Get': READERS,
  '/cosi.resource.State/List': READERS,
};

export function rolesAllowed(method: string): readonly string[] {
  return METHOD_ROLES[method] ?? ['os:admin'];
}

/** The caller's roles, after checking its certificate; throws UNAUTHENTICATED/PERMISSION_DENIED. */
export function authorize(call: ServerSurfaceCall, method: string): string[] {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (!cert) throw new RpcError(status.UNAUTHENTICATED, 'a client certificate signed by the OS CA is required');
  const eku = cert.ext_key_usage ?? [];
  if (eku.length !== 1 || eku[0] !== CLIENT_AUTH_OID) {
    throw new RpcError(status.UNAUTHENTICATED, 'client certificate extended key usage must be exactly [clientAuth]');
  }
  const o = cert.subject?.O as string | string[] | undefined;
  const roles = o === undefined ? [] : Array.isArray(o) ? o : [o];
  const allowed = rolesAllowed(method);
  if (!roles.some((r) => allowed.includes(r))) {
    throw new RpcError(
      status.PERMISSION_DENIED,
      `not authorized: ${method} requires one of the roles ${allowed.join(', ')}`,
    );
  }
  return roles;
}
