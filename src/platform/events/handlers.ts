import { sql } from "../db/database";
import type { Query } from "../db/sql";
import { notificationTemplates } from "../../modules/declarations";
import type { EventEnvelope, EventType } from "./catalogue";
import { ALWAYS_EMAILED_TOPIC, type Notification, type NotificationScreen, type NotificationTemplates, type ScreenedNotification } from "./notifications";
import { asError } from "../../shared/errors";
import { HANDLER_PREFIX, TransportUnavailableError, type OutboxMessage } from "./outbox";

/** Handles one event; `query` runs statements in the relay's transaction (its writes commit with the delivery). */
export type EventHandler<T extends EventType> = (event: EventEnvelope<T>, query: Query) => Promise<void>;

const SAVEPOINT = sql`SAVEPOINT event_handler`;
const RELEASE = sql`RELEASE SAVEPOINT event_handler`;
const ROLLBACK_TO = sql`ROLLBACK TO SAVEPOINT event_handler`;

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
  private readonly screens: NotificationScreen[] = [];

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

  async deliver(messages: OutboxMessage[], query: Query): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    for (const message of messages) {
      const consumer = message.destination.slice(HANDLER_PREFIX.length);
      const handler = this.handlers.get(message.name)?.get(consumer);
      if (!handler) {
        failures.set(message.id, new Error(`no handler ${consumer} for ${message.name}`));
        continue;
      }
      const event = message.payload as EventEnvelope;
      await query(SAVEPOINT);
      try {
        const inserted = await query(sql`INSERT INTO processed_events (consumer, event_id) VALUES (${consumer}, ${event.id}::uuid) ON CONFLICT DO NOTHING RETURNING 1`);
        if (inserted.length === 1) await handler(event, query);
        await query(RELEASE);
      } catch (error) {
        await query(ROLLBACK_TO);
        // A dependency is down (not this message's fault): the relay retries later, counting nothing.
        if (error instanceof TransportUnavailableError) throw error;
        failures.set(message.id, asError(error));
      }
    }
    return failures;
  }

  /**
   * A screen the relay asks before it sends notifications (the recipient's preferences). It sees
   * only templates of a person's topic other than `security`: no screen can stop a security mail
   * or a message to staff.
   */
  screenNotifications(screen: NotificationScreen): void {
    this.screens.push(screen);
  }

  /** The notifications among `messages` that a screen stops, by outbox id, each with why. */
  async screened(messages: OutboxMessage[], query: Query): Promise<Map<string, string>> {
    if (this.screens.length === 0) return new Map();
    const candidates = messages.flatMap((m): ScreenedNotification[] => {
      const { to, template } = m.payload as Notification;
      const topic = (notificationTemplates as NotificationTemplates)[template]?.topic;
      return topic === undefined || topic === ALWAYS_EMAILED_TOPIC || topic === "staff" ? [] : [{ id: m.id, to, template, topic }];
    });
    if (candidates.length === 0) return new Map();
    const stopped = new Map<string, string>();
    for (const screen of this.screens) for (const [id, why] of await screen(candidates, query)) stopped.set(id, why);
    return stopped;
  }
}
