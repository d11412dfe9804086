import type { Tx } from "../db/database";
import type { EventEnvelope, EventType } from "./catalogue";
import { HANDLER_PREFIX, TransportUnavailableError, type OutboxMessage } from "./outbox";

export type EventHandler<T extends EventType> = (event: EventEnvelope<T>, tx: Tx) => Promise<void>;

/**
 * Internal consumers: idempotent handlers by event type, the same in embedded and service mode.
 * Each (event, consumer) pair is an outbox row of its own, so a failing consumer is retried and
 * parked alone, holding back neither other consumers nor the queues. A handler runs inside the
 * relay's transaction, under a savepoint, together with the record that its consumer processed the
 * event and the mark that the row was delivered: a redelivered event is skipped, the handler's
 * database writes happen exactly once, and a failing handler undoes only its own writes. (One
 * connection per delivery, which embedded mode's single-connection database needs.)
 */
export class EventHandlers {
  private readonly handlers = new Map<string, Map<string, EventHandler<EventType>>>();

  on<T extends EventType>(type: T, consumer: string, handler: EventHandler<T>): void {
    if (!/^[a-z][a-z0-9-]{0,60}$/.test(consumer)) throw new Error(`consumer name "${consumer}" must be lowercase letters, digits and dashes`);
    const byConsumer = this.handlers.get(type) ?? new Map<string, EventHandler<EventType>>();
    if (byConsumer.has(consumer)) throw new Error(`consumer ${consumer} already handles ${type}`);
    byConsumer.set(consumer, handler as unknown as EventHandler<EventType>);
    this.handlers.set(type, byConsumer);
  }

  /** Destinations (outbox rows) an event of this type fans out to. */
  destinationsOf(type: EventType): string[] {
    return [...(this.handlers.get(type)?.keys() ?? [])].map((consumer) => HANDLER_PREFIX + consumer);
  }

  async deliver(messages: OutboxMessage[], tx: Tx): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    for (const message of messages) {
      const consumer = message.destination.slice(HANDLER_PREFIX.length);
      const handler = this.handlers.get(message.name)?.get(consumer);
      if (!handler) {
        failures.set(message.id, new Error(`no handler ${consumer} for ${message.name}`));
        continue;
      }
      const event = message.payload as EventEnvelope;
      await tx.$executeRawUnsafe("SAVEPOINT event_handler");
      try {
        const inserted = await tx.$executeRaw`INSERT INTO processed_events (consumer, event_id) VALUES (${consumer}, ${event.id}::uuid) ON CONFLICT DO NOTHING`;
        if (inserted === 1) await handler(event, tx);
        await tx.$executeRawUnsafe("RELEASE SAVEPOINT event_handler");
      } catch (error) {
        await tx.$executeRawUnsafe("ROLLBACK TO SAVEPOINT event_handler");
        // A dependency is down (not this message's fault): the relay retries later, counting nothing.
        if (error instanceof TransportUnavailableError) throw error;
        failures.set(message.id, error instanceof Error ? error : new Error(String(error)));
      }
    }
    return failures;
  }
}
