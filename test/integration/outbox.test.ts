import { execFile } from "node:child_process";
import { randomInt, randomUUID } from "node:crypto";
import { systemClock } from "../../src/platform/clock";
import { InvalidEventError } from "../../src/platform/events/catalogue";
import { TransportUnavailableError } from "../../src/platform/events/outbox";
import { OutboxRelay } from "../../src/platform/events/relay";
import { createLogger } from "../../src/platform/logging/logger";
import type { Origin } from "../../src/platform/events/unit-of-work";
import { startTestApp, type TestApp } from "../support/app";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";
import { spawnServer } from "../support/process";
import { QueueReader } from "../support/queues";
import { RedisServer } from "../support/redis-server";
import { waitUntil } from "../support/wait";

const origin: Origin = { actor: { type: "user", id: randomUUID() }, ipAddress: "203.0.113.9", userAgent: "jest", requestId: "req-1" };
const FAST = { OUTBOX_POLL_INTERVAL_MS: "100", OUTBOX_BACKOFF_MS: "20" };

/** Commits one unit of work publishing `user.registered` for a new aggregate; returns the event id. */
function register(t: TestApp, options: { fail?: boolean } = {}): Promise<string> {
  return t.app.platform.events.unitOfWork.run(origin, async (scope) => {
    const userId = randomUUID();
    const id = scope.publish("user.registered", userId, { email: `${userId}@example.test`, locale: "en" });
    if (options.fail) throw Object.assign(new Error("rolled back"), { eventId: id });
    return id;
  });
}

/** `npm run outbox -- <args>` against the app's database; resolves with its output. */
function outboxCli(t: TestApp, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["-r", "@swc-node/register", "src/cli/outbox.ts", ...args], { env: { ...process.env, DATABASE_URL: t.databaseUrl, REDIS_URL, LOG_LEVEL: "warn" } }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
}

async function pending(t: TestApp): Promise<number> {
  return t.app.platform.database.prisma.outboxEvent.count({ where: { publishedAt: null, parkedAt: null } });
}

describe("unit of work", () => {
  let t: TestApp;
  let queues: QueueReader;
  beforeAll(async () => {
    const prefix = `test-${uniqueSuffix()}`;
    t = await startTestApp({ ...FAST, QUEUE_PREFIX: prefix });
    queues = new QueueReader(prefix);
  });
  afterAll(async () => {
    await queues.close();
    await t.stop();
  });

  it("publishes the event envelope to user-events and the notification to notifications after commit", async () => {
    const userId = randomUUID();
    const eventId = await t.app.platform.events.unitOfWork.run(origin, async (scope) => {
      await scope.tx.user.create({ data: { id: userId, email: `${userId}@example.test` } });
      scope.notify({ to: `${userId}@example.test`, template: "verify-email", locale: "en", params: { token: "t0k3n", link: "https://id.example.test/verify?token=t0k3n" } });
      scope.audit({ action: "user.register", subjectType: "user", subjectId: userId, metadata: { password: "hunter2", nested: { refreshToken: "rt" }, plan: "basic" } });
      return scope.publish("user.registered", userId, { email: `${userId}@example.test`, locale: "en" });
    });
    const job = await waitUntil("the event job", async () => (await queues.jobs("user-events")).find((j) => j.id === eventId));
    expect(job.name).toBe("user.registered");
    expect(job.data).toEqual({
      id: eventId,
      type: "user.registered",
      version: 1,
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      aggregateType: "user",
      aggregateId: userId,
      actorId: origin.actor.id,
      data: { email: `${userId}@example.test`, locale: "en" },
    });
    const mail = await waitUntil("the notification job", async () => (await queues.jobs("notifications")).find((j) => (j.data as { to: string }).to === `${userId}@example.test`));
    expect(mail).toMatchObject({ name: "verify-email", data: { template: "verify-email", locale: "en", params: { link: "https://id.example.test/verify?token=t0k3n" } } });
    const audit = await t.app.platform.database.prisma.auditEvent.findFirstOrThrow({ where: { subjectId: userId } });
    expect(audit).toMatchObject({ actorType: "user", actorId: origin.actor.id, action: "user.register", outcome: "success", ipAddress: "203.0.113.9", userAgent: "jest", requestId: "req-1" });
    expect(audit.metadata).toEqual({ password: "[REDACTED]", nested: { refreshToken: "[REDACTED]" }, plan: "basic" });
  });

  it("publishes nothing of a rolled-back unit of work", async () => {
    const before = await t.app.platform.database.prisma.outboxEvent.count();
    const error = (await register(t, { fail: true }).catch((e: unknown) => e)) as { eventId: string };
    expect(await t.app.platform.database.prisma.outboxEvent.count()).toBe(before);
    const committed = await register(t);
    await waitUntil("the next commit to be delivered", async () => (await queues.jobs("user-events")).some((j) => j.id === committed));
    expect((await queues.jobs("user-events")).some((j) => j.id === error.eventId)).toBe(false);
  });

  it("refuses a payload that breaks the catalogue, writing nothing", async () => {
    const userId = randomUUID();
    const attempt = t.app.platform.events.unitOfWork.run(origin, async (scope) => {
      await scope.tx.user.create({ data: { id: userId, email: `${userId}@example.test` } });
      scope.publish("user.registered", userId, { email: "not-an-email", locale: "en" });
    });
    await expect(attempt).rejects.toThrow(new InvalidEventError("Invalid payload for user.registered v1: email: Invalid email address"));
    expect(await t.app.platform.database.prisma.user.count({ where: { id: userId } })).toBe(0);
  });
});

