import bcrypt from "bcrypt";
import { Redis } from "ioredis";
import { LoginDocument, LogoutDocument, MeDocument, RefreshTokensDocument } from "../support/generated/operations";
import { PASSWORD, newEmail } from "../support/harness";
import { startTestApp } from "../support/app";
import { uniqueSuffix } from "../support/env";
import { graphql } from "../support/graphql";
import { RedisServer } from "../support/redis-server";
import { waitUntil } from "../support/wait";

it("with Redis unreachable, login, refresh, me and logout work on PostgreSQL, readiness says so, and all catches up when Redis returns", async () => {
  const redis = await RedisServer.start();
  const t = await startTestApp({ REDIS_URL: redis.url, BCRYPT_COST: "4", OUTBOX_POLL_INTERVAL_MS: "100", QUEUE_PREFIX: `q-${uniqueSuffix()}` });
  const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  try {
    const email = newEmail();
    await t.app.platform.database.prisma.user.create({ data: { email, passwordHash: await bcrypt.hash(PASSWORD, 4), status: "ACTIVE", emailVerifiedAt: new Date() } });
    await redis.stop();

    const login = await graphql(t.baseUrl, LoginDocument, { input: { email, password: PASSWORD } });
    const auth = login.data?.login.__typename === "AuthPayload" ? login.data.login : null;
    expect(auth).not.toBeNull();
    const refreshed = await graphql(t.baseUrl, RefreshTokensDocument, { refreshToken: auth!.refreshToken });
    const access = refreshed.data?.refreshTokens.accessToken as string;
    expect(access).toBeDefined();
    expect((await graphql(t.baseUrl, MeDocument, undefined, { authorization: `Bearer ${access}` })).data?.me?.email).toBe(email);
    expect((await graphql(t.baseUrl, LogoutDocument, {}, { authorization: `Bearer ${access}` })).data).toEqual({ logout: true });
    expect((await graphql(t.baseUrl, MeDocument, undefined, { authorization: `Bearer ${access}` })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const ready = await fetch(`${t.baseUrl}/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { down: string[] }).down).toEqual(["redis"]);
    const pending = () => t.app.platform.database.prisma.outboxEvent.count({ where: { publishedAt: null, parkedAt: null } });
    expect(await pending()).toBeGreaterThan(0);

    await redis.resume();
    await waitUntil("the outbox to drain", async () => (await pending()) === 0, 30_000);
    // The revocation made while Redis was down is now marked there too.
    await probe.connect();
    expect(await probe.keys(`*revoked-session:${auth!.session.id}`)).toHaveLength(1);
    expect((await fetch(`${t.baseUrl}/health/ready`)).status).toBe(200);
  } finally {
    probe.disconnect();
    await t.stop();
    await redis.destroy();
  }
}, 60_000);

it("item 5: a session ended while Redis was down stays ended after Redis returns, before the relay has copied the revocation", async () => {
  const redis = await RedisServer.start();
  // The relay runs on another instance (or has not caught up yet): nothing copies the revocation but the resync.
  const t = await startTestApp({ REDIS_URL: redis.url, BCRYPT_COST: "4", OUTBOX_RELAY: "false", QUEUE_PREFIX: `q-${uniqueSuffix()}` });
  try {
    const email = newEmail();
    await t.app.platform.database.prisma.user.create({ data: { email, passwordHash: await bcrypt.hash(PASSWORD, 4), status: "ACTIVE", emailVerifiedAt: new Date() } });
    const login = await graphql(t.baseUrl, LoginDocument, { input: { email, password: PASSWORD } });
    const access = login.data?.login.__typename === "AuthPayload" ? login.data.login.accessToken : "";
    const bearer = { authorization: `Bearer ${access}` };
    expect((await graphql(t.baseUrl, MeDocument, undefined, bearer)).data?.me?.email).toBe(email);

    await redis.stop();
    expect((await graphql(t.baseUrl, LogoutDocument, {}, bearer)).data).toEqual({ logout: true });
    await redis.resume();
    await waitUntil("Redis to be ready again", async () => (await fetch(`${t.baseUrl}/health/ready`)).status === 200, 30_000);
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      expect((await graphql(t.baseUrl, MeDocument, undefined, bearer)).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    }
  } finally {
    await t.stop();
    await redis.destroy();
  }
}, 60_000);

/** Fails, rather than waiting for ever, when `promise` has not settled within 15 s (a hang, not a timing). */
function answered<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer within 15 s")), 15_000);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

it("issue 10 item 6: a Redis that stops answering without closing its connections counts as down: login, refresh, me and logout answer on PostgreSQL, readiness names it, and the outbox waits without spending attempts", async () => {
  const redis = await RedisServer.start();
  const t = await startTestApp({ REDIS_URL: redis.url, BCRYPT_COST: "4", OUTBOX_POLL_INTERVAL_MS: "100", QUEUE_PREFIX: `q-${uniqueSuffix()}` });
  const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    const email = newEmail();
    await t.app.platform.database.prisma.user.create({ data: { email, passwordHash: await bcrypt.hash(PASSWORD, 4), status: "ACTIVE", emailVerifiedAt: new Date() } });
    const before = await graphql(t.baseUrl, LoginDocument, { input: { email, password: PASSWORD } });
    const earlier = { authorization: `Bearer ${before.data?.login.__typename === "AuthPayload" ? before.data.login.accessToken : ""}` };
    expect((await graphql(t.baseUrl, MeDocument, undefined, earlier)).data?.me?.email).toBe(email);

    redis.pause();
    expect((await answered(graphql(t.baseUrl, MeDocument, undefined, earlier))).data?.me?.email).toBe(email);
    const login = await answered(graphql(t.baseUrl, LoginDocument, { input: { email, password: PASSWORD } }));
    const auth = login.data?.login.__typename === "AuthPayload" ? login.data.login : null;
    expect(auth).not.toBeNull();
    const refreshed = await answered(graphql(t.baseUrl, RefreshTokensDocument, { refreshToken: auth!.refreshToken }));
    const bearer = { authorization: `Bearer ${refreshed.data?.refreshTokens.accessToken as string}` };
    expect((await answered(graphql(t.baseUrl, MeDocument, undefined, bearer))).data?.me?.email).toBe(email);
    expect((await answered(graphql(t.baseUrl, LogoutDocument, {}, bearer))).data).toEqual({ logout: true });
    expect((await answered(graphql(t.baseUrl, MeDocument, undefined, bearer))).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const ready = await answered(fetch(`${t.baseUrl}/health/ready`));
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { down: string[] }).down).toEqual(["redis"]);

    redis.unpause();
    const prisma = t.app.platform.database.prisma;
    await waitUntil("the outbox to drain", async () => (await prisma.outboxEvent.count({ where: { publishedAt: null } })) === 0, 30_000);
    // Each message was delivered at its first counted attempt: a hung Redis cost none.
    expect(await prisma.outboxEvent.count({ where: { attempts: { gt: 1 } } })).toBe(0);
    await probe.connect();
    expect(await probe.keys(`*revoked-session:${auth!.session.id}`)).toHaveLength(1);
    expect((await fetch(`${t.baseUrl}/health/ready`)).status).toBe(200);
  } finally {
    redis.unpause();
    probe.disconnect();
    await t.stop();
    await redis.destroy();
  }
}, 90_000);
