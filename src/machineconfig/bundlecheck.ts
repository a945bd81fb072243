// Value checks for a secrets bundle from outside (an imported secrets.yaml, a stored Secret):
// every field present and well-formed, every CA certificate parseable and matching its key.
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { FieldError } from '../machinery/errors.js';
import { decodeBase64Strict, type Base64Alphabet } from './base64.js';
import { secretFieldErr } from './bundleerror.js';
import { KeyFormatError, parsePrivateKeyPem } from './keys.js';
import { decodeSinglePem, PEM_LABEL } from './pem.js';
import { TOKEN_PATTERN } from './tokens.js';

interface LoosePair {
  crt?: string;
  key?: string;
}

/** A secrets bundle whose fields may be missing; every SecretsBundle is one. */
export interface LooseSecretsBundle {
  cluster?: { id?: string; secret?: string };
  secrets?: { bootstraptoken?: string; secretboxencryptionsecret?: string; aescbcencryptionsecret?: string };
  trustdinfo?: { token?: string };
  certs?: {
    etcd?: LoosePair;
    k8s?: LoosePair;
    k8saggregator?: LoosePair;
    k8sserviceaccount?: { key?: string };
    os?: LoosePair;
  };
}

/** The CA pairs of a bundle, in secrets.yaml order. */
export const CA_NAMES = ['etcd', 'k8s', 'k8saggregator', 'os'] as const;

function checkRandom(
  path: string,
  value: string | undefined,
  byteLengths: number[],
  alphabets: Base64Alphabet[],
  out: FieldError[],
): void {
  if (!value) {
    out.push(secretFieldErr.required(path));
    return;
  }
  const bytes = decodeBase64Strict(value, alphabets);
  if (!bytes) out.push(secretFieldErr.invalid(path, `must be base64 (${alphabets.join(' or ')} alphabet)`));
  else if (byteLengths.length > 0 && !byteLengths.includes(bytes.length)) {
    out.push(secretFieldErr.invalid(path, `must decode to ${byteLengths.join(', ')} bytes, got ${bytes.length}`));
  } else if (bytes.length === 0) out.push(secretFieldErr.invalid(path, 'must not be empty'));
}

function checkToken(path: string, value: string | undefined, out: FieldError[]): void {
  if (!value) out.push(secretFieldErr.required(path));
  else if (!TOKEN_PATTERN.test(value)) out.push(secretFieldErr.invalid(path, 'must match [a-z0-9]{6}.[a-z0-9]{16}'));
}

function checkEncryptionSecret(secrets: LooseSecretsBundle['secrets'], out: FieldError[]): void {
  const secretbox = secrets?.secretboxencryptionsecret;
  const aescbc = secrets?.aescbcencryptionsecret;
  if (secretbox && aescbc) {
    out.push(
      secretFieldErr.invalid('secrets', 'only one of secretboxencryptionsecret and aescbcencryptionsecret may be set'),
    );
  } else if (aescbc) {
    // the lengths kube-apiserver's aescbc provider accepts
    checkRandom('secrets.aescbcencryptionsecret', aescbc, [16, 24, 32], ['standard'], out);
  } else {
    checkRandom('secrets.secretboxencryptionsecret', secretbox, [32], ['standard'], out);
  }
}

/** Parses a private key PEM, recording why it does not parse. */
function readKey(path: string, pem: string | undefined, out: FieldError[]): KeyObject | undefined {
  if (!pem) {
    out.push(secretFieldErr.required(path));
    return undefined;
  }
  try {
    return parsePrivateKeyPem(pem);
  } catch (e) {
    out.push(secretFieldErr.invalid(path, e instanceof KeyFormatError ? e.message : 'does not hold a private key'));
    return undefined;
  }
}

function readCertificate(path: string, pem: string | undefined, out: FieldError[]): X509Certificate | undefined {
  if (!pem) {
    out.push(secretFieldErr.required(path));
    return undefined;
  }
  const block = decodeSinglePem(pem);
  if ('error' in block) {
    out.push(secretFieldErr.invalid(path, block.error));
    return undefined;
  }
  if (block.label !== PEM_LABEL.certificate) {
    out.push(secretFieldErr.invalid(path, `PEM label "${block.label}" is not ${PEM_LABEL.certificate}`));
    return undefined;
  }
  try {
    return new X509Certificate(block.der);
  } catch {
    out.push(secretFieldErr.invalid(path, 'is not a parseable X.509 certificate'));
    return undefined;
  }
}

function checkCAPair(path: string, pair: LoosePair | undefined, out: FieldError[]): void {
  const cert = readCertificate(`${path}.crt`, pair?.crt, out);
  const key = readKey(`${path}.key`, pair?.key, out);
  if (cert && !cert.ca)
    out.push(secretFieldErr.invalid(`${path}.crt`, 'is not a CA certificate (BasicConstraints CA:TRUE is missing)'));
  if (cert && key && !cert.checkPrivateKey(key))
    out.push(secretFieldErr.invalid(`${path}.key`, `does not match the certificate in ${path}.crt`));
}

function checkServiceAccountKey(path: string, pem: string | undefined, out: FieldError[]): void {
  const key = readKey(path, pem, out);
  // kube-apiserver signs service-account tokens with RSA or ECDSA keys only
  if (key && key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') {
    out.push(secretFieldErr.invalid(path, `must be an RSA or ECDSA key, not ${String(key.asymmetricKeyType)}`));
  }
}

/** Every problem in the bundle, each with its secrets.yaml path; empty when the bundle is usable. */
export function checkSecretsBundle(bundle: LooseSecretsBundle): FieldError[] {
  const out: FieldError[] = [];
  checkRandom('cluster.id', bundle.cluster?.id, [], ['standard', 'url'], out);
  // the cluster secret is the discovery service's AES-256 key
  checkRandom('cluster.secret', bundle.cluster?.secret, [32], ['standard'], out);
  checkToken('secrets.bootstraptoken', bundle.secrets?.bootstraptoken, out);
  checkEncryptionSecret(bundle.secrets, out);
  checkToken('trustdinfo.token', bundle.trustdinfo?.token, out);
  for (const name of CA_NAMES) checkCAPair(`certs.${name}`, bundle.certs?.[name], out);
  checkServiceAccountKey('certs.k8sserviceaccount.key', bundle.certs?.k8sserviceaccount?.key, out);
  return out;
}