describe("Redis stopped during a burst", () => {
  it("commits every unit of work, keeps the events in the outbox, and delivers each exactly once when Redis returns", async () => {
    const redis = await RedisServer.start();
    const prefix = `test-${uniqueSuffix()}`;
    // A durable Redis: the start-up check (AOF + noeviction) passes.
    const t = await startTestApp({ ...FAST, REDIS_URL: redis.url, QUEUE_PREFIX: prefix, REDIS_REQUIRE_DURABILITY: "true" });
    const queues = new QueueReader(prefix, redis.url);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 10; i += 1) ids.push(await register(t));
      await redis.stop();
      for (let i = 0; i < 20; i += 1) ids.push(await register(t)); // every commit succeeds with Redis down
      expect(await pending(t)).toBeGreaterThanOrEqual(20);
      await redis.resume();
      await waitUntil("the outbox to drain", async () => (await pending(t)) === 0);
      const jobs = await queues.jobs("user-events");
      expect(jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
    } finally {
      await queues.close();
      await t.stop();
      await redis.destroy();
    }
  }, 60_000);
});

it("refuses to start on a Redis that may lose jobs (no AOF, eviction possible)", async () => {
  await expect(startTestApp({ REDIS_REQUIRE_DURABILITY: "true" })).rejects.toThrow(/Redis at REDIS_URL is not safe for queues: appendonly is "no" \(needs yes\)/);
});

