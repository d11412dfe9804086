// The event backbone (part of npm run bench), each figure beside a baseline measured in the same run:
// - the outbox relay draining a backlog of BENCH_EVENTS committed events (default 50,000: many users,
//   a few events each, inserted with SQL before the relay starts) to user-events, with one and two
//   relays; baseline: the same number of jobs added straight to BullMQ with addBulk, in batches of
//   the relay's OUTBOX_BATCH_SIZE, one batch at a time;
// - commit → job latency while units of work (`register`) commit at BENCH_EVENTS_RATE a second
//   (default 1,000) for BENCH_EVENTS_SECONDS (default 10), with one and two relays;
// - what an idle app's relay and chainer cost, polling every BENCH_EVENTS_IDLE_POLL_MS (default 20),
//   watched for BENCH_EVENTS_IDLE_S (default 5);
// - units of work a second with auditing on and off, BENCH_EVENTS_UOW each (default 2,000).
// A count of 0 skips its part; OUTBOX_BATCH_SIZE, when set, is the relays' and the baseline's batch size;
// OUTBOX_RELAY_CONCURRENCY, when set, each relay's lanes.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createApp, type App } from "../../src/app";
import { loadConfig } from "../../src/config";
import { sql } from "../../src/platform/db/database";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase, withClient } from "../support/db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";
import { pace, percentile, watchLoadCost, type LoadCost } from "./measure";

const BACKLOG = Number(process.env.BENCH_EVENTS ?? 50_000);
const EVENTS_PER_USER = 4;
const RATE = Number(process.env.BENCH_EVENTS_RATE ?? 1_000);
const SECONDS = Number(process.env.BENCH_EVENTS_SECONDS ?? 10);
const IDLE_POLL_MS = process.env.BENCH_EVENTS_IDLE_POLL_MS ?? "20";
const IDLE_SECONDS = Number(process.env.BENCH_EVENTS_IDLE_S ?? 5);
const UNITS = Number(process.env.BENCH_EVENTS_UOW ?? 2_000);
/** Units of work in flight at once: the paced load's cap and the throughput rows' (the database pool has 10 connections). */
const IN_FLIGHT = 16;
const WARM_UP = 200;
const DEFAULTS = loadConfig({ NODE_ENV: "test", REDIS_URL, DATABASE_URL: "postgresql://unused/unused", OUTBOX_BATCH_SIZE: process.env.OUTBOX_BATCH_SIZE, OUTBOX_RELAY_CONCURRENCY: process.env.OUTBOX_RELAY_CONCURRENCY });
/** The relays' batch size and lanes: OUTBOX_BATCH_SIZE and OUTBOX_RELAY_CONCURRENCY when set, else their defaults. */
const BATCH_SIZE = DEFAULTS.OUTBOX_BATCH_SIZE;
const CONCURRENCY = DEFAULTS.OUTBOX_RELAY_CONCURRENCY;
const RETENTION_S = DEFAULTS.QUEUE_RETENTION_S;

type Row = [measure: string, figure: string, baseline: string, ratio: string];

const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : "");
const cpu = (cost: LoadCost, others: Others) => `node ${cost.cpuPercent.toFixed(0)}%, PostgreSQL ${others.postgres.toFixed(0)}%, Redis ${others.redis.toFixed(0)}% of a core`;

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

/** Apps on one database (created by the first), each relaying if `relay`; `env` overrides the bench's defaults. */
async function startApps(count: number, databaseUrl: string, queuePrefix: string, env: Record<string, string>): Promise<App[]> {
  const apps: App[] = [];
  for (let i = 0; i < count; i += 1) {
    const config = loadConfig({ NODE_ENV: "test", REDIS_URL, LOG_LEVEL: "error", DATABASE_URL: databaseUrl, QUEUE_PREFIX: queuePrefix, OUTBOX_BATCH_SIZE: String(BATCH_SIZE), OUTBOX_RELAY_CONCURRENCY: String(CONCURRENCY), ...env });
    apps.push(await createApp(config, { logger: createLogger({ level: "error" }), redisPrefix: `bench:${uniqueSuffix()}:` }));
  }
  return apps;
}

