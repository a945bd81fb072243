// BMC credentials of a Server live in Secrets only: an inline spec.bmc.pass or spec.bmc.user is
// refused on create and on any update that changes the spec (a Server stored before this rule keeps
// its status writable, and the inline value is never echoed back in the error). Sidero's own
// webhook checks (bootFromDiskMethod, pxeMode, configPatches ops) are the kind's schema enums.
import { serverKind } from '../api/server.js';
import { fieldErr, invalid, type FieldError } from '../machinery/errors.js';
import { groupVersion, type KubeObject } from '../machinery/kind.js';
import type { AdmissionPlugin } from './plugin.js';

const SERVER_REF = { group: serverKind.group, kind: serverKind.kind };

export function inlineCredentialProblems(obj: KubeObject): FieldError[] {
  const bmc = (obj.spec as { bmc?: Record<string, unknown> } | undefined)?.bmc;
  if (!bmc) return [];
  const errors: FieldError[] = [];
  for (const [field, from] of [
    ['pass', 'passFrom'],
    ['user', 'userFrom'],
  ] as const) {
    if (bmc[field] === undefined || bmc[field] === '') continue;
    errors.push(
      fieldErr.forbidden(
        `spec.bmc.${field}`,
        `BMC credentials are not stored inline: put it in a Secret and use spec.bmc.${from}.secretKeyRef`,
      ),
    );
  }
  return errors;
}

export const serverCredentialsAdmission: AdmissionPlugin = {
  name: 'ServerInlineCredentials',
  validate(op, obj, old) {
    if (op === 'DELETE' || obj.kind !== serverKind.kind || obj.apiVersion !== groupVersion(serverKind))
      return Promise.resolve();
    if (op === 'UPDATE' && old && JSON.stringify(obj.spec) === JSON.stringify(old.spec)) return Promise.resolve();
    const errors = inlineCredentialProblems(obj);
    return errors.length > 0 ? Promise.reject(invalid(SERVER_REF, obj.metadata.name!, errors)) : Promise.resolve();
  },
};
