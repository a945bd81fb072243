// Certificates in the profiles Talos's generator uses (its CAs, node and client certificates),
// signed with @peculiar/x509 over Node's Web Crypto: node-forge cannot make ECDSA or Ed25519
// certificates.
import { randomBytes, webcrypto, X509Certificate as NodeX509Certificate, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  generatePrivateKey,
  parsePrivateKeyPem,
  privateKeyToTalosPem,
  signingParamsFor,
  toWebCryptoKeyPair,
  type KeyAlgorithm,
} from './keys.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const HOUR_MS = 60 * 60 * 1000;
/** Talos CAs live 87 600 h (10 years). */
export const CA_LIFETIME_MS = 87_600 * HOUR_MS;

/** A certificate and its private key, both PEM text (the key in Talos's label and encoding). */
export interface CertAndKeyPem {
  crt: string;
  key: string;
}

/** 128 random bits, like Talos. @peculiar/x509 drops leading zero bytes and adds the sign byte DER needs. */
function randomSerialHex(): string {
  return randomBytes(16).toString('hex');
}

/** X.509 times have whole seconds; truncating first keeps NotAfter - NotBefore exactly the lifetime. */
function wholeSeconds(t: Date): Date {
  return new Date(Math.floor(t.getTime() / 1000) * 1000);
}

function certificatePem(cert: x509.X509Certificate): string {
  // x509's own PEM has no final newline; write what Go's encoding/pem writes
  return `${cert.toString('pem').trimEnd()}\n`;
}

export interface CARequest {
  /** the only Subject attribute Talos sets on a CA; undefined gives an empty subject (aggregator CA) */
  organization?: string;
  algorithm: KeyAlgorithm;
  now?: Date;
}

/**
 * A self-signed CA as Talos makes them: random 128-bit serial, SubjectKeyId of 20 random bytes,
 * critical CA:TRUE, critical KeyUsage {DigitalSignature, CertSign}, EKU {serverAuth, clientAuth}, 10 years.
 */
export async function createCA(req: CARequest): Promise<CertAndKeyPem> {
  const key = await generatePrivateKey(req.algorithm);
  const keys = await toWebCryptoKeyPair(key);
  const notBefore = wholeSeconds(req.now ?? new Date());
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: new x509.Name(req.organization === undefined ? [] : [{ O: [req.organization] }]),
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_LIFETIME_MS),
    keys,
    signingAlgorithm: signingParamsFor(key).signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectKeyIdentifierExtension(randomBytes(20).toString('hex')),
    ],
  });
  return { crt: certificatePem(cert), key: privateKeyToTalosPem(key) };
}

/**
 * The leaf key type that follows the CA's, as Talos picks it: Ed25519 -> Ed25519, ECDSA -> P-256,
 * RSA -> RSA 4096.
 */
export function leafAlgorithmFor(caKey: KeyObject): KeyAlgorithm {
  switch (caKey.asymmetricKeyType) {
    case 'ed25519':
      return 'ed25519';
    case 'ec':
      return 'ecdsa-p256';
    case 'rsa':
      return 'rsa-4096';
    default:
      throw new Error(`unsupported CA key type ${String(caKey.asymmetricKeyType)}`);
  }
}

export type ExtKeyUsageName = 'serverAuth' | 'clientAuth';

export interface LeafRequest {
  /** Subject O values, one per value (Talos carries roles here) */
  organizations?: string[];
  /** Subject CN; Talos client certificates have none */
  commonName?: string;
  /** KeyUsage flags (x509.KeyUsageFlags), always critical as Go writes it; default DigitalSignature */
  keyUsage?: number;
  extKeyUsage: ExtKeyUsageName[];
  dnsNames?: string[];
  ipAddresses?: string[];
  lifetimeMs: number;
  /** NotBefore; default the current time */
  now?: Date;
}

function subjectOf(req: LeafRequest): x509.Name {
  const attrs: x509.JsonName = [];
  if (req.organizations && req.organizations.length > 0) attrs.push({ O: req.organizations });
  if (req.commonName !== undefined) attrs.push({ CN: [req.commonName] });
  return new x509.Name(attrs);
}

/** Issues a leaf certificate from `ca` with a fresh key whose type follows the CA's key. */
export async function issueCertificate(ca: CertAndKeyPem, req: LeafRequest): Promise<CertAndKeyPem> {
  const caKey = parsePrivateKeyPem(ca.key);
  const caCert = new x509.X509Certificate(ca.crt);
  // a CA whose key does not sign its own certificate would issue certificates no one can verify
  if (!new NodeX509Certificate(ca.crt).checkPrivateKey(caKey))
    throw new Error('CA key does not match the CA certificate');
  const [signingKeys, leafKey] = await Promise.all([
    toWebCryptoKeyPair(caKey),
    generatePrivateKey(leafAlgorithmFor(caKey)),
  ]);
  const leafKeys = await toWebCryptoKeyPair(leafKey);

  const sans: x509.JsonGeneralName[] = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(req.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(req.keyUsage ?? x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(req.extKeyUsage.map((u) => x509.ExtendedKeyUsage[u])),
  ];
  // Go links a leaf to its issuer by copying the issuer's SubjectKeyId (random in Talos CAs, so it
  // must be copied, not recomputed from the key as AuthorityKeyIdentifierExtension.create does);
  // OpenSSL refuses an issuer whose SubjectKeyId differs from the leaf's AuthorityKeyId
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  if (caKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(caKeyId));
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));

  const notBefore = wholeSeconds(req.now ?? new Date());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: subjectOf(req),
    issuer: caCert.subjectName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + req.lifetimeMs),
    signingKey: signingKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: signingParamsFor(caKey).signingAlgorithm,
    extensions,
  });
  return { crt: certificatePem(cert), key: privateKeyToTalosPem(leafKey) };
}
