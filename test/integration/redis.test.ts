import { Redis } from "ioredis";
import { createRedisPubSub } from "../../src/platform/pubsub/pubsub";
import { MemoryRateLimitStore, RedisRateLimitStore } from "../../src/platform/ratelimit/store";
import { startTestApp } from "../support/app";
import { REDIS_URL, uniqueSuffix } from "../support/env";
import { waitUntil } from "../support/wait";

const clients: Redis[] = [];
const connect = () => {
  const redis = new Redis(REDIS_URL);
  clients.push(redis);
  return redis;
};
afterAll(() => clients.forEach((c) => c.disconnect()));

describe("Redis PubSub", () => {
  it("delivers what one instance publishes to a subscriber on another, and nothing across prefixes", async () => {
    const prefix = `test:${uniqueSuffix()}:`;
    const a = createRedisPubSub(connect(), connect(), prefix);
    const b = createRedisPubSub(connect(), connect(), prefix);
    const other = createRedisPubSub(connect(), connect(), `test:${uniqueSuffix()}:`);
    const received: unknown[] = [];
    const strays: unknown[] = [];
    const iterator = b.subscribe("kyc")[Symbol.asyncIterator]();
    const strayIterator = other.subscribe("kyc")[Symbol.asyncIterator]();
    void strayIterator.next().then((r) => strays.push(r.value));
    const first = iterator.next();
    // Publish once Redis has the subscription (a fixed pause loses the message on a loaded machine).
    const probe = connect();
    await waitUntil("the SUBSCRIBE to reach Redis", async () => ((await probe.pubsub("NUMSUB", `${prefix}kyc`)) as [string, number])[1] >= 1);
    a.publish("kyc", { userId: "u1", status: "APPROVED" });
    received.push((await first).value);
    expect(received).toEqual([{ userId: "u1", status: "APPROVED" }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(strays).toEqual([]);
    await iterator.return?.();
    await strayIterator.return?.();
  });
});

describe("the Redis rate-limit store's script", () => {
  it("is called by its SHA and sent again when Redis has lost it (SCRIPT FLUSH, as after a restart): counting goes on", async () => {
    const redis = connect();
    const store = new RedisRateLimitStore(redis, `test:${uniqueSuffix()}:`);
    const sent: string[] = [];
    const monitor = await connect().monitor();
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args[2] === "1" && String(args[3]).endsWith(":k")) sent.push(String(args[0]).toLowerCase());
    });
    try {
      expect((await store.hit("k", 60_000)).count).toBe(1);
      await redis.script("FLUSH");
      expect((await store.hit("k", 60_000)).count).toBe(2);
      expect((await store.hit("k", 60_000)).count).toBe(3);
      await waitUntil("the monitor to see every call", async () => sent.filter((c) => c === "evalsha").length >= 3);
      // First call (maybe loading it), the one after the flush (NOSCRIPT, then EVAL), then by SHA alone.
      expect(sent.slice(-2)).toEqual(["eval", "evalsha"]);
    } finally {
      monitor.disconnect();
    }
  });
});

describe.each([
  ["memory", () => new MemoryRateLimitStore()],
  ["redis", () => new RedisRateLimitStore(connect(), `test:${uniqueSuffix()}:`)],
])("%s rate-limit store", (_name, make) => {
  it("counts hits per key within a window, with the time left, and resets", async () => {
    const store = make();
    expect(await store.hit("login:a", 60_000)).toMatchObject({ count: 1 });
    const second = await store.hit("login:a", 60_000, 2);
    expect(second.count).toBe(3);
    expect(second.resetInMs).toBeGreaterThan(59_000);
    expect((await store.hit("login:b", 60_000)).count).toBe(1);
    await store.reset("login:a");
    expect((await store.hit("login:a", 60_000)).count).toBe(1);
  });

  it("a refund gives a unit back within its window, and nothing to a window that has gone (the next one starts at 0)", async () => {
    const store = make();
    await store.hit("guess:a", 60_000, 2);
    expect((await store.hit("guess:a", 60_000, -1)).count).toBe(1);
    await store.reset("guess:a"); // as if the window had ended between the attempt and its refund
    expect((await store.hit("guess:a", 60_000, -1)).count).toBe(0);
    expect((await store.hit("guess:a", 60_000)).count).toBe(1);
  });

  it("starts a new window when the old one has expired", async () => {
    const store = make();
    await store.hit("k", 50);
    await new Promise((r) => setTimeout(r, 80));
    expect((await store.hit("k", 50)).count).toBe(1);
  });
});

it("shares rate-limit counts across instances (one Redis)", async () => {
  const prefix = `test:${uniqueSuffix()}:`;
  await new RedisRateLimitStore(connect(), prefix).hit("ip:1", 60_000);
  expect((await new RedisRateLimitStore(connect(), prefix).hit("ip:1", 60_000)).count).toBe(2);
});

it("reports Redis down in readiness (503 naming it) while liveness stays 200", async () => {
  const t = await startTestApp({ REDIS_URL: "redis://127.0.0.1:1" });
  try {
    expect((await fetch(`${t.baseUrl}/health/live`)).status).toBe(200);
    const ready = await fetch(`${t.baseUrl}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "unavailable", down: ["redis"], checks: { database: "up", redis: "down" } });
  } finally {
    await t.stop();
  }
});
