// PEM framing with the labels Talos writes. Talos labels Ed25519 keys
// `ED25519 PRIVATE KEY`, which OpenSSL (and so Node) refuses; the body is ordinary PKCS#8.
import { decodeBase64Strict } from './base64.js';

export const PEM_LABEL = {
  certificate: 'CERTIFICATE',
  ed25519PrivateKey: 'ED25519 PRIVATE KEY',
  ecPrivateKey: 'EC PRIVATE KEY',
  rsaPrivateKey: 'RSA PRIVATE KEY',
  pkcs8PrivateKey: 'PRIVATE KEY',
} as const;

export interface PemBlock {
  label: string;
  der: Buffer;
}

/** PEM text the way Go's encoding/pem writes it: 64-column base64 lines, final newline */
export function encodePem(label: string, der: Buffer): string {
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/**
 * The one PEM block in `text`, or a reason it is not one. Text around the block is ignored, as
 * Go's pem.Decode ignores it; a second block is an error because every secrets.yaml field holds one item.
 */
export function decodeSinglePem(text: string): PemBlock | { error: string } {
  const blocks = [...text.matchAll(BLOCK)];
  if (blocks.length === 0) return { error: 'no PEM block found' };
  if (blocks.length > 1) return { error: `expected one PEM block, found ${blocks.length}` };
  const [, label, body, endLabel] = blocks[0] as unknown as [string, string, string, string];
  if (label !== endLabel) return { error: `PEM block BEGIN ${label} ends with END ${endLabel}` };
  const der = decodeBase64Strict(body.replace(/[ \t]/g, ''));
  if (!der || der.length === 0)
    return { error: `PEM block ${label} has no valid base64 body (headers are not supported)` };
  return { label, der };
}

/**
 * A private key PEM that Node's crypto and TLS can load: only the non-standard Ed25519 label
 * needs changing (to the generic PKCS#8 label, same body); EC and RSA labels load as they are.
 */
export function toNodeLoadableKeyPem(keyPem: string): string {
  return keyPem
    .replace(`-----BEGIN ${PEM_LABEL.ed25519PrivateKey}-----`, `-----BEGIN ${PEM_LABEL.pkcs8PrivateKey}-----`)
    .replace(`-----END ${PEM_LABEL.ed25519PrivateKey}-----`, `-----END ${PEM_LABEL.pkcs8PrivateKey}-----`);
}
