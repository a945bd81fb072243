// The value transformer for encryption at rest, wire-compatible with kube-apiserver's aesgcm and
// identity providers: an aesgcm value is `k8s:enc:aesgcm:v1:<keyName>:` + 12-byte nonce +
// ciphertext + 16-byte GCM tag, authenticated together with the storage key, so a value copied
// under another key does not decrypt. The prefix names the key, which is what lets a rotated
// configuration keep reading values written with an older key.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { StorageError } from '../storage.js';
import type { EncryptionProvider } from './config.js';

/** every encrypting provider's values start with this; identity refuses to read them */
export const ENCRYPTED_PREFIX = 'k8s:enc:';
export const AESGCM_PREFIX = 'k8s:enc:aesgcm:v1:';

export const AES_KEY_SIZES = [16, 24, 32] as const;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface AesGcmKey {
  name: string;
  /** 16, 24 or 32 bytes */
  secret: Buffer;
}

export interface ValueTransformer {
  /** the bytes to store for `plain` under storage key `key` */
  toStorage(plain: Buffer, key: string): Buffer;
  /** the plaintext of stored bytes; StorageError('Internal') when they cannot be decrypted */
  fromStorage(stored: Buffer, key: string): Buffer;
}

function algorithm(secret: Buffer): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  switch (secret.length) {
    case 16:
      return 'aes-128-gcm';
    case 24:
      return 'aes-192-gcm';
    case 32:
      return 'aes-256-gcm';
    default:
      // config validation refuses other sizes; reaching here is a programming error
      throw new StorageError('Internal', `aesgcm key has an invalid size of ${secret.length} bytes`);
  }
}

export function aesGcmPrefix(keyName: string): Buffer {
  return Buffer.from(`${AESGCM_PREFIX}${keyName}:`);
}

/** prefix + nonce + ciphertext + tag, with `aad` authenticated but not stored */
export function aesGcmSeal(key: AesGcmKey, plain: Buffer, aad: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(algorithm(key.secret), key.secret, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad));
  const body = cipher.update(plain);
  const final = cipher.final();
  return Buffer.concat([aesGcmPrefix(key.name), nonce, body, final, cipher.getAuthTag()]);
}

/** opens nonce + ciphertext + tag (the prefix already removed); null when it does not authenticate */
export function aesGcmOpen(key: AesGcmKey, sealed: Buffer, aad: string): Buffer | null {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return null;
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv(algorithm(key.secret), key.secret, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(tag);
  try {
    const body = decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
    return Buffer.concat([body, decipher.final()]);
  } catch {
    return null;
  }
}

const encryptedPrefix = Buffer.from(ENCRYPTED_PREFIX);
const aesgcmPrefix = Buffer.from(AESGCM_PREFIX);

/** the key name of an aesgcm value, for error messages; only when it is short printable text */
function storedKeyName(stored: Buffer): string | undefined {
  if (!startsWith(stored, aesgcmPrefix)) return undefined;
  const end = stored.indexOf(0x3a, aesgcmPrefix.length); // ':'
  if (end < 0 || end - aesgcmPrefix.length > 250) return undefined;
  const name = stored.subarray(aesgcmPrefix.length, end).toString('latin1');
  return /^[\x21-\x7e]+$/.test(name) ? name : undefined;
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

type Reader = { kind: 'aesgcm'; prefix: Buffer; key: AesGcmKey } | { kind: 'identity' };

function decryptError(key: string, why: string): StorageError {
  return new StorageError('Internal', `failed to decrypt the value stored at ${key}: ${why}`);
}

/**
 * A resource's provider list as kube-apiserver applies it: the first provider writes; on read, the
 * providers are tried in order and the first whose prefix matches decides. identity matches any
 * value without the `k8s:enc:` prefix, so it reads plaintext written before encryption was enabled.
 */
export function providerTransformer(providers: readonly EncryptionProvider[]): ValueTransformer {
  const first = providers[0];
  if (!first) throw new StorageError('Internal', 'an encryption rule needs at least one provider');
  const writeKey = first.kind === 'aesgcm' ? first.keys[0] : undefined;
  if (first.kind === 'aesgcm' && !writeKey)
    throw new StorageError('Internal', 'an aesgcm provider needs at least one key');
  const readers: Reader[] = providers.flatMap((p): Reader[] =>
    p.kind === 'identity'
      ? [{ kind: 'identity' }]
      : p.keys.map((key) => ({ kind: 'aesgcm', prefix: aesGcmPrefix(key.name), key })),
  );

  return {
    toStorage(plain, key) {
      return writeKey ? aesGcmSeal(writeKey, plain, key) : Buffer.from(plain);
    },
    fromStorage(stored, key) {
      for (const r of readers) {
        if (r.kind === 'identity') {
          if (!startsWith(stored, encryptedPrefix)) return stored;
          continue;
        }
        if (!startsWith(stored, r.prefix)) continue;
        const plain = aesGcmOpen(r.key, stored.subarray(r.prefix.length), key);
        if (!plain)
          throw decryptError(
            key,
            `aesgcm key "${r.key.name}" does not authenticate it (tampered, corrupted, or written under another key)`,
          );
        return plain;
      }
      // identity, when listed, has already accepted any value without the encrypted prefix
      if (!startsWith(stored, encryptedPrefix)) {
        throw decryptError(key, 'it is not encrypted and the identity provider is not configured for its resource');
      }
      const name = storedKeyName(stored);
      throw decryptError(
        key,
        name !== undefined
          ? `it was encrypted with aesgcm key "${name}", which is not in the encryption configuration`
          : 'no configured provider matches its prefix',
      );
    },
  };
}
