import type { Redis } from "ioredis";
import type { Prisma } from "../../platform/db/database";
import type { EventHandlers } from "../../platform/events/handlers";
import { TransportUnavailableError } from "../../platform/events/outbox";

/**
 * Whether a session has ended, asked on every authenticated request: one Redis read in service
 * mode, the database in embedded mode or when Redis cannot answer. Ended sessions are marked in
 * Redis for as long as their access tokens live: at once after commit (best effort), and by an
 * internal consumer of `session.revoked`, which the relay retries until Redis answers, so a mark
 * missed while Redis was down is made as soon as it returns.
 */
export class SessionRevocations {
  constructor(
    private readonly prisma: Prisma,
    private readonly redis: Redis | null,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  /** Registers the consumer that keeps Redis in step with committed revocations. */
  subscribe(handlers: EventHandlers): void {
    if (!this.redis) return;
    handlers.on("session.revoked", "revocation-cache", async (event) => {
      try {
        await this.mark([event.aggregateId]);
      } catch (error) {
        throw new TransportUnavailableError(`revocation cache: ${(error as Error).message}`);
      }
    });
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    if (this.redis) {
      try {
        return (await this.redis.exists(this.prefix + sessionId)) === 1;
      } catch {
        // Redis cannot answer: ask the source of truth.
      }
    }
    const session = await this.prisma.session.findUnique({ where: { id: sessionId }, select: { revokedAt: true } });
    return !session || session.revokedAt !== null;
  }

  /** After commit: mark at once if Redis answers (the consumer makes sure of it otherwise). */
  async markRevoked(sessionIds: readonly string[]): Promise<void> {
    await this.mark(sessionIds).catch(() => undefined);
  }

  private async mark(sessionIds: readonly string[]): Promise<void> {
    if (!this.redis || sessionIds.length === 0) return;
    const pipeline = this.redis.multi();
    for (const id of sessionIds) pipeline.set(this.prefix + id, "1", "EX", this.ttlSeconds);
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error("Redis transaction aborted");
  }
}
