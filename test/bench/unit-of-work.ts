// The unit of work beside the same SQL through pg in one transaction (part of npm run bench):
// a registration's writes (the user row), one event and one audit record, UNITS at a time in flight.
// Rounds alternate between the variants so that the machine's noise falls on all of them alike.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { createApp, type App } from "../../src/app";
import { loadConfig } from "../../src/config";
import { sql } from "../../src/platform/db/database";
import { recordStatement } from "../../src/platform/events/unit-of-work";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase } from "../support/db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";

const UNITS = Number(process.env.BENCH_UNITS ?? 2000);
const ROUNDS = 3;
const IN_FLIGHT = 16;

/** Runs `task` UNITS times with IN_FLIGHT at once; returns completions per second. */
async function rate(task: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < UNITS) await task();
    }),
  );
  return UNITS / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const insertUser = (id: string) => sql`INSERT INTO users (id, email, updated_at) VALUES (${id}::uuid, ${`${id}@example.test`}, now())`;

/** The variants: the baseline first. */
function variants(app: App, pool: pg.Pool): [string, () => Promise<unknown>][] {
  const origin = { actor: { type: "system" as const, id: null } };
  const { unitOfWork } = app.platform.events;
  return [
    [
      "raw pg: BEGIN, INSERT user, INSERT outbox + audit (prepared), COMMIT",
      async () => {
        const id = randomUUID();
        const occurredAt = new Date().toISOString();
        const record = recordStatement(
          [{ id: randomUUID(), destination: "user-events", name: "user.registered", aggregateType: "user", aggregateId: id, payload: { id, type: "user.registered", version: 1, occurredAt, aggregateType: "user", aggregateId: id, actorId: null, data: { email: `${id}@example.test`, locale: "en" } } }],
          [{ occurredAt, actorType: "system", actorId: null, action: "user.register", subjectType: "user", subjectId: id, outcome: "success", ipAddress: null, userAgent: null, requestId: null, metadata: {} }],
        );
        const user = insertUser(id);
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          // Prepared by name, as the unit of work's statements are.
          await client.query({ name: "user", text: user.text, values: user.values });
          await client.query({ name: "record", text: record?.text ?? "", values: record?.values ?? [] });
          await client.query("COMMIT");
        } finally {
          client.release();
        }
      },
    ],
    [
      "unitOfWork.runSql (pooled pg transaction)",
      () =>
        unitOfWork.runSql(origin, async (scope) => {
          const id = randomUUID();
          await scope.query(insertUser(id));
          scope.audit({ action: "user.register", subjectType: "user", subjectId: id });
          return scope.publish("user.registered", id, { email: `${id}@example.test`, locale: "en" });
        }),
    ],
    [
      "unitOfWork.run (Prisma interactive transaction, tx.user.create)",
      () =>
        unitOfWork.run(origin, async (scope) => {
          const id = randomUUID();
          await scope.tx.user.create({ data: { id, email: `${id}@example.test` } });
          scope.audit({ action: "user.register", subjectType: "user", subjectId: id });
          return scope.publish("user.registered", id, { email: `${id}@example.test`, locale: "en" });
        }),
    ],
  ];
}

export async function benchUnitOfWork(): Promise<void> {
  const databaseUrl = freshDatabaseUrl("benchuow");
  // The relay off: both sides measure the same writes (the relay's work is the relay benchmark's).
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: databaseUrl, REDIS_URL, LOG_LEVEL: "error", OUTBOX_RELAY: "false", QUEUE_PREFIX: `bench-${uniqueSuffix()}` });
  const app = await createApp(config, { logger: createLogger({ level: "error" }), redisPrefix: `bench:${uniqueSuffix()}:` });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: config.DATABASE_POOL_SIZE });
  try {
    const measured = variants(app, pool).map(([name, task]) => ({ name, task, rates: [] as number[] }));
    for (const variant of measured) await rate(variant.task); // warm-up, discarded
    for (let round = 0; round < ROUNDS; round += 1) for (const variant of measured) variant.rates.push(await rate(variant.task));
    const baseline = median(measured[0]?.rates ?? []);
    process.stdout.write(
      [
        `Node ${process.version}, ${UNITS} units of work per round, ${IN_FLIGHT} in flight, median of ${ROUNDS} alternating rounds, pool of ${config.DATABASE_POOL_SIZE}; goal: runSql at least 0.8x the raw pg transaction.`,
        "| unit of work | tx/s (median) | rounds | ratio to raw pg |",
        "| --- | --- | --- | --- |",
        ...measured.map((v) => `| ${v.name} | ${median(v.rates).toFixed(0)} | ${v.rates.map((r) => r.toFixed(0)).join(", ")} | ${(median(v.rates) / baseline).toFixed(2)}x |`),
        "",
      ].join("\n"),
    );
  } finally {
    await pool.end();
    await app.stop();
    await dropDatabase(databaseUrl);
  }
}
