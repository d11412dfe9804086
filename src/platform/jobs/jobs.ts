import { Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import type { Logger } from "../logging/logger";

/** What a job carries: plain JSON, no secrets (BullMQ keeps it in Redis). */
export type JobData = Record<string, string | number | boolean | null>;
export type JobHandler = (data: JobData) => Promise<void>;

export interface JobDefinition {
  /** Called once when the job has failed its last attempt (`error` is that attempt's), to leave nothing hanging on it. */
  onGiveUp?(data: JobData, error: unknown): Promise<void>;
}

export interface JobOptions {
  /** Deduplicates: a job with this id waiting or running already makes this one a no-op (one that failed for good is replaced). */
  jobId?: string;
  delayMs?: number;
}

/**
 * Background work that must not run in a request (provider calls, webhook processing, polling):
 * retried with backoff, and in service mode shared by every instance through BullMQ, so work one
 * instance queued is done by whichever is free, and survives a restart. Handlers are idempotent:
 * a job may run more than once.
 */
export interface Jobs {
  /** Registers the handler of `name`; before `start`. */
  define(name: string, handler: JobHandler, definition?: JobDefinition): void;
  enqueue(name: string, data: JobData, options?: JobOptions): Promise<void>;
  /** Runs `name` (with no data) every `intervalMs` once started, once across instances; before `start`. */
  every(name: string, intervalMs: number): void;
  /** Runs `name` (with no data) every day at `time` (HH:MM, UTC), once across instances; before `start`. */
  daily(name: string, time: string): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface JobsOptions {
  /** Attempts per job before it is given up (logged). */
  attempts: number;
  /** First retry delay; doubled each attempt. */
  backoffMs: number;
  concurrency: number;
  logger: Logger;
}

/** A repeating job: every so many milliseconds, or daily at a UTC time. */
type Schedule = { everyMs: number } | { hour: number; minute: number };

/** Milliseconds from `now` to the next `hour:minute` UTC (a full day when it is that minute now). */
export function untilNext(now: Date, hour: number, minute: number): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hour, minute);
  return next > now.getTime() ? next - now.getTime() : next + 86_400_000 - now.getTime();
}

abstract class JobRegistry {
  protected readonly handlers = new Map<string, JobHandler>();
  private readonly definitions = new Map<string, JobDefinition>();
  protected readonly schedules = new Map<string, Schedule>();

  constructor(protected readonly options: JobsOptions) {}

  define(name: string, handler: JobHandler, definition: JobDefinition = {}): void {
    if (this.handlers.has(name)) throw new Error(`job ${name} is defined twice`);
    this.handlers.set(name, handler);
    this.definitions.set(name, definition);
  }

  every(name: string, intervalMs: number): void {
    this.handlerOf(name);
    this.schedules.set(name, { everyMs: intervalMs });
  }

  daily(name: string, time: string): void {
    this.handlerOf(name);
    const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time);
    if (!match) throw new Error(`daily job ${name}: the time must be HH:MM (UTC), not ${time}`);
    this.schedules.set(name, { hour: Number(match[1]), minute: Number(match[2]) });
  }

  protected handlerOf(name: string): JobHandler {
    const handler = this.handlers.get(name);
    if (!handler) throw new Error(`no handler for job ${name}`);
    return handler;
  }

  /** A job's last attempt failed: logged, and handed to its onGiveUp. */
  protected async failed(name: string, data: JobData, attempts: number, error: unknown): Promise<void> {
    this.options.logger.error({ err: error, job: name, attempts }, "job failed for good");
    try {
      await this.definitions.get(name)?.onGiveUp?.(data, error);
    } catch (failure) {
      this.options.logger.error({ err: failure, job: name }, "a job's onGiveUp failed");
    }
  }
}

/** How long a stop waits for running jobs (and BullMQ's worker) before it lets go of Redis. */
const STOP_GRACE_MS = 5_000;

/** Waits for `closing` at most STOP_GRACE_MS. */
async function withinGrace(closing: Promise<void> | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closing?.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
  clearTimeout(timer);
}

/** The queue of this service's own background jobs (not a queue other teams consume). */
export const JOBS_QUEUE = "identity-jobs";

/** Service mode: one BullMQ queue; every instance with `worker` on runs jobs from it. */
export class BullJobs extends JobRegistry implements Jobs {
  private readonly queue: Queue;
  private worker: Worker | null = null;
  private workerConnection: Redis | null = null;
  private started = false;

