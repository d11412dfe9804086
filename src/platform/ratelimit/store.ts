import { RateLimitedError } from "../../graphql/errors";
import type { Redis } from "ioredis";

export interface Hit {
  /** Hits in the current window, this one included. */
  count: number;
  /** Milliseconds until the window resets. */
  resetInMs: number;
}

/** Fixed-window counters behind rate limits: shared in Redis (service mode) or per process. */
export interface RateLimitStore {
  /** Adds `cost` hits to `key` and reports the window's total. */
  hit(key: string, windowMs: number, cost?: number): Promise<Hit>;
  reset(key: string): Promise<void>;
}

export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async hit(key: string, windowMs: number, cost = 1): Promise<Hit> {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      this.sweep(now);
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += cost;
    return { count: window.count, resetInMs: window.resetAt - now };
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  /** Drops expired windows so memory stays bounded by the live keys. */
  private sweep(now: number): void {
    if (this.windows.size < 10_000) return;
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}

/** INCRBY + PEXPIRE NX in one round trip: atomic across instances. */
const HIT_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
return {count, ttl}`;

export class RedisRateLimitStore implements RateLimitStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async hit(key: string, windowMs: number, cost = 1): Promise<Hit> {
    const [count, ttl] = (await this.redis.eval(HIT_SCRIPT, 1, this.prefix + key, cost, windowMs)) as [number, number];
    return { count, resetInMs: ttl < 0 ? windowMs : ttl };
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}

/**
 * Redis is not the source of truth: when it cannot be reached, counting goes on per instance
 * (the limits then apply per instance) until it answers again.
 */
export class FallbackRateLimitStore implements RateLimitStore {
  constructor(
    private readonly primary: RateLimitStore,
    private readonly fallback: RateLimitStore,
    private readonly onFallback: (error: unknown) => void,
  ) {}

  async hit(key: string, windowMs: number, cost = 1): Promise<Hit> {
    try {
      return await this.primary.hit(key, windowMs, cost);
    } catch (error) {
      this.onFallback(error);
      return this.fallback.hit(key, windowMs, cost);
    }
  }

  async reset(key: string): Promise<void> {
    await Promise.allSettled([this.primary.reset(key), this.fallback.reset(key)]);
  }
}

/** RATE_LIMITED until the window of `hit` resets (at least one second). */
export function limitedUntilReset(hit: Hit): RateLimitedError {
  return new RateLimitedError(Math.max(1, Math.ceil(hit.resetInMs / 1000)));
}

/** Consumes one unit of a limit; RATE_LIMITED with the seconds to wait once it is spent. */
export async function consume(store: RateLimitStore, key: string, limit: number, windowMs: number): Promise<void> {
  const hit = await store.hit(key, windowMs);
  if (hit.count > limit) throw limitedUntilReset(hit);
}
