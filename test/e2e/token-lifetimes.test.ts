import { Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { ChangePasswordDocument, RegisterDocument, RequestPasswordResetDocument, ResetPasswordDocument, VerifyEmailDocument } from "../support/generated/operations";
import { PASSWORD, fromNewIp, newEmail, useApp } from "../support/harness";
import { startTestApp } from "../support/app";
import { REDIS_URL } from "../support/env";
import { waitUntil } from "../support/wait";
import { systemClock } from "../../src/platform/clock";
import { OutboxRelay } from "../../src/platform/events/relay";
import { createLogger } from "../../src/platform/logging/logger";

describe("issue 10 item 14: SECURITY 32: tokens outlive neither their mail nor their purpose", () => {
  // The notification service, played by a BullMQ worker that takes every job of `notifications`
  // (so the mails are read from what it has finished, not with the harness's `mailTo`).
  const h = useApp();
  let prefix: string;
  let connection: Redis;
  let worker: Worker;
  const finished: Job[] = [];
  beforeAll(() => {
    prefix = h.t.app.config.QUEUE_PREFIX;
    connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    worker = new Worker("notifications", async () => undefined, { connection, prefix });
    worker.on("completed", (job) => finished.push(job));
  });
  afterAll(async () => {
    await worker.close();
    connection.disconnect();
  });

  /** The latest `template` mail to `email` the notification service has finished. */
  async function mail(email: string, template: string, after = 0): Promise<Job> {
    return waitUntil(`${template} to ${email}`, async () => finished.slice(after).findLast((job) => job.name === template && (job.data as { to: string }).to === email));
  }
  const tokenOf = (job: Job) => (job.data as { params: { token: string } }).params.token;

  async function account(): Promise<string> {
    const email = newEmail();
    await h.gql(RegisterDocument, { input: { email, password: PASSWORD } }, fromNewIp());
    await h.gql(VerifyEmailDocument, { token: tokenOf(await mail(email, "verify-email")) });
    return email;
  }

  /** The reset mail a request sends, once the notification service has finished it. */
  async function resetMail(email: string): Promise<Job> {
    const before = finished.length;
    await h.gql(RequestPasswordResetDocument, { email }, fromNewIp());
    return mail(email, "password-reset", before);
  }
  const resetLink = async (email: string) => tokenOf(await resetMail(email));

  const reset = (token: string) => h.gql(ResetPasswordDocument, { input: { token, newPassword: "Reset-Pass-2024!" } });

  /** Every value held under the queues' prefix in Redis, as text. */
  async function redisContents(): Promise<string> {
    const parts: string[] = [];
    for (const key of await connection.keys(`${prefix}:*`)) {
      const type = await connection.type(key);
      if (type === "hash") parts.push(JSON.stringify(await connection.hgetall(key)));
      else if (type === "string") parts.push((await connection.get(key)) ?? "");
      else if (type === "list") parts.push(...(await connection.lrange(key, "0", "-1")));
      else if (type === "set") parts.push(...(await connection.smembers(key)));
      else if (type === "zset") parts.push(...(await connection.zrange(key, "0", "-1")));
      else if (type === "stream") parts.push(JSON.stringify(await connection.xrange(key, "-", "+")));
    }
    return parts.join("\n");
  }

  it("a notification job, token and all, leaves Redis once the notification service has finished it", async () => {
    const job = await resetMail(await account());
    const queue = new Queue("notifications", { connection, prefix });
    try {
      expect(await queue.getJob(job.id as string)).toBeUndefined();
      expect(await redisContents()).not.toContain(tokenOf(job));
    } finally {
      await queue.close();
    }
  });

  it("a reset voids the user's other reset links", async () => {
    const email = await account();
    const first = await resetLink(email);
    const second = await resetLink(email);
    expect((await reset(first)).data).toEqual({ resetPassword: true });
    expect((await reset(second)).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.token", message: "is invalid or has expired" }] });
  });

  it("a password change voids the user's reset links", async () => {
    const email = await account();
    const link = await resetLink(email);
    const auth = await h.signedIn({ email, password: PASSWORD });
    const change = await h.gql(ChangePasswordDocument, { input: { currentPassword: PASSWORD, newPassword: "Brand-New-Pass-9#" } }, auth.headers);
    expect(change.data).toEqual({ changePassword: true });
    expect((await reset(link)).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });
});

describe("issue 10 item 14: SECURITY 32: a parked notification", () => {
  it("keeps the names of its parameters, not their values, once its attempts are spent", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false" });
    try {
      const { prisma } = t.app.platform.database;
      const token = "parked-reset-token-0123456789";
      await t.app.platform.events.unitOfWork.run({ actor: { type: "system", id: null } }, async (scope) => {
        scope.notify({ to: "parked@example.test", template: "password-reset", locale: "en", params: { token, link: `https://id.example.test/reset-password?token=${token}` } });
      });
      // A transport that refuses every message: one attempt, then parked.
      const refusing = { deliver: async (messages: { id: string }[]) => new Map(messages.map((m) => [m.id, new Error("refused")])), close: async () => undefined };
      const options = { batchSize: 10, pollIntervalMs: 1000, maxAttempts: 1, backoffBaseMs: 1, retentionMs: 3_600_000, concurrency: 1, deliveryTimeoutMs: 5_000 };
      const relay = new OutboxRelay(t.app.platform.database.sql, refusing, t.app.platform.events.handlers, options, systemClock, createLogger({ level: "silent" }), t.app.metrics);
      expect(await relay.relayOnce()).toBe(1);
      const row = await prisma.outboxEvent.findFirstOrThrow({ where: { destination: "notifications", name: "password-reset" } });
      expect(row.parkedAt).not.toBeNull();
      expect(row.payload).toEqual({ to: "parked@example.test", template: "password-reset", locale: "en", params: { token: "[REDACTED]", link: "[REDACTED]" } });
    } finally {
      await t.stop();
    }
  });
});