/** A registration's unit of work (on pg, as registration runs): the user row, user.registered and, if `audit`, its audit record. */
const register = (app: App, audit: boolean) =>
  app.platform.events.unitOfWork.runSql({ actor: { type: "system", id: null } }, async (scope) => {
    const userId = randomUUID();
    await scope.query(sql`INSERT INTO users (id, email, updated_at) VALUES (${userId}::uuid, ${`${userId}@example.test`}, now())`);
    if (audit) scope.audit({ action: "user.register", subjectType: "user", subjectId: userId });
    return scope.publish("user.registered", userId, { email: `${userId}@example.test`, locale: "en" });
  });

/** The user-events queue of a run, as a consumer would see it. */
class UserEvents {
  readonly connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  readonly queue: Queue;

  constructor(readonly prefix: string) {
    // Jobs kept as the relay's are (the options go with each job).
    this.queue = new Queue("user-events", { connection: this.connection, prefix, defaultJobOptions: { removeOnComplete: { age: RETENTION_S }, removeOnFail: { age: RETENTION_S } } });
  }

  /** Resolves once `n` jobs wait in the queue. */
  async until(n: number): Promise<void> {
    while ((await this.queue.getWaitingCount()) < n) await new Promise((r) => setTimeout(r, 10));
  }

  /** Job ids in the order they were added (BullMQ pushes new jobs on the left of the wait list). */
  async idsInOrder(): Promise<string[]> {
    return (await this.connection.lrange(this.queue.toKey("wait"), 0, -1)).reverse();
  }

  async close(): Promise<void> {
    await this.queue.obliterate({ force: true });
    await this.queue.close();
    this.connection.disconnect();
  }
}

/** CPU seconds process `pid` has used (/proc: this machine), 0 once it has ended. */
function cpuSeconds(pid: number): number {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name): user and system time, in ticks of 1/100 s.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Redis's process and the database's backends (those connected to it now, if a database is named). */
async function otherProcesses(redis: Redis, databaseUrl?: string): Promise<{ redis: number; postgres: number[] }> {
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]);
  if (!databaseUrl) return { redis: redisPid, postgres: [] };
  const name = new URL(databaseUrl).pathname.slice(1);
  const { rows } = await withClient(databaseUrl, (c) => c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]));
  return { redis: redisPid, postgres: rows.map((r) => r.pid) };
}

interface Others {
  postgres: number;
  redis: number;
}

/** Starts watching Redis and the database's backends; the returned function reports their CPU as shares of one core. */
async function watchOthers(redis: Redis, databaseUrl?: string): Promise<() => Promise<Others>> {
  const before = new Map<number, number>();
  const watch = (pids: number[]) => pids.forEach((pid) => before.has(pid) || before.set(pid, cpuSeconds(pid)));
  const at = await otherProcesses(redis, databaseUrl);
  watch([at.redis, ...at.postgres]);
  const started = performance.now();
  return async () => {
    // Backends that connected meanwhile count from 0.
    const now = await otherProcesses(redis, databaseUrl);
    const share = (pid: number) => ((cpuSeconds(pid) - (before.get(pid) ?? 0)) / (performance.now() - started)) * 100_000;
    return { redis: share(now.redis), postgres: [...new Set([...at.postgres, ...now.postgres])].reduce((sum, pid) => sum + share(pid), 0) };
  };
}

/** The backlog's events: user u's k-th event in a random interleaving of every user's, in commit order. */
const FILL = `
  WITH users AS MATERIALIZED (SELECT gen_random_uuid()::text AS id FROM generate_series(1, $1)),
  events AS MATERIALIZED (SELECT u.id AS user_id, random() AS r FROM users u, generate_series(1, ${EVENTS_PER_USER})),
  typed AS (
    SELECT gen_random_uuid() AS id, user_id, r,
           (ARRAY['user.registered', 'user.email_verified', 'user.updated', 'password.changed'])[row_number() OVER (PARTITION BY user_id ORDER BY r)] AS type
    FROM events
  )
  INSERT INTO outbox_events (id, destination, name, aggregate_type, aggregate_id, payload)
  SELECT id, 'user-events', type, 'user', user_id,
         jsonb_build_object('id', id, 'type', type, 'version', 1, 'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           'aggregateType', 'user', 'aggregateId', user_id, 'actorId', NULL,
           'data', CASE type WHEN 'user.registered' THEN jsonb_build_object('email', user_id || '@example.test', 'locale', 'en')
                             WHEN 'user.email_verified' THEN jsonb_build_object('email', user_id || '@example.test')
                             WHEN 'user.updated' THEN jsonb_build_object('fields', jsonb_build_array('name', 'locale'))
                             ELSE jsonb_build_object('otherSessionsEnded', 1) END)
  FROM typed ORDER BY r LIMIT $2`;

