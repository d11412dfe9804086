import { randomUUID } from "node:crypto";
import type { Clock } from "../clock";
import { empty, sql, type Prisma, type Sql, type Tx } from "../db/database";
import type { Query, SqlClient } from "../db/sql";
import { eventCatalogue } from "../../modules/declarations";
import { validatePayload, type EventDefinition, type EventEnvelope, type EventPayload, type EventType } from "./catalogue";
import type { EventHandlers } from "./handlers";
import type { Notification } from "./notifications";
import { NOTIFICATIONS, USER_EVENTS } from "./outbox";

/** Who did it. */
export interface Actor {
  type: "user" | "service" | "system" | "anonymous";
  id: string | null;
}

/** Where it came from (absent for background work). */
export interface Origin {
  actor: Actor;
  ipAddress?: string | null;
  userAgent?: string | null;
  /** ISO 3166 country, when a trusted proxy said so. */
  country?: string | null;
  requestId?: string | null;
}

export interface AuditEntry {
  action: string;
  outcome?: "success" | "failure" | "denied";
  subjectType?: string;
  subjectId?: string;
  /** Context of the action; keys that name secrets are masked before storage. */
  metadata?: Record<string, unknown>;
}

/** What a unit of work can do besides its own writes (all of it commits or none of it). */
export interface WorkEffects {
  /** Runs a statement in the unit of work's transaction (rows as `SqlClient` gives them). */
  query: Query;
  /** Records a domain event; returns its id. The payload is checked against the catalogue. */
  publish<T extends EventType>(type: T, aggregateId: string, data: EventPayload<T>): string;
  /** Queues a message to a person on `notifications`. */
  notify(notification: Notification): void;
  audit(entry: AuditEntry): void;
  /**
   * Runs `effect` once the unit of work has committed (never if it rolls back): for best-effort
   * signals such as pub/sub announcements, which must not announce what did not happen and need
   * not wait for the relay. An effect that throws is ignored (what committed stays committed): keep them small.
   */
  afterCommit(effect: () => void): void;
}

/** A unit of work on a Prisma interactive transaction: its writes through `tx` (Prisma's models). */
export interface WorkScope extends WorkEffects {
  tx: Tx;
}

const SECRET_KEY = /pass(word)?|secret|token|code|otp|credential|authorization|cookie/i;

/** Masks values under keys that name secrets, at any depth. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? "[REDACTED]" : maskSecrets(v)]));
  }
  return value;
}

/** Waiting for a pooled connection beyond Prisma's default 2 s is better than failing a burst. */
const TRANSACTION_OPTIONS = { maxWait: 5_000, timeout: 15_000 };

export interface AuditRow {
  occurredAt: string;
  actorType: Actor["type"];
  actorId: string | null;
  action: string;
  subjectType: string | null;
  subjectId: string | null;
  outcome: NonNullable<AuditEntry["outcome"]>;
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
  metadata: unknown;
}

/** A WITH query `audit` inserting the rows in order, when `condition` (a WHERE clause, or empty) holds. */
function auditInsert(rows: readonly AuditRow[], condition: Sql): Sql {
  return sql`audit AS (
    INSERT INTO audit_events (occurred_at, actor_type, actor_id, action, subject_type, subject_id, outcome, ip_address, user_agent, request_id, metadata)
    SELECT (e->>'occurredAt')::timestamptz, e->>'actorType', e->>'actorId', e->>'action', e->>'subjectType', e->>'subjectId',
           e->>'outcome', e->>'ipAddress', e->>'userAgent', e->>'requestId', e->'metadata'
    FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) WITH ORDINALITY AS rows(e, n) ${condition} ORDER BY n
    RETURNING 1
  )`;
}

export interface OutboxRow {
  id: string;
  destination: string;
  name: string;
  aggregateType: string;
  aggregateId: string;
  payload: object;
}

/**
 * Outbox rows, audit rows and the relay's wake-up in one statement (null when there are none):
 * on a hot path Prisma's createMany cost more than the rest of the transaction. Rows keep the
 * order they were recorded in (seq and audit ids follow it).
 */
export function recordStatement(outbox: readonly OutboxRow[], audits: readonly AuditRow[]): Sql | null {
  if (outbox.length === 0 && audits.length === 0) return null;
  return sql`
    WITH outbox AS (
      INSERT INTO outbox_events (id, destination, name, aggregate_type, aggregate_id, payload)
      SELECT (e->>'id')::uuid, e->>'destination', e->>'name', e->>'aggregateType', e->>'aggregateId', e->'payload'
      FROM jsonb_array_elements(${JSON.stringify(outbox)}::jsonb) WITH ORDINALITY AS rows(e, n) ORDER BY n
      RETURNING 1
    ), ${auditInsert(audits, empty)}
    SELECT pg_notify('identity_outbox', '') WHERE EXISTS (SELECT FROM outbox)`;
}

/** What one unit of work has recorded besides its writes, until it commits. */
class Recording {
  readonly outbox: OutboxRow[] = [];
  readonly audits: AuditRow[] = [];
  readonly effects: (() => void)[] = [];

