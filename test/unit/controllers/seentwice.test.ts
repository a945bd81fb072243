import { describe, expect, it } from 'vitest';
import { SeenTwice } from '../../../src/controllers/clusterlifecycle/seentwice.js';

describe('configs read alike twice', () => {
  it('counts only a second equal look of the same cluster', () => {
    const s = new SeenTwice();
    expect(s.sameAsLast('ns/a', 'u1', 'v1')).toBe(false);
    expect(s.sameAsLast('ns/a', 'u1', 'v1')).toBe(true);
    expect(s.sameAsLast('ns/a', 'u1', 'v2')).toBe(false);
    // a re-created cluster of that name starts afresh
    expect(s.sameAsLast('ns/a', 'u2', 'v2')).toBe(false);
    expect(s.sameAsLast('ns/a', 'u2', 'v2')).toBe(true);
  });

  it('forgets a cluster that is gone, so memory does not grow with clusters deleted', () => {
    const s = new SeenTwice();
    for (let i = 0; i < 50; i++) s.sameAsLast(`ns/c${i}`, `u${i}`, 'v');
    for (let i = 0; i < 50; i++) s.forget(`ns/c${i}`);
    expect(s.size).toBe(0);
    expect(s.sameAsLast('ns/c1', 'u1', 'v')).toBe(false);
  });
});
