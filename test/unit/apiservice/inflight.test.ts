import { describe, expect, it } from 'vitest';
import { InflightLimiter, isLongRunning } from '../../../apiservice/inflight.js';
import { requestInfo } from '../../../apiservice/requestinfo.js';

const info = (method: string, path: string, q = '') => requestInfo(method, path, new URLSearchParams(q));
const AS = '/apis/metal.sidero.dev/v1alpha2/namespaces/default/adoptedservers';

describe('max in-flight requests', () => {
  it('admits up to the limit per kind, refuses more, and admits again after a release', () => {
    const l = new InflightLimiter(2, 1);
    const r1 = l.admit(info('GET', AS));
    const r2 = l.admit(info('GET', `${AS}/a`));
    expect(typeof r1).toBe('function');
    expect(typeof r2).toBe('function');
    expect(l.admit(info('GET', '/apis'))).toBe(false);
    const w1 = l.admit(info('POST', AS));
    expect(typeof w1).toBe('function');
    expect(l.admit(info('DELETE', `${AS}/a`))).toBe(false);
    (r1 as () => void)();
    (r1 as () => void)(); // a second release changes nothing
    expect(typeof l.admit(info('GET', AS))).toBe('function');
    expect(l.admit(info('GET', AS))).toBe(false);
    (w1 as () => void)();
    expect(typeof l.admit(info('PATCH', `${AS}/a`))).toBe('function');
  });

  it('does not count watches (long-running), however many', () => {
    const l = new InflightLimiter(1, 1);
    for (let i = 0; i < 5; i++) expect(l.admit(info('GET', AS, 'watch=true'))).toBeUndefined();
    expect(isLongRunning(info('GET', AS, 'watch=1'))).toBe(true);
    expect(isLongRunning(info('GET', `${AS}/a/health`))).toBe(false);
  });
});
