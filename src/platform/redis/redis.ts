import { Redis } from "ioredis";
import type { Logger } from "../logging/logger";

/**
 * A Redis connection. Redis is not the source of truth: a down Redis is logged and retried in the
 * background, and commands fail fast instead of queueing while it is unreachable.
 */
export function createRedis(url: string, logger: Logger, role: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    // The subscriber's SUBSCRIBE waits for Redis (ioredis re-subscribes after a reconnect only to
    // channels whose SUBSCRIBE succeeded); every other command fails fast.
    enableOfflineQueue: role === "subscriber",
    maxRetriesPerRequest: role === "subscriber" ? null : 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let down = false;
  redis.on("error", (error: Error) => {
    if (!down) logger.warn({ err: { message: error.message }, role }, "Redis unavailable; retrying");
    down = true;
  });
  redis.on("ready", () => {
    if (down) logger.info({ role }, "Redis connection restored");
    down = false;
  });
  return redis;
}

/** Resolves when Redis answers PING within `timeoutMs`. */
export async function pingRedis(redis: Redis, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([redis.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * BullMQ loses jobs on a Redis that evicts keys or keeps nothing on disk. Throws naming each
 * setting that is unsafe (SECURITY: AOF on, maxmemory-policy noeviction).
 */
export async function assertDurableRedis(redis: Redis): Promise<void> {
  if (redis.status !== "ready") {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("Redis at REDIS_URL did not answer within 5 s; cannot check its durability")), 5000);
      redis.once("ready", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  const read = async (name: string) => ((await redis.config("GET", name)) as string[])[1] ?? "";
  const problems: string[] = [];
  const aof = await read("appendonly");
  if (aof !== "yes") problems.push(`appendonly is "${aof}" (needs yes)`);
  const policy = await read("maxmemory-policy");
  if (policy !== "noeviction") problems.push(`maxmemory-policy is "${policy}" (needs noeviction)`);
  if (problems.length > 0) {
    throw new Error(`Redis at REDIS_URL is not safe for queues: ${problems.join("; ")}. Fix its configuration, or set REDIS_REQUIRE_DURABILITY=false to run anyway.`);
  }
}
