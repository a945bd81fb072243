import { describe, expect, it } from 'vitest';
import { UnauthenticatedConnections } from '../../../apiservice/unauthenticated.js';

describe('unauthenticated connections per address', () => {
  it('refuses an address at its limit, not another address, and forgets an address with none left', () => {
    const c = new UnauthenticatedConnections(2);
    expect(c.tryAdd('10.0.0.1')).toBe(true);
    expect(c.tryAdd('10.0.0.1')).toBe(true);
    expect(c.tryAdd('10.0.0.1')).toBe(false);
    expect(c.tryAdd('10.0.0.2')).toBe(true);
    expect([c.total, c.addresses]).toEqual([3, 2]);
    c.remove('10.0.0.1');
    expect(c.tryAdd('10.0.0.1')).toBe(true);
    for (const a of ['10.0.0.1', '10.0.0.1', '10.0.0.2']) c.remove(a);
    expect([c.total, c.addresses]).toEqual([0, 0]);
    // a stray second removal (closed after authenticating) never goes below zero
    c.remove('10.0.0.2');
    expect([c.total, c.addresses]).toEqual([0, 0]);
  });

  it('counts without limit at 0', () => {
    const c = new UnauthenticatedConnections(0);
    for (let i = 0; i < 100; i++) expect(c.tryAdd('10.0.0.1')).toBe(true);
    expect([c.total, c.addresses]).toEqual([100, 1]);
  });
});
