// Per-client request limit of the boot listener: at most `limit` requests in each fixed window
// per address. Windows that ended are forgotten as they are passed, so memory follows the clients
// seen within one window.

export interface RateLimitSettings {
  /** requests per window per client; 0: no limit */
  limit: number;
  windowMs: number;
}

export class ClientRateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private lastSweep = 0;

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** undefined when the request may go on, else the seconds until the client's window ends */
  take(client: string): number | undefined {
    if (this.settings.limit === 0) return undefined;
    const now = this.now();
    this.sweep(now);
    let w = this.windows.get(client);
    if (!w || now - w.start >= this.settings.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(client, w);
    }
    w.count++;
    if (w.count <= this.settings.limit) return undefined;
    return Math.max(1, Math.ceil((w.start + this.settings.windowMs - now) / 1000));
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.settings.windowMs) return;
    this.lastSweep = now;
    for (const [client, w] of this.windows) if (now - w.start >= this.settings.windowMs) this.windows.delete(client);
  }
}
