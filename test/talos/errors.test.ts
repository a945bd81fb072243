// gRPC failures -> StatusError with a Kubernetes code/reason and a machine-readable failure reason.
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { StatusError } from '../../src/machinery/errors.js';
import { outboundNotAllowed, redact, toTalosError, TalosError } from '../../src/talos/errors.js';

const ctx = { endpoint: '10.0.0.5:50000', method: 'Version', timeoutMs: 1500 };

describe('toTalosError', () => {
  it.each([
    [status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED', 503, 'ServiceUnavailable', 'Unreachable'],
    [status.UNAVAILABLE, 'No connection established. Last error: Error: self-signed certificate in certificate chain', 503, 'ServiceUnavailable', 'TLSError'],
    [status.UNAVAILABLE, "Hostname/IP does not match certificate's altnames", 503, 'ServiceUnavailable', 'TLSError'],
    [status.UNAVAILABLE, 'tls: alert bad certificate', 503, 'ServiceUnavailable', 'TLSError'],
    [status.DEADLINE_EXCEEDED, 'Deadline exceeded', 504, 'Timeout', 'Timeout'],
    [status.PERMISSION_DENIED, 'not authorized', 403, 'Forbidden', 'PermissionDenied'],
    [status.UNAUTHENTICATED, 'bad cert', 403, 'Forbidden', 'Unauthenticated'],
    [status.NOT_FOUND, 'no such thing', 404, 'NotFound', 'NotFound'],
    [status.UNIMPLEMENTED, 'kubeconfig is only available on control plane nodes', 400, 'BadRequest', 'Unimplemented'],
    [status.ALREADY_EXISTS, 'etcd data directory is not empty', 409, 'AlreadyExists', 'AlreadyExists'],
    [status.INVALID_ARGUMENT, 'bad config', 400, 'BadRequest', 'InvalidArgument'],
    [status.FAILED_PRECONDITION, 'busy', 409, 'Conflict', 'FailedPrecondition'],
    [status.RESOURCE_EXHAUSTED, 'too big', 429, 'TooManyRequests', 'ResourceExhausted'],
    [status.INTERNAL, 'boom', 500, 'InternalError', 'NodeError'],
  ])('gRPC %i (%s) -> %i %s / %s', (code, details, httpCode, reason, failure) => {
    const e = toTalosError({ code, details }, ctx);
    expect(e).toBeInstanceOf(TalosError);
    expect(e).toBeInstanceOf(StatusError);
    expect({ code: e.code, reason: e.reason, failure: e.failure, grpcCode: e.grpcCode }).toEqual({ code: httpCode, reason, failure, grpcCode: code });
    expect(e.message).toContain('10.0.0.5:50000');
    expect(e.message).toContain('Version');
    const s = e.toStatus();
    expect(s).toMatchObject({ kind: 'Status', status: 'Failure', code: httpCode, reason });
    expect(s.details?.causes?.[0]?.reason).toBe(failure);
  });

  it('a timeout says how long it waited', () => {
    expect(toTalosError({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }, ctx).message).toContain('within 1500 ms');
  });

  it('unimplemented explains the likely cause', () => {
    expect(toTalosError({ code: status.UNIMPLEMENTED, details: '' }, ctx).message).toContain('it may be a worker');
  });

  it('DNS failures are Unreachable', () => {
    const err = Object.assign(new Error('getaddrinfo ENOTFOUND node.invalid'), { code: 'ENOTFOUND' });
    expect(toTalosError(err, ctx)).toMatchObject({ code: 503, failure: 'Unreachable' });
  });

  it('an outbound refusal names the address and the flag', () => {
    const e = outboundNotAllowed('node-1:50000', ['192.168.1.10']);
    expect(e).toMatchObject({ code: 503, reason: 'ServiceUnavailable', failure: 'OutboundNotAllowed' });
    expect(e.message).toBe('refusing to connect to Talos endpoint node-1:50000: address 192.168.1.10 is outside --allowed-outbound-networks');
  });
});

describe('redact', () => {
  it('removes PEM blocks and long base64 runs from messages', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAbc\n-----END PRIVATE KEY-----';
    const e = toTalosError({ code: status.INTERNAL, details: `failed with ${pem} and ${'QUJD'.repeat(40)}` }, ctx);
    expect(e.message).not.toContain('MC4CAQ');
    expect(e.message).not.toContain('QUJDQUJD');
    expect(e.message).toContain('[redacted PEM]');
    expect(redact('plain words stay')).toBe('plain words stay');
  });
});
