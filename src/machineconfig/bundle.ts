// A Talos cluster's secrets bundle (what `talosctl gen secrets` writes): everything the machine
// configs of one cluster share. Property names are secrets.yaml's keys, so paths in error messages,
// the YAML file and this type read the same; certificates and keys are PEM text here and
// base64-of-PEM in the file.
import { contractAtLeast, type TalosContract } from './contract.js';
import { createCA, type CertAndKeyPem } from './pki.js';
import { generatePrivateKey, privateKeyToTalosPem } from './keys.js';
import { generateSecret, generateToken } from './tokens.js';

/** Exactly one of the two encryption secrets: secretbox from contract 1.3 on, AES-CBC before. */
export type EncryptionSecret =
  | { secretboxencryptionsecret: string; aescbcencryptionsecret?: undefined }
  | { aescbcencryptionsecret: string; secretboxencryptionsecret?: undefined };

export interface SecretsBundle {
  cluster: {
    /** 32 random bytes, base64 (URL-safe with padding for contract ≤1.13, standard from 1.14) */
    id: string;
    /** 32 random bytes, standard base64 */
    secret: string;
  };
  secrets: { bootstraptoken: string } & EncryptionSecret;
  trustdinfo: { token: string };
  certs: {
    /** Kubernetes etcd CA, ECDSA P-256, O=etcd */
    etcd: CertAndKeyPem;
    /** Kubernetes CA, ECDSA P-256, O=kubernetes */
    k8s: CertAndKeyPem;
    /** front-proxy (aggregation layer) CA, ECDSA P-256, empty subject */
    k8saggregator: CertAndKeyPem;
    /** service-account token signing key: RSA 4096 for contract ≥1.7, ECDSA P-256 before */
    k8sserviceaccount: { key: string };
    /** Talos API (OS) CA, Ed25519, O=talos */
    os: CertAndKeyPem;
  };
}

export interface GenerateSecretsOptions {
  /** the Talos version the bundle is for; a few formats depend on it */
  contract: TalosContract;
  /** generation time, the CAs' NotBefore; default now */
  now?: Date;
}

export async function generateSecretsBundle(options: GenerateSecretsOptions): Promise<SecretsBundle> {
  const { contract } = options;
  const now = options.now ?? new Date();
  const encryption: EncryptionSecret = contractAtLeast(contract, 1, 3)
    ? { secretboxencryptionsecret: generateSecret() }
    : { aescbcencryptionsecret: generateSecret() };
  // key generation dominates (RSA 4096 takes the longest); run it all at once
  const [os, k8s, etcd, k8saggregator, serviceAccountKey] = await Promise.all([
    createCA({ organization: 'talos', algorithm: 'ed25519', now }),
    createCA({ organization: 'kubernetes', algorithm: 'ecdsa-p256', now }),
    createCA({ organization: 'etcd', algorithm: 'ecdsa-p256', now }),
    createCA({ algorithm: 'ecdsa-p256', now }),
    generatePrivateKey(contractAtLeast(contract, 1, 7) ? 'rsa-4096' : 'ecdsa-p256'),
  ]);
  return {
    cluster: {
      id: generateSecret(32, contractAtLeast(contract, 1, 14) ? 'standard' : 'url'),
      secret: generateSecret(),
    },
    secrets: { bootstraptoken: generateToken(), ...encryption },
    trustdinfo: { token: generateToken() },
    certs: {
      etcd,
      k8s,
      k8saggregator,
      k8sserviceaccount: { key: privateKeyToTalosPem(serviceAccountKey) },
      os,
    },
  };
}
