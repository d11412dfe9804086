import { createPubSub } from "@graphql-yoga/subscription";
import type { Redis } from "ioredis";
import type { Logger } from "../logging/logger";

/** The PubSub that feeds GraphQL subscriptions (type-graphql's `PubSub` shape). */
export type PubSub = ReturnType<typeof createPubSub<Record<string, [unknown]>>>;

/** Where the pub/sub channels of a deployment whose Redis keys start with `redisPrefix` are. */
export const pubSubPrefix = (redisPrefix: string) => `${redisPrefix}pubsub:`;

/** Single process (embedded mode): an in-memory EventTarget. */
export function createMemoryPubSub(): PubSub {
  return createPubSub();
}

/**
 * Across instances (service mode): events travel over Redis pub/sub as JSON, so a subscriber on
 * one instance receives what another instance published. `prefix` keeps channels of different
 * deployments (or test runs) on one Redis apart.
 */
export function createRedisPubSub(publisher: Redis, subscriber: Redis, prefix: string): PubSub {
  return createPubSub({ eventTarget: new RedisEventTarget(publisher, subscriber, prefix) as unknown as EventTarget as never });
}

type Listener = ((event: Event) => void) | { handleEvent(event: Event): void };

class RedisEventTarget {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {
    subscriber.on("message", (channel: string, message: string) => {
      const topic = channel.slice(this.prefix.length);
      const listeners = this.listeners.get(topic);
      if (!listeners || !channel.startsWith(this.prefix)) return;
      const event = new CustomEvent(topic, { detail: message === "" ? null : JSON.parse(message) });
      for (const listener of listeners) {
        if (typeof listener === "function") listener(event);
        else listener.handleEvent(event);
      }
    });
  }

  addEventListener(topic: string, listener: Listener | null): void {
    if (!listener) return;
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
      this.subscriber.subscribe(this.prefix + topic).catch(() => undefined);
    }
    set.add(listener);
  }

  removeEventListener(topic: string, listener: Listener | null): void {
    const set = this.listeners.get(topic);
    if (!set || !listener) return;
    set.delete(listener);
    if (set.size === 0) {
      this.listeners.delete(topic);
      this.subscriber.unsubscribe(this.prefix + topic).catch(() => undefined);
    }
  }

  dispatchEvent(event: CustomEvent): boolean {
    // Best effort, as Redis pub/sub is: a message published while Redis is down is lost.
    this.publisher.publish(this.prefix + event.type, event.detail === undefined ? "" : JSON.stringify(event.detail)).catch(() => undefined);
    return true;
  }
}

/**
 * Calls `listener` with every message published on `topic`, on any instance, until the returned
 * unsubscribe is called. A listener that throws ends the loop, logged as `what` failing.
 */
export function listen(pubSub: PubSub, topic: string, listener: (message: unknown) => void, logger: Logger, what: string): () => Promise<void> {
  const iterator = pubSub.subscribe(topic)[Symbol.asyncIterator]();
  void (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      listener(next.value);
    }
  })().catch((error: unknown) => logger.error({ err: error }, `${what} failed`));
  return async () => {
    await iterator.return?.();
  };
}

/** Publishes `message` to every instance; when pub/sub cannot take it, logs `could not announce <what>` and goes on. */
export function announce(pubSub: PubSub, topic: string, message: unknown, logger: Logger, what: string): void {
  try {
    pubSub.publish(topic, message);
  } catch (error) {
    logger.warn({ err: { message: (error as Error).message } }, `could not announce ${what}`);
  }
}
