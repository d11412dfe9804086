import type pg from "pg";
import type { Config } from "../../config";
import { AuditChainer, CheckpointSigner } from "../audit/chain";
import type { Clock } from "../clock";
import type { Prisma } from "../db/database";
import type { SqlClient } from "../db/sql";
import { listen } from "../db/listen";
import type { Logger } from "../logging/logger";
import type { Metrics } from "../metrics/metrics";
import { EventHandlers } from "./handlers";
import type { Transport } from "./outbox";
import { DELIVERY_TIMEOUT_MS, OutboxRelay, WAITS_FOR } from "./relay";
import { UnitOfWork } from "./unit-of-work";

/** The event backbone of one app: unit of work, internal consumers, relay and audit chainer. */
export interface Events {
  unitOfWork: UnitOfWork;
  handlers: EventHandlers;
  relay: OutboxRelay;
  chainer: AuditChainer;
  signer: CheckpointSigner;
  /** Starts relaying and chaining (when this instance relays) and listens for commits. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createEvents(options: { config: Config; prisma: Prisma; sql: SqlClient; transport: Transport; clock: Clock; logger: Logger; metrics: Metrics }): Events {
  const { config, prisma, sql, transport, clock, logger, metrics } = options;
  const handlers = new EventHandlers();
  const relay = new OutboxRelay(
    sql,
    transport,
    handlers,
    { batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS, maxAttempts: config.OUTBOX_MAX_ATTEMPTS, backoffBaseMs: config.OUTBOX_BACKOFF_MS, retentionMs: config.OUTBOX_RETENTION_S * 1000, concurrency: config.OUTBOX_RELAY_CONCURRENCY, deliveryTimeoutMs: DELIVERY_TIMEOUT_MS },
    clock,
    logger,
    metrics,
  );
  let listener: pg.Client | null = null;
  // A commit wakes the relay in-process only while no LISTEN connection hears its NOTIFY: waking on
  // both had every commit followed by a second, empty round (three round trips).
  const unitOfWork = new UnitOfWork(prisma, sql, handlers, clock, () => {
    if (!listener) relay.wake();
  });
  const signer = new CheckpointSigner(config.AUDIT_SIGNING_KEY);
  const chainer = new AuditChainer(unitOfWork, signer, { batchSize: 500, checkpointEvery: config.AUDIT_CHECKPOINT_EVERY, intervalMs: config.OUTBOX_POLL_INTERVAL_MS }, logger);
  metrics.observeOutbox(async () => {
    const [row] = await prisma.$queryRaw<{ pending: number; parked: number; blocked: number; oldest: number | null }[]>`
      SELECT count(*) FILTER (WHERE o.parked_at IS NULL)::int AS pending,
             count(*) FILTER (WHERE o.parked_at IS NOT NULL)::int AS parked,
             count(*) FILTER (WHERE o.parked_at IS NULL AND EXISTS (
               SELECT 1 FROM outbox_events p WHERE ${WAITS_FOR} AND p.parked_at IS NOT NULL))::int AS blocked,
             extract(epoch FROM now() - min(o.created_at) FILTER (WHERE o.parked_at IS NULL))::float AS oldest
      FROM outbox_events o WHERE o.published_at IS NULL`;
    return { pending: row?.pending ?? 0, parked: row?.parked ?? 0, blocked: row?.blocked ?? 0, oldestPendingSeconds: row?.oldest ?? 0 };
  });

  return {
    unitOfWork,
    handlers,
    relay,
    chainer,
    signer,
    async start() {
      if (!config.OUTBOX_RELAY) return;
      relay.start();
      chainer.start();
      // LISTEN for commits of other instances (each unit of work NOTIFYs `identity_outbox`). Polling
      // covers a lost connection; this only makes delivery prompt.
      if (config.mode === "service") {
        listener = await listen(config.DATABASE_URL as string, "identity_outbox", () => relay.wake(), (error) => {
          logger.warn({ err: { message: error.message } }, "outbox LISTEN connection lost; relying on polling and this instance's commits");
          listener = null;
        });
      }
    },
    async stop() {
      const listening = listener;
      listener = null;
      await listening?.end().catch(() => undefined);
      await relay.stop();
      await chainer.stop();
      await transport.close();
    },
  };
}

