import { Worker } from "node:worker_threads";
import { RateLimitedError } from "../../shared/errors";

/** Scheduling priority of the hashing threads: below the event loop, PostgreSQL and Redis. */
export const HASHING_NICE = 10;
/** bcrypt reads at most 72 bytes: longer inputs are refused, never silently truncated. */
export const BCRYPT_MAX_BYTES = 72;

/**
 * Each worker lowers its own thread's priority (on Linux `nice` is per thread) and then hashes
 * synchronously on that thread, one job at a time. A comparison's padding (comparisons against
 * `pad`'s dummy hashes) runs before its answer; each run's time is reported.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const bcrypt = require(workerData.bcrypt);
try { require("node:os").setPriority(0, workerData.nice); } catch {}
parentPort.on("message", ({ op, password, hash, cost, pad }) => {
  const ms = [];
  const timed = (run) => {
    const started = performance.now();
    const result = run();
    ms.push(performance.now() - started);
    return result;
  };
  try {
    const result = timed(() => (op === "hash" ? bcrypt.hashSync(password, cost) : bcrypt.compareSync(password, hash)));
    for (const dummy of pad ?? []) timed(() => bcrypt.compareSync(password, dummy));
    parentPort.postMessage({ result, ms });
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
});`;

/** Told what the hashing threads do (metrics). */
export interface HashingObserver {
  /** A finished bcrypt run: its kind (`pad`: padding a comparison to the configured cost), the cost it ran at and its time on a hashing thread. */
  ran?(operation: "hash" | "compare" | "pad", cost: number, seconds: number): void;
  /** Operations waiting for a thread, after every change. */
  waiting?(count: number): void;
  /** An operation never run: the queue was full, or its caller had gone while it waited. */
  dropped?(reason: "queue_full" | "abandoned"): void;
}

/** The cost factor written in a bcrypt hash (`$2b$12$...`). */
function costOf(hash: string): number {
  return Number(/^\$2[abxy]?\$(\d{2})\$/.exec(hash)?.[1] ?? 0);
}

/** bcrypt's lowest cost factor. */
const MIN_COST = 4;

/** A well-formed hash at `cost` (bcrypt's work depends only on the cost) that no password matches in practice. */
function dummyHash(cost: number): string {
  return `$2b$${String(cost).padStart(2, "0")}$identitysubgraphdummyhashidentitysubgraphdummyhashida`;
}

type Request = { op: "hash"; password: string; cost: number } | { op: "compare"; password: string; hash: string; pad: string[] };

interface Job {
  request: Request;
  resolve(value: string | boolean): void;
  reject(error: Error): void;
  /** Called once the job leaves the queue (it runs, or is dropped). */
  dequeued(): void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

/**
 * bcrypt on a pool of worker threads that run at a lower scheduling priority. A login storm then
 * uses every idle CPU cycle, yet the event loop, PostgreSQL and Redis preempt it, so other
 * requests keep their latency; libuv's thread pool stays free for WebCrypto, DNS and files.
 * Inputs are checked against bcrypt's 72-byte limit by the password policy first. At most
 * `maxWaiting` operations wait for a thread: beyond them an operation is refused at once with
 * RATE_LIMITED, so a flood cannot make every login wait behind it; one whose caller has gone
 * (its AbortSignal fired) leaves the queue unrun.
 */
export class PasswordHasher {
  /**
   * Verified against when the account does not exist, so that path does the same work: a dummy
   * hash at the configured cost, which the caller's `hash !== null` check rules out anyway.
   */
  private readonly dummy: string;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private closed = false;

  constructor(
    readonly cost: number,
    readonly threads: number,
    private readonly observer: HashingObserver = {},
    private readonly maxWaiting = Number.POSITIVE_INFINITY,
  ) {
    this.dummy = dummyHash(cost);
  }

  hash(password: string): Promise<string> {
    return this.run({ op: "hash", password, cost: this.cost }) as Promise<string>;
  }

