// Which failures the runtime logs without a stack: network failures, gRPC UNAVAILABLE and
// DEADLINE_EXCEEDED, and Statuses that say "not now" (also as the cause of another error); a bug
// keeps its stack.
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { failureFields, isNetworkFailure } from '../../../../src/controllers/runtime/failures.js';
import { conflict, internalError, serviceUnavailable, timeout } from '../../../../src/machinery/errors.js';

/** a gRPC status error as @grpc/grpc-js rejects a call with */
const grpcError = (code: GrpcStatus, details: string) =>
  Object.assign(new Error(`${code} ${GrpcStatus[code]}: ${details}`), { code, details, metadata: new Metadata() });

const nodeError = (code: string) =>
  Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code, syscall: 'connect' });

describe('expected failures', () => {
  it('network failures, also as the cause of another error', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'])
      expect(isNetworkFailure(nodeError(code))).toBe(true);
    expect(isNetworkFailure(new Error('the sync failed', { cause: nodeError('ECONNREFUSED') }))).toBe(true);
    expect(isNetworkFailure(nodeError('EACCES'))).toBe(false);
  });

  it('gRPC UNAVAILABLE and DEADLINE_EXCEEDED, not PERMISSION_DENIED', () => {
    expect(isNetworkFailure(grpcError(GrpcStatus.UNAVAILABLE, 'No connection established'))).toBe(true);
    expect(isNetworkFailure(grpcError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded'))).toBe(true);
    expect(isNetworkFailure(grpcError(GrpcStatus.PERMISSION_DENIED, 'no'))).toBe(false);
  });

  it('Statuses that say "not now" (unavailable, timeout, conflict), not an internal error', () => {
    expect(isNetworkFailure(serviceUnavailable('etcd is away'))).toBe(true);
    expect(isNetworkFailure(timeout('no answer'))).toBe(true);
    expect(isNetworkFailure(conflict({ group: '', resource: 'secrets' }, 'a', 'changed'))).toBe(true);
    expect(isNetworkFailure(internalError('a bug'))).toBe(false);
  });

  it('a bug is neither, and keeps its stack in the log fields', () => {
    const bug = new TypeError('x is undefined');
    expect(isNetworkFailure(bug)).toBe(false);
    expect(failureFields(bug, false)).toEqual({ err: bug });
    expect(failureFields(nodeError('ECONNREFUSED'), true)).toEqual({ error: 'connect ECONNREFUSED 127.0.0.1:1' });
  });
});
