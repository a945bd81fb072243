// Keys are kept in the byte order of their UTF-8 encoding (etcd's order). JS string comparison
// orders UTF-16 code units, which differs only when a surrogate meets a code unit >= 0xE000;
// ranking code units as below makes the comparison agree with code point (= UTF-8 byte) order.

function rank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** A sorted set of keys with binary search; inserts of increasing keys (the common case) are O(1). */
export class SortedKeys {
  private items: string[] = [];

  get size(): number {
    return this.items.length;
  }

  at(i: number): string {
    return this.items[i]!;
  }

  /** index of the first key >= key */
  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.items[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** the key must not be present */
  insert(key: string): void {
    const n = this.items.length;
    if (n === 0 || compareKeys(this.items[n - 1]!, key) < 0) {
      this.items.push(key);
      return;
    }
    this.items.splice(this.lowerBound(key), 0, key);
  }

  /** index of the first key after every key that starts with prefix */
  prefixUpperBound(prefix: string): number {
    let lo = this.lowerBound(prefix);
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.startsWith(prefix)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  remove(key: string): void {
    const i = this.lowerBound(key);
    if (this.items[i] === key) this.items.splice(i, 1);
  }

  clear(): void {
    this.items = [];
  }

  removeAll(keys: Set<string>): void {
    if (keys.size === 0) return;
    if (keys.size <= 8) {
      for (const key of keys) {
        const i = this.lowerBound(key);
        if (this.items[i] === key) this.items.splice(i, 1);
      }
      return;
    }
    this.items = this.items.filter((k) => !keys.has(k));
  }
}
