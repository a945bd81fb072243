// gRPC failures -> a TalosError with a machine-readable failure reason, and the Status the live
// subresources answer each failure with (code, reason, the failure in details.causes).
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { StatusError } from '../../src/machinery/errors.js';
import { CredentialsError } from '../../src/nodeaccess/credentials.js';
import { nodeFailureStatus } from '../../src/subresources/failures.js';
import { outboundNotAllowed, redact, toTalosError, TalosError } from '../../src/talos/errors.js';

const ctx = { endpoint: '10.0.0.5:50000', method: 'Version', timeoutMs: 1500 };

describe('toTalosError', () => {
  it.each([
    [
      status.UNAVAILABLE,
      'No connection established. Last error: connect ECONNREFUSED',
      503,
      'ServiceUnavailable',
      'Unreachable',
    ],
    [
      status.UNAVAILABLE,
      'No connection established. Last error: Error: self-signed certificate in certificate chain',
      503,
      'ServiceUnavailable',
      'TLSError',
    ],
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
    expect(e).not.toBeInstanceOf(StatusError);
    expect({ failure: e.failure, grpcCode: e.grpcCode }).toEqual({ failure, grpcCode: code });
    expect(e.message).toContain('10.0.0.5:50000');
    expect(e.message).toContain('Version');
    const s = nodeFailureStatus(e)!.toStatus();
    expect(s).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      code: httpCode,
      reason,
      message: e.message,
      details: {
        causes: [
          { reason: failure, message: e.message },
          { reason: status[code], message: 'the gRPC status of the call' },
        ],
      },
    });
    expect(e.message).not.toMatch(/No connection established|Last error|Resolution note/);
  });

  it('grpc-js wording becomes the likely cause in one line', () => {
    expect(
      toTalosError(
        {
          code: status.UNAVAILABLE,
          details:
            'No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.5:50000. Resolution note: ',
        },
        ctx,
      ).message,
    ).toBe(
      'Talos node 10.0.0.5:50000 (Version) is unreachable: connection refused (nothing listens on that port, or a firewall rejects it)',
    );
    expect(
      toTalosError(
        {
          code: status.DEADLINE_EXCEEDED,
          details: 'Deadline exceeded after 10.000s,name resolution: 0.001s,LB pick: 0.002s',
        },
        ctx,
      ).message,
    ).toBe(
      'Talos node 10.0.0.5:50000 (Version) did not answer within 1500 ms: no connection could be set up in that time (the node is down or frozen, or a firewall drops the packets)',
    );
    expect(
      toTalosError(
        { code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded after 1.500s,remote_addr=10.0.0.5:50000' },
        ctx,
      ).message,
    ).toBe(
      'Talos node 10.0.0.5:50000 (Version) did not answer within 1500 ms: the call was sent and no answer came (the node is frozen or overloaded)',
    );
    const multi = toTalosError({ code: status.INTERNAL, details: 'first line\n  second line' }, ctx).message;
    expect(multi).toBe('Talos node 10.0.0.5:50000 (Version) failed (INTERNAL): first line second line');
  });

  it('a timeout says how long it waited', () => {
    expect(toTalosError({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }, ctx).message).toContain(
      'within 1500 ms',
    );
  });

  it('unimplemented explains the likely cause', () => {
    expect(toTalosError({ code: status.UNIMPLEMENTED, details: '' }, ctx).message).toContain('it may be a worker');
  });

  it('DNS failures are Unreachable', () => {
    const err = Object.assign(new Error('getaddrinfo ENOTFOUND node.invalid'), { code: 'ENOTFOUND' });
    const e = toTalosError(err, ctx);
    expect(e).toMatchObject({ failure: 'Unreachable' });
    expect(nodeFailureStatus(e)?.code).toBe(503);
  });

  it('an outbound refusal names the address and the flag', () => {
    const e = outboundNotAllowed('node-1:50000', ['192.168.1.10']);
    expect(e).toMatchObject({ failure: 'OutboundNotAllowed' });
    expect(nodeFailureStatus(e)).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    expect(e.message).toBe(
      'refusing to connect to Talos endpoint node-1:50000: address 192.168.1.10 is outside --allowed-outbound-networks',
    );
  });
});

describe('nodeFailureStatus', () => {
  it.each([
    ['Canceled', 503, 'ServiceUnavailable'],
    ['ClientClosed', 503, 'ServiceUnavailable'],
    ['InvalidResponse', 500, 'InternalError'],
  ] as const)('%s -> %i %s', (failure, code, reason) => {
    const e = new TalosError(failure, 'Talos node 10.0.0.5:50000 (Version): what happened');
    expect(nodeFailureStatus(e)?.toStatus()).toMatchObject({
      code,
      reason,
      message: e.message,
      details: { causes: [{ reason: failure }] },
    });
  });

  it('missing credentials are a 400 naming why, with the reason in causes', () => {
    const e = new CredentialsError('SecretNotFound', 'secret "talos" does not exist');
    expect(nodeFailureStatus(e)?.toStatus()).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: e.message,
      details: { causes: [{ reason: 'SecretNotFound', message: e.message }] },
    });
  });

  it('leaves every other error alone', () => {
    expect(nodeFailureStatus(new Error('a bug'))).toBeUndefined();
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
