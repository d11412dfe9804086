import type { Logger } from "./logging/logger";

/**
 * Work that a request starts but does not wait for (so that its answer takes the same time whatever
 * the work finds). A failure is logged; `drain()` waits for what is still running, so a graceful
 * shutdown loses none of it. Beyond `limit` tasks at once the caller waits for its own task, which
 * gives a flood of requests back the backpressure that waiting for the work would have given.
 */
export class BackgroundTasks {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly logger: Logger,
    private readonly limit = 500,
  ) {}

  /** Starts `work`; resolves at once, or when `work` ends if `limit` tasks are already running. */
  async run(name: string, work: () => Promise<unknown>): Promise<void> {
    const task = work().then(
      () => undefined,
      (error: unknown) => this.logger.error({ err: error, task: name }, "background task failed"),
    );
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
    if (this.running.size > this.limit) await task;
  }

  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