describe("two relays at once", () => {
  it("deliver every event once: no event missing, no job id twice", async () => {
    const prefix = `test-${uniqueSuffix()}`;
    const a = await startTestApp({ ...FAST, QUEUE_PREFIX: prefix, OUTBOX_BATCH_SIZE: "10" });
    const b = await startTestApp({ ...FAST, QUEUE_PREFIX: prefix, OUTBOX_BATCH_SIZE: "10", DATABASE_URL: a.databaseUrl });
    const queues = new QueueReader(prefix);
    try {
      const ids: string[] = [];
      for (let round = 0; round < 10; round += 1) ids.push(...(await Promise.all(Array.from({ length: 30 }, (_, i) => register(i % 2 === 0 ? a : b)))));
      await waitUntil("the outbox to drain", async () => (await pending(a)) === 0);
      const jobs = await queues.jobs("user-events");
      expect(jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
      const deliveredBy = async (t: TestApp) => (await t.app.metrics.outboxPublished.get()).values.reduce((sum, v) => sum + v.value, 0);
      expect((await deliveredBy(a)) + (await deliveredBy(b))).toBe(300);
    } finally {
      await queues.close();
      await b.app.stop();
      await a.stop();
    }
  }, 60_000);
});

describe("waking the relay", () => {
  // A minute between polls: only a wake delivers within the test.
  const SLOW_POLL = { OUTBOX_POLL_INTERVAL_MS: "60000" };
  const delivered = async (queues: QueueReader, id: string) => (await queues.jobs("user-events")).some((job) => job.id === id);

  it("a commit is delivered on its NOTIFY by one claim: no second, empty round after it", async () => {
    const prefix = `test-${uniqueSuffix()}`;
    const t = await startTestApp({ ...SLOW_POLL, QUEUE_PREFIX: prefix });
    const queues = new QueueReader(prefix);
    try {
      let claims = 0;
      t.app.platform.database.sql.onQuery((text) => void (text.includes("FOR UPDATE SKIP LOCKED") && (claims += 1)));
      const commitAndDeliver = async () => {
        const before = claims;
        const id = await register(t);
        await waitUntil("the event on user-events", () => delivered(queues, id));
        // A second wake of the same commit would run its round within milliseconds of the first.
        await new Promise((resolve) => setTimeout(resolve, 200));
        return claims - before;
      };
      // The lanes' first rounds at the start are behind this one.
      await commitAndDeliver();
      for (let i = 0; i < 3; i += 1) expect(await commitAndDeliver()).toBe(1);
    } finally {
      await queues.close();
      await t.stop();
    }
  });

  it("once the LISTEN connection is lost, the instance's own commits wake it", async () => {
    const prefix = `test-${uniqueSuffix()}`;
    const t = await startTestApp({ ...SLOW_POLL, QUEUE_PREFIX: prefix });
    const queues = new QueueReader(prefix);
    try {
      await t.app.platform.database.prisma.$queryRaw`
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN "identity_outbox"'`;
      await waitUntil("the lost connection to be logged", async () => t.logs().some((line) => String(line.msg).startsWith("outbox LISTEN connection lost")));
      const id = await register(t);
      await waitUntil("the event on user-events", () => delivered(queues, id));
    } finally {
      await queues.close();
      await t.stop();
    }
  });
});

describe("a relay's lanes", () => {
  it("keep each aggregate's order and deliver each event once across two relays of four lanes, batches of five, however long each delivery takes", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false" });
    const relays: OutboxRelay[] = [];
    try {
      // Six events for each of twenty users, interleaved, all committed before any relay runs.
      const users = Array.from({ length: 20 }, () => randomUUID());
      const committed = new Map(users.map((u) => [u, [] as string[]]));
      for (let k = 0; k < 6; k += 1) {
        for (const u of users) committed.get(u)?.push(await t.app.platform.events.unitOfWork.runSql(origin, async (scope) => scope.publish("user.updated", u, { fields: ["name"] })));
      }
      // A transport taking 0 to 30 ms a batch: later batches often finish first.
      const delivered: { id: string; aggregateId: string }[] = [];
      const transport = {
        deliver: async (messages: { id: string; payload: unknown }[]) => {
          await new Promise((r) => setTimeout(r, randomInt(30)));
          delivered.push(...messages.map((m) => ({ id: m.id, aggregateId: (m.payload as { aggregateId: string }).aggregateId })));
          return new Map<string, Error>();
        },
        close: async () => undefined,
      };
      const options = { batchSize: 5, pollIntervalMs: 50, maxAttempts: 3, backoffBaseMs: 1, retentionMs: 3_600_000, concurrency: 4, deliveryTimeoutMs: 5_000 };
      for (let i = 0; i < 2; i += 1) relays.push(new OutboxRelay(t.app.platform.database.sql, transport, t.app.platform.events.handlers, options, systemClock, createLogger({ level: "silent" }), t.app.metrics));
      for (const relay of relays) relay.start();
      await waitUntil("the outbox to drain", async () => (await pending(t)) === 0);
      expect(delivered).toHaveLength(120);
      for (const u of users) expect(delivered.filter((m) => m.aggregateId === u).map((m) => m.id)).toEqual(committed.get(u));
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
      await t.stop();
    }
  });

  it("roll a batch back, counting no attempt, when the transport does not answer in time; it goes on the next round", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false" });
    try {
      const id = await register(t);
      let hang = true;
      const delivered: string[] = [];
      const transport = {
        deliver: (messages: { id: string }[]) => (hang ? new Promise<Map<string, Error>>(() => undefined) : (delivered.push(...messages.map((m) => m.id)), Promise.resolve(new Map()))),
        close: async () => undefined,
      };
      const options = { batchSize: 10, pollIntervalMs: 1000, maxAttempts: 3, backoffBaseMs: 1, retentionMs: 3_600_000, concurrency: 1, deliveryTimeoutMs: 200 };
      const relay = new OutboxRelay(t.app.platform.database.sql, transport, t.app.platform.events.handlers, options, systemClock, createLogger({ level: "silent" }), t.app.metrics);
      await expect(relay.relayOnce()).rejects.toThrow(new TransportUnavailableError("the transport did not answer within 200 ms"));
      const row = () => t.app.platform.database.prisma.outboxEvent.findUniqueOrThrow({ where: { id } });
      expect(await row()).toMatchObject({ attempts: 0, publishedAt: null, parkedAt: null, lastError: null });
      hang = false;
      expect(await relay.relayOnce()).toBe(1);
      expect(delivered).toEqual([id]);
      expect(await row()).toMatchObject({ attempts: 1, lastError: null, parkedAt: null });
      expect((await row()).publishedAt).not.toBeNull();
    } finally {
      await t.stop();
    }
  });
});