  /**
   * Compares with the stored hash, or with a dummy hash when there is none (same cost, same time).
   * A hash made at a lower cost (before `BCRYPT_COST` was raised) is padded to the configured work
   * by comparisons against dummies at its cost, its cost + 1, … up to the configured one (2^c + 2^c +
   * 2^(c+1) + … = 2^cost), so that its account answers in the time an unknown email does.
   * `signal`: the caller's, fired when it has gone; the comparison is then dropped if still waiting.
   */
  async verify(password: string, hash: string | null | undefined, signal?: AbortSignal): Promise<boolean> {
    const against = hash ?? this.dummy;
    const pad: string[] = [];
    for (let cost = Math.max(costOf(against), MIN_COST); cost < this.cost; cost += 1) pad.push(dummyHash(cost));
    const matches = (await this.run({ op: "compare", password, hash: against, pad }, signal)) === true;
    return matches && hash !== null && hash !== undefined;
  }

  /** Whether a hash that matched was made below the configured cost (hash the password again). */
  needsRehash(hash: string): boolean {
    return costOf(hash) < this.cost;
  }

  /** Operations waiting for a free thread. */
  get waiting(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      job.dequeued();
      job.reject(new Error("password hashing stopped"));
    }
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private run(request: Request, signal?: AbortSignal): Promise<string | boolean> {
    if (this.closed) return Promise.reject(new Error("password hashing stopped"));
    if (signal?.aborted) return Promise.reject(this.dropped("abandoned"));
    // Every thread is busy whenever anything waits (a free one takes the next job at once).
    if (this.queue.length >= this.maxWaiting) return Promise.reject(this.dropped("queue_full"));
    return new Promise((resolve, reject) => {
      const abandon = () => {
        this.queue.splice(this.queue.indexOf(job), 1);
        this.observer.waiting?.(this.queue.length);
        reject(this.dropped("abandoned"));
      };
      const job: Job = { request, resolve, reject, dequeued: () => signal?.removeEventListener("abort", abandon) };
      signal?.addEventListener("abort", abandon, { once: true });
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Work that is never run: its caller is told to try again shortly. */
  private dropped(reason: "queue_full" | "abandoned"): RateLimitedError {
    this.observer.dropped?.(reason);
    return new RateLimitedError(1);
  }

  /** Gives waiting jobs to free threads, starting threads (up to `threads`) as work first needs them: an instance that never hashes keeps none. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((candidate) => !candidate.job);
      if (!slot) {
        if (this.slots.length >= this.threads) break;
        slot = this.spawn();
        this.slots.push(slot);
      }
      const job = this.queue.shift() as Job;
      job.dequeued();
      slot.job = job;
      slot.worker.postMessage(job.request);
    }
    this.observer.waiting?.(this.queue.length);
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcrypt: require.resolve("bcrypt"), nice: HASHING_NICE } });
    // Idle hashing threads never keep the process alive.
    worker.unref();
    const slot: Slot = { worker, job: null };
    worker.on("message", (reply: { result?: string | boolean; ms?: number[]; error?: string }) => {
      const job = slot.job;
      slot.job = null;
      if (reply.error !== undefined) job?.reject(new Error(reply.error));
      else if (job) {
        const { request } = job;
        const [ms = 0, ...padMs] = reply.ms ?? [];
        this.observer.ran?.(request.op, request.op === "hash" ? request.cost : costOf(request.hash), ms / 1000);
        if (request.op === "compare") request.pad.forEach((dummy, i) => this.observer.ran?.("pad", costOf(dummy), (padMs[i] ?? 0) / 1000));
        job.resolve(reply.result as string | boolean);
      }
      this.dispatch();
    });
    // A thread that dies fails its job and is replaced; its slot takes no new job meanwhile
    // ("error" is followed by "exit").
    worker.on("error", (error) => slot.job?.reject(error));
    worker.on("exit", () => {
      if (this.closed) return;
      slot.job?.reject(new Error("password hashing thread exited"));
      this.slots[this.slots.indexOf(slot)] = this.spawn();
      this.dispatch();
    });
    return slot;
  }
}
