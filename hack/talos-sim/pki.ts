// Talos-style PKI for the simulator, with @peculiar/x509 on Node's webcrypto:
// an Ed25519 OS CA (in the profile Talos's generator gives its CAs), node server certs, talosconfig
// client certs, and an ECDSA Kubernetes CA for the admin kubeconfig. Leaf key types follow the CA.
import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export type KeyKind = 'ed25519' | 'ecdsa' | 'rsa';

type Params = webcrypto.Algorithm & Record<string, unknown>;

// generate, sign and import parameters per key type (Talos: Ed25519 OS CA, ECDSA P-256 / SHA-256, RSA / SHA-256)
const ALGORITHMS: Record<KeyKind, { gen: Params; sign: Params; importAlg: Params }> = {
  ed25519: { gen: { name: 'Ed25519' }, sign: { name: 'Ed25519' }, importAlg: { name: 'Ed25519' } },
  ecdsa: {
    gen: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' },
    importAlg: { name: 'ECDSA', namedCurve: 'P-256' },
  },
  rsa: {
    gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  },
};

const HOUR_MS = 60 * 60 * 1000;
export const CA_LIFETIME_MS = 87_600 * HOUR_MS;
export const SERVER_CERT_LIFETIME_MS = 24 * HOUR_MS;
export const CLIENT_CERT_LIFETIME_MS = 365 * 24 * HOUR_MS;

/** A certificate with its key, both as PEM (key as generic PKCS#8 `PRIVATE KEY`, loadable by Node TLS). */
export interface CertPair {
  certPem: string;
  keyPem: string;
}

export interface Issuer extends CertPair {
  cert: x509.X509Certificate;
  key: CryptoKey;
  kind: KeyKind;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // a positive 128-bit serial
  return b.toString('hex');
}

async function newKeys(kind: KeyKind): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHMS[kind].gen, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A self-signed CA as Talos' generator makes them: only Subject O, KeyUsage critical, EKU both. */
export async function createCA(organization: string, kind: KeyKind): Promise<Issuer> {
  const keys = await newKeys(kind);
  const notBefore = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: organization ? `O=${organization}` : '',
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_LIFETIME_MS),
    keys,
    signingAlgorithm: ALGORITHMS[kind].sign,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectKeyIdentifierExtension(randomBytes(20).toString('hex')),
    ],
  });
  return { cert, key: keys.privateKey, kind, certPem: cert.toString('pem'), keyPem: await pkcs8Pem(keys.privateKey) };
}

/** The Talos OS CA: Ed25519, O=talos. */
export function createOsCA(): Promise<Issuer> {
  return createCA('talos', 'ed25519');
}

/** An issuer from existing PEM (any private key label Talos writes: ED25519/EC/RSA/PKCS#8). */
export async function loadIssuer(certPem: string, keyPem: string): Promise<Issuer> {
  const cert = new x509.X509Certificate(certPem);
  const nodeKey = createPrivateKey(
    keyPem.replace(/-----(BEGIN|END) ED25519 PRIVATE KEY-----/g, '-----$1 PRIVATE KEY-----'),
  );
  const type = nodeKey.asymmetricKeyType;
  const kind: KeyKind | undefined =
    type === 'ed25519' ? 'ed25519' : type === 'ec' ? 'ecdsa' : type === 'rsa' ? 'rsa' : undefined;
  if (!kind) throw new Error(`unsupported CA key type ${type ?? 'unknown'} (want Ed25519, ECDSA P-256 or RSA)`);
  const spki = createPublicKey(nodeKey).export({ type: 'spki', format: 'der' });
  if (!spki.equals(Buffer.from(cert.publicKey.rawData)))
    throw new Error('the CA key does not belong to the CA certificate');
  const der = nodeKey.export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHMS[kind].importAlg, true, ['sign']);
  return { cert, key, kind, certPem: cert.toString('pem'), keyPem: await pkcs8Pem(key) };
}

export type Eku = 'serverAuth' | 'clientAuth';

export interface LeafRequest {
  /** e.g. `O=os:admin`, `CN=node-1`; '' for an empty subject */
  subject: string;
  eku: Eku[];
  dnsNames?: string[];
  ipAddresses?: string[];
  lifetimeMs: number;
  /** backdate NotBefore (the admin kubeconfig cert starts 10 s early) */
  backdateMs?: number;
  keyEncipherment?: boolean;
}

export async function issue(ca: Issuer, req: LeafRequest): Promise<CertPair> {
  const keys = await newKeys(ca.kind);
  const sans: x509.JsonGeneralName[] = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(req.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const usage = x509.KeyUsageFlags.digitalSignature | (req.keyEncipherment ? x509.KeyUsageFlags.keyEncipherment : 0);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usage, true),
    new x509.ExtendedKeyUsageExtension(req.eku.map((e) => x509.ExtendedKeyUsage[e])),
  ];
  // the authority key id must repeat the CA's own (random) subject key id, or verifiers cannot link them
  const caKeyId = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  if (caKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(caKeyId));
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const notBefore = new Date(Date.now() - (req.backdateMs ?? 0));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: req.subject,
    issuer: ca.cert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + req.lifetimeMs),
    signingKey: ca.key,
    publicKey: keys.publicKey,
    signingAlgorithm: ALGORITHMS[ca.kind].sign,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await pkcs8Pem(keys.privateKey) };
}

/** apid's serving cert: CN hostname, SANs node IP + 127.0.0.1 + hostname, serverAuth only, 24 h. */
export function issueNodeCert(ca: Issuer, hostname: string, ip: string): Promise<CertPair> {
  const ips = [...new Set([ip, '127.0.0.1'])];
  return issue(ca, {
    subject: `CN=${hostname}`,
    eku: ['serverAuth'],
    dnsNames: [hostname],
    ipAddresses: ips,
    lifetimeMs: SERVER_CERT_LIFETIME_MS,
  });
}

/** A talosconfig client cert: roles as Subject O values, EKU exactly clientAuth, 1 year. */
export function issueClientCert(
  ca: Issuer,
  roles: string[] = ['os:admin'],
  eku: Eku[] = ['clientAuth'],
): Promise<CertPair> {
  return issue(ca, { subject: roles.map((r) => `O=${r}`).join(', '), eku, lifetimeMs: CLIENT_CERT_LIFETIME_MS });
}

/** Talos writes PKCS#8 Ed25519 keys under its own label; do the same where files should look like Talos'. */
export function talosKeyLabel(pkcs8Pem: string, kind: KeyKind): string {
  return kind === 'ed25519'
    ? pkcs8Pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '-----$1 ED25519 PRIVATE KEY-----')
    : pkcs8Pem;
}
