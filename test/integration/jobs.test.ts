import { Redis } from "ioredis";
import { BullJobs, LocalJobs, type JobData, type Jobs, type JobsOptions } from "../../src/platform/jobs/jobs";
import { createLogger } from "../../src/platform/logging/logger";
import { REDIS_URL, uniqueSuffix } from "../support/env";
import { waitUntil } from "../support/wait";

const logger = createLogger({ level: "silent" });
const options: JobsOptions = { attempts: 2, backoffMs: 10, concurrency: 2, logger };

/** A promise and the function that settles it: what a handler tells the test. */
function signal<T>() {
  let settle!: (value: T) => void;
  const settled = new Promise<T>((resolve) => {
    settle = resolve;
  });
  return { settled, settle };
}

const opened: { jobs: Jobs; redis?: Redis }[] = [];
afterEach(async () => {
  for (const { jobs, redis } of opened.splice(0)) {
    await jobs.stop();
    redis?.disconnect();
  }
});

/** The jobs of each mode, on their own queue prefix (service mode: BullMQ on the test Redis, with a worker). */
const modes: [string, () => Jobs][] = [
  [
    "BullJobs",
    () => {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      const jobs = new BullJobs(redis, REDIS_URL, `jobs-test-${uniqueSuffix()}`, true, options);
      opened.push({ jobs, redis });
      return jobs;
    },
  ],
  [
    "LocalJobs",
    () => {
      const jobs = new LocalJobs(options);
      opened.push({ jobs });
      return jobs;
    },
  ],
];

describe.each(modes)("%s", (_, make) => {
  it("gives a job up after its attempts and calls onGiveUp once, with its data and the last error", async () => {
    const jobs = make();
    let runs = 0;
    const givenUp: [JobData, unknown][] = [];
    const done = signal<void>();
    jobs.define(
      "always-fails",
      async () => {
        runs += 1;
        throw new Error(`failure ${runs}`);
      },
      {
        onGiveUp: async (data, error) => {
          givenUp.push([data, error]);
          done.settle();
        },
      },
    );
    await jobs.start();
    await jobs.enqueue("always-fails", { verificationId: "v-1", attempt: 1 }, { jobId: `fails-${uniqueSuffix()}` });
    await done.settled;
    expect(runs).toBe(2);
    expect(givenUp).toHaveLength(1);
    expect(givenUp[0]?.[0]).toEqual({ verificationId: "v-1", attempt: 1 });
    expect((givenUp[0]?.[1] as Error).message).toBe("failure 2");
  });

  it("a job that succeeds on a retry is not given up", async () => {
    const jobs = make();
    let runs = 0;
    const givenUp: unknown[] = [];
    const done = signal<void>();
    jobs.define(
      "fails-once",
      async () => {
        runs += 1;
        if (runs === 1) throw new Error("not yet");
        done.settle();
      },
      { onGiveUp: async (data) => void givenUp.push(data) },
    );
    await jobs.start();
    await jobs.enqueue("fails-once", {});
    await done.settled;
    expect(runs).toBe(2);
    expect(givenUp).toEqual([]);
  });
});

describe("BullJobs: a job id", () => {
  it("of a job that failed for good may be enqueued again, and runs again (a provider's redelivery re-runs a failed webhook job)", async () => {
    const jobs = modes[0]![1]();
    const runs: JobData[] = [];
    let fail = true;
    const givenUp = signal<void>();
    const succeeded = signal<void>();
    jobs.define(
      "webhook",
      async (data) => {
        runs.push(data);
        if (fail) throw new Error("the database is down");
        succeeded.settle();
      },
      { onGiveUp: async () => givenUp.settle() },
    );
    await jobs.start();
    const jobId = `webhook-${uniqueSuffix()}`;
    await jobs.enqueue("webhook", { delivery: "d-1" }, { jobId });
    await givenUp.settled;
    expect(runs).toHaveLength(2);
    fail = false;
    await jobs.enqueue("webhook", { delivery: "d-1" }, { jobId });
    await succeeded.settled;
    expect(runs).toHaveLength(3);
  });

  it("of a job waiting still makes a second enqueue a no-op", async () => {
    const jobs = modes[0]![1]();
    const runs: JobData[] = [];
    const after = signal<void>();
    jobs.define("poll", async (data) => void runs.push(data));
    jobs.define("after", async () => after.settle());
    await jobs.start();
    const jobId = `poll-${uniqueSuffix()}`;
    await jobs.enqueue("poll", { round: 1 }, { jobId, delayMs: 300 });
    await jobs.enqueue("poll", { round: 2 }, { jobId, delayMs: 300 });
    await waitUntil("the poll to run", async () => runs.length > 0);
    // A job due after them: the duplicate, had it been queued, would have run by the time this one does.
    await jobs.enqueue("after", {}, { delayMs: 600 });
    await after.settled;
    expect(runs).toEqual([{ round: 1 }]);
  });
});