describe("internal consumers", () => {
  it("retry a failing handler with backoff and park it, holding back neither other consumers nor the queue", async () => {
    const t = await startTestApp({ ...FAST, OUTBOX_MAX_ATTEMPTS: "3", OUTBOX_BACKOFF_MS: "100" });
    let healthy = false;
    const attempts: number[] = [];
    const seen: string[] = [];
    t.app.platform.events.handlers.on("user.registered", "always-fails", async () => {
      attempts.push(Date.now());
      if (!healthy) throw new Error("handler exploded");
    });
    t.app.platform.events.handlers.on("user.registered", "counter", async (event) => {
      seen.push(event.id);
    });
    try {
      const ids = [await register(t), await register(t)];
      const prisma = t.app.platform.database.prisma;
      const parked = await waitUntil("the failing rows to be parked", async () => {
        const rows = await prisma.outboxEvent.findMany({ where: { destination: "handler:always-fails", parkedAt: { not: null } } });
        return rows.length === 2 && rows;
      });
      expect(parked.map((r) => [r.attempts, r.lastError])).toEqual([
        [3, "handler exploded"],
        [3, "handler exploded"],
      ]);
      expect(seen.sort()).toEqual([...ids].sort());
      expect(await prisma.outboxEvent.count({ where: { destination: { in: ["user-events", "handler:counter"] }, publishedAt: null } })).toBe(0);
      // Backoff: 100 ms, then 200 ms between the three attempts of one event.
      const gaps = attempts.slice(0, 6).map((at, i, all) => (i === 0 ? 0 : at - (all[i - 1] as number)));
      expect(Math.max(...gaps)).toBeGreaterThanOrEqual(150);

      // Replayed from the command line once the handler is fixed: delivered.
      healthy = true;
      expect(await outboxCli(t, "replay", "--all")).toContain("2 message(s) replayed");
      await waitUntil("the replayed rows to be delivered", async () => (await prisma.outboxEvent.count({ where: { destination: "handler:always-fails", publishedAt: { not: null } } })) === 2);
    } finally {
      await t.stop();
    }
  }, 60_000);

  it("issue 10 item 11: a parked message holds back its aggregate's later messages on that destination (shown by the metrics and the CLI); replayed, they leave in commit order", async () => {
    const t = await startTestApp({ ...FAST, OUTBOX_MAX_ATTEMPTS: "2" });
    const prisma = t.app.platform.database.prisma;
    let healthy = false;
    const handled: string[] = [];
    const handler = async (event: { id: string }) => {
      if (!healthy && event.id === first) throw new Error("handler exploded");
      handled.push(event.id);
    };
    t.app.platform.events.handlers.on("user.registered", "ordered", handler);
    t.app.platform.events.handlers.on("user.email_verified", "ordered", handler);
    const userId = randomUUID();
    const email = `${userId}@example.test`;
    const first = await t.app.platform.events.unitOfWork.run(origin, async (scope) => scope.publish("user.registered", userId, { email, locale: "en" }));
    try {
      await waitUntil("the first message to be parked", () => prisma.outboxEvent.findFirst({ where: { destination: "handler:ordered", parkedAt: { not: null } } }));
      const second = await t.app.platform.events.unitOfWork.run(origin, async (scope) => scope.publish("user.email_verified", userId, { email }));
      const other = await register(t); // another aggregate
      await waitUntil("the other aggregate's message to be handled", async () => handled.includes(other));
      const rowOf = (id: string, destination: string) => prisma.outboxEvent.findFirstOrThrow({ where: { destination, payload: { path: ["id"], equals: id } } });
      await waitUntil("the queue to have the second event", async () => (await rowOf(second, "user-events")).publishedAt);
      expect(handled).not.toContain(second);
      expect((await rowOf(second, "handler:ordered")).publishedAt).toBeNull();

      const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/^outbox_parked 1$/m);
      expect(metrics).toMatch(/^outbox_blocked 1$/m);
      const parked = (await rowOf(first, "handler:ordered")).id;
      expect(await outboxCli(t, "parked")).toMatch(new RegExp(`^${parked} .* waiting=1 .*handler exploded$`, "m"));

      healthy = true;
      expect(await outboxCli(t, "replay", parked)).toContain("1 message(s) replayed");
      await waitUntil("the held-back message to be handled", async () => handled.includes(second));
      expect(handled.filter((id) => id === first || id === second)).toEqual([first, second]);
    } finally {
      await t.stop();
    }
  }, 60_000);

  it("run a handler once for a redelivered event", async () => {
    const t = await startTestApp({ ...FAST, OUTBOX_RELAY: "false" });
    try {
      let runs = 0;
      t.app.platform.events.handlers.on("user.registered", "once", async () => {
        runs += 1;
      });
      const envelope = { id: randomUUID(), type: "user.registered", version: 1, occurredAt: new Date().toISOString(), aggregateType: "user", aggregateId: randomUUID(), actorId: null, data: {} };
      const message = { id: randomUUID(), destination: "handler:once", name: "user.registered", payload: envelope, attempts: 0 };
      const deliver = (m: typeof message) => t.app.platform.database.sql.transaction((query) => t.app.platform.events.handlers.deliver([m], query));
      expect(await deliver(message)).toEqual(new Map());
      expect(await deliver({ ...message, id: randomUUID() })).toEqual(new Map());
      expect(runs).toBe(1);
    } finally {
      await t.stop();
    }
  });
});

