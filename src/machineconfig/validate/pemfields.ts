// Reading certificate and key fields: base64 of a PEM in v1alpha1, plain PEM text in the 1.14+
// typed documents. Labels are the ones Talos writes and accepts (pem.ts). Messages describe the
// encoding that is wrong and never echo the field's content.
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { decodeBase64Strict } from '../base64.js';
import { KeyFormatError, parsePrivateKeyPem } from '../keys.js';
import { decodeSinglePem, PEM_LABEL } from '../pem.js';
import { show, type DocumentScope } from './problem.js';

export type PemEncoding = 'base64-pem' | 'pem';

const PEM_START = '-----BEGIN ';

/** Whether a string holds a PEM block, directly or as base64. */
export function pemKindOf(value: string): { encoding: PemEncoding; label: string } | undefined {
  const direct = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(value);
  if (direct) return { encoding: 'pem', label: direct[1] ?? '' };
  const decoded = decodeBase64Strict(value.trim());
  const inner = decoded && /^\s*-----BEGIN ([A-Z0-9 ]+)-----/.exec(decoded.toString('utf8'));
  return inner ? { encoding: 'base64-pem', label: inner[1] ?? '' } : undefined;
}

/** The PEM text of a field in the given encoding, or undefined after reporting why it is not one. */
function pemText(scope: DocumentScope, path: string, value: string, encoding: PemEncoding): string | undefined {
  if (encoding === 'pem') {
    if (value.includes(PEM_START)) return value;
    scope.error(
      path,
      pemKindOf(value)
        ? 'must be PEM text in this document, not base64 of a PEM'
        : 'is not PEM text (-----BEGIN ...-----)',
    );
    return undefined;
  }
  if (value.trimStart().startsWith(PEM_START)) {
    scope.error(path, 'must be base64 of the PEM (v1alpha1 stores certificates and keys base64-encoded), not PEM text');
    return undefined;
  }
  const bytes = decodeBase64Strict(value.trim());
  if (!bytes) {
    scope.error(path, 'is not base64 (v1alpha1 stores certificates and keys as base64 of a PEM)');
    return undefined;
  }
  return bytes.toString('utf8');
}

export function readCertificate(
  scope: DocumentScope,
  path: string,
  value: string,
  encoding: PemEncoding,
  mustBeCA: boolean,
): X509Certificate | undefined {
  const text = pemText(scope, path, value, encoding);
  if (text === undefined) return undefined;
  const block = decodeSinglePem(text);
  if ('error' in block) {
    scope.error(path, `does not hold a certificate: ${block.error}`);
    return undefined;
  }
  if (block.label !== PEM_LABEL.certificate) {
    scope.error(path, `PEM label ${show(block.label)} is not ${PEM_LABEL.certificate}`);
    return undefined;
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(block.der);
  } catch {
    scope.error(path, 'is not a parseable X.509 certificate');
    return undefined;
  }
  if (mustBeCA && !cert.ca) scope.error(path, 'is not a CA certificate (BasicConstraints CA:TRUE is missing)');
  return cert;
}

export function readPrivateKey(
  scope: DocumentScope,
  path: string,
  value: string,
  encoding: PemEncoding,
): KeyObject | undefined {
  const text = pemText(scope, path, value, encoding);
  if (text === undefined) return undefined;
  try {
    return parsePrivateKeyPem(text);
  } catch (e) {
    // KeyFormatError messages name labels and encodings only, never key material
    scope.error(path, e instanceof KeyFormatError ? e.message : 'does not hold a private key');
    return undefined;
  }
}

/** The key belongs to the certificate: their public keys are the same (SubjectPublicKeyInfo bytes). */
export function keyMatchesCertificate(cert: X509Certificate, key: KeyObject): boolean {
  const fromKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const fromCert = cert.publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}
