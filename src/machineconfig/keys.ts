// Private keys with Node's native crypto, written and read in the PEM encodings Talos writes:
// Ed25519 as PKCS#8 under `ED25519 PRIVATE KEY`, ECDSA as SEC1, RSA as PKCS#1.
import { createPrivateKey, createPublicKey, generateKeyPair, webcrypto, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { decodeSinglePem, encodePem, PEM_LABEL } from './pem.js';

type CryptoKey = webcrypto.CryptoKey;

/** The key types Talos generates: Ed25519 (OS CA), ECDSA P-256 (Kubernetes CAs), RSA 4096 (service accounts). */
export type KeyAlgorithm = 'ed25519' | 'ecdsa-p256' | 'rsa-4096';

const generateKeyPairAsync = promisify(generateKeyPair);

export async function generatePrivateKey(algorithm: KeyAlgorithm): Promise<KeyObject> {
  switch (algorithm) {
    case 'ed25519':
      return (await generateKeyPairAsync('ed25519')).privateKey;
    case 'ecdsa-p256':
      return (await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' })).privateKey;
    case 'rsa-4096':
      return (await generateKeyPairAsync('rsa', { modulusLength: 4096 })).privateKey;
  }
}

/** PEM in the encoding and label Talos writes for this key's type. */
export function privateKeyToTalosPem(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return encodePem(PEM_LABEL.ed25519PrivateKey, key.export({ type: 'pkcs8', format: 'der' }));
    case 'ec':
      return encodePem(PEM_LABEL.ecPrivateKey, key.export({ type: 'sec1', format: 'der' }));
    case 'rsa':
      return encodePem(PEM_LABEL.rsaPrivateKey, key.export({ type: 'pkcs1', format: 'der' }));
    default:
      throw new Error(`unsupported private key type ${String(key.asymmetricKeyType)}`);
  }
}

/** Thrown by parsePrivateKeyPem; the message names the problem and never includes key material. */
export class KeyFormatError extends Error {
  override readonly name = 'KeyFormatError';
}

/** What each accepted label must hold; `PRIVATE KEY` is generic PKCS#8 of any type. */
const LABEL_FORMATS: Record<string, { type: 'pkcs8' | 'sec1' | 'pkcs1'; keyType?: string }> = {
  [PEM_LABEL.ed25519PrivateKey]: { type: 'pkcs8', keyType: 'ed25519' },
  [PEM_LABEL.ecPrivateKey]: { type: 'sec1', keyType: 'ec' },
  [PEM_LABEL.rsaPrivateKey]: { type: 'pkcs1', keyType: 'rsa' },
  [PEM_LABEL.pkcs8PrivateKey]: { type: 'pkcs8' },
};

/** Reads a private key in any encoding Talos accepts on input (the four labels above). */
export function parsePrivateKeyPem(pem: string): KeyObject {
  const block = decodeSinglePem(pem);
  if ('error' in block) throw new KeyFormatError(block.error);
  const format = LABEL_FORMATS[block.label];
  if (!format) {
    throw new KeyFormatError(
      `PEM label "${block.label}" is not a supported private key label (expected one of ${Object.keys(LABEL_FORMATS).join(', ')})`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.der, format: 'der', type: format.type });
  } catch {
    throw new KeyFormatError(`PEM block "${block.label}" does not hold a ${format.type.toUpperCase()} private key`);
  }
  if (format.keyType && key.asymmetricKeyType !== format.keyType) {
    throw new KeyFormatError(`PEM block "${block.label}" holds a ${String(key.asymmetricKeyType)} key`);
  }
  return key;
}

/** Web Crypto parameters for signing with a key, as @peculiar/x509 needs them. */
export interface SigningParams {
  /** for subtle.importKey */
  importParams: { name: string; namedCurve?: string; hash?: string };
  /** for the certificate generator: the signature algorithm and its digest */
  signingAlgorithm: { name: string; hash?: string };
}

// Go's crypto/x509 picks the digest by curve size; do the same so ECDSA CAs from other tools still sign.
const CURVES: Record<string, { webName: string; hash: string }> = {
  prime256v1: { webName: 'P-256', hash: 'SHA-256' },
  secp384r1: { webName: 'P-384', hash: 'SHA-384' },
  secp521r1: { webName: 'P-521', hash: 'SHA-512' },
};

export function signingParamsFor(key: KeyObject): SigningParams {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return { importParams: { name: 'Ed25519' }, signingAlgorithm: { name: 'Ed25519' } };
    case 'ec': {
      const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!curve) throw new KeyFormatError(`unsupported ECDSA curve ${String(key.asymmetricKeyDetails?.namedCurve)}`);
      return {
        importParams: { name: 'ECDSA', namedCurve: curve.webName },
        signingAlgorithm: { name: 'ECDSA', hash: curve.hash },
      };
    }
    case 'rsa':
      return {
        importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      };
    default:
      throw new KeyFormatError(`unsupported key type ${String(key.asymmetricKeyType)}`);
  }
}

/** A Node KeyObject as a Web Crypto key pair. Web Crypto imports Ed25519 private keys only from PKCS#8, so go through that for every type. */
export async function toWebCryptoKeyPair(key: KeyObject): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
  const { importParams } = signingParamsFor(key);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pkcs8, importParams, true, ['sign']),
    webcrypto.subtle.importKey('spki', spki, importParams, true, ['verify']),
  ]);
  return { privateKey, publicKey };
}
