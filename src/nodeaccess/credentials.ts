// Where an AdoptedServer's Talos credentials come from: a talosconfig in a Secret of the object's
// own namespace, named by spec.talos.talosconfigSecretRef {name, key (default "talosconfig")}.
// There is no namespace field, so nobody can borrow another namespace's credentials. In standalone
// mode the Secret is one of the server's own core v1 secrets; in cluster mode kube-apiserver's.
import type { AdoptedServerSpec } from '../api/adoptedserver.js';
import { secretKind } from '../api/core/secret.js';
import { StatusError } from '../machinery/errors.js';
import type { KubeObject } from '../machinery/kind.js';
import type { SecretReader } from '../secrets/reader.js';
import { parseTalosconfig, type Talosconfig } from '../talos/talosconfig.js';

export const DEFAULT_TALOSCONFIG_KEY = 'talosconfig';

export type CredentialsFailure = 'NoCredentials' | 'SecretNotFound' | 'SecretKeyMissing' | 'InvalidTalosconfig';

/**
 * Why there are no usable credentials: a condition reason for the controller, and a 400 where a
 * subresource asked (src/subresources/failures.ts).
 */
export class CredentialsError extends Error {
  constructor(
    readonly failure: CredentialsFailure,
    message: string,
  ) {
    super(message);
    this.name = 'CredentialsError';
  }
}

function secretRefOf(obj: KubeObject): AdoptedServerSpec['talos']['talosconfigSecretRef'] {
  return (obj.spec as AdoptedServerSpec | undefined)?.talos?.talosconfigSecretRef;
}

/** the talosconfig named by the object's spec; a CredentialsError says what is missing */
export async function talosconfigFor(obj: KubeObject, secrets: SecretReader): Promise<Talosconfig> {
  const ref = secretRefOf(obj);
  const where = `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`;
  if (!ref?.name) {
    throw new CredentialsError(
      'NoCredentials',
      `${where} has no spec.talos.talosconfigSecretRef: there are no credentials to reach its Talos API`,
    );
  }
  const key = ref.key || DEFAULT_TALOSCONFIG_KEY;
  const data = await secrets.read(obj.metadata.namespace!, ref.name);
  if (!data)
    throw new CredentialsError(
      'SecretNotFound',
      `secret "${ref.name}" named by ${where} spec.talos.talosconfigSecretRef does not exist in namespace "${obj.metadata.namespace}"`,
    );
  const encoded = data[key];
  if (encoded === undefined)
    throw new CredentialsError(
      'SecretKeyMissing',
      `secret "${ref.name}" has no key "${key}" (spec.talos.talosconfigSecretRef.key)`,
    );
  try {
    return parseTalosconfig(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch (e) {
    // the parser's message names the offending key, never a value
    throw new CredentialsError(
      'InvalidTalosconfig',
      `secret "${ref.name}" key "${key}" does not hold a usable talosconfig: ${(e as Error).message}`,
    );
  }
}
