import { createHash } from "node:crypto";
import { RateLimitedError } from "../../shared/errors";
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

interface Window {
  readonly key: string;
  count: number;
  readonly resetAt: number;
}

/** Windows of one length, in the order they reset (the order they opened): a queue. */
class ResetQueue {
  private items: Window[] = [];
  private head = 0;

  push(window: Window): void {
    this.items.push(window);
  }

  first(): Window | undefined {
    return this.items[this.head];
  }

  shift(): void {
    this.head += 1;
    // Drop the consumed front once it is most of the array (amortised O(1) per window).
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/** Windows one process holds at most (the fallback while Redis is unreachable). */
const MEMORY_RATE_LIMIT_MAX_KEYS = 100_000;

/**
 * Fixed-window counters of one process, bounded: at most `maxKeys` windows are held (a reset key's
 * old window included, until it leaves its queue); a full store forgets the window closest to its
 * reset. Expired windows leave from the front of a queue per window length (windows of one length
 * reset in the order they opened), so no hit scans the counters.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, Window>();
  /** By window length; a few entries (the limits' windows). */
  private readonly queues = new Map<number, ResetQueue>();
  /** Windows in the queues: live ones, and replaced or reset ones not yet at their front. */
  private queued = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = MEMORY_RATE_LIMIT_MAX_KEYS,
  ) {}

  async hit(key: string, windowMs: number, cost = 1): Promise<Hit> {
    const now = this.now();
    this.expire(now);
    let window = this.windows.get(key);
    // A refund for a window that has since reset gives nothing back (the new window starts at 0).
    if (cost < 0 && (!window || window.resetAt <= now)) return { count: 0, resetInMs: windowMs };
    if (!window || window.resetAt <= now) {
      this.evict();
      window = { key, count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
      let queue = this.queues.get(windowMs);
      if (!queue) this.queues.set(windowMs, (queue = new ResetQueue()));
      queue.push(window);
      this.queued += 1;
    }
    window.count += cost;
    return { count: window.count, resetInMs: window.resetAt - now };
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  /** Takes `window` off its queue's front, and out of the map unless a newer window replaced it. */
  private drop(queue: ResetQueue, window: Window): void {
    queue.shift();
    this.queued -= 1;
    if (this.windows.get(window.key) === window) this.windows.delete(window.key);
  }

  private expire(now: number): void {
    for (const queue of this.queues.values()) {
      for (let first = queue.first(); first && first.resetAt <= now; first = queue.first()) this.drop(queue, first);
    }
  }

  /** Makes room for one window: forgets those that reset soonest. */
  private evict(): void {
    while (this.queued >= this.maxKeys) {
      let soonest: { queue: ResetQueue; window: Window } | undefined;
      for (const queue of this.queues.values()) {
        const first = queue.first();
        if (first && (!soonest || first.resetAt < soonest.window.resetAt)) soonest = { queue, window: first };
      }
      if (!soonest) return;
      this.drop(soonest.queue, soonest.window);
    }
  }
}

/** INCRBY + PEXPIRE NX in one round trip: atomic across instances. A refund of a window gone gives nothing back. */
const HIT_SCRIPT = `
if tonumber(ARGV[1]) < 0 and redis.call('EXISTS', KEYS[1]) == 0 then return {0, -2} end
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
return {count, ttl}`;

const HIT_SHA = createHash("sha1").update(HIT_SCRIPT).digest("hex");

export class RedisRateLimitStore implements RateLimitStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /**
   * The script by its SHA (every request hits at least one limit: no script text sent, none hashed
   * by Redis); sent whole only when Redis has not seen it yet (NOSCRIPT: after a restart, a failover
   * or SCRIPT FLUSH), which also loads it for the next calls.
   */
  async hit(key: string, windowMs: number, cost = 1): Promise<Hit> {
    const args = [1, this.prefix + key, cost, windowMs] as const;
    const reply = await this.redis.evalsha(HIT_SHA, ...args).catch((error: Error) => {
      if (!error.message.startsWith("NOSCRIPT")) throw error;
      return this.redis.eval(HIT_SCRIPT, ...args);
    });
    const [count, ttl] = reply as [number, number];
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
