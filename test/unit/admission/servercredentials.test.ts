import { describe, expect, it } from 'vitest';
import { serverCredentialsAdmission } from '../../../src/admission/servercredentials.js';
import { StatusError } from '../../../src/machinery/errors.js';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { systemContext } from '../../../src/machinery/registry/context.js';

const server = (bmc: Record<string, unknown> | undefined, extra: object = {}): KubeObject =>
  ({
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'Server',
    metadata: { name: 'uuid-1' },
    spec: { accepted: true, ...(bmc ? { bmc } : {}), ...extra },
  }) as KubeObject;

const validate = (op: 'CREATE' | 'UPDATE', obj: KubeObject, old?: KubeObject) =>
  serverCredentialsAdmission.validate!(op, obj, old, systemContext()).then(
    () => undefined,
    (e: unknown) => e,
  );

describe('inline BMC credentials', () => {
  it('an inline pass and user are refused as 422 Forbidden on their fields, without echoing them', async () => {
    const e = (await validate('CREATE', server({ endpoint: '10.0.0.1', user: 'root', pass: 's3cret' }))) as StatusError;
    expect(e).toBeInstanceOf(StatusError);
    expect(e.code).toBe(422);
    expect(e.reason).toBe('Invalid');
    expect(e.message).toContain(
      'spec.bmc.pass: Forbidden: BMC credentials are not stored inline: put it in a Secret and use spec.bmc.passFrom.secretKeyRef',
    );
    expect(e.message).toContain('spec.bmc.userFrom.secretKeyRef');
    expect(e.message).not.toContain('s3cret');
    expect(e.details?.causes?.map((c) => c.field)).toEqual(['spec.bmc.pass', 'spec.bmc.user']);
  });

  it('credentials from Secrets, no BMC, and other kinds pass', async () => {
    const ref = { secretKeyRef: { namespace: 'default', name: 'bmc', key: 'pass' } };
    expect(await validate('CREATE', server({ endpoint: '10.0.0.1', passFrom: ref, userFrom: ref }))).toBeUndefined();
    expect(await validate('CREATE', server(undefined))).toBeUndefined();
    expect(await validate('CREATE', { ...server({ pass: 'x' }), kind: 'AdoptedServer' } as KubeObject)).toBeUndefined();
  });

  it('an update that leaves the spec as it is (a status write) is not judged again; one that changes it is', async () => {
    const legacy = server({ endpoint: '10.0.0.1', pass: 'old' });
    expect(await validate('UPDATE', { ...legacy, status: { power: 'on' } } as KubeObject, legacy)).toBeUndefined();
    const e = await validate('UPDATE', server({ endpoint: '10.0.0.1', pass: 'old' }, { cordoned: true }), legacy);
    expect(e).toMatchObject({ code: 422 });
  });
});
