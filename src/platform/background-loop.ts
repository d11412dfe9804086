/**
 * Runs `step` until stopped: again at once after a round that found a full batch (`batchSize`),
 * otherwise after `intervalMs` or as soon as `wake()` is called. A partial batch means the work has
 * caught up: what comes later wakes the loop (a commit, a NOTIFY) or waits for the next round, and
 * looking again at once would find next to nothing at the cost of a whole round. A failing step is
 * reported and retried with a growing delay (at most `intervalMs`). The outbox relay's lanes and
 * the audit chainer are such loops.
 */
export abstract class BackgroundLoop {
  private running = false;
  private pending = false;
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  /** `batchSize`: the most a round takes; a loop without batches (the default) never repeats at once. */
  constructor(
    private readonly intervalMs: number,
    private readonly batchSize = Number.POSITIVE_INFINITY,
  ) {}

  /** One round of work; resolves with how much it found (0: nothing to do, sleep). */
  protected abstract step(): Promise<number>;

  protected abstract onError(error: unknown, consecutiveFailures: number): void;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  /** Resolves once the round under way (if any) has finished; no further round or sleep follows it. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let found = 0;
      try {
        found = await this.step();
        failures = 0;
      } catch (error) {
        failures += 1;
        this.onError(error, failures);
      }
      // A stop that came while the step ran found no sleep to cut short: it must not wait out a whole interval.
      if (!this.running || (failures === 0 && found >= this.batchSize)) continue;
      await this.sleep(failures > 0 ? Math.min(this.intervalMs, 50 * 2 ** Math.min(failures, 6)) : this.intervalMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wakeUp = finish;
    });
  }
}
