import { Redis } from "ioredis";
import type { Logger } from "../logging/logger";

/**
 * A Redis connection. Redis is not the source of truth: a down Redis is logged and retried in the
 * background, and commands fail fast instead of queueing while it is unreachable.
 */
export function createRedis(url: string, logger: Logger, role: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: role === "subscriber",
    maxRetriesPerRequest: 1,
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
