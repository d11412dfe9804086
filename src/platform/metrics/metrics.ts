import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { HashingObserver } from "../crypto/passwords";

export interface OutboxState {
  pending: number;
  parked: number;
  /** Pending messages held back by a parked message of their aggregate and destination. */
  blocked: number;
  oldestPendingSeconds: number;
}

/** Prometheus metrics of one app instance (its own registry, so tests can run several apps). */
export class Metrics {
  readonly registry = new Registry();

  readonly graphqlOperations = new Counter({
    name: "graphql_operations_total",
    help: "GraphQL operations by operation name, type and outcome",
    labelNames: ["operation", "type", "outcome"] as const,
    registers: [this.registry],
  });

  readonly graphqlDuration = new Histogram({
    name: "graphql_operation_duration_seconds",
    help: "GraphQL operation latency by operation name and type",
    labelNames: ["operation", "type"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly rememberedOperations = new Counter({
    name: "graphql_remembered_operations_total",
    help: "Operations answered without Apollo's request pipeline, remembered once Apollo had validated them",
    registers: [this.registry],
  });

  readonly dbQueries = new Counter({
    name: "db_queries_total",
    help: "SQL queries sent by the Prisma client",
    registers: [this.registry],
  });

  readonly dbQueryDuration = new Histogram({
    name: "db_query_duration_seconds",
    help: "SQL query latency as reported by the Prisma client",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly passwordHashing = new Histogram({
    name: "password_hashing_seconds",
    help: "bcrypt time on a hashing thread, by operation (hash, compare, pad: padding a comparison with a cheaper stored hash to the configured cost) and cost factor",
    labelNames: ["operation", "cost"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /** The password hasher's observer: its threads' time, its queue and the work it dropped. */
  readonly hashing: HashingObserver = (() => {
    const registers = [this.registry];
    const waiting = new Gauge({ name: "password_hashing_waiting", help: "Password hashing operations waiting for a thread", registers });
    const dropped = new Counter({
      name: "password_hashing_dropped_total",
      help: "Password hashing operations never run, by reason (queue_full: refused with RATE_LIMITED; abandoned: the caller had gone)",
      labelNames: ["reason"] as const,
      registers,
    });
    return {
      ran: (operation, cost, seconds) => this.passwordHashing.observe({ operation, cost: String(cost) }, seconds),
      waiting: (count) => waiting.set(count),
      dropped: (reason) => dropped.inc({ reason }),
    };
  })();

  readonly outboxPublished = new Counter({
    name: "outbox_published_total",
    help: "Outbox messages delivered, by destination (queue or internal consumer)",
    labelNames: ["destination"] as const,
    registers: [this.registry],
  });

  readonly outboxFailed = new Counter({
    name: "outbox_failed_total",
    help: "Outbox delivery failures, by destination",
    labelNames: ["destination"] as const,
    registers: [this.registry],
  });

  private outboxState: (() => Promise<OutboxState>) | null = null;

  /** Read at each scrape (one query shared by the gauges), not kept up to date on every commit. */
  readonly outboxGauges = (() => {
    // The gauges are collected together in one scrape: share one query between them.
    let inFlight: Promise<OutboxState> | null = null;
    const read = () => {
      inFlight ??= (this.outboxState ? this.outboxState() : Promise.resolve({ pending: 0, parked: 0, blocked: 0, oldestPendingSeconds: 0 })).finally(() =>
        setImmediate(() => (inFlight = null)),
      );
      return inFlight;
    };
    const gauge = (name: string, help: string, pick: (s: OutboxState) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          this.set(pick(await read()));
        },
      });
    return [
      gauge("outbox_pending", "Committed outbox messages not yet delivered", (s) => s.pending),
      gauge("outbox_parked", "Outbox messages parked after repeated failures (dead letter)", (s) => s.parked),
      gauge("outbox_blocked", "Pending outbox messages held back by a parked message of their aggregate and destination", (s) => s.blocked),
      gauge("outbox_oldest_pending_age_seconds", "Age of the oldest undelivered outbox message", (s) => s.oldestPendingSeconds),
    ];
  })();

  /** Where the outbox gauges read from (set once the database is open). */
  observeOutbox(state: () => Promise<OutboxState>): void {
    this.outboxState = state;
  }

  private readonly operationNames = new Set<string>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Operation names come from callers; keep the label's cardinality bounded so a client cannot
   * grow the registry without limit.
   */
  operationLabel(name: string | null | undefined): string {
    if (!name) return "anonymous";
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return "other";
    this.operationNames.add(name);
    return name;
  }
}

const MAX_OPERATION_NAMES = 500;
