// Failures of asking a node, as the live subresources answer them: the one place where a Talos
// failure reason (or missing credentials) becomes an HTTP status. The controller turns the same
// reasons into conditions instead. The failure reason also rides in details.causes (and, for a
// failed gRPC call, its status code name such as UNAVAILABLE), so a client can tell an unreachable
// node from a TLS problem without reading the message.
import {
  alreadyExistsWithMessage,
  badRequest,
  conflictWithMessage,
  forbidden,
  internalErrorWithMessage,
  notFoundWithMessage,
  serviceUnavailable,
  timeout,
  tooManyRequests,
  type StatusDetails,
  type StatusError,
} from '../machinery/errors.js';
import { EndpointError } from '../talos/endpoint.js';
import { grpcCodeName, TalosError, type TalosFailure } from '../talos/errors.js';
import { TalosconfigError } from '../talos/talosconfig.js';
import { CredentialsError } from '../nodeaccess/credentials.js';

const statusOf: Record<TalosFailure, (message: string, details: StatusDetails) => StatusError> = {
  // the node cannot be asked now; asking again later may work
  Unreachable: serviceUnavailable,
  TLSError: serviceUnavailable,
  OutboundNotAllowed: serviceUnavailable,
  Canceled: serviceUnavailable,
  ClientClosed: serviceUnavailable,
  Timeout: timeout,
  // the node refused our client certificate or its roles
  PermissionDenied: forbidden,
  Unauthenticated: forbidden,
  NotFound: notFoundWithMessage,
  Unimplemented: badRequest,
  InvalidArgument: badRequest,
  AlreadyExists: alreadyExistsWithMessage,
  FailedPrecondition: conflictWithMessage,
  ResourceExhausted: tooManyRequests,
  InvalidResponse: internalErrorWithMessage,
  NodeError: internalErrorWithMessage,
};

/** The Status for a failure of asking a node; undefined for any other error (left as it is). */
export function nodeFailureStatus(e: unknown): StatusError | undefined {
  if (e instanceof TalosError) {
    const grpc =
      e.grpcCode === undefined ? [] : [{ reason: grpcCodeName(e.grpcCode), message: 'the gRPC status of the call' }];
    return statusOf[e.failure](e.message, { causes: [{ reason: e.failure, message: e.message }, ...grpc] });
  }
  if (e instanceof CredentialsError)
    return badRequest(e.message, { causes: [{ reason: e.failure, message: e.message }] });
  if (e instanceof TalosconfigError || e instanceof EndpointError) return badRequest(e.message);
  return undefined;
}
