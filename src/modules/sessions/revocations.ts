import type { Redis } from "ioredis";
import type { Clock } from "../../platform/clock";
import type { Prisma } from "../../platform/db/database";
import type { EventHandlers } from "../../platform/events/handlers";
import { TransportUnavailableError } from "../../platform/events/outbox";
import type { Logger } from "../../platform/logging/logger";
import { announce, listen, type PubSub } from "../../platform/pubsub/pubsub";

/** PubSub topic on which every instance hears which sessions ended (to close their sockets). */
const ENDED_TOPIC = "session.ended";
/** Revocations re-marked per Redis round trip after a reconnect. */
const RESYNC_BATCH = 1000;
const RESYNC_RETRY_MS = 1000;

export interface SessionRevocationsDeps {
  prisma: Prisma;
  /** Service mode only. */
  redis: Redis | null;
  pubSub: PubSub;
  clock: Clock;
  logger: Logger;
  /** Key prefix of the marks. */
  prefix: string;
  /** Access token lifetime: how long a mark must live. */
  ttlSeconds: number;
}

/**
 * Whether a session has ended, asked on every authenticated request: one Redis read in service
 * mode, the database in embedded mode or when Redis cannot answer. Ended sessions are marked in
 * Redis for as long as their access tokens live: at once after commit (best effort), and by an
 * internal consumer of `session.revoked`, which the relay retries until Redis answers.
 *
 * Redis's "not revoked" is believed only while Redis is known to hold every revocation whose tokens
 * may still be live. After each (re)connection the revocations of the last token lifetime are
 * copied from PostgreSQL first (a mark missed during an outage, or lost by a Redis restart); until
 * that is done, the database answers.
 *
 * Every ended session is also announced on the PubSub (across instances in service mode), so each
 * instance closes the WebSocket connections of that session at once.
 */
export class SessionRevocations {
  /** True once Redis holds every live revocation (since its last connection). */
  private trusted = false;
  private resyncs = 0;

  constructor(private readonly deps: SessionRevocationsDeps) {
    const { redis } = deps;
    if (!redis) return;
    redis.on("close", () => {
      this.trusted = false;
    });
    redis.on("ready", () => void this.resync());
    if (redis.status === "ready") void this.resync();
  }

  /** Registers the consumer that keeps Redis in step with committed revocations. */
  subscribe(handlers: EventHandlers): void {
    if (!this.deps.redis) return;
    handlers.on("session.revoked", "revocation-cache", async (event) => {
      try {
        await this.mark([event.aggregateId]);
      } catch (error) {
        throw new TransportUnavailableError(`revocation cache: ${(error as Error).message}`);
      }
      this.announce([event.aggregateId]);
    });
  }

  /** Calls `listener` with the ids of sessions that ended, on any instance. Returns the unsubscribe. */
  onEnded(listener: (sessionIds: string[]) => void): () => Promise<void> {
    const ended = (ids: unknown) => Array.isArray(ids) && listener(ids.filter((id): id is string => typeof id === "string"));
    return listen(this.deps.pubSub, ENDED_TOPIC, ended, this.deps.logger, "session-ended listener");
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    const { redis, prisma } = this.deps;
    if (redis && this.trusted) {
      try {
        return (await redis.exists(this.deps.prefix + sessionId)) === 1;
      } catch {
        // Redis cannot answer: ask the source of truth.
      }
    }
    const session = await prisma.session.findUnique({ where: { id: sessionId }, select: { revokedAt: true } });
    return !session || session.revokedAt !== null;
  }

  /** After commit: mark at once if Redis answers (the consumer makes sure of it otherwise), and announce. */
  async markRevoked(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    await this.mark(sessionIds).catch(() => undefined);
    this.announce(sessionIds);
  }

  private announce(sessionIds: readonly string[]): void {
    announce(this.deps.pubSub, ENDED_TOPIC, [...sessionIds], this.deps.logger, "ended sessions");
  }

  /** Copies the revocations whose tokens may still be live into Redis, then believes Redis again. */
  private async resync(): Promise<void> {
    const round = ++this.resyncs;
    const since = new Date(this.deps.clock.now().getTime() - this.deps.ttlSeconds * 1000);
    try {
      let after: string | undefined;
      for (;;) {
        const rows = await this.deps.prisma.session.findMany({
          where: { revokedAt: { gte: since }, ...(after ? { id: { gt: after } } : {}) },
          select: { id: true },
          orderBy: { id: "asc" },
          take: RESYNC_BATCH,
        });
        await this.mark(rows.map((row) => row.id));
        if (rows.length < RESYNC_BATCH) break;
        after = rows[rows.length - 1]!.id;
      }
      // A later connection's round decides (this one may have raced a disconnect).
      if (round === this.resyncs && this.deps.redis?.status === "ready") this.trusted = true;
    } catch (error) {
      this.deps.logger.warn({ err: { message: (error as Error).message } }, "revocation resync failed; the database answers until it succeeds");
      if (round === this.resyncs && this.deps.redis?.status === "ready") setTimeout(() => void this.resync(), RESYNC_RETRY_MS).unref();
    }
  }

  private async mark(sessionIds: readonly string[]): Promise<void> {
    const { redis, prefix, ttlSeconds } = this.deps;
    if (!redis || sessionIds.length === 0) return;
    const pipeline = redis.multi();
    for (const id of sessionIds) pipeline.set(prefix + id, "1", "EX", ttlSeconds);
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error("Redis transaction aborted");
  }
}
