import { BackgroundLoop } from "../background-loop";
import type { Clock } from "../clock";
import { sql } from "../db/database";
import type { SqlClient } from "../db/sql";
import type { Logger } from "../logging/logger";
import type { Metrics } from "../metrics/metrics";
import type { EventHandlers } from "./handlers";
import { withTimeout } from "../../shared/time";
import { HANDLER_PREFIX, NOTIFICATIONS, TransportUnavailableError, type OutboxMessage, type Transport } from "./outbox";

export interface RelayOptions {
  batchSize: number;
  pollIntervalMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  /** How long delivered messages (and consumers' processed-event records) are kept. */
  retentionMs: number;
  /** Batches one relay has in flight at once, each in its own transaction (its own pooled connection). */
  concurrency: number;
  /** A transport that has not answered in this long is taken as unreachable: the batch rolls back and is tried again (no attempt counted). */
  deliveryTimeoutMs: number;
}

/** How often the relay deletes what has outlived the retention. */
const SWEEP_EVERY_MS = 10 * 60_000;
const SWEEP_BATCH = 5_000;

const MAX_BACKOFF_MS = 5 * 60_000;

/** How seldom a lane after the first polls by itself: it works when the lane before it fills a batch and wakes it. */
const LANE_POLL_MS = 60_000;

/** The relay's `deliveryTimeoutMs` in an app: what Prisma's interactive transaction allowed the relay before. */
export const DELIVERY_TIMEOUT_MS = 60_000;

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

/** What becomes of one claimed row: delivered (no error), not sent (why), or failed (error, next attempt, parked). */
interface Outcome {
  id: string;
  error: string | null;
  next: string | null;
  parked: string | null;
  notSent: string | null;
}

const CLAIM = (limit: number) => sql`
  SELECT o.id, o.destination, o.name, o.payload, o.attempts
  FROM outbox_events o
  WHERE o.published_at IS NULL AND o.parked_at IS NULL AND o.next_attempt_at <= now()
    AND NOT EXISTS (SELECT 1 FROM outbox_events p WHERE ${WAITS_FOR})
  ORDER BY o.seq
  LIMIT ${limit}
  FOR UPDATE SKIP LOCKED`;

/**
 * Every claimed row's outcome in one statement: a delivered (or not sent) row is marked published
 * and loses its notification secrets; a failed one counts the attempt, waits until `next` and is
 * parked (losing them too) at its last attempt.
 */
const RECORD = (outcomes: readonly Outcome[]) => sql`
  UPDATE outbox_events SET
    attempts = attempts + 1,
    published_at = CASE WHEN m.error IS NULL THEN now() END,
    last_error = COALESCE(m.error, last_error),
    next_attempt_at = COALESCE(m.next, next_attempt_at),
    parked_at = m.parked,
    payload = CASE WHEN m.error IS NULL OR m.parked IS NOT NULL THEN ${WITHOUT_NOTIFICATION_SECRETS} ELSE payload END
      || CASE WHEN m."notSent" IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('notSent', m."notSent") END
  FROM jsonb_to_recordset(${JSON.stringify(outcomes)}::jsonb) AS m(id uuid, error text, next timestamptz, parked timestamptz, "notSent" text)
  WHERE outbox_events.id = m.id`;

/** One of the relay's loops: claims and delivers batches until stopped. */
class Lane extends BackgroundLoop {
  constructor(
    intervalMs: number,
    batchSize: number,
    private readonly round: () => Promise<number>,
    private readonly failed: (error: unknown, failures: number) => void,
  ) {
    super(intervalMs, batchSize);
  }

  protected step(): Promise<number> {
    return this.round();
  }

  protected onError(error: unknown, failures: number): void {
    this.failed(error, failures);
  }
}

/**
 * Moves committed outbox rows to their transport: queues (BullMQ or the log) and internal
 * consumers. Wakes on NOTIFY (or `wake()`) and polls as a fallback. Several relays may run at
 * once, and each has `concurrency` lanes: every batch is claimed in a transaction of its own with
 * FOR UPDATE SKIP LOCKED, and only rows with no earlier undelivered row of the same aggregate and
 * destination, so each aggregate's messages leave in order while one lane's batch is in Redis and
 * another's in the database. A failed message is retried with exponential backoff and parked after
 * `maxAttempts`; a parked message, undelivered, holds back its aggregate's later messages on that
 * destination until it is replayed. An unreachable transport (Redis down) costs no attempt: the
 * relay waits and tries again. The first lane polls and sweeps; a lane that fills its batch wakes the
 * next, and the others poll only every LANE_POLL_MS, so an idle relay costs what a one-lane relay does.
 */
export class OutboxRelay {
  private readonly lanes: Lane[];
  private lastSweep = 0;

  constructor(
    private readonly sqlClient: SqlClient,
    private readonly transport: Transport,
    private readonly handlers: EventHandlers,
    private readonly options: RelayOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.lanes = Array.from(
      { length: options.concurrency },
      (_, i) => new Lane(i === 0 ? options.pollIntervalMs : Math.max(options.pollIntervalMs, LANE_POLL_MS), options.batchSize, () => this.round(i), (error, failures) => this.failed(error, failures)),
    );
  }

