// The event backbone: commit -> queue throughput and latency with one and two relays, beside a
// baseline of the same jobs added straight to BullMQ (no outbox); and unit-of-work throughput with
// auditing on and off.
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createApp, type App } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase } from "../support/db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";
import { QueueReader } from "../support/queues";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const IN_FLIGHT = 16;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Runs `task` `n` times with `IN_FLIGHT` at once; returns the elapsed seconds. */
async function pool(n: number, task: (i: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) await task(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

async function startApps(relays: number, env: Record<string, string>): Promise<App[]> {
  const apps: App[] = [];
  for (let i = 0; i < Math.max(1, relays); i += 1) {
    const config = loadConfig({ NODE_ENV: "test", REDIS_URL, LOG_LEVEL: "error", OUTBOX_POLL_INTERVAL_MS: "200", OUTBOX_RELAY: relays > 0 ? "true" : "false", ...env });
    apps.push(await createApp(config, { logger: createLogger({ level: "error" }), redisPrefix: `bench:${uniqueSuffix()}:` }));
  }
  return apps;
}

const register = (app: App, audit: boolean) =>
  app.platform.events.unitOfWork.run({ actor: { type: "system", id: null } }, async (scope) => {
    const userId = randomUUID();
    await scope.tx.user.create({ data: { id: userId, email: `${userId}@example.test` } });
    if (audit) scope.audit({ action: "user.register", subjectType: "user", subjectId: userId });
    return scope.publish("user.registered", userId, { email: `${userId}@example.test`, locale: "en" });
  });

/** Commits EVENTS units of work; measures until every event is a job. */
async function commitToQueue(relays: number): Promise<string> {
  const databaseUrl = freshDatabaseUrl("benchev");
  const prefix = `bench-${uniqueSuffix()}`;
  const apps = await startApps(relays, { DATABASE_URL: databaseUrl, QUEUE_PREFIX: prefix });
  const reader = new QueueReader(prefix);
  try {
    const committedAt = new Map<string, number>();
    const started = performance.now();
    const first = apps[0] as App;
    await pool(EVENTS, async () => {
      const id = await register(first, true);
      committedAt.set(id, Date.now());
    });
    while ((await reader.count("user-events")) < EVENTS) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - started) / 1000;
    const jobs = await reader.jobsWithTimestamps("user-events");
    const latencies = jobs.map((j) => j.timestamp - (committedAt.get(j.id) ?? j.timestamp)).sort((a, b) => a - b);
    return `| outbox -> user-events, ${relays} relay(s) | ${(EVENTS / seconds).toFixed(0)} events/s | commit->job p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms |`;
  } finally {
    await reader.close();
    for (const app of apps) await app.stop();
    await dropDatabase(databaseUrl);
  }
}

/** Baseline: the same jobs added straight to BullMQ, no database, IN_FLIGHT at once. */
async function directToQueue(): Promise<{ row: string; rate: number }> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue("user-events", { connection, prefix: `bench-${uniqueSuffix()}` });
  try {
    const seconds = await pool(EVENTS, async () => {
      const id = randomUUID();
      await queue.add("user.registered", { id, type: "user.registered", data: { email: `${id}@example.test` } }, { jobId: id });
    });
    const rate = EVENTS / seconds;
    return { row: `| baseline: queue.add straight to BullMQ | ${rate.toFixed(0)} jobs/s | |`, rate };
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  }
}

/** Units of work per second with and without an audit record (relay and chainer running). */
async function auditCost(): Promise<string[]> {
  const databaseUrl = freshDatabaseUrl("benchaudit");
  const [app] = await startApps(1, { DATABASE_URL: databaseUrl, QUEUE_PREFIX: `bench-${uniqueSuffix()}` });
  try {
    const rate = async (audit: boolean) => EVENTS / (await pool(EVENTS, () => register(app as App, audit).then(() => undefined)));
    await rate(false); // warm-up
    const off = await rate(false);
    const on = await rate(true);
    return [`| unit of work, audit off | ${off.toFixed(0)} tx/s | |`, `| unit of work, audit on | ${on.toFixed(0)} tx/s | ratio on/off ${(on / off).toFixed(2)}x |`];
  } finally {
    await (app as App).stop();
    await dropDatabase(databaseUrl);
  }
}

export async function benchEvents(): Promise<void> {
  const baseline = await directToQueue();
  const rows = [baseline.row, await commitToQueue(1), await commitToQueue(2), ...(await auditCost())];
  process.stdout.write(
    [
      `Node ${process.version}, ${EVENTS} events, ${IN_FLIGHT} units of work in flight, each unit of work inserts a user and publishes user.registered (with an audit record).`,
      "| measure | rate | latency |",
      "| --- | --- | --- |",
      ...rows,
      "",
    ].join("\n"),
  );
}