  constructor(
    private readonly uow: UnitOfWork,
    private readonly origin: Origin,
  ) {}

  /** The scope's effects over `query` (the transaction's). */
  scope(query: Query): WorkEffects {
    return {
      query,
      publish: (type, aggregateId, data) => {
        const envelope = this.uow.envelope(type, aggregateId, validatePayload(type, data), this.origin.actor.id);
        for (const destination of [USER_EVENTS, ...this.uow.handlers.destinationsOf(type)]) {
          this.outbox.push({ id: destination === USER_EVENTS ? envelope.id : randomUUID(), destination, name: type, aggregateType: envelope.aggregateType, aggregateId, payload: envelope });
        }
        return envelope.id;
      },
      notify: (notification) => {
        this.outbox.push({ id: randomUUID(), destination: NOTIFICATIONS, name: notification.template, aggregateType: "person", aggregateId: notification.to.toLowerCase(), payload: notification });
      },
      audit: (entry) => this.audits.push(this.uow.auditRow(this.origin, entry)),
      afterCommit: (effect) => this.effects.push(effect),
    };
  }

  statement(): Sql | null {
    return recordStatement(this.outbox, this.audits);
  }

  /** After commit: the relay is woken when there are messages, then the effects run. */
  committed(wakeRelay: () => void): void {
    if (this.outbox.length > 0) wakeRelay();
    for (const effect of this.effects) {
      try {
        effect();
      } catch {
        // Best effort by contract: what committed stays committed.
      }
    }
  }
}

/**
 * A service method's writes, its domain events (outbox rows) and its audit records commit in one
 * database transaction: nothing is published before commit, nothing of a rolled-back transaction
 * ever is. After a commit with outbox rows the relay is woken (`afterCommit`); the audit chainer
 * polls on its own (waking it on every commit would have it contend with every transaction).
 *
 * Two ways to run one: `run` on a Prisma interactive transaction (`scope.tx`, Prisma's models),
 * and `runSql` on a pooled pg transaction with statements only (`scope.query`), which costs about
 * what the same SQL costs through pg: for hot paths (registration, login, logout, profile updates).
 */
export class UnitOfWork {
  constructor(
    private readonly prisma: Prisma,
    private readonly sqlClient: SqlClient,
    readonly handlers: EventHandlers,
    private readonly clock: Clock,
    private readonly afterCommit: () => void,
  ) {}

  async run<T>(origin: Origin, work: (scope: WorkScope) => Promise<T>): Promise<T> {
    const recording = new Recording(this, origin);
    const result = await this.prisma.$transaction(async (tx) => {
      const value = await work({ tx, ...recording.scope((statement) => tx.$queryRawUnsafe(statement.text, ...statement.values)) });
      const record = recording.statement();
      if (record) await tx.$executeRaw(record);
      return value;
    }, TRANSACTION_OPTIONS);
    recording.committed(this.afterCommit);
    return result;
  }

  /** The same guarantees as `run`, on a pooled pg transaction: the work's writes are `scope.query` statements. */
  async runSql<T>(origin: Origin, work: (scope: WorkEffects) => Promise<T>): Promise<T> {
    const recording = new Recording(this, origin);
    const result = await this.sqlClient.transaction(async (query) => {
      const value = await work(recording.scope(query));
      const record = recording.statement();
      if (record) await query(record);
      return value;
    });
    recording.committed(this.afterCommit);
    return result;
  }

  /**
   * A unit of work that is one data-modifying statement, without a transaction block: a
   * statement is atomic by itself, and a hot path (token refresh) saves BEGIN and COMMIT.
   * `ctes` are the statement's WITH queries, the last of them named `done`; `select`
   * is its final query. The audit entries are inserted by the same statement when `done` has a row.
   */
  async statement<R>(origin: Origin, audits: AuditEntry[], ctes: Sql, select: Sql): Promise<R[]> {
    const rows = audits.map((entry) => this.auditRow(origin, entry));
    return this.sqlClient.query<R>(sql`WITH ${ctes}, ${auditInsert(rows, sql`WHERE EXISTS (SELECT FROM done)`)} ${select}`);
  }

  auditRow(origin: Origin, entry: AuditEntry): AuditRow {
    return {
      occurredAt: this.clock.now().toISOString(),
      actorType: origin.actor.type,
      actorId: origin.actor.id,
      action: entry.action,
      subjectType: entry.subjectType ?? null,
      subjectId: entry.subjectId ?? null,
      outcome: entry.outcome ?? "success",
      ipAddress: origin.ipAddress ?? null,
      userAgent: origin.userAgent?.slice(0, 512) ?? null,
      requestId: origin.requestId ?? null,
      metadata: maskSecrets(entry.metadata ?? {}),
    };
  }

  envelope<T extends EventType>(type: T, aggregateId: string, data: EventPayload<T>, actorId: string | null): EventEnvelope<T> {
    const entry: EventDefinition = eventCatalogue[type];
    return { id: randomUUID(), type, version: entry.version, occurredAt: this.clock.now().toISOString(), aggregateType: entry.aggregateType, aggregateId, actorId, data };
  }
}
