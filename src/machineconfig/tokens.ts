// Random tokens and secrets in the shapes `talosctl gen secrets` generates.
import { randomBytes, randomInt } from 'node:crypto';
import { base64UrlPadded, type Base64Alphabet } from './base64.js';

/** Kubernetes bootstrap token shape, also used by Talos for the trustd token. */
export const TOKEN_PATTERN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomTokenPart(length: number): string {
  // randomInt is uniform over the range (it rejects biased draws), so every character is equally likely
  return Array.from({ length }, () => TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)]).join('');
}

/** `[a-z0-9]{6}.[a-z0-9]{16}`: the bootstrap token and trustd token format. */
export function generateToken(): string {
  return `${randomTokenPart(6)}.${randomTokenPart(16)}`;
}

/** `bytes` random bytes as base64: standard alphabet, or URL-safe with padding (the ≤1.13 cluster id). */
export function generateSecret(bytes = 32, alphabet: Base64Alphabet = 'standard'): string {
  const raw = randomBytes(bytes);
  return alphabet === 'standard' ? raw.toString('base64') : base64UrlPadded(raw);
}