describe("the process killed with SIGKILL mid-burst", () => {
  it("delivers every committed event after a restart, and none of the rolled-back ones", async () => {
    const prefix = `test-${uniqueSuffix()}`;
    const databaseUrl = freshDatabaseUrl("kill");
    const env = { DATABASE_URL: databaseUrl, REDIS_URL, QUEUE_PREFIX: prefix, OUTBOX_POLL_INTERVAL_MS: "100" };
    const child = spawnServer(env, "test/support/burst.ts");
    const committed = () => [...child.output().matchAll(/^commit (\S+)$/gm)].map((m) => m[1] as string);
    await waitUntil("120 commits", async () => committed().length >= 120, 30_000);
    child.child.kill("SIGKILL");
    await child.exited;
    const rolledBack = [...child.output().matchAll(/^rollback (\S+)$/gm)].map((m) => m[1] as string);
    expect(rolledBack.length).toBeGreaterThan(0);

    const t = await startTestApp({ ...env, ...FAST });
    const queues = new QueueReader(prefix);
    try {
      // The chain caught up first: its checkpoint events (on user-events too) are in the outbox by then.
      await waitUntil("the chain to catch up and the outbox to drain", async () => (await t.app.platform.events.chainer.chainOnce()) === 0 && (await pending(t)) === 0, 30_000);
      const jobIds = (await queues.jobs("user-events")).map((j) => j.id);
      const outboxIds = (await t.app.platform.database.prisma.outboxEvent.findMany({ where: { destination: "user-events" }, select: { id: true } })).map((r) => r.id);
      expect(new Set(jobIds).size).toBe(jobIds.length);
      expect([...jobIds].sort()).toEqual([...outboxIds].sort());
      expect(jobIds).toEqual(expect.arrayContaining(committed()));
      expect(jobIds.filter((id) => rolledBack.includes(id))).toEqual([]);
    } finally {
      await queues.close();
      await t.stop();
    }
  }, 90_000);
});

