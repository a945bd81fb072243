// The Status error constructors: every failure the server answers with is built by one of them, so
// their codes, reasons, messages and details are what clients see.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  alreadyExistsWithMessage,
  badRequest,
  conflictWithMessage,
  internalError,
  internalErrorWithMessage,
  fieldErr,
  invalid,
  invalidWithMessage,
  methodNotAllowedWithMessage,
  notFoundResource,
  notFoundWithMessage,
  requestTimeout,
  serviceUnavailable,
  StatusError,
  timeout,
  tooManyRequests,
  unauthorized,
} from '../../src/machinery/errors.js';

const ROOT = join(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('Status error constructors', () => {
  it.each([
    ['notFoundResource', notFoundResource(), 404, 'NotFound', 'the server could not find the requested resource'],
    ['notFoundWithMessage', notFoundWithMessage('no such thing'), 404, 'NotFound', 'no such thing'],
    ['alreadyExistsWithMessage', alreadyExistsWithMessage('done before'), 409, 'AlreadyExists', 'done before'],
    ['conflictWithMessage', conflictWithMessage('busy'), 409, 'Conflict', 'busy'],
    ['invalidWithMessage', invalidWithMessage('bad patch'), 422, 'Invalid', 'bad patch'],
    ['badRequest', badRequest('bad'), 400, 'BadRequest', 'bad'],
    ['unauthorized', unauthorized(), 401, 'Unauthorized', 'Unauthorized'],
    [
      'methodNotAllowedWithMessage',
      methodNotAllowedWithMessage('method TRACE is not allowed'),
      405,
      'MethodNotAllowed',
      'method TRACE is not allowed',
    ],
    ['requestTimeout', requestTimeout('too slow'), 408, 'Timeout', 'too slow'],
    ['tooManyRequests', tooManyRequests('slow down'), 429, 'TooManyRequests', 'slow down'],
    [
      'internalErrorWithMessage',
      internalErrorWithMessage('list did not terminate'),
      500,
      'InternalError',
      'list did not terminate',
    ],
    ['serviceUnavailable', serviceUnavailable('down'), 503, 'ServiceUnavailable', 'down'],
    ['timeout', timeout('no answer'), 504, 'Timeout', 'no answer'],
  ])('%s -> %i %s', (_name, e, code, reason, message) => {
    expect(e).toBeInstanceOf(StatusError);
    expect(e.toStatus()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      code,
      reason,
      message,
    });
  });

  it('carry the details they are given (Retry-After, causes)', () => {
    expect(tooManyRequests('slow down', { retryAfterSeconds: 1 }).toStatus().details).toEqual({ retryAfterSeconds: 1 });
    const causes = [{ reason: 'Unreachable', message: 'gone' }];
    for (const e of [
      badRequest('x', { causes }),
      serviceUnavailable('x', { causes }),
      internalErrorWithMessage('x', { causes }),
      alreadyExistsWithMessage('x', { causes }),
    ]) {
      expect(e.toStatus().details).toEqual({ causes });
    }
  });

  it('internalError words its message as kube-apiserver does; internalErrorWithMessage keeps it as given', () => {
    expect(internalError('boom').toStatus()).toMatchObject({
      code: 500,
      message: 'Internal error occurred: boom',
      details: { causes: [{ message: 'boom' }] },
    });
    expect(internalErrorWithMessage('boom').toStatus().message).toBe('boom');
  });

  it('invalid names the object by Kind.group, as kube-apiserver does, in the message and the details', () => {
    const errors = [fieldErr.invalid('spec.a', 2, 'must be odd'), fieldErr.required('spec.b')];
    expect(invalid({ group: 'vitistack.io', kind: 'KubernetesCluster' }, 'prod', errors).toStatus()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      code: 422,
      reason: 'Invalid',
      message:
        'KubernetesCluster.vitistack.io "prod" is invalid: [spec.a: Invalid value: 2: must be odd, spec.b: Required value]',
      // kubectl prints `The <details.kind> "<name>" is invalid`: the Kind, never the resource's plural
      details: {
        name: 'prod',
        group: 'vitistack.io',
        kind: 'KubernetesCluster',
        causes: [
          { reason: 'FieldValueInvalid', message: 'Invalid value: 2: must be odd', field: 'spec.a' },
          { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.b' },
        ],
      },
    });
    expect(invalid({ group: '', kind: 'Secret' }, 's', [fieldErr.required('data')]).message).toBe(
      'Secret "s" is invalid: data: Required value',
    );
  });

  it('nothing outside src/machinery/errors.ts builds a StatusError by hand', () => {
    const files = ['src', 'apiservice', 'webhooks', 'hack'].flatMap((d) => sourceFiles(join(ROOT, d)));
    const byHand = files
      .filter(
        (f) =>
          !f.endsWith(join('src', 'machinery', 'errors.ts')) && readFileSync(f, 'utf8').includes('new StatusError('),
      )
      .map((f) => relative(ROOT, f));
    expect(byHand).toEqual([]);
  });
});
