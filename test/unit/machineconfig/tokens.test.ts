// Token and secret formats (as `talosctl gen secrets` makes them) and the version contract parser.
import { describe, expect, it } from 'vitest';
import { contractAtLeast, formatContract, parseContract } from '../../../src/machineconfig/contract.js';
import { generateSecret, generateToken, TOKEN_PATTERN } from '../../../src/machineconfig/tokens.js';

describe('generateToken', () => {
  it('has the bootstrap token shape [a-z0-9]{6}.[a-z0-9]{16}', () => {
    for (let i = 0; i < 50; i++) expect(generateToken()).toMatch(TOKEN_PATTERN);
  });

  it('draws every one of the 36 characters, and no others', () => {
    const seen = new Set(Array.from({ length: 400 }, generateToken).join('').replace(/\./g, ''));
    expect([...seen].sort().join('')).toBe('0123456789abcdefghijklmnopqrstuvwxyz');
  });

  it('does not repeat', () => {
    expect(new Set(Array.from({ length: 100 }, generateToken)).size).toBe(100);
  });
});

describe('generateSecret', () => {
  it('is 32 random bytes in standard base64 by default', () => {
    const s = generateSecret();
    expect(s).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s, 'base64')).toHaveLength(32);
  });

  it('uses the URL-safe alphabet with padding when asked (the ≤1.13 cluster id)', () => {
    const s = generateSecret(32, 'url');
    expect(s).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(Buffer.from(s, 'base64url')).toHaveLength(32);
  });
});

describe('parseContract', () => {
  it('reads MAJOR.MINOR with optional v, patch and pre-release', () => {
    expect(parseContract('1.8')).toEqual({ major: 1, minor: 8 });
    expect(parseContract('v1.13')).toEqual({ major: 1, minor: 13 });
    expect(parseContract('v1.14.0-rc.1')).toEqual({ major: 1, minor: 14 });
    expect(formatContract(parseContract('1.12.11'))).toBe('v1.12');
  });

  it('rejects anything else', () => {
    for (const bad of ['', 'latest', '1', 'v1.x', '1.2.3.4'])
      expect(() => parseContract(bad)).toThrow('invalid Talos version');
  });

  it('compares numerically, not as strings', () => {
    expect(contractAtLeast({ major: 1, minor: 10 }, 1, 7)).toBe(true);
    expect(contractAtLeast({ major: 1, minor: 6 }, 1, 7)).toBe(false);
    expect(contractAtLeast({ major: 2, minor: 0 }, 1, 14)).toBe(true);
  });
});
