// The unit of work on a pooled pg transaction (runSql, issue 16): the same guarantees as the Prisma one.
import { randomUUID } from "node:crypto";
import { sql } from "../../src/platform/db/database";
import type { Origin } from "../../src/platform/events/unit-of-work";
import { startTestApp, type TestApp } from "../support/app";
import { uniqueSuffix } from "../support/env";
import { QueueReader } from "../support/queues";

const origin: Origin = { actor: { type: "system", id: null }, requestId: "req-sql" };

describe("unit of work on pg (runSql)", () => {
  let t: TestApp;
  let queues: QueueReader;
  beforeAll(async () => {
    const prefix = `test-${uniqueSuffix()}`;
    t = await startTestApp({ OUTBOX_POLL_INTERVAL_MS: "100", QUEUE_PREFIX: prefix }, undefined, { listen: false });
    queues = new QueueReader(prefix);
  });
  afterAll(async () => {
    await queues.close();
    await t.stop();
  });

  const insertUser = (id: string) => sql`INSERT INTO users (id, email, updated_at) VALUES (${id}::uuid, ${`${id}@example.test`}, now())`;
  const userCount = async (id: string) => t.app.platform.database.prisma.user.count({ where: { id } });
  const recorded = async (id: string) => ({
    outbox: await t.app.platform.database.prisma.outboxEvent.count({ where: { aggregateId: id } }),
    audit: await t.app.platform.database.prisma.auditEvent.count({ where: { subjectId: id } }),
  });

  it("commits the writes, the event and the audit record together; the event reaches user-events and afterCommit runs after commit", async () => {
    const id = randomUUID();
    const seenAfterCommit: number[] = [];
    const eventId = await t.app.platform.events.unitOfWork.runSql(origin, async (scope) => {
      await scope.query(insertUser(id));
      scope.audit({ action: "user.register", subjectType: "user", subjectId: id, metadata: { password: "hunter2" } });
      scope.afterCommit(() => void userCount(id).then((n) => seenAfterCommit.push(n)));
      return scope.publish("user.registered", id, { email: `${id}@example.test`, locale: "en" });
    });
    expect(await userCount(id)).toBe(1);
    expect(await recorded(id)).toEqual({ outbox: 1, audit: 1 });
    const audit = await t.app.platform.database.prisma.auditEvent.findFirstOrThrow({ where: { subjectId: id } });
    expect(audit).toMatchObject({ actorType: "system", requestId: "req-sql", metadata: { password: "[REDACTED]" } });
    const job = await queues.waitFor("user-events", (j) => j.id === eventId);
    expect(job.data).toMatchObject({ type: "user.registered", aggregateId: id });
    expect(seenAfterCommit).toEqual([1]);
  });

  it("writes nothing of a unit of work that throws: no row, no event, no audit record, no afterCommit", async () => {
    const id = randomUUID();
    let effects = 0;
    await expect(
      t.app.platform.events.unitOfWork.runSql(origin, async (scope) => {
        await scope.query(insertUser(id));
        scope.publish("user.registered", id, { email: `${id}@example.test`, locale: "en" });
        scope.audit({ action: "user.register", subjectType: "user", subjectId: id });
        scope.afterCommit(() => (effects += 1));
        throw new Error("changed its mind");
      }),
    ).rejects.toThrow("changed its mind");
    expect(await userCount(id)).toBe(0);
    expect(await recorded(id)).toEqual({ outbox: 0, audit: 0 });
    expect(effects).toBe(0);
  });

  it("rolls back earlier statements when a later one fails, and gives its connection back clean (more failures than the pool has connections)", async () => {
    const { DATABASE_POOL_SIZE } = t.app.config;
    for (let i = 0; i < DATABASE_POOL_SIZE + 2; i += 1) {
      const id = randomUUID();
      await expect(
        t.app.platform.events.unitOfWork.runSql(origin, async (scope) => {
          await scope.query(insertUser(id));
          await scope.query(insertUser(id)); // the same primary key: refused by PostgreSQL
        }),
      ).rejects.toThrow(/duplicate key/);
      expect(await userCount(id)).toBe(0);
    }
    // Every connection is usable and outside any transaction: a new unit of work commits.
    const id = randomUUID();
    await t.app.platform.events.unitOfWork.runSql(origin, (scope) => scope.query(insertUser(id)));
    expect(await userCount(id)).toBe(1);
  });

  it("refuses a payload that breaks the catalogue, writing nothing", async () => {
    const id = randomUUID();
    await expect(
      t.app.platform.events.unitOfWork.runSql(origin, async (scope) => {
        await scope.query(insertUser(id));
        scope.publish("user.registered", id, { email: 42 } as never);
      }),
    ).rejects.toThrow(/user.registered/);
    expect(await userCount(id)).toBe(0);
  });
});
