import { describe, expect, it } from 'vitest';
import { InflightLimiter, isLongRunning, LARGE_LIST_OBJECTS, type Release } from '../../../apiservice/inflight.js';
import { requestInfo } from '../../../apiservice/requestinfo.js';

const info = (method: string, path: string, q = '') => requestInfo(method, path, new URLSearchParams(q));
const AS = '/apis/metal.sidero.dev/v1alpha2/namespaces/default/adoptedservers';
const limits = (maxReadOnly: number, maxMutating: number, maxLargeLists = 0, queueWaitMs = 0) => ({
  maxReadOnly,
  maxMutating,
  maxLargeLists,
  queueWaitMs,
});

describe('max in-flight requests', () => {
  it('admits up to the limit per kind, refuses more, and admits again after a release', () => {
    const l = new InflightLimiter(limits(2, 1));
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
    const l = new InflightLimiter(limits(1, 1));
    for (let i = 0; i < 5; i++) expect(l.admit(info('GET', AS, 'watch=true'))).toBeUndefined();
    expect(isLongRunning(info('GET', AS, 'watch=1'))).toBe(true);
    expect(isLongRunning(info('GET', `${AS}/a/health`))).toBe(false);
  });
});

describe('the large-list lane', () => {
  const list = (q = '') => info('GET', AS, q);
  const big = (_: unknown, limit?: number) => Math.min(limit ?? Infinity, LARGE_LIST_OBJECTS + 1);

  it('lets small lists and single-object calls through while large lists wait their turn in order', async () => {
    const l = new InflightLimiter(limits(100, 100, 2, 60_000), big);
    const first = (await l.admit(list())) as Release;
    const second = (await l.admit(list())) as Release;
    expect(typeof first).toBe('function');
    const order: string[] = [];
    const third = Promise.resolve(l.admit(list())).then((r) => (order.push('third'), r as Release));
    const fourth = Promise.resolve(l.admit(list())).then((r) => (order.push('fourth'), r as Release));
    expect(l.queued).toBe(2);
    // a get and a list with a small limit are not large: admitted at once
    expect(typeof l.admit(info('GET', `${AS}/a`))).toBe('function');
    expect(typeof l.admit(list(), new URLSearchParams(`limit=${LARGE_LIST_OBJECTS}`))).toBe('function');
    first();
    first(); // a second release gives away no second place
    (await third)();
    expect(order).toEqual(['third']);
    second();
    await fourth;
    expect(order).toEqual(['third', 'fourth']);
    expect(l.queued).toBe(0);
  });

  it('answers false (429) to a large list that waited too long, and forgets it', async () => {
    const l = new InflightLimiter(limits(100, 100, 1, 5), big);
    const held = (await l.admit(list())) as Release;
    expect(await l.admit(list())).toBe(false);
    expect(l.queued).toBe(0);
    held();
    expect(typeof (await l.admit(list()))).toBe('function');
  });

  it('treats lists as ordinary reads when the lane is off or the resource is small', async () => {
    const off = new InflightLimiter(limits(1, 1, 0), big);
    expect(typeof off.admit(list())).toBe('function');
    expect(off.admit(list())).toBe(false);
    const small = new InflightLimiter(limits(100, 100, 1), () => LARGE_LIST_OBJECTS);
    for (let i = 0; i < 5; i++) expect(typeof small.admit(list())).toBe('function');
  });

  it('still counts a large list as a read once it has its place', async () => {
    const l = new InflightLimiter(limits(1, 1, 2, 60_000), big);
    const r = l.admit(info('GET', `${AS}/a`)) as Release;
    expect(await l.admit(list())).toBe(false);
    r();
    expect(typeof (await l.admit(list()))).toBe('function');
  });
});
