// PEM framing, strict base64, key encodings and the PEM labels Talos writes and accepts.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { base64UrlPadded, decodeBase64Strict } from '../../../src/machineconfig/base64.js';
import {
  generatePrivateKey,
  KeyFormatError,
  type KeyAlgorithm,
  parsePrivateKeyPem,
  privateKeyToTalosPem,
  signingParamsFor,
} from '../../../src/machineconfig/keys.js';
import { decodeSinglePem, encodePem, PEM_LABEL, toNodeLoadableKeyPem } from '../../../src/machineconfig/pem.js';
import { pemLabel } from './helpers.js';

describe('decodeBase64Strict', () => {
  it('decodes standard base64, with or without padding, across line breaks', () => {
    expect(decodeBase64Strict('aGVsbG8=')?.toString()).toBe('hello');
    expect(decodeBase64Strict('aGVsbG8')?.toString()).toBe('hello');
    expect(decodeBase64Strict('aGVs\nbG8=')?.toString()).toBe('hello');
  });

  it('rejects characters outside the alphabet, which Buffer.from would skip', () => {
    expect(Buffer.from('aGV!sbG8=', 'base64').toString()).toBe('hello');
    expect(decodeBase64Strict('aGV!sbG8=')).toBeUndefined();
    expect(decodeBase64Strict('a-_b', ['standard'])).toBeUndefined();
  });

  it('rejects impossible lengths and misplaced padding', () => {
    expect(decodeBase64Strict('aGVsb')).toBeUndefined();
    expect(decodeBase64Strict('aGVsbG8==')).toBeUndefined();
    expect(decodeBase64Strict('aG=Vs')).toBeUndefined();
  });

  it('reads the URL-safe alphabet only when allowed', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xfe]);
    expect(decodeBase64Strict('-__-', ['standard', 'url'])).toEqual(bytes);
    expect(decodeBase64Strict('-__-', ['standard'])).toBeUndefined();
  });

  it('base64UrlPadded keeps the padding that Node base64url drops', () => {
    const bytes = Buffer.alloc(32, 0xff);
    expect(bytes.toString('base64url')).toHaveLength(43);
    expect(base64UrlPadded(bytes)).toBe(`${bytes.toString('base64url')}=`);
    expect(base64UrlPadded(bytes)).toMatch(/^_+8=$/);
  });
});

describe('PEM framing', () => {
  it('writes 64-column lines and a final newline, as Go does', () => {
    const pem = encodePem('CERTIFICATE', Buffer.alloc(100, 1));
    const lines = pem.split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.slice(1, -2).map((l) => l.length)).toEqual([64, 64, 8]);
    expect(lines.at(-2)).toBe('-----END CERTIFICATE-----');
    expect(pem.endsWith('\n')).toBe(true);
  });

  it('decodes exactly one block and says what is wrong otherwise', () => {
    const one = encodePem('CERTIFICATE', Buffer.from('abc'));
    expect(decodeSinglePem(`leading text\n${one}`)).toEqual({ label: 'CERTIFICATE', der: Buffer.from('abc') });
    expect(decodeSinglePem('nothing here')).toEqual({ error: 'no PEM block found' });
    expect(decodeSinglePem(one + one)).toEqual({ error: 'expected one PEM block, found 2' });
    expect(decodeSinglePem('-----BEGIN A-----\nYWJj\n-----END B-----\n')).toEqual({
      error: 'PEM block BEGIN A ends with END B',
    });
    expect(decodeSinglePem('-----BEGIN A-----\n!!!!\n-----END A-----\n')).toHaveProperty('error');
  });
});

