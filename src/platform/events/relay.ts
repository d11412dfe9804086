import { BackgroundLoop } from "../background-loop";
import type { Clock } from "../clock";
import { sql, type Prisma, type Tx } from "../db/database";
import type { Logger } from "../logging/logger";
import type { Metrics } from "../metrics/metrics";
import type { EventHandlers } from "./handlers";
import { HANDLER_PREFIX, NOTIFICATIONS, TransportUnavailableError, type OutboxMessage, type Transport } from "./outbox";

export interface RelayOptions {
  batchSize: number;
  pollIntervalMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  /** How long delivered messages (and consumers' processed-event records) are kept. */
  retentionMs: number;
}

/** How often the relay deletes what has outlived the retention. */
const SWEEP_EVERY_MS = 10 * 60_000;
const SWEEP_BATCH = 5_000;

const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * An outbox row's payload as kept once it is delivered or parked: a notification keeps the names
 * of its parameters, not their values, so verification and reset tokens (and the links that carry
 * them) outlive neither the mail nor its last attempt in the database.
 */
const WITHOUT_NOTIFICATION_SECRETS = sql`CASE WHEN destination = ${NOTIFICATIONS} THEN payload || jsonb_build_object('params',
  COALESCE((SELECT jsonb_object_agg(k, '[REDACTED]'::text) FROM jsonb_object_keys(payload->'params') AS k), '{}'::jsonb))
  ELSE payload END`;

/**
 * SQL: undelivered outbox row `o` must wait for row `p`, undelivered too (pending or parked), which
 * comes before it in delivery order: the same aggregate and destination, committed earlier. (Both
 * rows named undelivered, either side can be found in the partial index of undelivered rows.)
 */
export const WAITS_FOR = sql`p.aggregate_type = o.aggregate_type AND p.aggregate_id = o.aggregate_id
  AND p.destination = o.destination AND p.seq < o.seq AND p.published_at IS NULL AND o.published_at IS NULL`;

/** Delay before attempt `attempts + 1` of a failed message: exponential, capped. */
export function backoffMs(attempts: number, baseMs: number): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempts - 1));
}

interface ClaimedRow {
  id: string;
  destination: string;
  name: string;
  payload: unknown;
  attempts: number;
}

/**
 * Moves committed outbox rows to their transport: queues (BullMQ or the log) and internal
 * consumers. Wakes on NOTIFY (or `wake()`) and polls as a fallback. Several relays may run at
 * once: each claims rows with FOR UPDATE SKIP LOCKED, and only a row with no earlier undelivered
 * row of the same aggregate and destination, so each aggregate's messages leave in order. A
 * failed message is retried with exponential backoff and parked after `maxAttempts`; a parked
 * message, undelivered, holds back its aggregate's later messages on that destination until it is
 * replayed. An unreachable transport (Redis down) costs no attempt: the relay waits and tries again.
 */
export class OutboxRelay extends BackgroundLoop {
  constructor(
    private readonly prisma: Prisma,
    private readonly transport: Transport,
    private readonly handlers: EventHandlers,
    private readonly options: RelayOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    super(options.pollIntervalMs);
  }

  private lastSweep = 0;

