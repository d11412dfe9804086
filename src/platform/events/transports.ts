import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "../logging/logger";
import type { Notification } from "./notifications";
import { NOTIFICATIONS, TransportUnavailableError, USER_EVENTS, type OutboxMessage, type Transport } from "./outbox";

/** Errors that mean "Redis is unreachable right now" rather than "this message is bad". */
function isConnectionError(error: unknown): boolean {
  const message = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Command timed out|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|enableOfflineQueue|connect/i.test(message);
}

export interface BullTransportOptions {
  /** BullMQ key prefix (deployments or test runs sharing a Redis stay apart). */
  prefix: string;
  /** How long finished jobs of user-events are kept, so a re-published message is recognised by its job id. */
  retentionSeconds: number;
  /**
   * How long a notification job is kept once the notification service has finished it (0: removed
   * then): its parameters hold verification and reset tokens, which must not outlive the mail.
   */
  notificationRetentionSeconds: number;
}

/** BullMQ's removeOnComplete/removeOnFail: finished jobs kept `seconds` (removed as later ones finish), or removed at once. */
const keptFor = (seconds: number) => (seconds === 0 ? true : { age: seconds });

/**
 * Service mode: each queue of the contract is a BullMQ queue. Job name = event type or template,
 * job id = outbox id (= event id), so a message published twice is one job.
 */
export class BullTransport implements Transport {
  private readonly queues: Map<string, Queue>;

  constructor(connection: Redis, options: BullTransportOptions) {
    const retention = new Map([
      [USER_EVENTS, options.retentionSeconds],
      [NOTIFICATIONS, options.notificationRetentionSeconds],
    ]);
    this.queues = new Map(
      [...retention].map(([name, seconds]) => [name, new Queue(name, { connection, prefix: options.prefix, defaultJobOptions: { removeOnComplete: keptFor(seconds), removeOnFail: keptFor(seconds) } })]),
    );
  }

  queue(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`no queue ${name}`);
    return queue;
  }

  async deliver(messages: OutboxMessage[]): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    for (const [name, queue] of this.queues) {
      const batch = messages.filter((m) => m.destination === name);
      if (batch.length === 0) continue;
      try {
        await queue.addBulk(batch.map((m) => ({ name: m.name, data: m.payload, opts: { jobId: m.id } })));
      } catch (error) {
        if (isConnectionError(error)) throw new TransportUnavailableError(`queue ${name}: ${(error as Error).message}`);
        for (const m of batch) failures.set(m.id, error as Error);
      }
    }
    return failures;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

/**
 * Embedded mode: there is no queue. A notification (with its link) goes to the log so a developer
 * can follow it; an event is logged at debug level (internal consumers get it from the relay).
 */
export class LogTransport implements Transport {
  constructor(private readonly logger: Logger) {}

  async deliver(messages: OutboxMessage[]): Promise<Map<string, Error>> {
    for (const m of messages) {
      if (m.destination === NOTIFICATIONS) {
        const n = m.payload as Notification;
        this.logger.info({ notification: { to: n.to, template: n.template, locale: n.locale, link: n.params.link } }, `notification ${n.template} to ${n.to}`);
      } else {
        this.logger.debug({ event: { id: m.id, type: m.name } }, "event delivered in-process");
      }
    }
    return new Map();
  }

  async close(): Promise<void> {}
}
