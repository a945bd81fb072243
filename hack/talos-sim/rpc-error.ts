// A gRPC failure a simulated handler raises; grpc-js sends `code` and `details` as the call's status.
import type { status } from '@grpc/grpc-js';

export class RpcError extends Error {
  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(details);
    this.name = 'RpcError';
  }
}