  constructor(
    private readonly connection: Redis,
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly runsWorker: boolean,
    options: JobsOptions,
  ) {
    super(options);
    this.queue = new Queue(JOBS_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: { attempts: options.attempts, backoff: { type: "exponential", delay: options.backoffMs }, removeOnComplete: true, removeOnFail: { age: 7 * 86_400 } },
    });
    // Redis being down is reported by the connection's owner (readiness, the log); BullMQ would print it.
    this.queue.on("error", () => undefined);
  }

  async enqueue(name: string, data: JobData, options: JobOptions = {}): Promise<void> {
    this.handlerOf(name);
    if (options.jobId) {
      // A failed job is kept (removeOnFail) and would make `add` under its id a no-op: asking for
      // the work again (a provider redelivering a webhook whose job failed) must run it again.
      const previous = await this.queue.getJob(options.jobId);
      if (previous && (await previous.isFailed())) await previous.remove();
    }
    await this.queue.add(name, data, { ...(options.jobId ? { jobId: options.jobId } : {}), ...(options.delayMs ? { delay: options.delayMs } : {}) });
  }

  async start(): Promise<void> {
    if (!this.runsWorker || this.started) return;
    this.started = true;
    // Once Redis answers: BullMQ's worker cannot be closed while it waits for a first connection.
    if (this.connection.status === "ready") this.begin();
    else this.connection.once("ready", this.begin);
  }

  private readonly begin = (): void => {
    if (this.stopping || this.worker) return;
    for (const [name, schedule] of this.schedules) {
      const repeat = "everyMs" in schedule ? { every: schedule.everyMs } : { pattern: `${schedule.minute} ${schedule.hour} * * *`, tz: "UTC" };
      this.queue.upsertJobScheduler(name, repeat, { name, data: {} }).catch((error: Error) => this.options.logger.warn({ err: { message: error.message }, job: name }, "could not schedule a repeating job"));
    }
    // Blocking commands: a connection of its own, without a command timeout.
    this.workerConnection = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
    this.worker = new Worker(JOBS_QUEUE, (job: Job<JobData>) => this.handlerOf(job.name)(job.data), {
      connection: this.workerConnection,
      prefix: this.prefix,
      concurrency: this.options.concurrency,
    });
    this.worker.on("failed", (job, error) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) void this.failed(job.name, job.data, job.attemptsMade, error);
      else this.options.logger.warn({ err: { message: error.message }, job: job?.name }, "job failed; retried later");
    });
    this.worker.on("error", (error) => this.options.logger.warn({ err: { message: error.message } }, "job worker error"));
  };

  private stopping: Promise<void> | null = null;

  /** Lets running jobs finish; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.connection.off("ready", this.begin);
      // Running jobs get a grace period; a worker (or queue) whose Redis went away mid-wait may never settle its close.
      await withinGrace(this.worker?.close());
      this.workerConnection?.disconnect();
      await withinGrace(this.queue.close());
    })();
    return this.stopping;
  }
}

/** Embedded mode: the same contract in-process (timers; lost on restart, as embedded mode's queues are). */
export class LocalJobs extends JobRegistry implements Jobs {
  private readonly waiting = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private readonly repeating = new Map<string, NodeJS.Timeout>();
  private started = false;
  private stopped = false;
  private sequence = 0;

  async enqueue(name: string, data: JobData, options: JobOptions = {}): Promise<void> {
    this.handlerOf(name);
    const id = options.jobId ?? `local-${(this.sequence += 1)}`;
    if (this.waiting.has(id) || this.stopped) return;
    this.schedule(id, name, data, options.delayMs ?? 0, 1);
  }

  async start(): Promise<void> {
    this.started = true;
    for (const [name, schedule] of this.schedules) this.repeat(name, schedule);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [...this.waiting.values(), ...this.repeating.values()]) clearTimeout(timer);
    this.waiting.clear();
    await Promise.all(this.running);
  }

  private repeat(name: string, schedule: Schedule): void {
    const delay = "everyMs" in schedule ? schedule.everyMs : untilNext(new Date(), schedule.hour, schedule.minute);
    const timer = setTimeout(() => {
      void this.enqueue(name, {}, { jobId: `every:${name}` });
      if (!this.stopped) this.repeat(name, schedule);
    }, delay);
    timer.unref();
    this.repeating.set(name, timer);
  }

  private schedule(id: string, name: string, data: JobData, delayMs: number, attempt: number): void {
    const timer = setTimeout(() => {
      this.waiting.delete(id);
      if (!this.started) return this.schedule(id, name, data, 50, attempt);
      const run = this.handlerOf(name)(data).catch((error: unknown) => {
        if (attempt >= this.options.attempts) return this.failed(name, data, attempt, error);
        this.options.logger.warn({ err: { message: (error as Error).message }, job: name }, "job failed; retried later");
        if (!this.stopped) this.schedule(id, name, data, this.options.backoffMs * 2 ** (attempt - 1), attempt + 1);
      });
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }, delayMs);
    this.waiting.set(id, timer);
  }
}