/** Whether every user's jobs are in the queue in the order of their outbox rows. */
async function orderKept(databaseUrl: string, ids: string[]): Promise<boolean> {
  const position = new Map(ids.map((id, i) => [id, i]));
  const { rows } = await withClient(databaseUrl, (c) => c.query<{ id: string; aggregate_id: string }>("SELECT id, aggregate_id FROM outbox_events ORDER BY aggregate_id, seq"));
  return rows.every((row, i) => {
    const previous = rows[i - 1];
    return previous?.aggregate_id !== row.aggregate_id || (position.get(previous.id) ?? Infinity) < (position.get(row.id) ?? -1);
  });
}

/** Baseline: BACKLOG jobs added straight to BullMQ with addBulk, BATCH_SIZE at a time, no database. */
async function addBulkStraight(): Promise<{ rate: number; cost: string }> {
  const events = new UserEvents(`bench-${uniqueSuffix()}`);
  try {
    const others = await watchOthers(events.connection);
    const node = watchLoadCost();
    const started = performance.now();
    for (let done = 0; done < BACKLOG; done += BATCH_SIZE) {
      const jobs = Array.from({ length: Math.min(BATCH_SIZE, BACKLOG - done) }, () => {
        const id = randomUUID();
        const data = { id, type: "user.updated", version: 1, occurredAt: new Date().toISOString(), aggregateType: "user", aggregateId: randomUUID(), actorId: null, data: { fields: ["name", "locale"] } };
        return { name: "user.updated", data, opts: { jobId: id } };
      });
      await events.queue.addBulk(jobs);
    }
    const rate = BACKLOG / ((performance.now() - started) / 1000);
    return { rate, cost: cpu(node(), await others()) };
  } finally {
    await events.close();
  }
}

/** `relays` relays started together on a backlog of BACKLOG events; events a second until every one is a job. */
async function drain(relays: number, baseline: number): Promise<Row[]> {
  const databaseUrl = freshDatabaseUrl("benchev");
  const events = new UserEvents(`bench-${uniqueSuffix()}`);
  const apps = await startApps(relays, databaseUrl, events.prefix, { OUTBOX_RELAY: "false" });
  try {
    await withClient(databaseUrl, async (c) => {
      await c.query(FILL, [Math.ceil(BACKLOG / EVENTS_PER_USER), BACKLOG]);
      await c.query("ANALYZE outbox_events");
    });
    const others = await watchOthers(events.connection, databaseUrl);
    const node = watchLoadCost();
    const started = performance.now();
    for (const app of apps) app.platform.events.relay.start();
    await events.until(BACKLOG);
    const rate = BACKLOG / ((performance.now() - started) / 1000);
    const cost = node();
    const ordered = await orderKept(databaseUrl, await events.idsInOrder());
    return [
      [`backlog → user-events, ${relays} relay(s)`, `${rate.toFixed(0)} events/s`, `${baseline.toFixed(0)} jobs/s`, ratio(rate, baseline)],
      [`… its cost, order per user`, `${cpu(cost, await others())}; ${ordered ? "kept" : "**broken**"}`, "", ""],
    ];
  } finally {
    for (const app of apps) await app.stop();
    await events.close();
    await dropDatabase(databaseUrl);
  }
}

/** Units of work committed at RATE for SECONDS through `relays` relaying apps in turn; commit → job latency. */
async function latency(relays: number): Promise<Row[]> {
  const databaseUrl = freshDatabaseUrl("benchlat");
  const events = new UserEvents(`bench-${uniqueSuffix()}`);
  const apps = await startApps(relays, databaseUrl, events.prefix, {});
  try {
    const appOf = (i: number) => apps[i % apps.length] as App;
    await pool(WARM_UP, (i) => register(appOf(i), true).then(() => undefined));
    await events.until(WARM_UP);
    const total = Math.round(RATE * SECONDS);
    const committedAt = new Map<string, number>();
    const others = await watchOthers(events.connection, databaseUrl);
    const node = watchLoadCost();
    const seconds = await pace(total, RATE, IN_FLIGHT, async (i) => {
      committedAt.set(await register(appOf(i), true), Date.now());
    });
    await events.until(WARM_UP + total);
    const cost = node();
    const jobs = await events.queue.getWaiting(0, -1);
    // A job's timestamp is BullMQ's, taken in the relay as it adds the job.
    const latencies = jobs.flatMap((j) => (committedAt.has(j.id as string) ? [j.timestamp - (committedAt.get(j.id as string) as number)] : [])).sort((a, b) => a - b);
    const p = (q: number) => `${percentile(latencies, q)} ms`;
    return [
      [`commit → job, ${relays} relay(s): units of work committed`, `${total} at ${(total / seconds).toFixed(0)}/s (paced ${RATE}/s)`, "", ratio(total / seconds, RATE)],
      ["… commit → job p50 / p99 / max", `${p(50)} / ${p(99)} / ${latencies.at(-1) ?? 0} ms`, "p99 100 ms (goal)", ratio(percentile(latencies, 99), 100)],
      ["… its cost", cpu(cost, await others()), "", ""],
    ];
  } finally {
    for (const app of apps) await app.stop();
    await events.close();
    await dropDatabase(databaseUrl);
  }
}

