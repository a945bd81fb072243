// The ticking of periodic compaction as kube-apiserver runs it: one round every interval, never two
// at once, and nothing left pending keeps the process alive. Each backend's round compacts to the
// revision it saw one round earlier, so at least one interval of history is always kept.

export class CompactionTicker {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  /** `round` must not throw: it reports its own failures */
  constructor(
    private readonly intervalMs: number,
    private readonly round: () => Promise<void>,
  ) {}

  /** 0 or less disables periodic compaction */
  start(): void {
    if (this.intervalMs <= 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round().finally(() => this.start());
    }, this.intervalMs);
    // a pending compaction must not keep the process alive
    this.timer.unref();
  }

  /** stops ticking and waits for a round in progress */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