  start(): void {
    for (const lane of this.lanes) lane.start();
  }

  /** Wakes the first lane (after a commit); the others follow while batches come full. */
  wake(): void {
    this.lanes[0]?.wake();
  }

  async stop(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.stop()));
  }

  private async round(lane: number): Promise<number> {
    if (lane === 0) {
      const now = this.clock.now().getTime();
      if (now - this.lastSweep >= SWEEP_EVERY_MS) {
        this.lastSweep = now;
        await this.sweep();
      }
    }
    const found = await this.relayOnce();
    if (found === this.options.batchSize) this.lanes[lane + 1]?.wake();
    return found;
  }

  /**
   * Deletes delivered messages, consumers' records of processed events and single-use tokens
   * expired, older than the retention (messages in batches, so no statement holds many locks). Undelivered and parked messages stay.
   * Redelivery needs a processed-event record only while its message is undelivered, which a
   * delivered message no longer is. Returns how many outbox rows it deleted.
   */
  async sweep(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.options.retentionMs);
    const query = this.sqlClient.query;
    let deleted = 0;
    for (;;) {
      const [row] = await query<{ n: number }>(sql`
        WITH gone AS (DELETE FROM outbox_events WHERE id IN (
          SELECT id FROM outbox_events WHERE published_at < ${cutoff} LIMIT ${SWEEP_BATCH}) RETURNING 1)
        SELECT count(*)::int AS n FROM gone`);
      const n = row?.n ?? 0;
      deleted += n;
      if (n < SWEEP_BATCH) break;
    }
    await query(sql`DELETE FROM processed_events WHERE processed_at < ${cutoff}`);
    // Single-use tokens (links, MFA challenges with the attempt they were bound to) go once expired
    // for as long: personal data kept no longer than the messages that carried it.
    await query(sql`DELETE FROM single_use_tokens WHERE expires_at < ${cutoff}`);
    return deleted;
  }

  private failed(error: unknown, failures: number): void {
    const level = error instanceof TransportUnavailableError ? "warn" : "error";
    if (failures === 1 || failures % 50 === 0) this.logger[level]({ err: { message: (error as Error).message }, failures }, "outbox relay cannot deliver; retrying");
  }

  /** Claims and delivers one batch in one transaction; returns how many messages it handled. */
  relayOnce(): Promise<number> {
    return this.sqlClient.transaction(async (query) => {
      const messages = await query<OutboxMessage>(CLAIM(this.options.batchSize));
      if (messages.length === 0) return 0;
      // Notifications the recipient does not want (a screen decides, at delivery) go nowhere and
      // leave the outbox as delivered, their row saying why.
      const unwanted = await this.handlers.screened(messages.filter((m) => m.destination === NOTIFICATIONS), query);
      const toHandlers = messages.filter((m) => m.destination.startsWith(HANDLER_PREFIX));
      const toTransport = messages.filter((m) => !m.destination.startsWith(HANDLER_PREFIX) && !unwanted.has(m.id));
      const failures = new Map([...(await this.deliverInTime(toTransport)), ...(await this.handlers.deliver(toHandlers, query))]);
      await query(RECORD(messages.map((m) => this.outcome(m, failures.get(m.id), unwanted.get(m.id)))));
      for (const m of messages) if (unwanted.has(m.id)) this.logger.debug({ outboxId: m.id, template: m.name, why: unwanted.get(m.id) }, "notification not sent");
      return messages.length;
    });
  }

  /** The transport's delivery, or TransportUnavailableError when it does not answer within `deliveryTimeoutMs`. */
  private async deliverInTime(messages: OutboxMessage[]): Promise<Map<string, Error>> {
    if (messages.length === 0) return new Map();
    const ms = this.options.deliveryTimeoutMs;
    return withTimeout(this.transport.deliver(messages), ms, () => new TransportUnavailableError(`the transport did not answer within ${ms} ms`));
  }

  /** Counts and logs what became of `m`, and says how its row is to change. */
  private outcome(m: OutboxMessage, error: Error | undefined, notSent: string | undefined): Outcome {
    const labels = { destination: m.destination };
    if (!error) {
      if (notSent === undefined) this.metrics.outboxPublished.inc(labels);
      return { id: m.id, error: null, next: null, parked: null, notSent: notSent ?? null };
    }
    this.metrics.outboxFailed.inc(labels);
    const attempts = m.attempts + 1;
    const park = attempts >= this.options.maxAttempts;
    const now = this.clock.now().getTime();
    this.logger[park ? "error" : "warn"]({ outboxId: m.id, destination: m.destination, type: m.name, attempts, err: { message: error.message } }, park ? "message parked after repeated failures" : "message delivery failed; will retry");
    return { id: m.id, error: error.message.slice(0, 2000), next: new Date(now + backoffMs(attempts, this.options.backoffBaseMs)).toISOString(), parked: park ? new Date(now).toISOString() : null, notSent: null };
  }
}
