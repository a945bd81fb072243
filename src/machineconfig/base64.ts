// Strict base64 for values read from user files. Buffer.from(s, 'base64') silently skips characters
// outside the alphabet, so a typo would decode to different bytes instead of failing.

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;

export type Base64Alphabet = 'standard' | 'url';

/**
 * Decodes base64 in the given alphabets, or returns undefined when the text is not base64.
 * Line breaks are ignored (a YAML block scalar may wrap a long value); padding is optional.
 */
export function decodeBase64Strict(
  text: string,
  alphabets: readonly Base64Alphabet[] = ['standard'],
): Buffer | undefined {
  const compact = text.replace(/[\r\n]/g, '');
  // trailing padding counted by hand: /=+$/ tries every start in a run of "=", quadratic in its length
  let unpaddedLength = compact.length;
  while (unpaddedLength > 0 && compact[unpaddedLength - 1] === '=') unpaddedLength--;
  // 4n+1 characters cannot come from any byte string; padding must complete a 4-character group
  if (unpaddedLength % 4 === 1) return undefined;
  if (compact.includes('=') && compact.length % 4 !== 0) return undefined;
  for (const alphabet of alphabets) {
    if ((alphabet === 'standard' ? STANDARD : URL_SAFE).test(compact)) {
      return Buffer.from(compact, alphabet === 'standard' ? 'base64' : 'base64url');
    }
  }
  return undefined;
}

/** base64 (standard alphabet, padded) of a UTF-8 string, as secrets.yaml and talosconfig hold PEMs */
export function base64OfText(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** URL-safe alphabet WITH padding, the way Talos <= 1.13 writes the cluster id (Node's base64url drops padding) */
export function base64UrlPadded(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