/** What an app with nothing to do spends on its relay and chainer polling every IDLE_POLL_MS. */
async function idle(): Promise<Row> {
  const databaseUrl = freshDatabaseUrl("benchidle");
  const events = new UserEvents(`bench-${uniqueSuffix()}`);
  const [app] = await startApps(1, databaseUrl, events.prefix, { OUTBOX_POLL_INTERVAL_MS: IDLE_POLL_MS });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const queries = async () => (await (app as App).metrics.dbQueries.get()).values.reduce((sum, v) => sum + v.value, 0);
    const before = await queries();
    const others = await watchOthers(events.connection, databaseUrl);
    const node = watchLoadCost();
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const cost = node();
    return [`idle app, OUTBOX_POLL_INTERVAL_MS=${IDLE_POLL_MS}`, `${cpu(cost, await others())}; ${(((await queries()) - before) / IDLE_SECONDS).toFixed(0)} statements/s`, "", ""];
  } finally {
    await (app as App).stop();
    await events.close();
    await dropDatabase(databaseUrl);
  }
}

/** Units of work per second with and without an audit record (relay and chainer running). */
async function auditCost(): Promise<Row[]> {
  const databaseUrl = freshDatabaseUrl("benchaudit");
  const [app] = await startApps(1, databaseUrl, `bench-${uniqueSuffix()}`, {});
  try {
    const rate = async (audit: boolean) => UNITS / (await pool(UNITS, () => register(app as App, audit).then(() => undefined)));
    await rate(false); // warm-up
    const off = await rate(false);
    const on = await rate(true);
    return [
      ["unit of work, audit off", `${off.toFixed(0)} tx/s`, "", ""],
      ["unit of work, audit on", `${on.toFixed(0)} tx/s`, `${off.toFixed(0)} tx/s (audit off)`, ratio(on, off)],
    ];
  } finally {
    await (app as App).stop();
    await dropDatabase(databaseUrl);
  }
}

export async function benchEvents(): Promise<void> {
  const rows: Row[] = [];
  if (BACKLOG > 0) {
    const baseline = await addBulkStraight();
    rows.push(["baseline: addBulk straight to BullMQ", `${baseline.rate.toFixed(0)} jobs/s`, "", ""], ["… its cost", baseline.cost, "", ""], ...(await drain(1, baseline.rate)), ...(await drain(2, baseline.rate)));
  }
  if (RATE > 0 && SECONDS > 0) rows.push(...(await latency(1)), ...(await latency(2)));
  if (IDLE_SECONDS > 0) rows.push(await idle());
  if (UNITS > 0) rows.push(...(await auditCost()));
  process.stdout.write(
    [
      `Node ${process.version}; OUTBOX_BATCH_SIZE=${BATCH_SIZE}, OUTBOX_RELAY_CONCURRENCY=${CONCURRENCY}. Backlog: ${BACKLOG} events of ${Math.ceil(BACKLOG / EVENTS_PER_USER)} users (${EVENTS_PER_USER} each, interleaved), inserted before the relays start.`,
      `Latency: each unit of work inserts a user and publishes user.registered with an audit record, at most ${IN_FLIGHT} in flight; two relays: two apps on one database, taking the commits in turn. CPU: this process (app and bench), the database's backends, Redis.`,
      "| measure | figure | baseline | ratio |",
      "| --- | --- | --- | --- |",
      ...rows.map((r) => `| ${r.join(" | ")} |`),
      "",
    ].join("\n"),
  );
}
