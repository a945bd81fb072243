// Open connections per client address that no request has authenticated yet. Without a bound,
// one address could hold thousands of TLS connections (or half-open handshakes) without ever
// presenting a credential; with it, a client that authenticates is never counted, so NAT'ed
// users and kube-aggregator are limited only while they have not yet sent their first request.
export class UnauthenticatedConnections {
  private readonly perAddress = new Map<string, number>();
  private count = 0;

  /** @param max per address; 0: no limit (still counted, for /metrics) */
  constructor(private readonly max: number) {}

  /** counts one more connection from `address`, or false when that address is at the limit */
  tryAdd(address: string): boolean {
    const n = this.perAddress.get(address) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.perAddress.set(address, n + 1);
    this.count++;
    return true;
  }

  /** the connection closed, or authenticated: it no longer counts */
  remove(address: string): void {
    const n = this.perAddress.get(address);
    if (n === undefined) return;
    // an address with no connection left keeps no entry, so the map never grows with past clients
    if (n <= 1) this.perAddress.delete(address);
    else this.perAddress.set(address, n - 1);
    this.count--;
  }

  /** unauthenticated connections over every address */
  get total(): number {
    return this.count;
  }

  /** addresses with at least one unauthenticated connection */
  get addresses(): number {
    return this.perAddress.size;
  }
}