  protected async step(): Promise<number> {
    const now = this.clock.now().getTime();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = now;
      await this.sweep();
    }
    return this.relayOnce();
  }

  /**
   * Deletes delivered messages, consumers' records of processed events and single-use tokens
   * expired, older than the retention (messages in batches, so no statement holds many locks). Undelivered and parked messages stay.
   * Redelivery needs a processed-event record only while its message is undelivered, which a
   * delivered message no longer is. Returns how many outbox rows it deleted.
   */
  async sweep(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.options.retentionMs);
    let deleted = 0;
    for (;;) {
      const n = await this.prisma.$executeRaw`
        DELETE FROM outbox_events WHERE id IN (
          SELECT id FROM outbox_events WHERE published_at < ${cutoff} LIMIT ${SWEEP_BATCH})`;
      deleted += n;
      if (n < SWEEP_BATCH) break;
    }
    await this.prisma.$executeRaw`DELETE FROM processed_events WHERE processed_at < ${cutoff}`;
    // Single-use tokens (links, MFA challenges with the attempt they were bound to) go once expired
    // for as long: personal data kept no longer than the messages that carried it.
    await this.prisma.$executeRaw`DELETE FROM single_use_tokens WHERE expires_at < ${cutoff}`;
    return deleted;
  }

  protected onError(error: unknown, failures: number): void {
    const level = error instanceof TransportUnavailableError ? "warn" : "error";
    if (failures === 1 || failures % 50 === 0) this.logger[level]({ err: { message: (error as Error).message }, failures }, "outbox relay cannot deliver; retrying");
  }

  /** Claims and delivers one batch; returns how many messages it handled. */
  async relayOnce(): Promise<number> {
    return this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<ClaimedRow[]>`
          SELECT o.id, o.destination, o.name, o.payload, o.attempts
          FROM outbox_events o
          WHERE o.published_at IS NULL AND o.parked_at IS NULL AND o.next_attempt_at <= now()
            AND NOT EXISTS (SELECT 1 FROM outbox_events p WHERE ${WAITS_FOR})
          ORDER BY o.seq
          LIMIT ${this.options.batchSize}
          FOR UPDATE SKIP LOCKED`;
        if (rows.length === 0) return 0;
        const messages: OutboxMessage[] = rows;
        // Notifications the recipient does not want (a screen decides, at delivery) go nowhere and
        // leave the outbox as delivered, their row saying why.
        const unwanted = await this.handlers.screened(messages.filter((m) => m.destination === NOTIFICATIONS), tx);
        const toHandlers = messages.filter((m) => m.destination.startsWith(HANDLER_PREFIX));
        const toTransport = messages.filter((m) => !m.destination.startsWith(HANDLER_PREFIX) && !unwanted.has(m.id));
        const failures = new Map([...(await this.transport.deliver(toTransport)), ...(await this.handlers.deliver(toHandlers, tx))]);
        const delivered = messages.filter((m) => !failures.has(m.id)).map((m) => m.id);
        if (delivered.length > 0) {
          await tx.$executeRaw`
            UPDATE outbox_events SET published_at = now(), attempts = attempts + 1, payload = ${WITHOUT_NOTIFICATION_SECRETS}
            WHERE id = ANY(${delivered}::uuid[])`;
        }
        if (unwanted.size > 0) await this.recordNotSent(tx, messages, unwanted);
        for (const m of messages) {
          if (unwanted.has(m.id)) continue;
          const labels = { destination: m.destination };
          const error = failures.get(m.id);
          if (!error) {
            this.metrics.outboxPublished.inc(labels);
            continue;
          }
          this.metrics.outboxFailed.inc(labels);
          const attempts = m.attempts + 1;
          const park = attempts >= this.options.maxAttempts;
          const next = new Date(this.clock.now().getTime() + backoffMs(attempts, this.options.backoffBaseMs));
          await tx.$executeRaw`
            UPDATE outbox_events SET attempts = ${attempts}, last_error = ${error.message.slice(0, 2000)},
              next_attempt_at = ${next}, parked_at = ${park ? this.clock.now() : null}, payload = ${park ? WITHOUT_NOTIFICATION_SECRETS : sql`payload`}
            WHERE id = ${m.id}::uuid`;
          this.logger[park ? "error" : "warn"]({ outboxId: m.id, destination: m.destination, type: m.name, attempts, err: { message: error.message } }, park ? "message parked after repeated failures" : "message delivery failed; will retry");
        }
        return messages.length;
      },
      { timeout: 60_000, maxWait: 10_000 },
    );
  }

  /** Marks screened notifications `notSent` (why) on their row, and logs each at debug level (no address). */
  private async recordNotSent(tx: Tx, messages: OutboxMessage[], unwanted: Map<string, string>): Promise<void> {
    const marks = [...unwanted].map(([id, why]) => ({ id, why }));
    await tx.$executeRaw`
      UPDATE outbox_events o SET payload = o.payload || jsonb_build_object('notSent', m.why)
      FROM jsonb_to_recordset(${JSON.stringify(marks)}::jsonb) AS m(id uuid, why text) WHERE o.id = m.id`;
    for (const m of messages) {
      const why = unwanted.get(m.id);
      if (why) this.logger.debug({ outboxId: m.id, template: m.name, why }, "notification not sent");
    }
  }
}