describe("retention", () => {
  it("deletes delivered messages, processed-event records and single-use tokens expired past OUTBOX_RETENTION_S; undelivered and parked messages stay", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false", OUTBOX_RETENTION_S: "86400" });
    try {
      const prisma = t.app.platform.database.prisma;
      const ids = await Promise.all(Array.from({ length: 4 }, () => register(t)));
      const [oldDelivered, newDelivered, oldPending, oldParked] = ids as [string, string, string, string];
      const ago = (days: number) => new Date(Date.now() - days * 86_400_000);
      await prisma.outboxEvent.update({ where: { id: oldDelivered }, data: { publishedAt: ago(2) } });
      await prisma.outboxEvent.update({ where: { id: newDelivered }, data: { publishedAt: ago(0.5) } });
      await prisma.outboxEvent.update({ where: { id: oldPending }, data: { createdAt: ago(3) } });
      await prisma.outboxEvent.update({ where: { id: oldParked }, data: { createdAt: ago(3), parkedAt: ago(2) } });
      await prisma.$executeRaw`INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ('old', ${randomUUID()}::uuid, ${ago(2)}), ('new', ${randomUUID()}::uuid, ${ago(0.5)})`;
      // Single-use tokens: one expired past the retention goes, one expired lately and a live one stay.
      const user = await prisma.user.create({ data: { id: randomUUID(), email: `${randomUUID()}@example.test` } });
      const token = (expiresAt: Date) => ({ id: randomUUID(), purpose: "email-verification", userId: user.id, tokenHash: randomUUID().replace(/-/g, "").padEnd(64, "0"), expiresAt });
      const [gone, recent, live] = [token(ago(2)), token(ago(0.5)), token(ago(-1))];
      await prisma.singleUseToken.createMany({ data: [gone, recent, live] });
      expect(await t.app.platform.events.relay.sweep()).toBe(1);
      expect((await prisma.singleUseToken.findMany({ where: { userId: user.id }, select: { id: true } })).map((r) => r.id).sort()).toEqual([recent.id, live.id].sort());
      expect((await prisma.outboxEvent.findMany({ select: { id: true } })).map((r) => r.id).sort()).toEqual([newDelivered, oldPending, oldParked].sort());
      expect((await prisma.$queryRaw<{ consumer: string }[]>`SELECT consumer FROM processed_events`).map((r) => r.consumer)).toEqual(["new"]);
    } finally {
      await t.stop();
    }
  });
});