describe('Talos key encodings', () => {
  // RSA 4096 takes seconds to generate on a small machine: one key per type for the whole block
  const keys = {} as Record<KeyAlgorithm, KeyObject>;
  beforeAll(async () => {
    for (const algorithm of ['ed25519', 'ecdsa-p256', 'rsa-4096'] as const)
      keys[algorithm] = await generatePrivateKey(algorithm);
  });

  it.each([
    ['ed25519', PEM_LABEL.ed25519PrivateKey],
    ['ecdsa-p256', PEM_LABEL.ecPrivateKey],
    ['rsa-4096', PEM_LABEL.rsaPrivateKey],
  ] as const)('%s is written under %s and read back as the same key', (algorithm, label) => {
    const pem = privateKeyToTalosPem(keys[algorithm]);
    expect(pemLabel(pem)).toBe(label);
    expect(parsePrivateKeyPem(pem).equals(keys[algorithm])).toBe(true);
  });

  it('generates Ed25519, ECDSA on P-256 and RSA 4096', () => {
    expect(keys.ed25519.asymmetricKeyType).toBe('ed25519');
    expect(keys['ecdsa-p256'].asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(keys['rsa-4096'].asymmetricKeyDetails?.modulusLength).toBe(4096);
  });

  it('writes Ed25519 as PKCS#8, EC as SEC1 and RSA as PKCS#1 (the DER bodies Node reads with those types)', () => {
    for (const [algorithm, type] of [
      ['ed25519', 'pkcs8'],
      ['ecdsa-p256', 'sec1'],
      ['rsa-4096', 'pkcs1'],
    ] as const) {
      const block = decodeSinglePem(privateKeyToTalosPem(keys[algorithm]));
      if ('error' in block) throw new Error(block.error);
      expect(createPrivateKey({ key: block.der, format: 'der', type }).equals(keys[algorithm])).toBe(true);
    }
  });

  it('accepts generic PKCS#8 `PRIVATE KEY` for every type', () => {
    for (const type of ['ed25519', 'ec', 'rsa'] as const) {
      const { privateKey } =
        type === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
          : type === 'rsa'
            ? generateKeyPairSync('rsa', { modulusLength: 2048 })
            : generateKeyPairSync('ed25519');
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      expect(pemLabel(pem)).toBe('PRIVATE KEY');
      expect(parsePrivateKeyPem(pem).equals(privateKey)).toBe(true);
    }
  });

  it('rejects a label that does not match the key inside, and unknown labels', () => {
    const ec = keys['ecdsa-p256'];
    const ecPkcs8 = ec.export({ type: 'pkcs8', format: 'der' });
    expect(() => parsePrivateKeyPem(encodePem(PEM_LABEL.ed25519PrivateKey, ecPkcs8))).toThrow('holds a ec key');
    expect(() =>
      parsePrivateKeyPem(encodePem(PEM_LABEL.rsaPrivateKey, ec.export({ type: 'sec1', format: 'der' }))),
    ).toThrow(KeyFormatError);
    expect(() => parsePrivateKeyPem(encodePem('ENCRYPTED PRIVATE KEY', ecPkcs8))).toThrow(
      'is not a supported private key label',
    );
    expect(() => parsePrivateKeyPem('garbage')).toThrow('no PEM block found');
  });

  it('Node refuses the ED25519 label, and loads the re-labelled key', () => {
    const key = keys.ed25519;
    const talosPem = privateKeyToTalosPem(key);
    expect(() => createPrivateKey(talosPem)).toThrow();
    const loadable = toNodeLoadableKeyPem(talosPem);
    expect(pemLabel(loadable)).toBe('PRIVATE KEY');
    expect(loadable.split('\n').slice(1, -2)).toEqual(talosPem.split('\n').slice(1, -2));
    expect(createPrivateKey(loadable).equals(key)).toBe(true);
  });

  it('leaves EC and RSA PEMs as they are when making them loadable', () => {
    for (const algorithm of ['ecdsa-p256', 'rsa-4096'] as const) {
      const pem = privateKeyToTalosPem(keys[algorithm]);
      expect(toNodeLoadableKeyPem(pem)).toBe(pem);
    }
  });
});

describe('signingParamsFor', () => {
  it('signs as Go does: Ed25519 pure, ECDSA digest by curve size, RSA PKCS#1 v1.5 with SHA-256', () => {
    const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve }).privateKey;
    expect(signingParamsFor(generateKeyPairSync('ed25519').privateKey).signingAlgorithm).toEqual({ name: 'Ed25519' });
    expect(signingParamsFor(ec('prime256v1')).signingAlgorithm).toEqual({ name: 'ECDSA', hash: 'SHA-256' });
    expect(signingParamsFor(ec('secp384r1'))).toEqual({
      importParams: { name: 'ECDSA', namedCurve: 'P-384' },
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
    });
    expect(signingParamsFor(ec('secp521r1')).signingAlgorithm).toEqual({ name: 'ECDSA', hash: 'SHA-512' });
    expect(signingParamsFor(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey).signingAlgorithm).toEqual({
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
    });
  });

  it('refuses keys Web Crypto cannot sign certificates with', () => {
    expect(() => signingParamsFor(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey)).toThrow(
      'unsupported ECDSA curve secp256k1',
    );
    expect(() => signingParamsFor(generateKeyPairSync('x25519').privateKey)).toThrow('unsupported key type x25519');
  });
});
