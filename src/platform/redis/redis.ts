import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../logging/logger";

/** Options of a connection with ioredis's default (RESP2, "legacy") replies. */
type Options = RedisOptions & { replyMapping?: "legacy" };

/** ioredis's error for a command that got no answer within `commandTimeout`. */
const TIMED_OUT = "Command timed out";

/**
 * A connection on which a command timed out is dropped and made again: until Redis answers the new
 * connection's handshake, every command fails at once (as when Redis is unreachable) instead of
 * each waiting out its own timeout.
 */
class DroppingRedis extends Redis {
  constructor(
    url: string,
    options: Options,
    private readonly onTimeout: () => void,
  ) {
    super(url, options);
  }

  override sendCommand(...args: Parameters<Redis["sendCommand"]>): unknown {
    const [command] = args;
    const result = super.sendCommand(...args);
    command.promise.catch((error: Error) => {
      if (error.message !== TIMED_OUT || this.status !== "ready") return;
      this.onTimeout();
      this.disconnect(true);
    });
    return result;
  }
}

/**
 * A Redis connection. Redis is not the source of truth: a down Redis is logged and retried in the
 * background, and commands fail fast instead of queueing while it is unreachable. A Redis that
 * hangs (connections open, no answers) counts as down: every command gets `commandTimeoutMs`.
 * The subscriber is the exception: its SUBSCRIBE waits (queued while Redis is away; ioredis
 * re-subscribes after a reconnect only to channels whose SUBSCRIBE succeeded), and it sends nothing
 * a request waits for. Not for BullMQ workers: their blocking commands need connections of their
 * own without a timeout (and with maxRetriesPerRequest null).
 */
export function createRedis(url: string, logger: Logger, role: "main" | "subscriber", commandTimeoutMs: number): Redis {
  const options: Options = {
    lazyConnect: false,
    enableOfflineQueue: role === "subscriber",
    maxRetriesPerRequest: role === "subscriber" ? null : 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  };
  let down = false;
  const redis =
    role === "subscriber"
      ? new Redis(url, options)
      : new DroppingRedis(url, { ...options, commandTimeout: commandTimeoutMs }, () => {
          if (!down) logger.warn({ role, timeoutMs: commandTimeoutMs }, "Redis did not answer in time; reconnecting, and counting it as down until it answers");
          down = true;
        });
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
