import { waitUntil } from "./wait";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { REDIS_URL } from "./env";

/** Reads what reached a BullMQ queue, as a consumer of another team would see it. */
export class QueueReader {
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly prefix: string,
    url = REDIS_URL,
  ) {
    this.connection = new Redis(url, { maxRetriesPerRequest: null });
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Every job waiting in the queue (nobody consumes them in the tests). */
  async jobs(name: string): Promise<{ id: string; name: string; data: unknown }[]> {
    const jobs = await this.queue(name).getWaiting(0, -1);
    return jobs.map((job) => ({ id: job.id as string, name: job.name, data: job.data as unknown }));
  }

  async count(name: string): Promise<number> {
    return this.queue(name).getWaitingCount();
  }

  /** Job ids with the time (ms) each was added. */
  async jobsWithTimestamps(name: string): Promise<{ id: string; timestamp: number }[]> {
    const jobs = await this.queue(name).getWaiting(0, -1);
    return jobs.map((job) => ({ id: job.id as string, timestamp: job.timestamp }));
  }

  /** Resolves once job `id` of queue `name` has run to its end: completed (and removed), or failed for good. */
  async finished(name: string, id: string): Promise<void> {
    await waitUntil(`job ${id} on ${name} to finish`, async () => {
      const job = await this.queue(name).getJob(id);
      return !job || (await job.isFailed()) || (await job.isCompleted());
    });
  }

  /** The first job of queue `name` that `matches`, once there is one. */
  waitFor(name: string, matches: (job: { id: string; name: string; data: unknown }) => boolean): Promise<{ id: string; name: string; data: unknown }> {
    return waitUntil(`a matching job on ${name}`, async () => (await this.jobs(name)).find(matches));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.connection.disconnect();
  }
}
